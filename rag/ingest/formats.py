"""Read sources into ``Document``s: the bundled web article, .txt/.md, .html and .pdf.

Every paragraph keeps its exact character span in ``Document.text``, so a citation can always be
traced back to the source.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.errors import IngestError
from rag.ingest.document import Document, Paragraph

BUNDLED_ARTICLE = Path(__file__).resolve().parent.parent / "data" / "rusi-2017-02-22-us-russia-reset.txt"
SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")

# Page chrome copied along with web articles: navigation, newsletter and donation boxes.
CHROME = {"you are here", "subscribe to our newsletter", "support rusi research", "share", "print"}
_BLOCKS = re.compile(r"\S(?:.*?\S)??(?=\n[ \t]*\n|\s*\Z)", re.S)  # lazy group: a one-character block ends at its own blank line
_DATE_LINE = re.compile(r"^(?:(?P<kind>[A-Z][\w ]*?),\s*)?(?P<date>\d{1,2} [A-Z][a-z]+ \d{4})$")


def blocks(text: str) -> list[tuple[int, int]]:
    """Spans of blank-line separated blocks, trimmed. ``blocks("a\\n\\nb") == [(0, 1), (3, 4)]``"""
    return [(m.start(), m.end()) for m in _BLOCKS.finditer(text)]


def decode(data: bytes, name: str) -> str:
    """Decode ``data`` to text, refusing binary input. Non-UTF-8 text is detected by charset-normalizer."""
    if not data.strip():
        raise IngestError(f"{name}: file is empty")
    sample = data[:8192]
    if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(f"{name}: looks like a binary file (NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _legacy_decode(data, name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\t\f")
    if controls > 0.05 * min(len(text), 8192):
        raise IngestError(f"{name}: looks like a binary file (control characters), not text")
    if not text.strip():
        raise IngestError(f"{name}: file has no text")
    return text


def _legacy_decode(data: bytes, name: str) -> str:
    """Non-UTF-8 bytes. Western text in cp1252/latin-1 is by far the most common case, and
    charset detectors misjudge short samples of it, so it is tried first and accepted when every
    non-ASCII character is a Latin letter or common punctuation; other scripts go to
    charset-normalizer."""
    import unicodedata

    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise IngestError(f"{name}: has a UTF-16 byte-order mark but is not valid UTF-16") from None
    try:
        text = data.decode("cp1252")
        high = [c for c in text if ord(c) >= 128]
        letters = sum(1 for c in text if c.isalpha())
        # Western prose is mostly ASCII with a few accented Latin letters; Cyrillic or Greek read
        # as cp1252 turns into runs of accented letters instead.
        if len(high) <= 0.5 * max(letters, 1) and all(
                unicodedata.category(c)[0] in "PSZ" or "LATIN" in unicodedata.name(c, "") for c in high):
            return text
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # a requests dependency; well kept

    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{name}: cannot decode: not UTF-8 and no other encoding fits")
    return str(best)


def _paragraphs(text: str, spans: list[tuple[int, int]], page: int | None = None) -> list[Paragraph]:
    return [Paragraph(i, text[s:e], s, e, page) for i, (s, e) in enumerate(spans, 1)]


def parse_article(text: str, doc_id: str, source_path: str | None = None) -> Document:
    """Parse a saved web article: chrome dropped, title/byline/date/tags as metadata, body numbered.

    Layout recognised (the bundled RUSI commentary)::

        [chrome]  Title  Author / "Commentary, 22 February 2017" / tags / first paragraph ...
        body paragraphs ...  [author box, bio ending "read more", newsletter chrome]
    """
    spans = [(s, e) for s, e in blocks(text) if text[s:e].strip().lower() not in CHROME]
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
    return Document(doc_id, title, text, tuple(_paragraphs(text, body)), author, date, tags,
                    source_path, meta)


def parse_plain(text: str, doc_id: str, source_path: str | None = None, markdown: bool = False) -> Document:
    """Plain text or Markdown: paragraphs split on blank lines; a Markdown heading joins the
    paragraph below it so no paragraph is a bare heading; the first ``# Title`` names the document."""
    spans = blocks(text)
    title = doc_id
    if markdown:
        if spans and re.match(r"#\s", text[spans[0][0] : spans[0][1]]) and "\n" not in text[spans[0][0] : spans[0][1]]:
            title = text[spans[0][0] : spans[0][1]].lstrip("#").strip() or doc_id
            spans = spans[1:]
        merged: list[tuple[int, int]] = []
        carry = None
        for s, e in spans:
            is_heading = re.match(r"#{1,6}\s", text[s:e]) and "\n" not in text[s:e]
            if carry is not None:
                s, carry = carry, None
            if is_heading:
                carry = s
                continue
            merged.append((s, e))
        if carry is not None:
            merged.append((carry, spans[-1][1]))
        spans = merged
    if not spans:
        raise IngestError(f"{source_path or doc_id}: no paragraphs found")
    return Document(doc_id, title, text, tuple(_paragraphs(text, spans)), source_path=source_path)


