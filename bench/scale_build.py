"""One index build for ``bench/scale.py``, run in its own process (under ``bench/measure.py`` for
wall time and peak RSS): ``python bench/scale_build.py CORPUS_DIR INDEX_DIR real|standin OUT.json``.

Imports ``rag`` from ``PYTHONPATH``, so the same script builds with the starting commit's code or
the current one. Writes the in-process build seconds (model already loaded) and the counts."""

import json
import sys
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent))  # standin.py, after PYTHONPATH's rag

corpus, out, kind, result = sys.argv[1:5]
from rag.config import Config  # noqa: E402
from rag.store.indexer import build_index  # noqa: E402

config = Config.from_env()
if kind == "standin":
    from standin import StandInEmbedder

    embedder = StandInEmbedder()
else:
    from rag.embed.registry import make_query_embedder

    embedder = make_query_embedder(config)
    embedder.embed("warm up: load the model before the clock starts")
t = time.perf_counter()
report = build_index([corpus], out, config, embedder=embedder, incremental=False)
seconds = time.perf_counter() - t
Path(result).write_text(json.dumps({"build_s": seconds, "documents": report.documents, "chunks": report.chunks,
                                    "embedded": report.embedded}))
