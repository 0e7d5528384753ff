"""A cheap stand-in embedder for scale benchmarks: feature hashing of lower-cased words into 384
signed buckets, L2-normalised. It has the shape and the cost profile of nothing real (thousands of
texts per second instead of ~50); it lets a benchmark measure everything *but* the embedding at
sizes the real model would take days to embed. Results made with it say so.

Duck-typed (``embed_batch``/``embed``/``embed_many``) so the starting commit's ``build_index``
accepts it as well as the current one.
"""

from __future__ import annotations

import zlib

import numpy as np

DIM = 384


class StandInEmbedder:
    name = "stand-in (feature hashing)"
    dim = DIM

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), np.float32)
        for row, t in enumerate(texts):
            for w in t.lower().split():
                h = zlib.crc32(w.encode())
                out[row, h % DIM] += 1.0 if h & 0x8000_0000 else -1.0
        out[:, 0] += 1e-3  # no zero rows
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]

    def embed_many(self, texts: list[str], batch_size: int = 256, progress=None) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch_size):
            out.append(self.embed_batch(texts[i : i + batch_size]))
            if progress:
                progress(min(i + batch_size, len(texts)))
        return np.vstack(out) if out else np.zeros((0, DIM), np.float32)
