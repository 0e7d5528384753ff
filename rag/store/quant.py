"""Compact vectors on disk (``Config.storage="compact"``, schema 5; issue 13: disk per paragraph
beyond the text <= 3 KB). Opt-in: the default ``"exact"`` keeps float16 sentence vectors and float32
chunk vectors, because no stored format under float16 keeps every gold metric within 0.01 (below).

Sentence vectors are stored 6 bits a component, four components in three bytes, each row followed
by its float32 scale: row i is ``codes(3 * dim / 4 bytes) | scale(4 bytes)`` in one ``uint8``
``.npy`` of shape ``(n, row_bytes(dim))``, memory-mapped; ``PackedSentences`` dequantizes only the
rows a query reads. A component is ``code * scale`` with ``code`` in -31..31 and
``scale = max|row| / 31``: symmetric, so a row's largest component is exact and nothing is ever
clipped; a component is off by at most ``scale / 2`` (~0.003 for the model's normalised 384-d rows,
whose largest component is 0.13-0.26), after the build's float16 rounding of the embedding
(2^-11 relative; ``rag.store.indexer`` embeds into a float16 file, then packs it). A row is quantized on its own: no trained state, so an
incremental build quantizes new rows exactly as a full build would, and copies unchanged rows' bytes.

Chunk vectors go through FAISS's 8-bit scalar quantizer (``rag.store.vectors``).

Why 6 bits (eval/reports/compact_storage.md: eval/sentence_study.py on gold, gold2 and SQuAD part A,
against float16 sentences and float32 chunk vectors): it is the finest row format that keeps the index
under 3 KiB a paragraph beyond the text at 1k and at 100k paragraphs (measured 2.72 and 2.88 with the
SQ8 chunk vectors; int8 rows, 388 bytes, would be ~3.4 at 100k with the HNSW graph). Retrieval and
SQuAD metrics stay within 0.003; gold and gold2 answer metrics move by one or two boundary questions
(gold key-fact recall -0.026, citation recall -0.018, token F1 -0.013; gold2 token F1 -0.015), as int8
rows also do; 4-bit rows cost gold key-fact recall 0.10 and SQuAD answer span 0.01. 292 bytes a
384-d sentence instead of 768 (float16).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

BITS = 6
MAX_CODE = 2 ** (BITS - 1) - 1  # codes -31..31, stored + 31 (0..62)
SCALE_BYTES = 4  # float32 per row
FORMAT = "int6-row-scale"  # the manifest's "sentence_format" of compact schema 5 indexes
FLOAT16 = "float16"  # ... of exact ones (schema 4 wrote no format: float16 too)
BLOCK_ROWS = 4_096  # rows quantized at a time when packing the build's file (~6 MB of float32 each step)


def _groups(dim: int) -> int:
    return (dim + 3) // 4  # four 6-bit codes in three bytes


def row_bytes(dim: int) -> int:
    """Bytes of one stored row: ``row_bytes(384) == 292`` (vs 768 as float16)."""
    return 3 * _groups(dim) + SCALE_BYTES


def quantize(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` (n, dim) as packed 6-bit codes plus a float32 scale each: (n, row_bytes(dim)) uint8."""
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 1:
        v = v.reshape(1, -1)
    n, dim = v.shape
    g = _groups(dim)
    scale = (np.abs(v).max(axis=1) / MAX_CODE if dim else np.zeros(n)).astype("<f4")
    safe = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.full((n, 4 * g), MAX_CODE, dtype=np.uint32)  # a dim not divisible by 4 pads with 0 codes
    q[:, :dim] = (np.clip(np.rint(v / safe[:, None]), -MAX_CODE, MAX_CODE) + MAX_CODE).astype(np.uint32)
    q = q.reshape(n, g, 4)
    w = q[..., 0] | (q[..., 1] << 6) | (q[..., 2] << 12) | (q[..., 3] << 18)
    out = np.empty((n, 3 * g + SCALE_BYTES), dtype=np.uint8)
    packed = out[:, : 3 * g].reshape(n, g, 3)
    packed[..., 0] = w & 0xFF
    packed[..., 1] = (w >> 8) & 0xFF
    packed[..., 2] = w >> 16
    out[:, 3 * g :] = scale.reshape(n, 1).view(np.uint8)
    return out


def dequantize(raw: np.ndarray, dim: int) -> np.ndarray:
    """float32 (n, dim) from ``quantize``'s rows."""
    raw = np.asarray(raw, dtype=np.uint8)
    if raw.ndim == 1:
        raw = raw.reshape(1, -1)
    n, g = len(raw), _groups(dim)
    b = raw[:, : 3 * g].reshape(n, g, 3).astype(np.uint32)
    w = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16)
    q = np.empty((n, g, 4), dtype=np.int16)
    for k in range(4):
        q[..., k] = (w >> (6 * k)) & 0x3F
    q = q.reshape(n, 4 * g)[:, :dim] - MAX_CODE
    scale = np.ascontiguousarray(raw[:, 3 * g :]).view("<f4")  # (n, 1)
    return q.astype(np.float32) * scale


