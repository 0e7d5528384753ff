"""The index on disk: a directory with a versioned manifest, the FAISS index, the raw vectors,
the chunks (row i = FAISS id i) and the parsed documents.

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
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rag.errors import (
    IndexCorruptedError,
    IndexLockedError,
    IndexNotFoundError,
    ManifestMismatchError,
    RagError,
    SchemaVersionError,
)
from rag.ingest.chunking import Chunk
from rag.ingest.document import Document

# Checksums are verified on load for files up to this size. Hashing reads every byte a second
# time on each process start; past this size (a 1M-vector index is ~1.5 GB) the size check and
# the parsers' own errors catch truncation, and a full check costs seconds per start.
HASH_MAX_BYTES = 64 * 2**20
SCHEMA_VERSION = 3  # 2: sentence vectors (sentences-*.npz); 3: Snowball tokenizer, BM25 in the generation
MANIFEST = "manifest.json"


@dataclass
class IndexData:
    """Everything loaded from an index directory except the FAISS object."""

    path: Path
    manifest: dict
    chunks: list[Chunk]
    documents: dict[str, Document]
    vectors: np.ndarray
    sentence_vectors: np.ndarray  # one row per sentence of every chunk, in chunk order
    sentence_offsets: np.ndarray  # chunk i's sentences are rows offsets[i]:offsets[i+1]

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
    if version < SCHEMA_VERSION:
        raise SchemaVersionError(f"index at {path} uses old schema {version}; rebuild it with ragqa index")
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
            f"{TOKENIZER_ID!r}; rebuild it with: ragqa index PATH --out {path}")


def load(path: Path, verify_hashes: bool = True) -> IndexData:
    """Load an index directory, checking every file against the manifest."""
    path = Path(path)
    manifest = read_manifest(path)
    files = manifest.get("files", {})
    for role in ("vectors", "chunks", "documents", "faiss", "sentences"):
        info = files.get(role)
        if not info:
            raise IndexCorruptedError(f"manifest at {path} lists no {role} file; rebuild the index")
        fpath = path / info["name"]
        if not fpath.exists():
            raise IndexCorruptedError(f"index at {path} is missing {info['name']} ({role}); rebuild the index")
        if fpath.stat().st_size != info["size"]:
            raise IndexCorruptedError(
                f"{fpath} is truncated or changed ({fpath.stat().st_size} bytes, manifest says {info['size']}); "
                "rebuild the index")
        if (verify_hashes and info.get("sha256") and info["size"] <= HASH_MAX_BYTES
                and _sha256(fpath) != info["sha256"]):
            raise IndexCorruptedError(f"{fpath} does not match its checksum; rebuild the index")
    try:
        chunks = [Chunk(c["doc_id"], tuple(c["paragraphs"]), c["start"], c["end"], c["text"], c["n_tokens"])
                  for c in map(json.loads, (path / files["chunks"]["name"]).read_text("utf-8").splitlines())]
        documents = {d["doc_id"]: Document.from_dict(d)
                     for d in json.loads((path / files["documents"]["name"]).read_text("utf-8"))}
        vectors = np.load(path / files["vectors"]["name"], allow_pickle=False)
        with np.load(path / files["sentences"]["name"], allow_pickle=False) as z:
            sentence_vectors, sentence_offsets = z["vectors"], z["offsets"]
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise IndexCorruptedError(f"index at {path} cannot be read ({exc}); rebuild the index") from None
    if len(chunks) != len(vectors) or len(chunks) != manifest["counts"]["chunks"]:
        raise IndexCorruptedError(
            f"index at {path} is inconsistent: {len(chunks)} chunks, {len(vectors)} vectors, "
            f"manifest says {manifest['counts']['chunks']}; rebuild the index")
    if len(sentence_offsets) != len(chunks) + 1 or sentence_offsets[-1] != len(sentence_vectors):
        raise IndexCorruptedError(f"index at {path} has inconsistent sentence vectors; rebuild the index")
    return IndexData(path, manifest, chunks, documents, vectors, sentence_vectors, sentence_offsets)


@contextlib.contextmanager
def write_lock(path: Path, wait: float = 600.0, notify=print):
    """Hold ``path/.lock`` exclusively. A second writer waits up to ``wait`` seconds, then stops
    with ``IndexLockedError``; readers are never blocked."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if not os.access(path, os.W_OK):
        raise RagError(f"index directory {path} is not writable; choose another with --out")
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


