"""sentence-transformers on torch: the reference embedder (and the one that exports ONNX)."""

from __future__ import annotations

import threading

import numpy as np

from rag.config import DEFAULT_MODEL
from rag.embed.base import Embedder, offline_hub, resolve_model


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
                offline_hub()  # offline by design
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError:
                    from rag.errors import MissingDependencyError

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
