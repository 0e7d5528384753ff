"""Sources to documents: files, folders (walked recursively) and ``Document`` objects.

A file named explicitly that cannot be read raises ``IngestError``; a file found while walking a
folder that cannot be read, or is of a type ragqa does not read, is skipped and reported with the
reason. Identical documents are kept once. Nothing is skipped without a line saying why, except
hidden entries (names starting with "."), which are counted, and ragqa index folders."""

from __future__ import annotations

import os
from pathlib import Path

from rag.errors import IngestError
from rag.ingest.document import Document
from rag.ingest.formats import SUPPORTED_SUFFIXES, load_document

INDEX_MARKER = ".ragqa-index"  # rag.store.ownership writes it; an index folder is never a source


def walk(folder: Path) -> tuple[list[Path], int]:
    """Files under ``folder`` in sorted order, and how many hidden entries were passed over.
    Folders holding a ragqa index are not entered."""
    files, hidden = [], 0
    for root, dirs, names in os.walk(folder, onerror=None):
        kept = []
        for d in sorted(dirs):
            if d.startswith("."):
                hidden += 1
            elif not (Path(root, d) / INDEX_MARKER).exists():
                kept.append(d)
        dirs[:] = kept
        for n in sorted(names):
            if n.startswith("."):
                hidden += 1
            else:
                files.append(Path(root, n))
    return sorted(files), hidden


def collect(sources, max_bytes: int, format: str = "auto"):
    """(documents, skipped) from ``sources``; see ``read_sources``."""
    docs, skipped, _ = read_sources(sources, max_bytes, format)
    return docs, skipped


def read_sources(sources, max_bytes: int, format: str = "auto"):
    """(documents, skipped, notes) from ``sources``: ``skipped`` holds (path, reason) pairs for
    files not indexed, ``notes`` (path, message) pairs about files indexed or passed over, such
    as bytes replaced while decoding."""
    if isinstance(sources, (str, Path, Document)):
        sources = [sources]
    docs, skipped, notes = [], [], []
    for src in sources:
        if isinstance(src, Document):
            docs.append(src)
            continue
        path = Path(src)
        if path.is_dir():
            if (path / INDEX_MARKER).exists():
                raise IngestError(f"{path} is a ragqa index, not a folder of documents")
            files, hidden = walk(path)
            for f in files:
                if f.suffix.lower() not in SUPPORTED_SUFFIXES:
                    skipped.append((str(f), f"{f}: unsupported file type {f.suffix.lower() or '(none)'} "
                                            f"(ragqa reads {', '.join(SUPPORTED_SUFFIXES)})"))
                    continue
                try:
                    docs.append(load_document(f, max_bytes, format))
                except IngestError as exc:
                    skipped.append((str(f), str(exc)))
            if hidden:
                notes.append((str(path), f"{hidden} hidden file(s)/folder(s) (names starting with '.') not read"))
        elif path.exists():
            docs.append(load_document(path, max_bytes, format))
        else:
            raise IngestError(f"{path}: no such file or directory")
    unique, seen_hash, seen_id = [], {}, {}
    for d in docs:
        if d.content_hash in seen_hash:
            skipped.append((d.source_path or d.doc_id, f"duplicate of {seen_hash[d.content_hash]}"))
            continue
        if d.doc_id in seen_id:  # same stem in two folders: keep both, with distinct ids
            d = renamed(d, unique_id(d.doc_id, seen_id))
        seen_hash[d.content_hash] = d.source_path or d.doc_id
        seen_id[d.doc_id] = True
        unique.append(d)
        notes += document_notes(d)
    return unique, skipped, notes


def document_notes(d: Document) -> list[tuple[str, str]]:
    """What the summary must say about how ``d`` was read: replaced bytes, dropped blocks."""
    where, out = d.source_path or d.doc_id, []
    n = d.meta.get("replaced_bytes", 0)
    if n:
        enc = d.meta.get("encoding")
        what = "not valid UTF-8" if enc == "utf-8" else f"undefined in {enc}"
        out.append((where, f"{n} {'byte that is' if n == 1 else 'bytes that are'} {what} replaced with U+FFFD"))
    n = d.meta.get("dropped_blocks", 0)
    if n:
        out.append((where, f"{n} block(s) of page chrome, byline and author box left out (--format article)"))
    return out


def unique_id(doc_id: str, taken) -> str:
    """``doc_id``, or ``doc_id-2``, ``-3``... whichever is not in ``taken``."""
    if doc_id not in taken:
        return doc_id
    n = 2
    while f"{doc_id}-{n}" in taken:
        n += 1
    return f"{doc_id}-{n}"


def renamed(d: Document, doc_id: str) -> Document:
    return Document(doc_id, d.title, d.text, d.paragraphs, d.author, d.date, d.tags, d.source_path, d.meta)
