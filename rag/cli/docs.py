"""``ragqa docs``: the documents in an index, with ids, titles, paragraph counts and sources."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path


def add_parser(sub) -> None:
    s = sub.add_parser("docs", help="list the documents in an index")
    s.add_argument("--index", metavar="DIR", help="index directory (default: the bundled article's)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=run)


def run(args) -> int:
    from rag.config import Config
    from rag.store.catalog import list_documents

    index = Path(args.index) if args.index else Config.from_env().resolved_index_dir
    docs = list_documents(index)
    if args.json:
        print(json.dumps([asdict(d) for d in docs], ensure_ascii=False, indent=2))
        return 0
    width = max([len(d.doc_id) for d in docs] + [2])
    print(f"{'id':<{width}}  {'¶':>5}  title / source")
    for d in docs:
        print(f"{d.doc_id:<{width}}  {d.paragraphs:>5}  {d.title}")
        print(f"{'':<{width}}  {'':>5}  {d.source_path or '(no file)'}")
    print(f"{len(docs)} document(s) in {index}")
    return 0
