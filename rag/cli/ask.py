"""``ragqa ask``: answer a question with cited paragraphs, the supporting quote highlighted."""

from __future__ import annotations

import json
import sys

from rag.cli.common import (
    BOLD,
    DIM,
    YELLOW,
    add_abstain_flag,
    add_retrieval_flags,
    answerability_line,
    color,
    config_from_args,
    style,
)
from rag.types import MARKER


def add_parser(sub) -> None:
    from rag.answer.registry import GENERATORS

    s = sub.add_parser("ask", help="answer a question with cited paragraphs")
    s.add_argument("question", nargs="?")
    add_retrieval_flags(s)
    s.add_argument("--generator", choices=GENERATORS.names(),
                   help="answer generator (default extractive): "
                        + "; ".join(f"{e.name}: {e.help}" for e in GENERATORS))
    s.add_argument("--openai-base-url", dest="openai_base_url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    s.add_argument("--openai-model", dest="openai_model", help="model name for the openai generator")
    s.add_argument("--timeout", type=float, help="seconds before the openai backend is given up (default 30)")
    s.add_argument("--threads", dest="n_threads", type=int, help="llama.cpp threads for the local generator")
    s.add_argument("--model-path", dest="model_path", metavar="GGUF",
                   help="GGUF model file for the local generator (or set RAGQA_MODEL_PATH; default SmolLM2-135M)")
    add_abstain_flag(s)
    s.add_argument("--json", action="store_true", help="print the answer as JSON")
    s.add_argument("--show-prompt", action="store_true", help="print the LLM prompt templates and exit")
    s.set_defaults(func=run)


def highlight(paragraph: str, quotes) -> str:
    """The paragraph with each verbatim quote in ``quotes`` in bold yellow on a terminal; plain text
    (no markup at all) otherwise. ``highlight("A. B.", ["B."])``"""
    if isinstance(quotes, str):
        quotes = [quotes]
    if not color():
        return paragraph
    spans = sorted({(i, i + len(q)) for q in quotes if q and (i := paragraph.find(q)) >= 0})
    out, pos = [], 0
    for s, e in spans:
        if s < pos:  # overlaps the previous quote: extend it
            s = pos
        if s >= e:
            continue
        out.append(paragraph[pos:s] + style(paragraph[s:e], BOLD + YELLOW))
        pos = e
    return "".join(out) + paragraph[pos:]


def run(args) -> int:
    if args.show_prompt:
        from rag.answer.prompts import show

        print(show())
        return 0
    if not args.question:
        raise ValueError("question is missing: ragqa ask \"your question\"")
    from rag.answer.assistant import Assistant
    from rag.retrieve.query import MAX_QUERY_CHARS

    config = config_from_args(args)
    assistant = Assistant.load(config=config)
    ans = assistant.ask(args.question, k=config.k)
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if ans.notice:
        print(style(f"note: {ans.notice}", YELLOW), file=sys.stderr)
    length = len(" ".join(args.question.split()))
    if length > MAX_QUERY_CHARS:
        print(f"note: the question has {length:,} characters; only the first {MAX_QUERY_CHARS:,} were used",
              file=sys.stderr)
    print(MARKER.sub(lambda m: style(m.group(0), BOLD), ans.text))
    print()
    if ans.answerability is not None:
        print(style(answerability_line(ans.answerability, assistant.abstain_threshold), DIM))
    if ans.abstained:
        print(style("Closest passages, for you to check:", DIM))
        for p in ans.passages[:3]:
            print(f"  {p.doc_id} {p.label} (score {p.score:.2f}): {p.text[:300]}")
        return 0
    multi = len(assistant.documents) > 1
    groups: dict[tuple[str, int], list] = {}  # each cited paragraph once, all its quotes marked
    for c in ans.citations:
        groups.setdefault((c.doc_id, c.paragraph), []).append(c)
    for (doc_id, num), cs in groups.items():
        c = cs[0]
        page = f", p.{c.page}" if c.page else ""
        marker = f"[{doc_id} ¶{num}]" if multi else f"[¶{num}]"  # as in the answer text
        print(style(f"{marker} {c.title}{page}", BOLD))
        print(f"  {highlight(c.paragraph_text, [x.quote for x in cs])}\n")
    return 0
