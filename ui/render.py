"""Answers, passages and documents as HTML. Everything that comes from a document, a question or a
model is escaped: an article or question containing ``<script>`` shows as text.

The chat message is ONE CommonMark HTML block (a ``<div>`` with no blank line inside), so Gradio's
markdown step leaves it alone and its sanitizer (which keeps a/div/mark/details/summary/pre/button,
class, id, href and title; it drops data-* attributes) gets exactly what we wrote. ``$`` and
newlines are encoded so LaTeX or a blank line in a document cannot end the block early.

Links carry what the page script (``ui/script.py``) needs in their ``href``: ``#rq-cite-T-I`` is
citation I of turn T (opens the document view there), ``#rq-suggest-T`` asks turn T's suggested
rephrasing.

>>> escape("<img src=x onerror=alert(1)>")
'&lt;img src=x onerror=alert(1)&gt;'
"""

from __future__ import annotations

import html
import re

MAX_OTHER_CHARS = 1200  # long paragraphs in the collapsed list are cut, the cited ones never
CLOSEST = 3  # paragraphs shown under an abstention
CLOSEST_CHARS = 600


def escape(text) -> str:
    """HTML-escape ``text`` for use inside one HTML block: ``escape("a\\n\\nb") == 'a<br><br>b'``."""
    s = html.escape(str(text or ""), quote=True)
    s = s.replace("$", "&#36;").replace("\\", "&#92;").replace("`", "&#96;")
    return re.sub(r"\r\n|\r|\n", "<br>", s)


def escape_pre(text) -> str:
    """Escape ``text`` keeping its newlines as character references, so a ``<pre>`` holds it
    verbatim without a literal blank line ending the HTML block: ``escape_pre("a\\n\\nb")``."""
    s = html.escape(str(text or ""), quote=True)
    s = s.replace("$", "&#36;").replace("\\", "&#92;").replace("`", "&#96;")
    return re.sub(r"\r\n|\r|\n", "&#10;", s)


def _marker_re():
    from rag.types import MARKER

    return MARKER


def _label(labels, doc_id: str) -> str:
    return labels.doc(doc_id) if labels is not None else doc_id


def cite_index(citations) -> dict:
    """(doc_id, paragraph) -> index of its first citation; also paragraph -> index when one
    document is cited (markers then omit the document)."""
    out: dict = {}
    for i, c in enumerate(citations):
        out.setdefault((c.doc_id, c.paragraph), i)
    if len({c.doc_id for c in citations}) == 1:
        for i, c in enumerate(citations):
            out.setdefault((None, c.paragraph), i)
    return out


def answer_text_html(text: str, citations=(), labels=None, turn: int | None = None) -> str:
    """Escaped answer text with each citation marker a link to its paragraph, naming the document
    by its short title (id on hover): ``answer_text_html("Yes [¶2].")``."""
    index = cite_index(citations)
    out, pos = [], 0
    for m in _marker_re().finditer(text):
        out.append(escape(text[pos:m.start()]))
        doc = (m.group("doc") or "").strip() or None
        num = int(m.group("num"))
        i = index.get((doc, num))
        if i is None and doc is None:
            i = next((j for (d, n), j in index.items() if n == num), None)
        c = citations[i] if i is not None else None
        doc_id = c.doc_id if c is not None else doc
        shown = f"[{_label(labels, doc_id)} ¶{num}]" if doc else f"[¶{num}]"
        if c is not None and turn is not None:
            out.append(f'<a class="rq-cite" href="#rq-cite-{turn}-{i}" title="{escape(doc_id)} ¶{num}: open in the '
                       f'document view">{escape(shown)}</a>')
        else:
            out.append(f'<span class="rq-cite" title="{escape(doc_id or "")}">{escape(shown)}</span>')
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


def _where(doc_id: str, num: int, page=None, labels=None, multi: bool = False) -> str:
    """"¶12 · p.3", with the document's short title first when several documents are involved."""
    doc = f"{escape(_label(labels, doc_id))} · " if multi else ""
    return f"{doc}¶{num}" + (f" · p.{page}" if page else "")


