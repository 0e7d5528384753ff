"""ragqa: grounded question answering over documents, offline.

    from rag import Retriever
    hits = Retriever.load().search("Why might Antonov's appointment matter?", k=5)

Heavy dependencies (torch, sentence-transformers, FAISS, Gradio) load on first use, never on import.
"""

from __future__ import annotations

from importlib import import_module

from .errors import (GeneratorError, IndexCorruptedError, IndexLockedError, IndexNotFoundError, IngestError,
                     ManifestMismatchError, MissingDependencyError, RagError, SchemaVersionError)

__version__ = "0.1.0"

_LAZY = {
    "Retriever": "retriever", "Passage": "retriever",
    "Document": "document", "Paragraph": "document",
    "build_index": "indexer", "BuildReport": "indexer",
    "Config": "config",
    "Chunk": "chunking", "chunk_document": "chunking",
    "load_document": "ingest",
    "Assistant": "assistant", "Answer": "assistant", "Citation": "assistant",
}

__all__ = sorted(_LAZY) + ["RagError", "IngestError", "IndexNotFoundError", "IndexCorruptedError",
                           "ManifestMismatchError", "SchemaVersionError", "IndexLockedError",
                           "MissingDependencyError", "GeneratorError", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
