"""``ragqa`` command line. Each command lives in its own module with ``add_parser(subparsers)``;
``COMMANDS`` lists the built-in ones in help order, and installed packages add more through the
``ragqa.commands`` entry-point group (the chat window, ``ui.cli``, registers ``chat`` that way, so
the core never imports the UI). Heavy modules are imported inside the command that needs them, so
``ragqa --help`` answers instantly."""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from rag.errors import RagError

COMMANDS = ("rag.cli.index", "rag.cli.search", "rag.cli.ask", "rag.evaluation.cli")
PLUGIN_GROUP = "ragqa.commands"


def version() -> str:
    """The installed distribution's version (one source: pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("ragqa")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def _plugins():
    """``add_parser`` callables registered by installed packages, by entry-point name."""
    from importlib.metadata import entry_points

    return sorted(entry_points(group=PLUGIN_GROUP), key=lambda ep: ep.name)


class _Version(argparse.Action):
    """``--version``, resolved only when asked (reading package metadata costs a few ms)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"ragqa {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragqa", description="Grounded, offline question answering over documents.")
    p.add_argument("--version", action=_Version, help="show the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        import_module(name).add_parser(sub)
    for ep in _plugins():
        try:
            add = ep.load()
        except ImportError as exc:
            # Only a missing optional dependency turns a command off; ragqa's own modules must import.
            if (exc.name or "").split(".")[0] in ("rag", "ui"):
                raise
            _unavailable(sub, ep.name, exc)
            continue
        add(sub)
    return p


def _unavailable(sub, name: str, exc: ImportError) -> None:
    """A command whose optional dependency is missing: it is listed, and says what to install."""
    s = sub.add_parser(name, help=f"(unavailable: {exc.name} is not installed)")

    def run(args):
        raise RagError(f"'ragqa {name}' needs {exc.name}: pip install {exc.name}")
    s.set_defaults(func=run)


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
