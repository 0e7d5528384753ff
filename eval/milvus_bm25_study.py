"""Issue 13, item 5: hybrid search on Milvus. Milvus's own BM25 (a BM25 function over the chunk
text, sparse index) or bm25s beside Milvus's dense search? Measured on gold, gold2 and SQuAD part A.

    PYTHONPATH=. python eval/milvus_bm25_study.py --indexes /tmp/ragqa-study2   # -> eval/reports/milvus_bm25.{md,json}

Reads the indexes ``eval/sentence_study.py --build`` writes (``INDEXES/base-{gold,gold2,squad}``,
default settings) and copies each one's chunks (``indexed_text``, what bm25s indexes) and chunk
vectors into a milvus-lite collection with a BM25 function (standard tokenizer, lowercase, English
stemmer and stop words). Variants, each running the same evaluation as ``sentence_study.py``:

- ``bm25s`` (what ragqa does with either vector store): dense + bm25s in ragqa's fusion;
- ``milvus-bm25``: Milvus's BM25 top 50 (ragqa's CANDIDATES) replaces bm25s's scores in ragqa's
  fusion; the question text goes to Milvus as typed (Milvus cannot weight query terms as
  ``rag.retrieve.query`` does); exact-match boosting still asks bm25s (Milvus TEXT_MATCH is not
  used);
- ``milvus-hybrid``: one Milvus hybrid request (dense + BM25, RRF ranker, k=60) gives the top
  passages directly: no ragqa fusion, no sentence re-scoring.

Dense search is the same in all three (Milvus FLAT returns FAISS's top-k on these sizes; BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

ANALYZER = {"tokenizer": "standard",
            "filter": ["lowercase", {"type": "stemmer", "language": "english"}, {"type": "stop", "stop_words": ["_english_"]}]}
RRF_K = 60


def make_collection(client, name: str, index_dir: Path) -> int:
    """A collection of ``index_dir``'s chunks: text (BM25) and dense vector; returns the chunk count."""
    from pymilvus import DataType, Function, FunctionType

    from rag.ingest.chunking import indexed_text
    from rag.store import disk
    from rag.store.vectorstore import open_store

    data = disk.load(index_dir)
    chunks = list(data.chunks)
    vecs = open_store(data).get(np.arange(len(chunks)))
    if client.has_collection(name):
        client.drop_collection(name)
    s = client.create_schema()
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=ANALYZER)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_field("dense", DataType.FLOAT_VECTOR, dim=vecs.shape[1])
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                            output_field_names=["sparse"]))
    ip = client.prepare_index_params()
    ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    ip.add_index(field_name="dense", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=s, index_params=ip)
    rows = [{"id": i, "text": indexed_text(data.documents[c.doc_id], c), "dense": vecs[i].tolist()}
            for i, c in enumerate(chunks)]
    for at in range(0, len(rows), 1000):
        client.insert(name, rows[at : at + 1000])
    return len(chunks)


