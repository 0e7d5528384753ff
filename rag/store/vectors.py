"""FAISS vector index: exact inner product for small collections, HNSW for large ones; with
``Config.storage="compact"`` (schema 5) the vectors are stored 8 bits a component (FAISS scalar
quantizer), 384 bytes a 384-d vector instead of 1,536."""

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
# Chunk vectors are stored through FAISS's 8-bit scalar quantizer (QT_8bit_uniform) over the FIXED
# range [-1, 1] (SQ_RANGE): the vectors are L2-normalised, so no component can fall outside it (no
# clipping, ever) and nothing is trained. A range trained on the first build's vectors would be finer
# (max |component| of the model's vectors ~0.25) but would have to be carried into every incremental
# build, and clip documents added later; with the fixed range an add or remove re-quantizes the kept
# vectors (read back from the previous index) to exactly the same codes, and a full rebuild writes the
# same bytes. Error: at most 1/255 a component. Measured against float32 (eval/reports/compact_storage.md,
# gold, gold2 and SQuAD part A): every metric within 0.010 (gold2 token F1 -0.010, MRR@10 +0.005, SQuAD
# unanswerable abstained +0.003); a per-dimension range trained on the index (~4x finer) changed none,
# but brings the carried state and clipping above. 1k SQuAD bench index: FAISS file 2.13 -> 0.53 KB a paragraph.
SQ_RANGE = (-1.0, 1.0)


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


def _fixed_range(sq_index) -> None:
    """Give a QT_8bit_uniform scalar-quantizer index the fixed ``SQ_RANGE`` instead of training it."""
    faiss = _faiss()
    lo, hi = SQ_RANGE
    faiss.copy_array_to_vector(np.array([lo, hi - lo], dtype=np.float32), sq_index.sq.trained)
    sq_index.is_trained = True


def build(vectors: np.ndarray, kind: str | None = None, codec: str = "float32"):
    """A FAISS index over L2-normalised ``vectors`` (inner product = cosine). ``codec``: "sq8"
    (``storage="compact"``: 8-bit scalar quantizer over ``SQ_RANGE``) or "float32"."""
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = kind or choose_kind(n)
    if codec not in ("sq8", "float32"):
        raise ValueError(f"codec must be 'sq8' or 'float32'. Currently, codec is {codec!r}")
    sq8 = faiss.ScalarQuantizer.QT_8bit_uniform
    if kind == "flat":
        if codec == "sq8":
            index = faiss.IndexScalarQuantizer(dim, sq8, faiss.METRIC_INNER_PRODUCT)
            _fixed_range(index)
        else:
            index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        if codec == "sq8":
            index = faiss.IndexHNSWSQ(dim, sq8, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            _fixed_range(faiss.downcast_index(index.storage))
            index.is_trained = True
        else:
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
    # The vectors are memory-mapped (IO_FLAG_MMAP_IFC): start-up reads the header and, for HNSW, the
    # graph, not every vector; pages come in as searches touch them (issue 13, flat cold start).
    try:
        index = faiss.read_index(filename, faiss.IO_FLAG_MMAP_IFC)
    except (AttributeError, RuntimeError):  # older FAISS, or an index type it cannot map
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


class FaissStore:
    """The ``"faiss"`` entry of ``VECTOR_STORES``: one FAISS file per index generation."""

    name = "faiss"

    def __init__(self, index, path):
        self.index, self.path = index, path

    @staticmethod
    def write(matrix: np.ndarray, out, config=None):
        codec = "sq8" if config is not None and config.storage == "compact" else "float32"
        index = build(matrix, codec=codec)
        return ({"name": "faiss", "kind": choose_kind(len(matrix)), "codec": codec},
                (lambda filename: write(index, filename)))

    @classmethod
    def open(cls, data) -> "FaissStore":
        from rag.errors import IndexCorruptedError

        info = data.manifest.get("files", {}).get("faiss")
        if not info:
            raise IndexCorruptedError(f"manifest at {data.path} lists no faiss file; rebuild the index")
        try:
            index = read(str(data.path / info["name"]))
        except RuntimeError as exc:
            raise IndexCorruptedError(f"FAISS index in {data.path} cannot be read ({exc})") from None
        if index.ntotal != len(data.chunks):
            raise IndexCorruptedError(f"FAISS index in {data.path} has {index.ntotal} vectors for "
                                      f"{len(data.chunks)} chunks; rebuild the index")
        return cls(index, data.path)

    def count(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int):
        return search(self.index, query, k)

    def get(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.index.d), np.float32)
        return self.index.reconstruct_batch(ids)

    @staticmethod
    def cleanup(manifest, path) -> None:
        """Nothing outside the index folder: ``disk`` removes stale FAISS files."""
