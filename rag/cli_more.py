"""Subcommands beyond index/search: ask, chat, eval. Registered by ``rag.cli``."""

from __future__ import annotations

import json
import re
import sys


def register(sub, common, config_of, style, print_passages) -> None:
    s = sub.add_parser("ask", help="answer a question with cited paragraphs")
    s.add_argument("question", nargs="?")
    common(s)
    s.add_argument("--generator", choices=["extractive", "local", "openai"], help="answer generator (default extractive)")
    s.add_argument("--openai-base-url", dest="openai_base_url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    s.add_argument("--openai-model", dest="openai_model", help="model name for the openai generator")
    s.add_argument("--timeout", type=float, help="seconds before the openai backend is given up (default 30)")
    s.add_argument("--threads", dest="n_threads", type=int, help="llama.cpp threads for the local generator")
    s.add_argument("--json", action="store_true", help="print the answer as JSON")
    s.add_argument("--show-prompt", action="store_true", help="print the LLM prompt templates and exit")
    s.set_defaults(func=lambda args: cmd_ask(args, config_of, style))

    for module in ("ui.cli", "rag.evaluation.cli"):
        try:
            mod = __import__(module, fromlist=["add_parser"])
        except ImportError:
            continue
        mod.add_parser(sub)


def highlight(paragraph: str, quote: str, style) -> str:
    """The paragraph with ``quote`` emphasised (bold yellow on a terminal, **...** otherwise)."""
    i = paragraph.find(quote)
    if i < 0 or not quote:
        return paragraph
    from .cli import BOLD, YELLOW, _color

    marked = style(quote, BOLD + YELLOW) if _color() else f"**{quote}**"
    return paragraph[:i] + marked + paragraph[i + len(quote):]


def cmd_ask(args, config_of, style) -> int:
    if args.show_prompt:
        from .prompts import show

        print(show())
        return 0
    if not args.question:
        raise ValueError("question is missing: ragqa ask \"your question\"")
    from .assistant import Assistant

    config = config_of(args)
    ans = Assistant.load(config=config).ask(args.question, k=config.k)
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if ans.notice:
        print(style(f"note: {ans.notice}", "\033[33m"), file=sys.stderr)
    print(re.sub(r"\[(?:[^\[\]]*?\s)?¶\d+\]", lambda m: style(m.group(0), "\033[1m"), ans.text))
    print()
    if ans.abstained:
        print(style("Closest passages, for you to check:", "\033[2m"))
        for p in ans.passages[:3]:
            print(f"  {p.doc_id} {p.label} (score {p.score:.2f}): {p.text[:300]}")
        return 0
    for c in ans.citations:
        page = f", p.{c.page}" if c.page else ""
        print(style(f"[¶{c.paragraph}] {c.title}{page}", "\033[1m"))
        print(f"  {highlight(c.paragraph_text, c.quote, style)}\n")
    return 0
