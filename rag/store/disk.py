"""The index on disk: a directory with a versioned manifest, the chunk and document text
(``text-*.sqlite``, ``rag.store.textstore``; chunk row i = vector id i), the BM25 index and, with
the FAISS vector store, the FAISS file (Milvus keeps vectors outside the folder).

Writes never damage what is there: data files carry a generation suffix, and replacing
``manifest.json`` (one atomic ``os.replace``) is the commit point. A build killed at any moment
leaves the previous manifest pointing at the previous, untouched files. A lock file serialises
writers.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import (
    IndexCorruptedError,
    IndexLockedError,
    IndexNotFoundError,
    ManifestMismatchError,
    SchemaVersionError,
)
from rag.ingest.chunking import Chunk
from rag.ingest.document import Document
from rag.store import ownership, quant

# Checksums are verified on load for files up to this size. Hashing reads every byte a second
# time on each process start; past this size (a 1M-vector index is ~1.5 GB) the size check and
# the parsers' own errors catch truncation, and a full check costs seconds per start.
HASH_MAX_BYTES = 64 * 2**20
SCHEMA_VERSION = 5  # 2: sentence vectors (sentences-*.npz); 3: Snowball tokenizer, BM25 in the generation;
# 4: chunks and documents in one SQLite text store, sentence vectors float16 and memory-mapped (or none:
# embedded at query time), no vectors-*.npy copy (the vector store holds them), a "vector_store" record;
# 5 (issue 13, disk): "storage" and "sentence_format" in the manifest; with storage "compact" sentence
# vectors 6 bits a component with a scale per row (rag.store.quant) and FAISS chunk vectors 8-bit
# scalar-quantized (rag.store.vectors); "exact" (the default) keeps schema 4's float16 and float32.
# Schema 4 indexes still load, search and take adds/removes.
MIN_SCHEMA_VERSION = 3  # oldest schema this version reads (3's extra files are simply used)
MANIFEST = "manifest.json"
FORMAT = "ragqa-index"  # in every manifest: the folder is ragqa's (with rag.store.ownership.MARKER)


@dataclass
class IndexData:
    """Everything loaded from an index directory except the FAISS object."""

    path: Path
    manifest: dict
    chunks: Sequence[Chunk]  # schema 4: textstore.ChunkTable, rows read on demand
    documents: Mapping[str, Document]  # schema 4: textstore.DocumentTable
    vectors: np.ndarray | None  # schema 3 only: a copy of the chunk vectors (now read from the vector store)
    # one row per sentence of every chunk (None: embedded at query time): a float16 memmap, or with
    # storage "compact" a rag.store.quant.PackedSentences (rows dequantized as read)
    sentence_vectors: np.ndarray | None = None
    sentence_offsets: np.ndarray | None = None  # chunk i's sentences are rows offsets[i]:offsets[i+1]

    def file(self, role: str) -> Path:
        return self.path / self.manifest["files"][role]["name"]


def sources_hash(docs) -> str:
    """One hash over every document's content hash, order-independent."""
    return hashlib.sha256("".join(sorted(d.content_hash for d in docs)).encode()).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(path: Path) -> dict:
    """Read and check ``manifest.json``: present, valid JSON, a schema version we understand."""
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.exists():
        raise IndexNotFoundError(f"no index at {path} (no {MANIFEST}); build one with: ragqa index PATH --out {path}")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorruptedError(f"{mpath} is not valid JSON ({exc}); rebuild the index") from None
    version = manifest.get("schema_version")
    if not isinstance(version, int):
        raise IndexCorruptedError(f"{mpath} has no schema_version; rebuild the index")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"index at {path} was written by a newer ragqa (schema {version}, this one reads {SCHEMA_VERSION}); "
            "upgrade ragqa: pip install -U ragqa")
    if version < MIN_SCHEMA_VERSION:
        raise SchemaVersionError(f"index at {path} uses old schema {version}; rebuild it with: ragqa index PATH --out {path} --replace")
    return manifest


def check_compatible(manifest: dict, model: str, path: Path) -> None:
    """Refuse an index whose vectors came from another embedding model, or whose BM25 tokens came
    from another tokenizer."""
    from rag.ingest.terms import TOKENIZER_ID

    if manifest.get("model") != model:
        raise ManifestMismatchError(
            f"index at {path} was built with model {manifest.get('model')!r}, but the configured model is "
            f"{model!r}; rebuild the index or configure model={manifest.get('model')!r}")
    if manifest.get("tokenizer") != TOKENIZER_ID:
        raise ManifestMismatchError(
            f"index at {path} was built with tokenizer {manifest.get('tokenizer')!r}, but this ragqa uses "
            f"{TOKENIZER_ID!r}; rebuild it with: ragqa index PATH --out {path} --replace")