class PackedSentences:
    """The stored sentence vectors of a schema-5 index, read like a float32 array:
    ``ps[10:14]`` dequantizes rows 10-13 only; ``ps.raw`` is the memory-mapped uint8 file."""

    def __init__(self, raw: np.ndarray, dim: int):
        if raw.dtype != np.uint8 or raw.ndim != 2 or raw.shape[1] != row_bytes(dim):
            raise ValueError(f"packed sentence vectors of shape {raw.shape} ({raw.dtype}) do not hold "
                             f"{dim}-d rows")
        self.raw, self.dim = raw, dim

    dtype = np.dtype(np.float32)
    ndim = 2

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.raw), self.dim)

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, key) -> np.ndarray:
        rows = self.raw[key]
        out = dequantize(rows, self.dim)
        return out[0] if rows.ndim == 1 else out

    def __array__(self, dtype=None, copy=None):
        out = dequantize(self.raw, self.dim)
        return out if dtype is None else out.astype(dtype)

    def packed(self, start: int, stop: int) -> np.ndarray:
        """Rows start:stop as stored (copied into a new index unchanged: no requantization)."""
        return self.raw[start:stop]


def packed_rows(source, start: int, stop: int) -> np.ndarray:
    """Rows start:stop of stored sentence vectors (``PackedSentences`` or a float array) as packed rows."""
    if isinstance(source, PackedSentences):
        return source.packed(start, stop)
    return quantize(np.asarray(source[start:stop], dtype=np.float32))


def open_packed(path: Path, dim: int) -> PackedSentences:
    """The packed ``.npy`` at ``path``, memory-mapped."""
    return PackedSentences(np.load(path, mmap_mode="r", allow_pickle=False), dim)


def pack_file(src: Path, dst: Path, reused=(), source=None) -> Path:
    """Convert the build's float ``.npy`` ``src`` into packed rows in ``dst`` (a new ``.npy``), in
    blocks of ``BLOCK_ROWS``; then rows ``reused`` ``(dst_row, src_row, n)`` are copied from the
    previous index's ``source`` (packed rows as they are: an unchanged chunk keeps its exact bytes).
    ``src`` is deleted. Returns ``dst``."""
    from rag.store.checkpoint import release_pages

    f = np.load(src, mmap_mode="r", allow_pickle=False)
    n, dim = f.shape
    out = np.lib.format.open_memmap(dst, mode="w+", dtype=np.uint8, shape=(n, row_bytes(dim)))
    for s in range(0, n, BLOCK_ROWS):
        out[s : s + BLOCK_ROWS] = quantize(f[s : s + BLOCK_ROWS])
        if s // BLOCK_ROWS % 16 == 15:  # both files' pages leave this process's memory as it goes
            release_pages(out)
            release_pages(f)
    release_pages(f)
    for d, a, k in _runs(reused):
        for s in range(0, k, BLOCK_ROWS):  # a schema 4 source is quantized here: bounded memory
            m = min(BLOCK_ROWS, k - s)
            out[d + s : d + s + m] = packed_rows(source, a + s, a + s + m)
            if s // BLOCK_ROWS % 16 == 15:
                release_pages(out)
                release_pages(getattr(source, "raw", source))
    out.flush()
    del out, f
    Path(src).unlink()
    return Path(dst)


def copy_rows(out: np.ndarray, reused=(), source=None) -> None:
    """Copy rows ``reused`` ``(dst_row, src_row, n)`` of the previous index's ``source`` (float16, or
    ``PackedSentences`` dequantized) into the float array ``out``, in blocks of ``BLOCK_ROWS``
    (``storage="exact"`` builds)."""
    from rag.store.checkpoint import release_pages

    for d, a, k in _runs(reused):
        for s in range(0, k, BLOCK_ROWS):
            m = min(BLOCK_ROWS, k - s)
            out[d + s : d + s + m] = np.asarray(source[a + s : a + s + m], dtype=np.float32)
            if s // BLOCK_ROWS % 16 == 15:
                release_pages(out)
                release_pages(getattr(source, "raw", source))
    release_pages(out)


def _runs(ranges):
    """Merge ``(dst, src, n)`` ranges that continue each other, in order."""
    run = None
    for d, a, k in ranges:
        if not k:
            continue
        if run and run[0] + run[2] == d and run[1] + run[2] == a:
            run[2] += k
            continue
        if run:
            yield tuple(run)
        run = [d, a, k]
    if run:
        yield tuple(run)
