"""Answers, passages and documents as HTML. Everything that comes from a document, a question or a
model is escaped: an article or question containing ``<script>`` shows as text.

The chat message is ONE CommonMark HTML block (a ``<div>`` with no blank line inside), so Gradio's
markdown step leaves it alone and its sanitizer (which keeps div/mark/details/summary/class/id)
gets exactly what we wrote. ``$`` and newlines are encoded so LaTeX or a blank line in a document
cannot end the block early.

>>> escape("<img src=x onerror=alert(1)>")
'&lt;img src=x onerror=alert(1)&gt;'
"""

from __future__ import annotations

import html
import re

MAX_OTHER_CHARS = 1200  # long passages in the collapsed list are cut, the cited ones never
CLOSEST = 3  # passages shown under an abstention
CLOSEST_CHARS = 600


def escape(text) -> str:
    """HTML-escape ``text`` for use inside one HTML block: ``escape("a\\n\\nb") == 'a<br><br>b'``."""
    s = html.escape(str(text or ""), quote=True)
    s = s.replace("$", "&#36;").replace("\\", "&#92;").replace("`", "&#96;")
    return re.sub(r"\r\n|\r|\n", "<br>", s)


def _marker_re():
    from rag.types import MARKER

    return MARKER


def answer_text_html(text: str) -> str:
    """Escaped answer text with citation markers wrapped: ``answer_text_html("Yes [¶2].")``."""
    out, pos = [], 0
    for m in _marker_re().finditer(text):
        out.append(escape(text[pos:m.start()]))
        out.append(f'<span class="rq-cite">{escape(m.group(0))}</span>')
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def highlight(paragraph: str, quotes) -> str:
    """``paragraph`` escaped, each verbatim ``quote`` in it wrapped in ``<mark>``.

    >>> highlight("A <b>. B.", ["B."])
    'A &lt;b&gt;. <mark>B.</mark>'
    """
    spans = []
    for q in quotes:
        q = (q or "").strip()
        i = paragraph.find(q) if q else -1
        if i >= 0:
            spans.append((i, i + len(q)))
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:
        out.append(escape(paragraph[pos:s]))
        out.append(f"<mark>{escape(paragraph[s:e])}</mark>")
        pos = e
    out.append(escape(paragraph[pos:]))
    return "".join(out)


def _where(doc_id: str, title: str, label: str, pages=(), multi: bool = False) -> str:
    page = f" · p.{pages[0]}" if pages else ""
    doc = f"{escape(title or doc_id)} · " if multi else ""
    return f"{doc}{escape(label)}{page}"


def cited_html(citations, multi: bool = False) -> str:
    """Each cited paragraph in full, its supporting sentences marked, in order of first citation."""
    groups: dict[tuple[str, int], list] = {}
    for c in citations:
        groups.setdefault((c.doc_id, c.paragraph), []).append(c)
    parts = []
    for (doc_id, num), cs in groups.items():
        c = cs[0]
        where = _where(doc_id, c.title, f"¶{num}", (c.page,) if c.page else (), multi)
        parts.append(f'<div class="rq-cited"><div class="rq-label">{where}</div>'
                     f'<div class="rq-para">{highlight(c.paragraph_text, [x.quote for x in cs])}</div></div>')
    return "".join(parts)


def passages_html(passages, multi: bool = False, limit: int = MAX_OTHER_CHARS) -> str:
    """Retrieved passages with their labels and scores, as a list."""
    items = []
    for p in passages:
        text = p.text if len(p.text) <= limit else p.text[:limit].rsplit(" ", 1)[0] + " …"
        where = _where(p.doc_id, p.title, p.label, p.pages, multi)
        items.append(f'<li class="rq-passage"><span class="rq-label">{where}</span> '
                     f'<span class="rq-score">score {p.score:.3f}</span>'
                     f'<div class="rq-para">{escape(text)}</div></li>')
    return f'<ol class="rq-passages">{"".join(items)}</ol>'


def _other(answer) -> list:
    """Retrieved passages not made only of cited paragraphs."""
    cited = {(c.doc_id, c.paragraph) for c in answer.citations}
    return [p for p in answer.passages if not all((p.doc_id, n) in cited for n in p.paragraphs)]


def sources_html(answer) -> str:
    """The sources block under an answer: cited paragraphs, then the other passages collapsed;
    for an abstention, the closest passages, open, for the reader to check."""
    multi = len({p.doc_id for p in answer.passages}) > 1
    if answer.abstained:
        closest = answer.passages[:CLOSEST]
        if not closest:
            return ""
        return ('<details class="rq-closest" open><summary>Closest passages — check them yourself</summary>'
                f"{passages_html(closest, multi, CLOSEST_CHARS)}</details>")
    parts = ['<div class="rq-sources"><div class="rq-heading">Sources</div>', cited_html(answer.citations, multi)]
    other = _other(answer)
    if other:
        parts.append(f'<details class="rq-other"><summary>Other retrieved passages ({len(other)})</summary>'
                     f"{passages_html(other, multi)}</details>")
    parts.append("</div>")
    return "".join(parts)


def notice_html(notice: str | None) -> str:
    """A visible note, e.g. that the LLM was unavailable and the answer is extractive."""
    return f'<div class="rq-notice" role="status">⚠ {escape(notice)}</div>' if notice else ""


def answer_html(answer, shown: str | None = None) -> str:
    """The whole assistant message: notice, answer text (``shown``: the part streamed so far), sources."""
    text = answer.text if shown is None else shown
    cls = "rq-abstain" if answer.abstained else "rq-text"
    cursor = '<span class="rq-cursor">▍</span>' if shown is not None and shown != answer.text else ""
    return (f'<div class="rq-answer">{notice_html(answer.notice)}'
            f'<div class="{cls}">{answer_text_html(text)}{cursor}</div>{sources_html(answer)}</div>')


def error_html(message: str) -> str:
    """An error shown in the chat instead of an answer."""
    return f'<div class="rq-answer"><div class="rq-notice rq-error" role="alert">⚠ {escape(message)}</div></div>'


def question_html(question: str) -> str:
    """A user's question, shown literally."""
    return f'<div class="rq-question">{escape(question)}</div>'


def pending_html() -> str:
    return '<div class="rq-answer"><div class="rq-text rq-pending">Searching the article…</div></div>'


def document_html(doc) -> str:
    """Title, author, date and every paragraph with its ¶ number (anchor ``id="p-N"``)."""
    meta = " · ".join(escape(x) for x in (doc.author, doc.date) if x)
    paras = "".join(f'<p class="rq-article-p" id="p-{p.number}"><a class="rq-pn" href="#p-{p.number}">'
                    f"¶{p.number}</a> {escape(p.text)}</p>" for p in doc.paragraphs)
    return (f'<article class="rq-article"><h2>{escape(doc.title or doc.doc_id)}</h2>'
            f'<div class="rq-meta">{meta}</div>{paras}</article>')
