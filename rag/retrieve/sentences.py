"""Sentence vectors of retrieved chunks, for sentence-level scoring (hybrid fusion and the
extractive answer).

Indexes built with ``sentence_vectors="query"`` store no sentence vectors: the sentences of the
few chunks a query needs are embedded at query time, in one batch, and cached by chunk row. That
builds faster and smaller, but a search meeting new chunks pays for embedding their sentences
(BENCHMARKS.md, "Scale"), so ``"stored"`` is the default.
Other indexes carry their vectors (``sentences-*.npy``, memory-mapped: float16, or with storage
"compact" 6-bit codes with a scale per row, dequantized a chunk at a time as read
(``rag.store.quant``); schema 3: float32 ``sentences-*.npz``) and those are used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

CACHE_ROWS = 20_000  # chunks whose query-time sentence vectors stay cached (~5 sentences x 1.5 KB each: ~150 MB at most)


class SentenceVectors:
    """``sv.get([3, 7])`` -> [vectors of chunk 3's sentences, chunk 7's], in sentence order.
    ``texts(row)``: what the embedder sees for each sentence of chunk ``row``
    (``rag.ingest.chunking.indexed_sentences``); ``embed_batch(texts)``: the embedder's batch call."""

    def __init__(self, texts, embed_batch, stored=None, offsets=None, cache_rows: int = CACHE_ROWS):
        self._texts = texts
        self._embed_batch = embed_batch
        self._stored, self._offsets = stored, offsets
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_rows = cache_rows
        self._lock = threading.Lock()

    @property
    def stored(self) -> bool:
        return self._stored is not None

    def get(self, rows) -> list[np.ndarray]:
        rows = [int(r) for r in rows]
        if self._stored is not None:
            off = self._offsets
            return [np.asarray(self._stored[off[r] : off[r + 1]], dtype=np.float32) for r in rows]
        with self._lock:
            found = {r: self._cache[r] for r in rows if r in self._cache}
            for r in found:
                self._cache.move_to_end(r)
        missing = [r for r in dict.fromkeys(rows) if r not in found]
        if missing:
            texts, counts = [], []
            for r in missing:
                row_texts = self._texts(r)
                texts += row_texts
                counts.append(len(row_texts))
            vecs = self._embed_batch(texts) if texts else np.zeros((0, 0), np.float32)
            at = 0
            with self._lock:
                for r, n in zip(missing, counts):
                    found[r] = self._cache[r] = np.asarray(vecs[at : at + n], dtype=np.float32)
                    at += n
                while len(self._cache) > self._cache_rows:
                    self._cache.popitem(last=False)
        return [found[r] for r in rows]

    def best_scores(self, rows, qvec: np.ndarray) -> np.ndarray:
        """For each chunk row, the cosine of its sentence closest to ``qvec`` (0 without sentences)."""
        return np.array([float((v @ qvec).max()) if len(v) else 0.0 for v in self.get(rows)], dtype=np.float32)
