"""Word .docx files via python-docx: body paragraphs and table rows, in document order, numbered
¶1..¶N; headings (styles "Title" and "Heading N") become the title and sections, core properties
the author. Headers, footers, footnotes, comments and text boxes are not read (README, limits)."""

from __future__ import annotations

from pathlib import Path

from rag.errors import IngestError, MissingDependencyError
from rag.ingest.document import Document, Paragraph


def _heading_level(paragraph) -> int | None:
    """0 for "Title", N for "Heading N", None for body text."""
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name == "Title":
        return 0
    if name.startswith("Heading"):
        tail = name[len("Heading"):].strip()
        return int(tail) if tail.isdigit() else 1
    return None


def parse_docx(path: Path, doc_id: str) -> Document:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
        from docx.table import Table
    except ImportError:
        raise MissingDependencyError("reading .docx needs python-docx: pip install python-docx") from None
    try:
        d = docx.Document(str(path))
        pieces: list[tuple[str, str | None]] = []  # (text, section)
        title, section = None, None
        for block in d.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    cells = []
                    for cell in row.cells:  # a merged cell repeats: keep it once
                        text = " ".join(cell.text.split())
                        if text and (not cells or cells[-1] != text):
                            cells.append(text)
                    if cells:
                        pieces.append((" | ".join(cells), section))
                continue
            text = " ".join(block.text.split())
            if not text:
                continue
            level = _heading_level(block)
            if level is None:
                pieces.append((text, section))
            elif title is None and level <= 1 and not pieces:
                title = text
            else:
                section = text
        props = d.core_properties
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise IngestError(f"{path}: not a readable .docx ({exc.__class__.__name__}: {exc})") from None
    except Exception as exc:  # zipfile.BadZipFile, lxml errors: damaged files raise assorted errors
        raise IngestError(f"{path}: not a readable .docx ({exc.__class__.__name__}: {exc})") from None
    if not pieces:
        raise IngestError(f"{path}: .docx has no text paragraphs")
    text, paras, pos = "", [], 0
    for i, (piece, sec) in enumerate(pieces, 1):
        if i > 1:
            text += "\n\n"
            pos += 2
        paras.append(Paragraph(i, piece, pos, pos + len(piece), None, sec))
        text += piece
        pos += len(piece)
    title = title or (props.title or "").strip() or doc_id
    return Document(doc_id, title, text, tuple(paras), author=(props.author or "").strip() or None,
                    source_path=str(path))
