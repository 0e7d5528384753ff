"""Stage 3, store: the index directory and everything written into it.

- ``disk``: the versioned manifest (the atomic commit point), generations, the writer lock, loading
- ``vectors``: FAISS (exact or HNSW, chosen by size)
- ``lexical``: the BM25 index (bm25s)
- ``indexer``: ``build_index`` (ingest, embed, write) and the bundled article's self-healing index
"""
