"""Plain text, as anyone writes it: paragraphs are blocks separated by blank lines, and every
non-blank line ends up in exactly one paragraph. Nothing is dropped or reordered; the title is the
file name."""

from __future__ import annotations

import re

from rag.errors import IngestError
from rag.ingest.document import Document, Paragraph

_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")  # a newline, then a line of nothing but spaces/tabs
_CONTENT = re.compile(r"\S(?:.*\S)?", re.S)  # first to last non-space character


def blocks(text: str) -> list[tuple[int, int]]:
    """Spans of blank-line separated blocks, trimmed. ``blocks("a\\n\\nb") == [(0, 1), (3, 4)]``"""
    spans, pos = [], 0
    for sep in [*_BLANK_LINE.finditer(text), None]:
        end = sep.start() if sep else len(text)
        m = _CONTENT.search(text, pos, end)
        if m:
            spans.append(m.span())
        if sep:
            pos = sep.end()
    return spans


def paragraphs(text: str, spans, page: int | None = None, sections=None) -> tuple[Paragraph, ...]:
    """Numbered paragraphs ¶1..¶N for ``spans`` of ``text``."""
    sections = sections or [None] * len(spans)
    return tuple(Paragraph(i, text[s:e], s, e, page, sec) for i, ((s, e), sec) in enumerate(zip(spans, sections), 1))


def parse_plain(text: str, doc_id: str, source_path: str | None = None) -> Document:
    """Plain text: one paragraph per blank-line separated block, titled by ``doc_id``."""
    spans = blocks(text)
    if not spans:
        raise IngestError(f"{source_path or doc_id}: no paragraphs found")
    return Document(doc_id, doc_id, text, paragraphs(text, spans), source_path=source_path)
