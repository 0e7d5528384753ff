"""Where a build's memory goes: ``python bench/build_stages.py CORPUS_DIR INDEX_DIR`` builds with the
stand-in embedder (``bench/standin.py``) and prints this process's RSS and peak RSS before and after
each stage (reading, sentence vectors, vector store, BM25, commit). Used for BENCHMARKS.md "Scale"
(the stage figures of the 100k build); the stages are found by wrapping the indexer's functions."""

import resource
import sys
import time
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent))  # standin.py, after PYTHONPATH's rag


def rss_mb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return 0


T0 = time.time()


def mark(stage: str) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"[{time.time() - T0:7.1f}s] {stage}: rss {rss_mb()} MB peak {peak} MB", flush=True)


def wrap(owner, name: str, label: str | None = None) -> None:
    f = getattr(owner, name)

    def wrapped(*a, **k):
        mark("before " + (label or name))
        out = f(*a, **k)
        mark("after " + (label or name))
        return out
    setattr(owner, name, wrapped)


def main() -> None:
    from standin import StandInEmbedder

    import rag.store.disk as disk
    import rag.store.indexer as indexer
    import rag.store.lexical as lexical
    from rag.config import Config

    for name in ("read_sources", "_sentence_matrix", "_pooled"):
        wrap(indexer, name)
    wrap(disk, "save", "commit (save)")
    store_class = indexer.store_class

    def traced_store_class(name):
        cls = store_class(name)

        class Traced(cls):
            @staticmethod
            def write(*a, **k):
                mark("before vector store write")
                out = cls.write(*a, **k)
                mark("after vector store write")
                return out
        return Traced
    indexer.store_class = traced_store_class
    build = lexical.LexicalIndex.build.__func__

    def traced_build(cls, *a, **k):
        mark("before BM25 build")
        out = build(cls, *a, **k)
        mark("after BM25 build")
        return out
    lexical.LexicalIndex.build = classmethod(traced_build)
    indexer.build_index([sys.argv[1]], sys.argv[2], Config.from_env(), embedder=StandInEmbedder(), incremental=False)
    mark("end")


if __name__ == "__main__":
    main()
