"""Warm search latency for ``bench/scale.py``: ``python bench/scale_search.py INDEX_DIR N OUT.json``.

Loads the index with ``Retriever.load``, runs 5 warm-up queries, then ``N`` SQuAD part A questions
once each (hybrid, top 5; every query embedded, none repeated). Writes p50/p95 in ms."""

import json
import sys
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent))

index, n, result = sys.argv[1], int(sys.argv[2]), sys.argv[3]
from squad_corpus import questions  # noqa: E402

from rag.retrieve.retriever import Retriever  # noqa: E402

qs = questions()[::3]
r = Retriever.load(index)
for q in qs[-5:]:
    r.search(q, k=5)
times = []
for q in qs[:n]:
    t = time.perf_counter()
    r.search(q, k=5)
    times.append((time.perf_counter() - t) * 1000)
times.sort()
Path(result).write_text(json.dumps({"n": len(times), "p50_ms": times[len(times) // 2],
                                    "p95_ms": times[int(0.95 * (len(times) - 1))]}))
