"""Milvus as the vector store (``--vector-store milvus``), through ``pymilvus``.

The URI decides the deployment: a file path (``./milvus.db``; default ``milvus.db`` inside the
index folder) runs milvus-lite, the embedded engine; ``http://host:19530`` (or ``https://``)
reaches a Milvus standalone server or cluster. ``RAGQA_MILVUS_TOKEN`` carries credentials
("user:password" or an API key) when the server wants them; it is never written to the manifest.

Each index generation is one collection, ``ragqa_<folder hash>_<generation>``: a rebuild writes a
new collection, the manifest commit switches to it, and collections older than the one replaced
are dropped, as ``rag.store.disk`` does with files. Chunk row i has primary key i. BM25 stays in
the index folder (bm25s) beside Milvus's dense search: with exact (FLAT) search up to 10,000
chunks it gives the same top-k as FAISS, measured in BENCHMARKS.md.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import numpy as np

from rag.errors import IndexCorruptedError, MissingDependencyError, RagError
from rag.store.vectors import EXACT_MAX, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M

DEFAULT_LITE_FILE = "milvus.db"
TIMEOUT = 10.0  # seconds to connect to a server before giving up with a clear error
INSERT_BATCH = 5_000  # rows per insert call (5,000 x 384 floats = 7.7 MB, under gRPC's 64 MB)
GET_BATCH = 1_000


def _pymilvus():
    try:
        import pymilvus
    except ImportError:
        raise MissingDependencyError("the Milvus vector store needs pymilvus and milvus-lite: "
                                     "pip install 'ragqa[milvus]'") from None
    return pymilvus


def is_server(uri: str) -> bool:
    return str(uri).startswith(("http://", "https://", "tcp://", "grpc://"))


def resolve_uri(uri: str | None, index_dir: Path) -> str:
    """A server URI as given; a milvus-lite file path made absolute (relative to the index folder
    when recorded relative, e.g. the default ``milvus.db``)."""
    uri = str(uri or DEFAULT_LITE_FILE)
    if is_server(uri):
        return uri
    p = Path(uri).expanduser()
    return str(p if p.is_absolute() else (Path(index_dir) / p).resolve())


def connect(uri: str, timeout: float | None = None):
    """A ``MilvusClient`` for ``uri``, or a one-line ``RagError`` naming the URI (a server that does
    not answer: after ``timeout`` seconds, default ``TIMEOUT``)."""
    pymilvus = _pymilvus()
    timeout = TIMEOUT if timeout is None else timeout
    if not is_server(uri):
        parent = Path(uri).parent
        if not parent.is_dir():
            raise RagError(f"milvus-lite database {uri}: folder {parent} does not exist")
    try:
        return pymilvus.MilvusClient(uri=uri, token=os.environ.get("RAGQA_MILVUS_TOKEN", ""), timeout=timeout)
    except Exception as exc:  # pymilvus raises MilvusException and assorted gRPC errors
        if is_server(uri):
            raise RagError(f"cannot reach the Milvus server at {uri} ({_short(exc)})") from None
        raise RagError(f"cannot open the milvus-lite database {uri} ({_short(exc)}): another process may hold it "
                       "(milvus-lite opens a file in one process at a time; several processes need a Milvus "
                       "server: --milvus-uri http://host:19530), or it is damaged (rebuild the index)") from None


def _short(exc: Exception) -> str:
    msg = getattr(exc, "message", None) or str(exc)
    return " ".join(str(msg).split())[:300]


class MilvusStore:
    """The ``"milvus"`` entry of ``VECTOR_STORES``."""

    name = "milvus"

    def __init__(self, client, collection: str, dim: int, uri: str):
        self.client, self.collection, self.dim, self.uri = client, collection, dim, uri
        self._count = None

    # -- build -----------------------------------------------------------------------------------
    @classmethod
    def write(cls, matrix: np.ndarray, out, config=None):
        given = getattr(config, "milvus_uri", None)
        if not given:  # milvus-lite inside the index folder, recorded relative: the folder may move
            recorded, uri = DEFAULT_LITE_FILE, resolve_uri(DEFAULT_LITE_FILE, Path(out))
        else:  # a server as given; a user's file path relative to where the command ran
            recorded = uri = str(given) if is_server(given) else str(Path(given).expanduser().resolve())
        client = connect(uri)
        n, dim = matrix.shape
        prefix = collection_prefix(out)
        name = f"{prefix}{uuid.uuid4().hex[:8]}"
        pymilvus = _pymilvus()
        try:
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", pymilvus.DataType.INT64, is_primary=True)
            schema.add_field("vector", pymilvus.DataType.FLOAT_VECTOR, dim=dim)
            params = client.prepare_index_params()
            if n <= EXACT_MAX:
                params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
            else:
                params.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                                 params={"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION})
            client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")
            matrix = np.ascontiguousarray(matrix, dtype=np.float32)
            for i in range(0, n, INSERT_BATCH):
                block = matrix[i : i + INSERT_BATCH]
                client.insert(name, [{"id": i + j, "vector": v} for j, v in enumerate(block.tolist())])
            client.flush(name)
        except RagError:
            raise
        except Exception as exc:
            try:
                client.drop_collection(name)
            except Exception:
                pass
            raise RagError(f"writing vectors to Milvus at {uri} failed ({_short(exc)})") from None
        kind = "flat" if n <= EXACT_MAX else "hnsw"
        return {"name": "milvus", "uri": recorded, "collection": name, "kind": kind, "prefix": prefix}, None

    @staticmethod
    def cleanup(manifest: dict, path) -> None:
        """Drop this index folder's collections other than the committed one and the one it replaced."""
        rec = manifest.get("vector_store") or {}
        prev = (manifest.get("previous_vector_store") or {}).get("collection")
        keep = {rec.get("collection"), prev}
        uri = resolve_uri(rec.get("uri"), Path(path))
        client = connect(uri)
        for name in client.list_collections():
            if name.startswith(rec.get("prefix", "\0")) and name not in keep:
                client.drop_collection(name)

    # -- read ------------------------------------------------------------------------------------
    @classmethod
    def open(cls, data) -> "MilvusStore":
        rec = data.manifest.get("vector_store") or {}
        uri = resolve_uri(rec.get("uri"), data.path)
        name = rec.get("collection")
        if not name:
            raise IndexCorruptedError(f"manifest at {data.path} names no Milvus collection; rebuild the index")
        client = connect(uri)
        try:
            exists = client.has_collection(name)
        except Exception as exc:
            raise RagError(f"Milvus at {uri} did not answer ({_short(exc)})") from None
        if not exists:
            raise IndexCorruptedError(f"Milvus collection {name} of the index at {data.path} is missing from {uri}; "
                                      "rebuild the index (ragqa index PATH --out DIR --vector-store milvus)")
        try:
            client.load_collection(name)
            count = int(client.query(name, output_fields=["count(*)"])[0]["count(*)"])
        except Exception as exc:
            raise IndexCorruptedError(f"Milvus collection {name} at {uri} cannot be read ({_short(exc)}); "
                                      "rebuild the index") from None
        if count != len(data.chunks):
            raise IndexCorruptedError(f"Milvus collection {name} at {uri} has {count} vectors for "
                                      f"{len(data.chunks)} chunks; rebuild the index")
        store = cls(client, name, int(data.manifest.get("dim") or 0), uri)
        store._count = count
        return store

    def count(self) -> int:
        return int(self._count or 0)

    def search(self, query: np.ndarray, k: int):
        k = min(k, self.count())
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        try:
            res = self.client.search(self.collection, data=[np.asarray(query, np.float32).tolist()], limit=k,
                                     search_params={"metric_type": "IP", "params": {"ef": max(HNSW_EF_SEARCH, k)}})
        except Exception as exc:
            raise RagError(f"Milvus search in {self.collection} at {self.uri} failed ({_short(exc)})") from None
        hits = res[0]
        return (np.array([h["distance"] for h in hits], np.float32), np.array([h["id"] for h in hits], np.int64))

    def get(self, ids) -> np.ndarray:
        ids = [int(i) for i in ids]
        out = np.zeros((len(ids), self.dim), np.float32)
        pos = {i: n for n, i in enumerate(ids)}
        try:
            for s in range(0, len(ids), GET_BATCH):
                for row in self.client.get(self.collection, ids=ids[s : s + GET_BATCH], output_fields=["vector"]):
                    out[pos[int(row["id"])]] = row["vector"]
        except Exception as exc:
            raise RagError(f"Milvus read from {self.collection} at {self.uri} failed ({_short(exc)})") from None
        return out


def collection_prefix(out) -> str:
    """``ragqa_<10 hex of the index folder's absolute path>_``: one folder's collections."""
    return "ragqa_" + hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:10] + "_"
