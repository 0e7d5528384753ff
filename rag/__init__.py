"""ragqa: grounded question answering over documents, offline.

    from rag import Retriever
    hits = Retriever.load().search("Why might Antonov's appointment matter?", k=5)

Heavy dependencies (torch, sentence-transformers, FAISS, Gradio) load on first use, never on import.
"""

from __future__ import annotations

from importlib import import_module

from rag.errors import (
    GeneratorError,
    IndexCorruptedError,
    IndexLockedError,
    IndexNotFoundError,
    IngestError,
    ManifestMismatchError,
    MissingDependencyError,
    RagError,
    SchemaVersionError,
)

_LAZY = {  # public name -> the module that defines it; imported on first use
    "Retriever": "rag.retrieve.retriever",
    "Passage": "rag.types", "Answer": "rag.types", "Citation": "rag.types", "Mode": "rag.types",
    "Document": "rag.ingest.document", "Paragraph": "rag.ingest.document",
    "build_index": "rag.store.indexer", "BuildReport": "rag.store.indexer",
    "Config": "rag.config",
    "Chunk": "rag.ingest.chunking", "chunk_document": "rag.ingest.chunking",
    "load_document": "rag.ingest.formats",
    "Assistant": "rag.answer.assistant",
    "GENERATORS": "rag.answer.registry", "EMBEDDERS": "rag.embed.registry",
}

__all__ = sorted(_LAZY) + ["RagError", "IngestError", "IndexNotFoundError", "IndexCorruptedError",
                           "ManifestMismatchError", "SchemaVersionError", "IndexLockedError",
                           "MissingDependencyError", "GeneratorError", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name == "__version__":  # from the installed metadata: one source, pyproject.toml
        from rag.cli import version

        return version()
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
