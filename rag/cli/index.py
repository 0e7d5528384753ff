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
