"""The vector-store boundary: where an index's chunk vectors live and how they are searched.

``VECTOR_STORES`` names the implementations; the one chosen at index time (``--vector-store``,
``RAGQA_VECTOR_STORE``) is recorded in the manifest under ``"vector_store"``, so loading an index
needs no flag. A store is a class with:

- ``write(vectors, out, config) -> (record, faiss_writer)``: store a new generation's vectors
  (row i = chunk i). ``record`` goes into the manifest; ``faiss_writer(filename)``, when not
  None, writes a file of the generation (FAISS) through ``rag.store.disk.save``.
- ``open(data) -> store``: the store of a loaded index (``rag.store.disk.IndexData``), checked
  against its chunk count; a missing or damaged store is an ``IndexCorruptedError``.
- ``search(query, k) -> (scores, ids)``, ``get(ids) -> vectors``, ``count()``.
- ``cleanup(manifest)``: after a commit, drop what belongs to neither the committed generation
  nor the one it replaced (files are handled by ``disk``; this is for outside stores).

    >>> VECTOR_STORES.names()
    ('faiss', 'milvus')
"""

from __future__ import annotations

from rag.registry import Registry

VECTOR_STORES = Registry("vector store")
VECTOR_STORES.register("faiss", "rag.store.vectors:FaissStore",
                       "FAISS in the index folder: exact search up to 10,000 chunks, HNSW above (default)")
VECTOR_STORES.register("milvus", "rag.store.milvus:MilvusStore",
                       "Milvus through pymilvus: a file path runs milvus-lite, http://host:19530 a server or cluster")
DEFAULT = "faiss"


def store_class(name: str):
    """The class registered as ``name`` (imports it, and so its engine, on first use)."""
    for entry in VECTOR_STORES:
        if entry.name == VECTOR_STORES.check(name):
            return entry.load()


def record_of(manifest: dict) -> dict:
    """The manifest's vector-store record; indexes from before the boundary are FAISS."""
    return manifest.get("vector_store") or {"name": DEFAULT}


def open_store(data):
    """The vector store of a loaded index: ``open_store(rag.store.disk.load(path)).search(q, 5)``."""
    from rag.errors import IndexCorruptedError

    name = record_of(data.manifest).get("name")
    if name not in VECTOR_STORES:
        raise IndexCorruptedError(f"index at {data.path} uses vector store {name!r}, which this ragqa does not "
                                  f"know (known: {', '.join(VECTOR_STORES.names())}); upgrade ragqa or rebuild")
    return store_class(name).open(data)