def load(path: Path, verify_hashes: bool = True) -> IndexData:
    """Load an index directory, checking every file against the manifest."""
    path = Path(path)
    manifest = read_manifest(path)
    files = manifest.get("files", {})
    optional = tuple(r for r in ("vectors", "faiss", "sentences", "sentence_offsets") if r in files)  # faiss: FAISS store
    text_roles = ("text",) if "text" in files else ("chunks", "documents")  # schema 4: one SQLite text store
    for role in text_roles + optional + ("lexical",):
        info = files.get(role)
        if not info:
            raise IndexCorruptedError(f"manifest at {path} lists no {role} file; rebuild the index")
        if role == "lexical":  # a folder: each file bm25s wrote is listed (indexes before 0.1.1: none)
            for name, sub in (info.get("files") or {}).items():
                verify_file(path / info["name"] / name, sub, f"{role} ({info['name']}/{name})", verify_hashes)
            continue
        verify_file(path / info["name"], info, role, verify_hashes)
    try:
        if "text" in files:  # rows are read on demand: loading does not grow with the corpus
            from rag.store import textstore

            chunks, documents = textstore.open_tables(path / files["text"]["name"])
        else:
            chunks = [Chunk(c["doc_id"], tuple(c["paragraphs"]), c["start"], c["end"], c["text"], c["n_tokens"])
                      for c in map(json.loads, (path / files["chunks"]["name"]).read_text("utf-8").splitlines())]
            documents = {d["doc_id"]: Document.from_dict(d)
                         for d in json.loads((path / files["documents"]["name"]).read_text("utf-8"))}
        vectors = np.load(path / files["vectors"]["name"], allow_pickle=False) if "vectors" in files else None
        sentence_vectors = sentence_offsets = None
        if "sentence_offsets" in files:  # memory-mapped: float16, or packed 6-bit rows (compact)
            sentence_vectors = np.load(path / files["sentences"]["name"], mmap_mode="r", allow_pickle=False)
            fmt = manifest.get("sentence_format")
            if fmt == quant.FORMAT:
                sentence_vectors = quant.PackedSentences(sentence_vectors, int(manifest["dim"]))
            elif fmt not in (None, quant.FLOAT16) or sentence_vectors.dtype != np.float16:
                raise ValueError(f"sentence vectors in format {fmt!r} ({sentence_vectors.dtype})")
            sentence_offsets = np.load(path / files["sentence_offsets"]["name"], mmap_mode="r", allow_pickle=False)
        elif "sentences" in files:  # schema 3
            with np.load(path / files["sentences"]["name"], allow_pickle=False) as z:
                sentence_vectors, sentence_offsets = z["vectors"], z["offsets"]
    except (ValueError, KeyError, TypeError, OSError, sqlite3.Error) as exc:
        raise IndexCorruptedError(f"index at {path} cannot be read ({exc}); rebuild the index") from None
    if (vectors is not None and len(chunks) != len(vectors)) or len(chunks) != manifest["counts"]["chunks"]:
        raise IndexCorruptedError(
            f"index at {path} is inconsistent: {len(chunks)} chunks, {len(vectors) if vectors is not None else '-'} vectors, "
            f"manifest says {manifest['counts']['chunks']}; rebuild the index")
    if sentence_offsets is not None and (len(sentence_offsets) != len(chunks) + 1
                                         or sentence_offsets[-1] != len(sentence_vectors)):
        raise IndexCorruptedError(f"index at {path} has inconsistent sentence vectors; rebuild the index")
    return IndexData(path, manifest, chunks, documents, vectors, sentence_vectors, sentence_offsets)


def verify_file(fpath: Path, info: dict, role: str, verify_hashes: bool = True) -> None:
    """``fpath`` exists with the size in ``info`` and, up to ``HASH_MAX_BYTES``, its sha256."""
    if not fpath.is_file():
        raise IndexCorruptedError(f"index at {fpath.parent} is missing {fpath.name} ({role}); rebuild the index")
    size = fpath.stat().st_size
    if size != info.get("size"):
        raise IndexCorruptedError(
            f"{fpath} is truncated or changed ({size} bytes, manifest says {info.get('size')}); rebuild the index")
    if verify_hashes and info.get("sha256") and size <= HASH_MAX_BYTES and _sha256(fpath) != info["sha256"]:
        raise IndexCorruptedError(f"{fpath} does not match its checksum; rebuild the index")