def install(variant: str, client, collections: dict) -> None:
    """Patch retrieval for ``variant`` (see the module docstring); ``collections``: index dir -> name."""
    from rag.retrieve import retriever as R
    from rag.store import lexical as L

    last = {}
    if not hasattr(R, "_orig_prepare"):
        R._orig_prepare, L._orig_load = R.prepare, L.LexicalIndex.load.__func__
        L._orig_scores, R._orig_search = L.LexicalIndex.scores, R.Retriever._search

    def prepare(question, history=None):
        q = R._orig_prepare(question, history)
        last["text"] = q.text
        return q

    def load(cls, path, num_docs=None):
        inst = L._orig_load(cls, path, num_docs)
        inst.index_dir = str(Path(path).parent.resolve())
        return inst

    def scores(self, query, weights=None):
        n = int(self._bm25.scores["num_docs"])
        out = np.zeros(n, np.float32)
        hits = client.search(collections[self.index_dir], data=[last["text"]], anns_field="sparse",
                             limit=R.CANDIDATES, output_fields=["id"], search_params={"metric_type": "BM25"})[0]
        for h in hits:
            out[int(h["id"])] = abs(float(h["distance"]))  # milvus-lite reports BM25 as a negative distance
        return out

    def hybrid(self, query, k, mode, history):
        from pymilvus import AnnSearchRequest, RRFRanker

        q = R.prepare(query, history)
        qvec = self.query_vector(q.text)
        name = collections[str(Path(self.data.path).resolve())]
        reqs = [AnnSearchRequest(data=[qvec.tolist()], anns_field="dense", param={"metric_type": "IP"},
                                 limit=R.CANDIDATES),
                AnnSearchRequest(data=[q.text], anns_field="sparse", param={"metric_type": "BM25"},
                                 limit=R.CANDIDATES)]
        hits = client.hybrid_search(name, reqs, RRFRanker(RRF_K), limit=k, output_fields=["id"])[0]
        return [self._passage(int(h["id"]), float(h["distance"]), 0.0, 0.0) for h in hits]

    R.prepare = prepare
    L.LexicalIndex.load = classmethod(load)
    L.LexicalIndex.scores = scores if variant == "milvus-bm25" else L._orig_scores
    R.Retriever._search = hybrid if variant == "milvus-hybrid" else R._orig_search


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--indexes", type=Path, default=Path("/tmp/ragqa-study"))
    p.add_argument("--answers", type=int, default=300, help="SQuAD questions answered per kind")
    p.add_argument("--db", type=Path, default=Path("/tmp/ragqa-milvus-bm25.db"))
    p.add_argument("--out", type=Path, default=ROOT / "eval/reports/milvus_bm25")
    a = p.parse_args(argv)
    import squad_eval
    from pymilvus import MilvusClient
    from sentence_study import GOLD_METRICS, SQUAD_METRICS

    from rag.answer.assistant import Assistant
    from rag.evaluation import EvalSettings, evaluate

    client = MilvusClient(str(a.db))
    collections = {}
    for name in ("gold", "gold2", "squad"):
        d = a.indexes / f"base-{name}"
        collections[str(d.resolve())] = f"study_{name}"
        print(name, make_collection(client, f"study_{name}", d), "chunks", flush=True)
    items = squad_eval.write_docs(Path("/tmp/ragqa-squad-a/docs"))
    results = {}
    for variant in ("bm25s", "milvus-bm25", "milvus-hybrid"):
        install(variant, client, collections)
        t = time.perf_counter()
        row = {}
        for gold in ("gold", "gold2"):
            res = evaluate(EvalSettings(gold=(ROOT / f"eval/{gold}.jsonl",), index=a.indexes / f"base-{gold}"),
                           progress=False)
            row[gold] = {m: res["aggregates"].get(m) for m in GOLD_METRICS}
        assistant = Assistant.load(a.indexes / "base-squad")
        squad_eval.paragraph_numbers(assistant.retriever, items)
        s = squad_eval.evaluate(assistant.retriever, items, a.answers, assistant)
        row["squad"] = {m: s.get(m) for m in SQUAD_METRICS} | {"search_p50_ms": s["search_p50_ms"]}
        row["seconds"] = time.perf_counter() - t
        results[variant] = row
        print(variant, json.dumps(row), flush=True)
    import subprocess

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    out = {"command": "PYTHONPATH=. python eval/milvus_bm25_study.py " + " ".join(argv or sys.argv[1:]),
           "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "variants": results}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps(out, indent=1))
    cols = [("gold", m) for m in GOLD_METRICS[:4]] + [("gold2", m) for m in GOLD_METRICS[:4]] + \
           [("squad", m) for m in SQUAD_METRICS] + [("squad", "search_p50_ms")]
    lines = ["| lexical side | " + " | ".join(f"{g} {m}" for g, m in cols) + " |", "|---|" + "---:|" * len(cols)]
    for v, row in results.items():
        lines.append(f"| {v} | " + " | ".join("–" if row[g].get(m) is None else f"{row[g][m]:.3f}" for g, m in cols)
                     + " |")
    a.out.with_suffix(".md").write_text(f"# Milvus BM25 or bm25s\n\n`{out['command']}` ({out['date']}, {commit})\n\n"
                                        + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