def cited_html(citations, labels=None, turn: int | None = None, multi: bool = False) -> str:
    """Each cited paragraph in full, its supporting sentences marked, in order of first citation;
    each label links to the paragraph in the document view."""
    groups: dict[tuple[str, int], list] = {}
    for i, c in enumerate(citations):
        groups.setdefault((c.doc_id, c.paragraph), []).append((i, c))
    parts = []
    for (doc_id, num), cs in groups.items():
        i, c = cs[0]
        where = _where(doc_id, num, c.page, labels, multi)
        label = (f'<a class="rq-label rq-src" href="#rq-cite-{turn}-{i}" title="{escape(doc_id)}: open in the '
                 f'document view">{where}</a>' if turn is not None
                 else f'<span class="rq-label" title="{escape(doc_id)}">{where}</span>')
        parts.append(f'<div class="rq-cited">{label}'
                     f'<div class="rq-para">{highlight(c.paragraph_text, [x.quote for _, x in cs])}</div></div>')
    return "".join(parts)


def passage_paragraphs(passages, documents, exclude=()) -> list[tuple[str, int, str]]:
    """(doc_id, number, text) of every paragraph in ``passages``, each once, in rank order,
    leaving out ``exclude`` ((doc_id, number) pairs, e.g. the cited ones)."""
    seen, out = set(exclude), []
    for p in passages:
        doc = (documents or {}).get(p.doc_id)
        for n in p.paragraphs:
            if (p.doc_id, n) in seen:
                continue
            seen.add((p.doc_id, n))
            try:
                text = doc.paragraph(n).text if doc is not None else p.text
            except KeyError:  # the index changed since: show what was retrieved
                text = p.text
            out.append((p.doc_id, n, text))
    return out


def paragraphs_html(paras, labels=None, multi: bool = False, limit: int = MAX_OTHER_CHARS) -> str:
    """Paragraphs with their labels, as a list (no scores: their rank is their order)."""
    items = []
    for doc_id, n, text in paras:
        text = text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"
        items.append(f'<li class="rq-passage"><span class="rq-label" title="{escape(doc_id)}">'
                     f'{_where(doc_id, n, None, labels, multi)}</span><div class="rq-para">{escape(text)}</div></li>')
    return f'<ol class="rq-passages">{"".join(items)}</ol>'


def sources_html(answer, labels=None, documents=None, turn: int | None = None) -> str:
    """The sources block under an answer: cited paragraphs, then the other retrieved paragraphs
    collapsed (each once, none of the cited ones); for an abstention, the closest paragraphs,
    open, for the reader to check."""
    multi = len({p.doc_id for p in answer.passages}) > 1 or (labels is not None and labels.count > 1)
    if answer.abstained:
        closest = passage_paragraphs(answer.passages, documents)[:CLOSEST]
        if not closest:
            return ""
        return ('<details class="rq-closest" open><summary>Closest passages, most relevant first — check them '
                f'yourself</summary>{paragraphs_html(closest, labels, multi, CLOSEST_CHARS)}</details>')
    parts = ['<div class="rq-sources"><div class="rq-heading">Sources</div>',
             cited_html(answer.citations, labels, turn, multi)]
    cited = {(c.doc_id, c.paragraph) for c in answer.citations}
    other = passage_paragraphs(answer.passages, documents, cited)
    if other:
        parts.append(f'<details class="rq-other"><summary>Other retrieved passages ({len(other)}), most relevant '
                     f'first</summary>{paragraphs_html(other, labels, multi)}</details>')
    parts.append("</div>")
    return "".join(parts)


def notice_html(notice: str | None) -> str:
    """A visible note, e.g. that the LLM was unavailable and the answer is extractive."""
    return f'<div class="rq-notice" role="status">⚠ {escape(notice)}</div>' if notice else ""


def tools_html(markdown: str | None) -> str:
    """The Copy button and, hidden, the Markdown it copies (answer + numbered footnotes)."""
    if markdown is None:
        return ""
    return ('<div class="rq-tools"><button class="rq-copy" type="button" title="Copy the answer as Markdown, '
            'with numbered footnotes quoting each source">Copy</button></div>'
            f'<pre class="rq-md" hidden>{escape_pre(markdown)}</pre>')


