"""``ragqa remove``: drop documents from an index (nothing is re-embedded)."""

from __future__ import annotations


def add_parser(sub) -> None:
    s = sub.add_parser("remove", help="remove documents from an index by id (see ragqa docs)")
    s.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    s.add_argument("--index", metavar="DIR", required=True, help="index directory")
    s.set_defaults(func=run)


def run(args) -> int:
    from rag.store.indexer import remove_documents

    report = remove_documents(args.doc_ids, args.index)
    print(f"removed {', '.join(report.removed)}; {report.path} now holds {report.documents} document(s), "
          f"{report.chunks} chunks")
    return 0
