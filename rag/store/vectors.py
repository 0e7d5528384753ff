"""FAISS vector index: exact inner product for small collections, HNSW for large ones."""

from __future__ import annotations

import numpy as np

# Exact search up to EXACT_MAX vectors: single-query top-50 exact search on 384-d took 0.7 ms at 10k
# but 2.2 ms at 20k, 6.1 ms at 50k and 12.7 ms at 100k on one core of the 2-core bench machine (and
# 16 ms at 20k with FAISS's default 2 threads when the CPU was shared), against a whole-search budget of
# 8 ms. Above it, HNSW: 0.3-0.6 ms at 100k (recall@10 1.0) and at 1M. See BENCHMARKS.md, "FAISS at scale".
EXACT_MAX = 10_000
HNSW_M = 32  # graph degree; 1M vectors take 1.8 GB (vs 1.5 GB flat) and ~9 min to build on 2 busy cores
HNSW_EF_CONSTRUCTION = 80
# recall@10 at 1M clustered vectors: efSearch 64 -> 0.923, 96 -> 0.958, 128 -> 0.972 (p50 0.37, 0.47,
# 0.52 ms): 128 keeps a margin above the 0.95 target for +0.05 ms.
HNSW_EF_SEARCH = 128


def _faiss():
    try:
        import faiss
    except ImportError:
        from rag.errors import MissingDependencyError

        raise MissingDependencyError("vector search needs FAISS: pip install faiss-cpu") from None
    return faiss


def choose_kind(n: int) -> str:
    """``choose_kind(100) == "flat"``; ``choose_kind(10**6) == "hnsw"``."""
    return "flat" if n <= EXACT_MAX else "hnsw"


def build(vectors: np.ndarray, kind: str | None = None):
    """A FAISS index over L2-normalised ``vectors`` (inner product = cosine)."""
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = kind or choose_kind(n)
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        raise ValueError(f"kind must be 'flat' or 'hnsw'. Currently, kind is {kind!r}")
    if n:
        index.add(vectors)
    return index


def write(index, filename: str) -> None:
    _faiss().write_index(index, filename)


def read(filename: str):
    faiss = _faiss()
    # A loaded index serves single queries: on a small shared CPU one thread is fastest
    # (2.4 ms vs 16 ms for exact search at 20k vectors under load, BENCHMARKS.md).
    faiss.omp_set_num_threads(1)
    index = faiss.read_index(filename)
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH  # FAISS persists it; set again so a changed constant applies
    return index


def search(index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, ids) for one query vector; ids of -1 (fewer than k vectors) are dropped."""
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]
