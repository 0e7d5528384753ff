"""``ragqa index``: build an index, or add and update documents in an existing one."""

from __future__ import annotations

import sys
from pathlib import Path

from rag.cli.common import config_from_args
from rag.config import STORAGE


def add_parser(sub) -> None:
    from rag.ingest.formats import FORMATS, SUPPORTED_SUFFIXES

    s = sub.add_parser("index", help="build an index, or add and update documents in one",
                       description="Index files and folders into --out. Into an existing index, new files are "
                                   "added and changed ones updated (other documents stay); --replace rebuilds "
                                   "it from exactly the given sources.")
    s.add_argument("paths", nargs="*",
                   help=f"{'/'.join(SUPPORTED_SUFFIXES)} files or folders (default: the bundled article)")
    s.add_argument("--out", metavar="DIR", help="index directory: new, empty or an index (default: index/)")
    s.add_argument("--replace", action="store_true", help="rebuild from exactly these sources, dropping the others")
    s.add_argument("--full", action="store_true", help="re-embed everything instead of only changed documents")
    s.add_argument("--format", choices=FORMATS, default="auto",
                   help="how .txt/.md files are read: auto (by suffix), text, markdown, or article (the web-article "
                        "parser, which drops page chrome such as 'Share'; default auto)")
    s.add_argument("--model", help="embedding model name or path (default: the index's, else all-MiniLM-L6-v2)")
    from rag.store.vectorstore import VECTOR_STORES

    s.add_argument("--vector-store", choices=VECTOR_STORES.names(),
                   help="where the chunk vectors live (default faiss; env RAGQA_VECTOR_STORE); "
                        "search/ask/chat read it from the index")
    s.add_argument("--storage", choices=STORAGE,
                   help="exact (default): float16 sentence vectors, float32 chunk vectors; compact: 6-bit "
                        "sentence and 8-bit chunk vectors, ~2.9 KB a paragraph instead of ~6.5, a boundary "
                        "answer may change (env RAGQA_STORAGE; later runs keep the index's choice)")
    s.add_argument("--sentence-vectors", choices=("stored", "pooled", "query"),
                   help="stored (default): embed each sentence at build time; pooled: pool "
                        "them from their chunk's own embedding pass (no extra inference); "
                        "query: embed them when a search needs them (faster build, smaller index, slower "
                        "searches)")
    s.add_argument("--milvus-uri", metavar="URI",
                   help="with --vector-store milvus: a milvus-lite file (default DIR/milvus.db) or "
                        "http://host:19530 for a Milvus server (env RAGQA_MILVUS_URI)")
    s.set_defaults(func=run)


def run(args) -> int:
    from rag.cli.progress import Progress
    from rag.ingest.formats import BUNDLED_ARTICLE
    from rag.store import disk
    from rag.store.indexer import build_index, settings_config

    config = config_from_args(args)
    sources = args.paths or [BUNDLED_ARTICLE]
    out = Path(args.out) if args.out else config.resolved_index_dir
    replace = args.replace or not (args.paths or args.out)  # bare `ragqa index`: the bundled article's index
    if not args.model and (out / disk.MANIFEST).is_file():
        try:  # adding to an index keeps its model and chunking
            config = settings_config(disk.read_manifest(out), config)
        except Exception:  # noqa: BLE001 - an unreadable manifest is reported by the build itself
            pass
    progress = Progress("embedding", unit="text", detail=" (chunks and their sentences)")
    report = build_index(sources, out, config, progress=progress, incremental=not args.full,
                         format=args.format, replace=replace)
    for path, reason in report.skipped:
        print(f"skipped: {reason if path in reason else f'{path}: {reason}'}", file=sys.stderr)
    for path, note in report.notes:
        print(f"note: {path}: {note}", file=sys.stderr)
    print(report.summary())
    return 0
