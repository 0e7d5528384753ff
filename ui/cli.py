"""``ragqa chat``: the chat window on http://127.0.0.1:7860. ``add_parser(sub)`` registers the
command on ``ragqa``'s subparsers; ``python -m ui.cli chat --port 7861`` runs it standalone."""

from __future__ import annotations

import ipaddress
import os
import sys
import time

AUTH_ENV = "RAGQA_AUTH"


def is_loopback(host: str) -> bool:
    """``is_loopback("127.0.0.1") and is_loopback("localhost") and not is_loopback("0.0.0.0")``"""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a public interface


def parse_auth(value: str | None):
    """``parse_auth("ann:s3cret:x") == ("ann", "s3cret:x")``; ``None`` when unset."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth / RAGQA_AUTH must look like user:password")
    return user, password


def add_parser(sub) -> None:
    """Register ``chat`` on an argparse subparsers object (the ``ragqa.commands`` entry point)."""
    from rag.answer.registry import GENERATORS
    from rag.cli.common import add_abstain_flag

    s = sub.add_parser("chat", help="open the chat window (Gradio) in the browser",
                       description="Serve a chat window over an index: answers with cited paragraphs.")
    s.add_argument("--index", metavar="DIR", help="index directory (default: the bundled article's)")
    s.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1, this machine only)")
    s.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    s.add_argument("--share", action="store_true", help="also publish a temporary public gradio.live URL")
    s.add_argument("--generator", choices=GENERATORS.names(), help="default generator (default extractive)")
    s.add_argument("-k", type=int, help="number of passages (default 5)")
    s.add_argument("--auth", metavar="USER:PASS", help=f"require this login (or set {AUTH_ENV})")
    s.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback --host")
    s.add_argument("--feedback", metavar="FILE", help="feedback JSONL file (default ./feedback.jsonl)")
    s.add_argument("--name", help='what to call the documents, e.g. "the HR handbook" (default: the title of a '
                                  'single document, else "your documents (N)")')
    s.add_argument("--read-only", action="store_true", help="no uploads: the index is never changed")
    s.add_argument("--upload-index", metavar="DIR",
                   help="where documents added in the chat go when serving the bundled article "
                        "(default ~/.local/share/ragqa/uploads-index); with --index they go into that index")
    s.add_argument("--model-path", dest="model_path", metavar="GGUF",
                   help="GGUF model file for the local generator (or set RAGQA_MODEL_PATH; default SmolLM2-135M)")
    s.add_argument("--openai-base-url", dest="openai_base_url",
                   help="OpenAI-compatible endpoint for the openai generator (or set OPENAI_BASE_URL)")
    s.add_argument("--openai-model", dest="openai_model", help="model name for the openai generator")
    add_abstain_flag(s)
    s.set_defaults(func=cmd_chat)


def _warn(msg: str) -> None:
    print(f"ragqa chat: warning: {msg}", file=sys.stderr)


def cmd_chat(args) -> int:
    """Load the index, warm the assistant, serve until interrupted."""
    t0 = time.perf_counter()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if not is_loopback(args.host):
        if not args.allow_remote:
            print(f"ragqa chat: error: --host {args.host} is reachable from other machines; "
                  "add --allow-remote if that is intended", file=sys.stderr)
            return 2
        _warn(f"serving on {args.host}: anyone who can reach this machine can use the app"
              + ("" if (args.auth or os.environ.get(AUTH_ENV)) else " (no --auth set)"))
    auth = parse_auth(args.auth or os.environ.get(AUTH_ENV))
    if args.share:
        _warn("--share publishes the app at a public URL" + ("" if auth else " without a login (--auth)"))

    from pathlib import Path

    try:  # fail here, with the install hint, before any model work
        import gradio  # noqa: F401
    except ImportError:
        from rag.errors import MissingDependencyError

        raise MissingDependencyError("'ragqa chat' needs gradio: pip install gradio") from None

    from rag import Assistant
    from rag.config import Config

    from .app import EXAMPLES, build, launch, warm

    config = Config.from_env(index_dir=Path(args.index) if args.index else None, generator=args.generator, k=args.k,
                             model_path=Path(args.model_path) if args.model_path else None,
                             openai_base_url=args.openai_base_url, openai_model=args.openai_model,
                             abstain_threshold=args.abstain_threshold)
    print("ragqa chat: loading the index…", file=sys.stderr, flush=True)
    assistant = Assistant.load(config.index_dir, config=config)
    secs = warm(assistant, EXAMPLES[0] if config.is_bundled else "What is this about?")
    print(f"ragqa chat: warmed up in {secs:.1f} s", file=sys.stderr, flush=True)
    uploads_to, note = upload_target(args, config, auth)
    demo = build(assistant, config, feedback_path=args.feedback, name=args.name, uploads_to=uploads_to,
                 upload_note=note, auth=auth is not None)
    if uploads_to is not None:
        print(f"ragqa chat: documents added in the chat go into {uploads_to}", file=sys.stderr, flush=True)
    import gc

    gc.freeze()  # the loaded model and app live until exit: keep them out of GC passes (and the final one)
    launch(demo, host=args.host, port=args.port, share=args.share, auth=auth, prevent_thread_lock=True, quiet=True,
           max_file_mb=config.max_file_mb)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"ragqa chat: ready at http://{host}:{args.port}/ ({time.perf_counter() - t0:.1f} s after start; "
          "Ctrl+C to stop)", flush=True)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` closes the server cleanly too
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0


def upload_target(args, config, auth) -> tuple:
    """(index directory uploads go into, or None; a note for the page saying where or why not)."""
    if args.read_only:
        return None, "This server is read-only: documents cannot be added here."
    if not is_loopback(args.host) and auth is None:
        return None, ("Adding documents needs a login on a server other machines can reach "
                      "(start it with --auth).")
    if not config.is_bundled:
        return config.resolved_index_dir, ""
    from pathlib import Path

    from .upload import default_upload_index

    target = Path(args.upload_index).expanduser() if args.upload_index else default_upload_index()
    return target, (f"Documents you add go into a separate index at {target}, which starts as a copy of this "
                    f"article (ragqa rebuilds its own copy of the article). Reopen it with: "
                    f"ragqa chat --index {target}")


def main(argv=None) -> int:
    """``python -m ui.cli``: the same as ``ragqa`` (one parser, one error handling)."""
    from rag.cli import main as ragqa_main

    return ragqa_main(argv)


if __name__ == "__main__":
    sys.exit(main())
