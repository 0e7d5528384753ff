"""What an index holds, read from its manifest alone (no vectors, no model): ``list_documents``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.store import disk as store


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    title: str
    paragraphs: int
    source_path: str | None
    content_hash: str = ""


def list_documents(index_dir) -> list[DocumentInfo]:
    """The documents in the index at ``index_dir``, in index order.

    ``[d.doc_id for d in list_documents("my-index")]``; raises ``IndexNotFoundError`` when there is
    no index and ``IndexCorruptedError``/``SchemaVersionError`` for a manifest it cannot read."""
    manifest = store.read_manifest(Path(index_dir))
    return [DocumentInfo(d.get("doc_id", ""), d.get("title", ""), int(d.get("paragraphs", 0)), d.get("source_path"),
                         d.get("content_hash", "")) for d in manifest.get("documents", [])]
