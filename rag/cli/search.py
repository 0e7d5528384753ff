"""``ragqa search``: the passages retrieved for a question, without answering."""

from __future__ import annotations

from rag.cli.common import add_retrieval_flags, config_from_args, print_passages


def add_parser(sub) -> None:
    s = sub.add_parser("search", help="show the passages retrieved for a question")
    s.add_argument("question")
    add_retrieval_flags(s)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=run)


def run(args) -> int:
    from rag.retrieve.retriever import Retriever

    config = config_from_args(args)
    r = Retriever.load(config=config)
    print_passages(r.search(args.question, k=config.k, mode=config.mode), args.json)
    return 0
