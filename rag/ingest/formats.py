"""Read sources into ``Document``s: .txt, .md, .html, .pdf and .docx, and the bundled web article.

Every paragraph keeps its exact character span in ``Document.text``, so a citation can always be
traced back to the source.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.errors import IngestError
from rag.ingest.article import CHROME, parse_article  # noqa: F401  (re-exported)
from rag.ingest.decoding import decode_bytes
from rag.ingest.document import Document, Paragraph
from rag.ingest.markdown import parse_markdown
from rag.ingest.plaintext import blocks, paragraphs, parse_plain  # noqa: F401  (re-exported)

BUNDLED_ARTICLE = Path(__file__).resolve().parent.parent / "data" / "rusi-2017-02-22-us-russia-reset.txt"
SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
# How a text file (.txt/.md) is parsed: "auto" by its suffix (the bundled article by its own parser).
FORMATS = ("auto", "text", "markdown", "article")


def decode(data: bytes, name: str) -> str:
    """Decode ``data`` to text, refusing binary input (see ``rag.ingest.decoding``)."""
    return decode_bytes(data, name).text


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


def load_document(path: str | Path, max_bytes: int = 25 * 2**20, format: str = "auto") -> Document:
    """Read one file into a Document; ``doc_id`` is the file's stem.

    The id is the file name without its suffix (`notes/a.txt` becomes `a`). Files over ``max_bytes`` are refused by name:
    embedding them on a laptop CPU would take far longer than a user expects to wait.
    ``format`` applies to text files: ``"auto"`` (by suffix: .md is Markdown, other text plain;
    the bundled article by its own parser), ``"text"``, ``"markdown"`` or ``"article"`` (the
    web-article parser, which drops page chrome; see ``rag.ingest.article``).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(map(repr, FORMATS))}. Currently, format is {format!r}")
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
    decoded = decode_bytes(data, str(path))
    if format == "auto":
        format = "markdown" if suffix == ".md" else "article" if path.resolve() == BUNDLED_ARTICLE else "text"
    parse = {"markdown": parse_markdown, "article": parse_article, "text": parse_plain}[format]
    doc = parse(decoded.text, path.stem, str(path))
    doc.meta.update(encoding=decoded.encoding, replaced_bytes=decoded.replaced)
    return doc


def load_bundled() -> Document:
    """The bundled RUSI commentary, ¶1..¶N."""
    return load_document(BUNDLED_ARTICLE)
