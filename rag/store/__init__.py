"""Stage 3, store: the index directory and everything written into it.

- ``disk``: the versioned manifest (the atomic commit point), generations, the writer lock, loading
- ``textstore``: chunk and document text in one SQLite file, rows read on demand
- ``vectorstore``: ``VECTOR_STORES``, the boundary between an index and where its vectors live
- ``vectors``: FAISS (exact or HNSW, chosen by size; memory-mapped; 8-bit codes with ``storage="compact"``), the default vector store
- ``quant``: stored sentence vectors, 6 bits a component with a scale per row (``storage="compact"``)
- ``milvus``: Milvus through pymilvus (milvus-lite for a file URI, a server for http://)
- ``lexical``: the BM25 index (bm25s)
- ``checkpoint``: embeddings kept in slices while building, so an interrupted build resumes
- ``indexer``: ``build_index``, ``add_documents``, ``remove_documents`` (ingest, embed, write) and
  the bundled article's self-healing index
- ``ownership``: which folders are ragqa's (``.ragqa-index``) and which files clean-up may delete
- ``catalog``: ``list_documents``, from the manifest alone
"""
