"""Chunk and document text in one SQLite file (``text-<generation>.sqlite``), read a row at a time.

Loading an index no longer parses every chunk and document: ``ChunkTable[i]`` and
``DocumentTable[doc_id]`` read one row on demand (a small LRU keeps recent ones), so a cold
start does not grow with the corpus. Each document's text is stored once; a chunk is its span of
that text (``Chunk.text == doc.text[start:end]``), so the text is not stored twice either.

    write(path, documents, chunks)          # at build time, inside the generation
    chunks, docs = open_tables(path)        # at load time; len(chunks), chunks[3], docs["a"]
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

from rag.ingest.chunking import Chunk
from rag.ingest.document import Document

SCHEMA = """
CREATE TABLE documents (position INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, meta TEXT NOT NULL,
                        text TEXT NOT NULL);
CREATE TABLE chunks (row INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, paragraphs TEXT NOT NULL,
                     start INTEGER NOT NULL, "end" INTEGER NOT NULL, n_tokens INTEGER NOT NULL);
CREATE INDEX chunks_doc ON chunks(doc_id);
"""
DOC_CACHE = 256
CHUNK_CACHE = 4096


def write(path: Path, documents, chunks) -> None:
    """Write ``documents`` (in order) and ``chunks`` (row i = FAISS id i) into a new SQLite file."""
    path = Path(path)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        rows = []
        for i, d in enumerate(documents):
            meta = d.to_dict()
            text = meta.pop("text")
            rows.append((i, d.doc_id, json.dumps(meta, ensure_ascii=False), text))
            if len(rows) >= 1000:
                con.executemany("INSERT INTO documents VALUES (?, ?, ?, ?)", rows)
                rows = []
        con.executemany("INSERT INTO documents VALUES (?, ?, ?, ?)", rows)
        batch = []
        for i, c in enumerate(chunks):
            batch.append((i, c.doc_id, json.dumps(list(c.paragraphs)), c.start, c.end, c.n_tokens))
            if len(batch) >= 10_000:
                con.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)", batch)
                batch = []
        con.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)", batch)
        con.commit()
    finally:
        con.close()


class _Db:
    """One read-only connection shared by threads (sqlite3 objects are not thread-safe: a lock)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        self.lock = threading.Lock()

    def all(self, sql: str, args=()):
        with self.lock:
            return self._con.execute(sql, args).fetchall()

    def one(self, sql: str, args=()):
        with self.lock:
            return self._con.execute(sql, args).fetchone()


class _Lru:
    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value):
        with self.lock:
            self.items[key] = value
            if len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


def titles(documents) -> dict[str, str]:
    """doc_id -> title, in index order, of any mapping of documents: one query for an index's
    ``DocumentTable`` (no document text is read), else each document's ``title``."""
    if isinstance(documents, DocumentTable):
        return documents.titles()
    return {d: doc.title for d, doc in documents.items()}


class DocumentTable(Mapping):
    """doc_id -> ``Document``, in index order, each parsed when first asked for."""

    def __init__(self, db: _Db, n: int):
        self._db, self._n, self._cache = db, n, _Lru(DOC_CACHE)
        self._titles: dict[str, str] | None = None

    def __getitem__(self, doc_id: str) -> Document:
        doc = self._cache.get(doc_id)
        if doc is not None:
            return doc
        row = self._db.one("SELECT meta, text FROM documents WHERE doc_id = ?", (doc_id,))
        if row is None:
            raise KeyError(doc_id)
        return self._cache.put(doc_id, Document.from_dict(json.loads(row[0]) | {"text": row[1]}))

    def __iter__(self):
        return iter([r[0] for r in self._db.all("SELECT doc_id FROM documents ORDER BY position")])

    def titles(self) -> dict[str, str]:
        """doc_id -> title in index order, from the metadata alone (no document text is read)."""
        if self._titles is None:
            rows = self._db.all("SELECT doc_id, meta FROM documents ORDER BY position")
            self._titles = {d: json.loads(meta)["title"] for d, meta in rows}
        return self._titles

    def __len__(self) -> int:
        return self._n

    def __contains__(self, doc_id) -> bool:
        return self._cache.get(doc_id) is not None or bool(
            self._db.one("SELECT 1 FROM documents WHERE doc_id = ?", (doc_id,)))


class ChunkTable(Sequence):
    """Row i -> ``Chunk`` (its text cut from its document's), read on demand."""

    def __init__(self, db: _Db, n: int, documents: DocumentTable):
        self._db, self._n, self._docs, self._cache = db, n, documents, _Lru(CHUNK_CACHE)

    def __len__(self) -> int:
        return self._n

    def _make(self, row) -> Chunk:
        doc_id, paras, start, end, n_tokens = row
        return Chunk(doc_id, tuple(json.loads(paras)), start, end, self._docs[doc_id].text[start:end], n_tokens)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        i = int(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"chunk row {i} out of range (0..{self._n - 1})")
        c = self._cache.get(i)
        if c is not None:
            return c
        row = self._db.one('SELECT doc_id, paragraphs, start, "end", n_tokens FROM chunks WHERE row = ?', (i,))
        return self._cache.put(i, self._make(row))

    def __iter__(self):
        """Every chunk in row order, streamed a batch at a time (the cache is left alone)."""
        for lo in range(0, self._n, 10_000):
            for row in self._db.all('SELECT doc_id, paragraphs, start, "end", n_tokens FROM chunks '
                                    "WHERE row >= ? AND row < ? ORDER BY row", (lo, lo + 10_000)):
                yield self._make(row)


def open_tables(path: Path) -> tuple[ChunkTable, DocumentTable]:
    """The chunk and document tables of a text store; ``sqlite3.DatabaseError`` if damaged."""
    db = _Db(path)
    n_docs = db.one("SELECT coalesce(max(position), -1) + 1 FROM documents")[0]  # rows are 0..n-1: O(log n)
    n_chunks = db.one("SELECT coalesce(max(row), -1) + 1 FROM chunks")[0]
    docs = DocumentTable(db, n_docs)
    return ChunkTable(db, n_chunks, docs), docs
