"""``ragqa`` command line. Heavy modules are imported inside the command that needs them, so
``ragqa --help`` answers instantly."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .config import Config
from .errors import RagError

BOLD, DIM, YELLOW, RESET = "\033[1m", "\033[2m", "\033[33m", "\033[0m"


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _style(text: str, code: str) -> str:
    return f"{code}{text}{RESET}" if _color() else text


def _config(args) -> Config:
    """Config from env vars, overridden by whichever flags this command has and the user set."""
    names = ("index", "k", "mode", "generator", "model", "timeout", "n_threads", "openai_base_url",
             "openai_model", "openai_api_key", "backend", "reranker", "model_path")
    over = {}
    for n in names:
        v = getattr(args, n, None)
        if v is not None:
            over["index_dir" if n == "index" else n] = Path(v) if n in ("index", "model_path") else v
    return Config.from_env(**over)


def _progress(desc: str):
    """A tqdm bar driven by ``(done, total)`` callbacks; silent when stderr is not a terminal."""
    state = {}

    def update(done, total):
        if "bar" not in state:
            from tqdm import tqdm

            state["bar"] = tqdm(total=total, desc=desc, unit="chunk", disable=None)
        bar = state["bar"]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
    return update


def cmd_index(args) -> int:
    from .indexer import build_index
    from .ingest import BUNDLED_ARTICLE

    config = _config(args)
    sources = args.paths or [BUNDLED_ARTICLE]
    out = Path(args.out) if args.out else config.resolved_index_dir
    report = build_index(sources, out, config, progress=_progress("embedding"), incremental=not args.full)
    for path, reason in report.skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    print(f"indexed {report.documents} document(s), {report.chunks} chunks into {report.path} "
          f"({report.embedded} embedded, {report.reused} reused; added {len(report.added)}, "
          f"changed {len(report.changed)}, removed {len(report.removed)}) in {report.seconds:.2f} s")
    return 0


def _print_passages(passages, as_json: bool) -> None:
    if as_json:
        from dataclasses import asdict

        print(json.dumps([asdict(p) for p in passages], ensure_ascii=False, indent=2))
        return
    for i, p in enumerate(passages, 1):
        where = f"{p.doc_id} {p.label}" + (f" p.{p.pages[0]}" if p.pages else "")
        print(_style(f"{i}. {where}  score {p.score:.3f}", BOLD))
        print(f"   {p.text}\n")


def cmd_search(args) -> int:
    from .retriever import Retriever

    config = _config(args)
    r = Retriever.load(config=config)
    _print_passages(r.search(args.question, k=config.k, mode=config.mode), args.json)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragqa", description="Grounded, offline question answering over documents.")
    p.add_argument("--version", action="version", version="ragqa 0.1.0")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(sp, k=True):
        sp.add_argument("--index", metavar="DIR", help="index directory (default: the bundled article's)")
        sp.add_argument("--model", help="embedding model name or path (default all-MiniLM-L6-v2)")
        if k:
            sp.add_argument("-k", type=int, help="number of passages (default 5)")
            sp.add_argument("--mode", choices=["hybrid", "dense", "lexical"], help="retrieval mode (default hybrid)")
            sp.add_argument("--reranker", metavar="MODEL",
                            help="rerank with a sentence-transformers CrossEncoder (name or local path)")

    s = sub.add_parser("index", help="build or update an index from files and folders")
    s.add_argument("paths", nargs="*", help=".txt/.md/.html/.pdf files or folders (default: the bundled article)")
    s.add_argument("--out", metavar="DIR", help="index directory (default: index/)")
    s.add_argument("--full", action="store_true", help="re-embed everything instead of only changed documents")
    s.add_argument("--model", help="embedding model name or path")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("search", help="show the passages retrieved for a question")
    s.add_argument("question")
    common(s)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_search)
    _extra_commands(sub, common)
    return p


def _extra_commands(sub, common) -> None:
    """Commands defined in their own modules (answering, chat, eval)."""
    from . import cli_more

    cli_more.register(sub, common, _config, _style, _print_passages)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args) or 0
    except (RagError, ValueError) as exc:
        print(f"ragqa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into head/less that closed early
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