def parse_html(raw: bytes, doc_id: str, source_path: str | None = None) -> Document:
    """HTML via BeautifulSoup: scripts, styles and navigation dropped; block elements become paragraphs."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "noscript", "form"]):
        tag.decompose()
    title_tag = soup.find("h1") or soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else doc_id
    pieces = []
    for el in soup.find_all(["p", "li", "blockquote", "pre", "h2", "h3", "h4", "td"]):
        if el.find(["p", "li", "blockquote", "pre"]):
            continue  # the inner block elements carry the text
        words = " ".join(el.get_text(" ").split())
        if words and words != title:
            pieces.append(words)
    if not pieces:
        raise IngestError(f"{source_path or doc_id}: HTML has no text paragraphs")
    return _joined(pieces, doc_id, title, source_path)


def _joined(pieces: list[str], doc_id: str, title: str, source_path: str | None,
            pages: list[int] | None = None) -> Document:
    text, paras, pos = "", [], 0
    for i, piece in enumerate(pieces):
        if i:
            text += "\n\n"
            pos += 2
        paras.append(Paragraph(i + 1, piece, pos, pos + len(piece), pages[i] if pages else None))
        text += piece
        pos += len(piece)
    return Document(doc_id, title, text, tuple(paras), source_path=source_path)


def parse_pdf(path: Path, doc_id: str) -> Document:
    """PDF via pypdf: paragraphs per page (blank-line or sentence-end line breaks), page numbers kept."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:
        from rag.errors import MissingDependencyError

        raise MissingDependencyError("reading PDFs needs pypdf: pip install pypdf") from None
    try:
        reader = PdfReader(str(path))
        title = (reader.metadata.title if reader.metadata else None) or doc_id
        pieces, pages = [], []
        for n, page in enumerate(reader.pages, 1):
            page_text = (page.extract_text() or "").replace("\r\n", "\n")
            # pypdf rarely emits blank lines: a line break after a sentence end starts a paragraph
            page_text = re.sub(r"(?<=[.!?:])\n(?=[A-Z])", "\n\n", page_text)
            for s, e in blocks(page_text):
                words = " ".join(page_text[s:e].split())
                if words:
                    pieces.append(words)
                    pages.append(n)
    except PdfReadError as exc:
        raise IngestError(f"{path}: not a readable PDF ({exc})") from None
    if not pieces:
        raise IngestError(f"{path}: PDF has no text layer (scanned?); run OCR on it first")
    return _joined(pieces, doc_id, str(title), str(path), pages)


def load_document(path: str | Path, max_bytes: int = 25 * 2**20) -> Document:
    """Read one file into a Document; ``doc_id`` is the file's stem.

    The id is the file name without its suffix (`notes/a.txt` becomes `a`). Files over ``max_bytes`` are refused by name:
    embedding them on a laptop CPU would take far longer than a user expects to wait.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(f"{path}: file is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:g} MB limit (max_file_mb)")
    if suffix == ".pdf":
        return parse_pdf(path, path.stem)
    if suffix == ".docx":
        from rag.ingest.docx import parse_docx

        return parse_docx(path, path.stem)
    data = path.read_bytes()
    if suffix in (".html", ".htm"):
        decode(data, str(path))  # refuses empty/binary input by name
        return parse_html(data, path.stem, str(path))
    text = decode(data, str(path))
    if suffix == ".md":
        return parse_plain(text, path.stem, str(path), markdown=True)
    return parse_article(text, path.stem, str(path))


def load_bundled() -> Document:
    """The bundled RUSI commentary, ¶1..¶N."""
    return load_document(BUNDLED_ARTICLE)
