"""BM25 lexical index (bm25s) over the same chunks as the dense index, tokenized by
``rag.ingest.terms`` so queries and documents are normalised the same way everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.ingest.terms import tokenize


def _bm25s():
    """Import bm25s on its numpy backend. bm25s picks up numba and scipy when they are installed
    (numba arrives with test tools), which adds ~1 s to every cold start for no gain at our
    sizes; they are hidden during the import only, so other code can still import them."""
    import sys

    if "bm25s" in sys.modules:
        return sys.modules["bm25s"]
    hidden = {name: sys.modules.get(name, _MISSING) for name in ("numba", "scipy")}
    try:
        for name in hidden:
            sys.modules[name] = None  # makes "import numba" raise ImportError
        import bm25s
    finally:
        for name, module in hidden.items():
            if module is _MISSING:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return bm25s


_MISSING = object()


class LexicalIndex:
    """BM25 scores over chunk texts. ``LexicalIndex.build(["a cat", "a dog"]).scores("cat")``"""

    def __init__(self, bm25):
        self._bm25 = bm25
        self._vocab = set(bm25.vocab_dict) if getattr(bm25, "vocab_dict", None) else set()

    @classmethod
    def build(cls, texts: list[str]) -> "LexicalIndex":
        bm25 = _bm25s().BM25()  # Lucene BM25, k1=1.5, b=0.75: the well-tested default
        bm25.index([tokenize(t) or ["\x00empty"] for t in texts], show_progress=False)
        return cls(bm25)

    @property
    def vocabulary(self) -> set[str]:
        """Every token in the index. ``"antonov" in index.vocabulary``"""
        return self._vocab

    def save(self, path: Path) -> None:
        self._bm25.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path) -> "LexicalIndex":
        return cls(_bm25s().BM25.load(str(path), show_progress=False, verbosity=0))

    def scores(self, query: str | list[str], weights: dict[str, float] | None = None) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (text or tokens); tokens in ``weights`` count more."""
        tokens = tokenize(query) if isinstance(query, str) else query
        tokens = [t for t in tokens if t in self._vocab]
        n = int(self._bm25.scores["num_docs"])
        total = np.zeros(n, dtype=np.float32)
        if not tokens:
            return total
        if not weights:
            return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        for tok in tokens:
            total += weights.get(tok, 1.0) * np.asarray(self._bm25.get_scores([tok]), dtype=np.float32)
        return total
