"""Optional reranking with any sentence-transformers ``CrossEncoder`` (name or local path).

Off by default: no cross-encoder weights can be installed offline here. When on, the top
``candidates`` fused passages are re-scored and the passage score becomes
``(fused + sigmoid(cross-encoder logit)) / 2``: still an absolute number in a fixed range, so the
abstention threshold keeps its meaning.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace


class CrossEncoderReranker:
    """``CrossEncoderReranker("cross-encoder/ms-marco-MiniLM-L-6-v2").rerank(q, passages)``"""

    def __init__(self, model: str, candidates: int = 20):
        if not model or not isinstance(model, str):
            raise ValueError(f"reranker must be a CrossEncoder name or path. Currently, reranker is {model!r}")
        if candidates < 1:
            raise ValueError(f"candidates must be greater than 0. Currently, candidates is {candidates}")
        self.model_name = model
        self.candidates = candidates
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                from rag.embed.base import offline_hub

                offline_hub()
                try:
                    from sentence_transformers import CrossEncoder
                except ImportError:
                    from rag.errors import MissingDependencyError

                    raise MissingDependencyError("reranking needs sentence-transformers: "
                                                 "pip install sentence-transformers") from None
                try:
                    self._model = CrossEncoder(self.model_name, device="cpu", local_files_only=True)
                except OSError as exc:
                    from rag.errors import RagError

                    raise RagError(f"cannot load cross-encoder {self.model_name!r} offline ({exc}); "
                                   "give a local path to a downloaded model") from None
        return self._model

    def rerank(self, query: str, passages: list) -> list:
        """Re-order ``passages`` (best first) by cross-encoder relevance."""
        if not passages:
            return passages
        logits = self.model.predict([(query, p.text) for p in passages], show_progress_bar=False)
        scored = []
        for p, logit in zip(passages, logits):
            logit = float(logit if not hasattr(logit, "__len__") else logit[-1])
            prob = 1 / (1 + math.exp(-max(-50.0, min(50.0, logit))))
            scored.append(replace(p, score=(p.score + prob) / 2))
        return sorted(scored, key=lambda p: -p.score)