def file_record(fpath: Path) -> dict:
    """Size and sha256 of a file; of a folder (BM25), the total size and a record per file."""
    if fpath.is_dir():
        files = {f.name: file_record(f) for f in sorted(fpath.iterdir()) if f.is_file()}
        return {"size": sum(r["size"] for r in files.values()), "files": files}
    return {"size": fpath.stat().st_size, "sha256": _sha256(fpath)}


@contextlib.contextmanager
def write_lock(path: Path, wait: float = 600.0, notify=print):
    """Hold ``path/.lock`` exclusively. A second writer waits up to ``wait`` seconds, then stops
    with ``IndexLockedError``; readers are never blocked."""
    path = Path(path)
    ownership.claim(path)  # refuses a file, or a folder of someone else's files, before writing
    with open(path / ".lock", "a+") as fh:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"another ragqa process is writing the index at {path}; gave up after {wait:g} s") from None
                if not told and notify:
                    notify(f"waiting for another ragqa process writing {path} ...")
                    told = True
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def save(path: Path, manifest: dict, chunks: list[Chunk], documents: list[Document], vectors: np.ndarray | None,
         sentence_vectors: np.ndarray | None, sentence_offsets: np.ndarray | None, faiss_writer,
         lexical_writer) -> dict:
    """Write a new generation of the index, then commit it by replacing the manifest.

    ``sentence_vectors``: float vectors (quantized here when ``manifest["storage"]`` is "compact"),
    or the path of an ``.npy`` the build wrote inside ``path`` (float16, or packed rows of
    ``rag.store.quant`` when compact; renamed into place). ``faiss_writer(filename)`` writes the
    FAISS index built from ``vectors``; ``lexical_writer(dirname)`` writes the BM25 index of ``chunks``.
    Every file gets the same generation id and goes into the manifest. Call inside ``write_lock``.
    Returns the committed manifest (``manifest`` is not changed).
    """
    path = Path(path)
    compact = manifest.get("storage") == "compact"  # Config.storage: packed sentence rows
    gen = uuid.uuid4().hex[:8]
    names = {"vectors": f"vectors-{gen}.npy", "text": f"text-{gen}.sqlite", "faiss": f"faiss-{gen}.index",
             "sentences": f"sentences-{gen}.npy", "sentence_offsets": f"sentence-offsets-{gen}.npy",
             "lexical": f"lexical-{gen}"}
    if sentence_vectors is None:  # sentence_vectors="query": embedded at query time
        del names["sentences"], names["sentence_offsets"]
    if vectors is None:  # schema 4: the vector store holds the only copy
        del names["vectors"]
    if faiss_writer is None:  # a vector store outside the folder (Milvus)
        del names["faiss"]
    tmp = path / f"{MANIFEST}.{gen}.tmp"
    ownership.journal(path, [*names.values(), tmp.name])  # a killed build's files stay known as ours
    if vectors is not None:
        np.save(path / names["vectors"], np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    from rag.store import textstore

    textstore.write(path / names["text"], documents, chunks)  # each document's text once; chunks are spans
    if isinstance(sentence_vectors, (str, Path)):  # the .npy the build wrote into the folder
        os.replace(sentence_vectors, path / names["sentences"])
        np.save(path / names["sentence_offsets"], np.asarray(sentence_offsets, dtype=np.int64))
    elif sentence_vectors is not None:  # float16 or packed 6-bit rows (compact), memory-mapped at load
        np.save(path / names["sentences"], quant.quantize(sentence_vectors) if compact else
                np.ascontiguousarray(sentence_vectors, dtype=np.float16))
        np.save(path / names["sentence_offsets"], np.asarray(sentence_offsets, dtype=np.int64))
    if faiss_writer is not None:
        faiss_writer(str(path / names["faiss"]))
    lexical_writer(path / names["lexical"])
    files = {role: {"name": name} | file_record(path / name) for role, name in names.items()}
    for info in files.values():  # data must be on disk before the manifest points at it
        for fpath in [path / info["name"]] + [path / info["name"] / n for n in info.get("files", ())]:
            if fpath.is_file():
                with open(fpath, "rb") as f:
                    os.fsync(f.fileno())
    try:  # the generation being replaced stays on disk one more round for readers still using it
        old = json.loads((path / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        old = None
    previous = sorted(ownership.listed_files({"files": old.get("files")} if isinstance(old, dict) else None))
    manifest = dict(manifest, format=FORMAT, schema_version=SCHEMA_VERSION, generation=gen, files=files,
                    previous_files=previous)
    if "sentences" in names:
        manifest["sentence_format"] = quant.FORMAT if compact else quant.FLOAT16
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path / MANIFEST)  # the commit point
    ownership.remove_stale(path, old, manifest)
    return manifest
