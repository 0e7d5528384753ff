"""The saved web-article layout of the bundled RUSI commentary: page chrome dropped, title, byline,
date and tags as metadata, the author box and everything after it cut off.

It drops text by design, so it applies only to the bundled article and to files whose owner asks
for it (``ragqa index --format article``, ``load_document(path, format="article")``); what it
dropped is counted in ``Document.meta["dropped_blocks"]`` and reported in the build summary.
Everyone else's text goes through ``rag.ingest.plaintext``."""

from __future__ import annotations

import re

from rag.errors import IngestError
from rag.ingest.document import Document
from rag.ingest.plaintext import blocks, paragraphs, parse_plain

# Page chrome copied along with web articles: navigation, newsletter and donation boxes.
CHROME = {"you are here", "subscribe to our newsletter", "support rusi research", "share", "print"}
_DATE_LINE = re.compile(r"^(?:(?P<kind>[A-Z][\w ]*?),\s*)?(?P<date>\d{1,2} [A-Z][a-z]+ \d{4})$")


def parse_article(text: str, doc_id: str, source_path: str | None = None) -> Document:
    """Parse a saved web article: chrome dropped, title/byline/date/tags as metadata, body numbered.

    Layout recognised (the bundled RUSI commentary)::

        [chrome]  Title  Author / "Commentary, 22 February 2017" / tags / first paragraph ...
        body paragraphs ...  [author box, bio ending "read more", newsletter chrome]

    Text that does not have this layout is parsed as plain text, dropping nothing.
    """
    every = blocks(text)
    spans = [(s, e) for s, e in every if text[s:e].strip().lower() not in CHROME]
    title = author = date = None
    tags: tuple[str, ...] = ()
    meta: dict = {}
    if len(spans) >= 2 and "\n" not in text[spans[0][0] : spans[0][1]]:
        head_s, head_e = spans[1]
        lines = text[head_s:head_e].split("\n")
        if len(lines) >= 2 and _DATE_LINE.match(lines[1].strip()):
            title = text[spans[0][0] : spans[0][1]]
            author = lines[0].strip()
            m = _DATE_LINE.match(lines[1].strip())
            date, meta["kind"] = m.group("date"), m.group("kind")
            rest = 2
            if len(lines) > 2 and "," in lines[2] and not lines[2].rstrip().endswith((".", "?", "!")):
                tags = tuple(t.strip() for t in lines[2].split(",") if t.strip())
                rest = 3
            body_start = head_s + sum(len(line) + 1 for line in lines[:rest])
            spans = spans[2:]
            if body_start < head_e:
                spans.insert(0, (body_start, head_e))
    if title is None:
        return parse_plain(text, doc_id, source_path)
    body = []
    for s, e in spans:
        block = text[s:e]
        if author and block.split("\n", 1)[0].strip() == author:
            break  # the author box: everything after it is bio and footer chrome
        if block.rstrip().lower().endswith("read more"):
            continue
        body.append((s, e))
    if not body:
        raise IngestError(f"{source_path or doc_id}: no body paragraphs found")
    # title and byline are metadata; every other block not in the body was dropped
    whole = set(every)
    meta["dropped_blocks"] = len(every) - 2 - sum(1 for span in body if span in whole)
    return Document(doc_id, title, text, paragraphs(text, body), author, date, tags, source_path, meta)
