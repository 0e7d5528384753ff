"""Markdown: front matter becomes metadata, the first ``# heading`` the title, and every heading
the section of the paragraphs under it. Paragraphs are blank-line separated blocks (a heading line
ends one too); a fenced code block is one paragraph, blank lines and ``# comments`` included.
Every other non-blank line ends up in exactly one paragraph."""

from __future__ import annotations

import re

from rag.errors import IngestError
from rag.ingest.document import Document
from rag.ingest.plaintext import paragraphs

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(\S.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")
_ITEM = re.compile(r"^[ \t]*-[ \t]+(.*?)[ \t]*$")


def front_matter(text: str) -> tuple[dict, str, int]:
    """(fields, raw text, end offset) of a leading ``---`` block; ``({}, "", 0)`` without one.

    A small subset of YAML: ``key: value``, inline ``[a, b]`` lists and ``- item`` lists. Lines it
    does not understand stay in the raw text, which is kept with the document too."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, "", 0
    raw = m.group(1) or ""
    if not all(_KEY.match(line) or _ITEM.match(line) or line[:1] in (" ", "\t", "#") for line in raw.split("\n")[:-1]):
        return {}, "", 0  # a thematic break and some text, not front matter
    fields: dict = {}
    key = None
    for line in raw.split("\n"):
        item = _ITEM.match(line)
        if item and key is not None:
            if not isinstance(fields[key], list):
                fields[key] = [] if fields[key] == "" else [fields[key]]
            fields[key].append(_unquote(item.group(1)))
            continue
        kv = _KEY.match(line)
        if kv:
            key, value = kv.group(1), kv.group(2)
            if value.startswith("[") and value.endswith("]"):
                fields[key] = [_unquote(v.strip()) for v in value[1:-1].split(",") if v.strip()]
            else:
                fields[key] = _unquote(value)
    return fields, raw, m.end()


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value


def _text(value) -> str | None:
    if value is None or value == "" or value == []:
        return None
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def parse_markdown(text: str, doc_id: str, source_path: str | None = None) -> Document:
    """Markdown ``text`` as a Document; see the module docstring for the rules."""
    fields, raw, pos = front_matter(text)
    title = _text(fields.get("title"))
    spans: list[tuple[int, int]] = []
    sections: list[str | None] = []
    headings: list[str] = []
    section = None
    start = end = None  # the paragraph being collected
    fence = None  # the opening fence's marker while inside a code block

    def flush():
        nonlocal start, end
        if start is not None:
            spans.append((start, end))
            sections.append(section)
        start = end = None

    for line in text[pos:].split("\n"):
        line_start, line_end = pos, pos + len(line)
        pos = line_end + 1
        stripped = line.strip()
        if fence is not None:  # inside a code block: everything belongs to it
            end = line_start + len(line.rstrip()) if stripped else end
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        opening = _FENCE.match(line)
        if opening:
            flush()
            fence = opening.group(1)
            start, end = line_start + len(line) - len(line.lstrip()), line_start + len(line.rstrip())
            continue
        if not stripped:
            flush()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            name = heading.group(2).strip()
            headings.append(name)
            if title is None and len(heading.group(1)) == 1 and not spans:
                title = name  # the first "# Title" names the document
            else:
                section = name
            continue
        if start is None:
            start = line_start + len(line) - len(line.lstrip())
        end = line_start + len(line.rstrip())
    flush()
    if not spans:
        raise IngestError(f"{source_path or doc_id}: no paragraphs found (only headings or front matter)")
    meta = {"headings": headings}
    if raw or fields:
        meta |= {"front_matter": fields, "front_matter_text": raw}
    tags = fields.get("tags", fields.get("keywords", ()))
    tags = tuple(tags) if isinstance(tags, list) else tuple(t.strip() for t in str(tags).split(",") if t.strip())
    return Document(doc_id, title or doc_id, text, paragraphs(text, spans, sections=sections),
                    author=_text(fields.get("author")), date=_text(fields.get("date")), tags=tags,
                    source_path=source_path, meta=meta)