def answer_html(answer, labels=None, documents=None, turn: int | None = None, why: str = "",
                markdown: str | None = None, notices=()) -> str:
    """The whole assistant message: notices, answer text, sources, "why this answer", Copy."""
    notes = "".join(notice_html(n) for n in (*notices, answer.notice) if n)
    if answer.abstained:
        body = f'<div class="rq-abstain">{escape(labels.abstain if labels else answer.text)}</div>'
    else:
        body = f'<div class="rq-text">{answer_text_html(answer.text, answer.citations, labels, turn)}</div>'
    anchor = f' id="rq-a-{turn}"' if turn is not None else ""
    return (f'<div class="rq-answer rq-final"{anchor}>{notes}{body}{sources_html(answer, labels, documents, turn)}'
            f"{why}{tools_html(markdown)}</div>")


def progress_html(turn: int | None, status: str, seconds: float, draft: str | None = None,
                  notices=()) -> str:
    """An answer being worked on: what is happening, for how long, the model's draft so far."""
    anchor = f' id="rq-a-{turn}"' if turn is not None else ""
    notes = "".join(notice_html(n) for n in notices if n)
    text = ""
    if draft:
        text = (f'<div class="rq-draft">{answer_text_html(draft)}<span class="rq-cursor">▍</span></div>'
                '<div class="rq-draft-note">Draft as the model writes it; its citations are checked when it '
                "finishes, and unsupported sentences are removed.</div>")
    return (f'<div class="rq-answer"{anchor}>{notes}<div class="rq-pending rq-running">{escape(status)} '
            f'<span class="rq-elapsed">{seconds:.0f} s</span> · Stop cancels</div>{text}</div>')


def stopped_html(turn: int | None, seconds: float, draft: str | None = None) -> str:
    """An answer the user stopped."""
    anchor = f' id="rq-a-{turn}"' if turn is not None else ""
    kept = (f'<details class="rq-other"><summary>Unchecked draft at the time</summary>'
            f'<div class="rq-para">{escape(draft)}</div></details>') if draft else ""
    return (f'<div class="rq-answer rq-final"{anchor}><div class="rq-notice" role="status">Stopped after '
            f"{seconds:.1f} s — no answer.</div>{kept}</div>")


def error_html(message: str, turn: int | None = None) -> str:
    """An error shown in the chat instead of an answer."""
    anchor = f' id="rq-a-{turn}"' if turn is not None else ""
    return (f'<div class="rq-answer rq-final"{anchor}><div class="rq-notice rq-error" role="alert">⚠ '
            f"{escape(message)}</div></div>")


def question_html(question: str) -> str:
    """A user's question, shown literally."""
    return f'<div class="rq-question">{escape(question)}</div>'


def document_html(doc, labels=None, target: int | None = None, quotes=(), source: str | None = None) -> str:
    """Title, author, date, the source, and every paragraph with its ¶ number (anchor ``id="p-N"``);
    paragraph ``target`` is marked (class ``rq-target``) with ``quotes`` highlighted in it."""
    meta = " · ".join(escape(x) for x in (doc.author, doc.date) if x)
    paras = []
    for p in doc.paragraphs:
        hit = p.number == target
        body = highlight(p.text, quotes) if hit else escape(p.text)
        paras.append(f'<p class="rq-article-p{" rq-target" if hit else ""}" id="p-{p.number}">'
                     f'<a class="rq-pn" href="#p-{p.number}">¶{p.number}</a> {body}</p>')
    src = ""
    if source:
        name = (doc.source_path or source).replace("\\", "/").rsplit("/", 1)[-1]
        src = f'<div class="rq-source">Original: <a href="{escape(source)}" target="_blank">{escape(name)}</a></div>'
    elif doc.source_path:
        src = f'<div class="rq-source">Source file: <code>{escape(doc.source_path)}</code></div>'
    return (f'<article class="rq-article"><h2 title="{escape(doc.doc_id)}">{escape(doc.title or doc.doc_id)}</h2>'
            f'<div class="rq-meta">{meta}</div>{src}{"".join(paras)}</article>')
