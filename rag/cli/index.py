"""``ragqa index``: build or update an index from files and folders."""

from __future__ import annotations

import sys
from pathlib import Path

from rag.cli.common import config_from_args, progress


def add_parser(sub) -> None:
    s = sub.add_parser("index", help="build or update an index from files and folders")
    s.add_argument("paths", nargs="*", help=".txt/.md/.html/.pdf files or folders (default: the bundled article)")
    s.add_argument("--out", metavar="DIR", help="index directory (default: index/)")
    s.add_argument("--full", action="store_true", help="re-embed everything instead of only changed documents")
    s.add_argument("--model", help="embedding model name or path")
    from rag.store.vectorstore import VECTOR_STORES

    s.add_argument("--vector-store", choices=VECTOR_STORES.names(),
                   help="where the chunk vectors live (default faiss; env RAGQA_VECTOR_STORE); "
                        "search/ask/chat read it from the index")
    s.add_argument("--sentence-vectors", choices=("stored", "query"),
                   help="stored (default): embed sentences at build time, float16 on disk; query: embed them "
                        "when a search needs them (faster build, smaller index, slower searches)")
    s.add_argument("--milvus-uri", metavar="URI",
                   help="with --vector-store milvus: a milvus-lite file (default DIR/milvus.db) or "
                        "http://host:19530 for a Milvus server (env RAGQA_MILVUS_URI)")
    s.set_defaults(func=run)


def run(args) -> int:
    from rag.ingest.formats import BUNDLED_ARTICLE
    from rag.store.indexer import build_index

    config = config_from_args(args)
    sources = args.paths or [BUNDLED_ARTICLE]
    out = Path(args.out) if args.out else config.resolved_index_dir
    report = build_index(sources, out, config, progress=progress("embedding"), incremental=not args.full)
    for path, reason in report.skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    print(f"indexed {report.documents} document(s), {report.chunks} chunks into {report.path} "
          f"({report.embedded} embedded, {report.reused} reused; added {len(report.added)}, "
          f"changed {len(report.changed)}, removed {len(report.removed)}) in {report.seconds:.2f} s")
    return 0
