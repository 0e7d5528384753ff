"""Word ``.docx`` files: body paragraphs and table cells in order, headings joined to the paragraph
below them, title/author/date from the document properties. Standard library only (a .docx is a
zip of XML parts).

>>> parse_docx(Path("policy.docx"), "policy").paragraphs[0].text  # doctest: +SKIP
'Annual leave\\nEveryone gets 25 days of paid leave a year.'
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from rag.errors import IngestError
from rag.ingest.document import Document, Paragraph

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CORE = {"dc": "http://purl.org/dc/elements/1.1/", "dcterms": "http://purl.org/dc/terms/",
        "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"}
# An XML part larger than this once unzipped is refused: a small .docx can unzip to gigabytes.
MAX_PART_BYTES = 200 * 2**20


def _read_part(z: zipfile.ZipFile, name: str, path: Path) -> bytes | None:
    try:
        info = z.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_PART_BYTES:
        raise IngestError(f"{path}: {name} unzips to {info.file_size / 2**20:.0f} MB; refusing to read it")
    return z.read(info)


def _text(p) -> str:
    """The visible text of one ``w:p``: runs, tabs and line breaks."""
    out = []
    for el in p.iter():
        if el.tag == W + "t":
            out.append(el.text or "")
        elif el.tag == W + "tab":
            out.append("\t")
        elif el.tag in (W + "br", W + "cr"):
            out.append("\n")
    return " ".join("".join(out).split(" ")).strip()


def _style(p) -> str:
    el = p.find(f"{W}pPr/{W}pStyle")
    return (el.get(W + "val") or "") if el is not None else ""


def _blocks(body):
    """(style, text) of every paragraph in reading order, table cells included."""
    for el in body:
        if el.tag == W + "p":
            yield _style(el), _text(el)
        elif el.tag == W + "tbl":
            for p in el.iter(W + "p"):
                yield "", _text(p)
        elif el.tag == W + "sdt":  # content controls wrap ordinary paragraphs
            content = el.find(W + "sdtContent")
            if content is not None:
                yield from _blocks(content)


def parse_docx(path: Path, doc_id: str) -> Document:
    """Read ``path`` (a .docx) into a Document; refuses a file that is not a Word document by name."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            body_xml = _read_part(z, "word/document.xml", path)
            core_xml = _read_part(z, "docProps/core.xml", path)
    except zipfile.BadZipFile:
        raise IngestError(f"{path}: not a .docx file (it is not a zip archive)") from None
    if body_xml is None:
        raise IngestError(f"{path}: not a Word document (no word/document.xml inside)")
    try:
        root = ElementTree.fromstring(body_xml)
    except ElementTree.ParseError as exc:
        raise IngestError(f"{path}: damaged .docx ({exc})") from None
    body = root.find(W + "body")
    title = author = date = None
    if core_xml:
        try:
            core = ElementTree.fromstring(core_xml)
            title = (core.findtext("dc:title", namespaces=CORE) or "").strip() or None
            author = (core.findtext("dc:creator", namespaces=CORE) or "").strip() or None
            created = (core.findtext("dcterms:created", namespaces=CORE) or "").strip()
            date = created[:10] or None
        except ElementTree.ParseError:
            pass
    pieces: list[str] = []
    heading = None
    for style, text in (_blocks(body) if body is not None else ()):
        if not text:
            continue
        if style == "Title" or (style.startswith("Heading") and title is None and not pieces):
            title = title or text
            continue
        if re.fullmatch(r"Heading\d|Subtitle", style):
            heading = f"{heading}\n{text}" if heading else text  # joins the paragraph below it
            continue
        pieces.append(f"{heading}\n{text}" if heading else text)
        heading = None
    if heading:
        pieces.append(heading)
    if not pieces:
        raise IngestError(f"{path}: the Word document has no text paragraphs")
    text, paras, pos = "", [], 0
    for i, piece in enumerate(pieces, 1):
        if i > 1:
            text += "\n\n"
            pos += 2
        paras.append(Paragraph(i, piece, pos, pos + len(piece)))
        text += piece
        pos += len(piece)
    return Document(doc_id, title or doc_id, text, tuple(paras), author, date, source_path=str(path))
