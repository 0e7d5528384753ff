"""Answers as Markdown that can be pasted anywhere: the answer with numbered footnote references,
then one footnote per cited paragraph quoting the supporting sentences verbatim.

>>> print(answer_markdown("He left [¶2].", [{"doc_id": "d", "paragraph": 2, "quote": "He left.",
...                                           "title": "T"}]))
He left[^1].
<BLANKLINE>
[^1]: “He left.” — T, ¶2
"""

from __future__ import annotations

import re

from rag.types import MARKER


def _refs(text: str, citations) -> tuple[str, list[tuple[str, int]]]:
    """``text`` with each marker replaced by ``[^n]``; n numbers (doc_id, paragraph) in order of
    first appearance."""
    single = {c["paragraph"]: c["doc_id"] for c in citations}
    order: list[tuple[str, int]] = []

    def sub(m: re.Match) -> str:
        num = int(m.group("num"))
        doc = (m.group("doc") or "").strip() or single.get(num, "")
        key = (doc, num)
        if key not in order:
            order.append(key)
        return f"[^{order.index(key) + 1}]"

    out = re.sub(r"[ \t]*" + MARKER.pattern, sub, text)
    return out, order


def _footnote(n: int, key: tuple[str, int], citations, short=None) -> str:
    doc_id, num = key
    cs = [c for c in citations if c["doc_id"] == doc_id and c["paragraph"] == num]
    title = (short or {}).get(doc_id) or (cs[0].get("title") if cs else "") or doc_id
    quotes = " … ".join(f"“{c['quote'].strip()}”" for c in cs if c.get("quote")) or "(no quote)"
    page = f", p.{cs[0]['page']}" if cs and cs[0].get("page") else ""
    return f"[^{n}]: {quotes} — {title}, ¶{num}{page}"


def answer_markdown(text: str, citations, short=None, start: int = 1) -> str:
    """The answer and its numbered footnotes. ``citations``: dicts with doc_id, paragraph, quote,
    title (and page); ``short``: doc_id -> short title; footnotes are numbered from ``start``."""
    body, order = _refs(text, citations)
    if start != 1:
        body = re.sub(r"\[\^(\d+)\]", lambda m: f"[^{int(m.group(1)) + start - 1}]", body)
    notes = [_footnote(start + i, key, citations, short) for i, key in enumerate(order)]
    return body.strip() + ("\n\n" + "\n".join(notes) if notes else "")


def turn_markdown(turn: dict, short=None, start: int = 1) -> tuple[str, int]:
    """One finished turn (see ``ui.chat``) as Markdown, and how many footnotes it used."""
    status = turn.get("status", "done")
    if status == "stopped":
        return "_Stopped before an answer._", 0
    if turn.get("error"):
        return f"_Error: {turn['error']}_", 0
    if turn.get("abstained"):
        return turn.get("shown") or turn.get("answer") or "", 0
    cites = turn.get("citations") or []
    md = answer_markdown(turn.get("answer", ""), cites, short, start)
    return md, len(_refs(turn.get("answer", ""), cites)[1])


def conversation_markdown(turns, title: str = "Conversation", short=None) -> str:
    """The whole conversation: each question as a heading line, its answer, footnotes numbered
    through the whole document so none repeats."""
    out = [f"# {title}", ""]
    n = 1
    for t in turns:
        if t.get("status") in ("queued", "running"):
            continue
        md, used = turn_markdown(t, short, n)
        n += used
        out += [f"**Q: {t.get('question', '')}**", "", md, ""]
    return "\n".join(out).rstrip() + "\n"