def save(path: Path, manifest: dict, chunks: list[Chunk], documents: list[Document], vectors: np.ndarray,
         sentence_vectors: np.ndarray, sentence_offsets: np.ndarray, faiss_writer, lexical_writer) -> dict:
    """Write a new generation of the index, then commit it by replacing the manifest.

    ``faiss_writer(filename)`` writes the FAISS index built from ``vectors``; ``lexical_writer(dirname)``
    writes the BM25 index of ``chunks``. Every file gets the same generation id and goes into the
    manifest. Call inside ``write_lock``. Returns the committed manifest (``manifest`` is not changed).
    """
    path = Path(path)
    gen = uuid.uuid4().hex[:8]
    names = {"vectors": f"vectors-{gen}.npy", "chunks": f"chunks-{gen}.jsonl",
             "documents": f"documents-{gen}.json", "faiss": f"faiss-{gen}.index",
             "sentences": f"sentences-{gen}.npz", "lexical": f"lexical-{gen}"}
    np.save(path / names["vectors"], np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    with open(path / names["chunks"], "w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(asdict(c) | {"paragraphs": list(c.paragraphs)}, ensure_ascii=False) + "\n")
    (path / names["documents"]).write_text(
        json.dumps([d.to_dict() for d in documents], ensure_ascii=False), encoding="utf-8")
    with open(path / names["sentences"], "wb") as f:
        np.savez(f, vectors=np.ascontiguousarray(sentence_vectors, dtype=np.float32),
                 offsets=np.asarray(sentence_offsets, dtype=np.int64))
    faiss_writer(str(path / names["faiss"]))
    lexical_writer(path / names["lexical"])
    files = {role: {"name": name} for role, name in names.items()}
    for info in files.values():
        fpath = path / info["name"]
        info["size"] = fpath.stat().st_size if fpath.is_file() else 0
        if fpath.is_file():
            info["sha256"] = _sha256(fpath)
    for info in files.values():  # data must be on disk before the manifest points at it
        fpath = path / info["name"]
        if fpath.is_file():
            with open(fpath, "rb") as f:
                os.fsync(f.fileno())
    try:  # the generation being replaced stays on disk one more round for readers still using it
        previous = [info["name"] for info in json.loads((path / MANIFEST).read_text("utf-8"))["files"].values()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        previous = []
    manifest = dict(manifest, schema_version=SCHEMA_VERSION, generation=gen, files=files, previous_files=previous)
    tmp = path / f"{MANIFEST}.{gen}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path / MANIFEST)  # the commit point
    _remove_stale(path, manifest)
    return manifest


def _remove_stale(path: Path, manifest: dict) -> None:
    """Delete files of older or abandoned generations: never the committed one's, nor the one
    it replaced (a Retriever loaded before the rebuild opens FAISS and BM25 files lazily)."""
    keep = {info["name"] for info in manifest["files"].values()} | {MANIFEST, ".lock", "README.md"}
    keep |= set(manifest.get("previous_files", []))
    for f in path.iterdir():
        if f.name in keep or f.name.startswith("."):
            continue
        if any(f.name.startswith(p) for p in ("vectors-", "chunks-", "documents-", "faiss-", "lexical-", "sentences-",
                                             MANIFEST)):
            if f.is_dir():
                import shutil

                shutil.rmtree(f, ignore_errors=True)
            else:
                f.unlink(missing_ok=True)
