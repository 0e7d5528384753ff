"""BM25 lexical index (bm25s) over the same chunks as the dense index, tokenized by
``rag.ingest.terms`` so queries and documents are normalised the same way everywhere."""

from __future__ import annotations

from array import array
from collections.abc import Iterable
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


def check(bm25, path: Path, num_docs: int | None = None) -> None:
    """Validate a loaded bm25s index (CSC score matrix, one column per vocabulary token)."""
    from rag.errors import IndexCorruptedError

    def bad(name: str, why: str):
        raise IndexCorruptedError(f"{Path(path) / name} is damaged ({why}); rebuild the index")

    sc = bm25.scores
    data, indices, indptr, n = sc.get("data"), sc.get("indices"), sc.get("indptr"), sc.get("num_docs")
    if not isinstance(n, (int, np.integer)) or n < 0 or (num_docs is not None and n != num_docs):
        bad("params.index.json", f"num_docs {n!r}, the index has {num_docs} chunks")
    for name, arr, kind in (("data.csc.index.npy", data, "f"), ("indices.csc.index.npy", indices, "iu"),
                            ("indptr.csc.index.npy", indptr, "iu")):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in kind:
            bad(name, "not a one-dimensional array of the right type")
    if len(indices) != len(data):
        bad("indices.csc.index.npy", f"{len(indices)} entries for {len(data)} scores")
    if len(indptr) == 0 or indptr[0] != 0 or indptr[-1] != len(data):
        bad("indptr.csc.index.npy", f"offsets do not span the {len(data)} scores")
    if len(indptr) > 1 and np.any(np.diff(indptr) < 0):
        bad("indptr.csc.index.npy", "offsets go backwards")
    if len(indices) and (indices.min() < 0 or indices.max() >= n):
        bad("indices.csc.index.npy", f"a chunk number outside 0..{n - 1}")
    if len(data) and not (np.all(np.isfinite(data)) and data.min() > 0):
        bad("data.csc.index.npy", "scores that are not finite and positive")  # Lucene BM25 is > 0
    ids = [i for t, i in (bm25.vocab_dict or {}).items() if t]  # bm25s adds "" with no column
    if not all(isinstance(i, int) and 0 <= i < len(indptr) - 1 for i in ids) or len(set(ids)) != len(ids):
        bad("vocab.index.json", f"token ids outside 0..{len(indptr) - 2} or repeated")


class LexicalIndex:
    """BM25 scores over chunk texts. ``LexicalIndex.build(["a cat", "a dog"]).scores("cat")``"""

    def __init__(self, bm25):
        self._bm25 = bm25
        self._vocab = set(bm25.vocab_dict) if getattr(bm25, "vocab_dict", None) else set()

    @classmethod
    def build(cls, texts: Iterable[str]) -> "LexicalIndex":
        """The BM25 index of ``texts``, any iterable (a generator is read once): each text is tokenized
        and dropped, and only its token ids are held until bm25s has scored them, in a compact
        ``array`` with one id per token; the vocabulary numbers tokens in order of first appearance,
        so the same texts give the same files."""
        vocab: dict[str, int] = {}
        ids = []
        for text in texts:
            ids.append(array("i", [vocab.setdefault(t, len(vocab)) for t in tokenize(text) or ["\x00empty"]]))
        bm25 = _bm25s().BM25()  # Lucene BM25, k1=1.5, b=0.75: the well-tested default
        bm25.index((ids, vocab), show_progress=False)
        return cls(bm25)

    def chunks_with(self, token: str) -> np.ndarray:
        """Rows of the chunks that contain ``token`` (empty if none): its document frequency is
        ``len(index.chunks_with(token))``."""
        col = (self._bm25.vocab_dict or {}).get(token) if token else None
        if col is None:
            return np.zeros(0, dtype=np.int64)
        indptr = self._bm25.scores["indptr"]
        return np.asarray(self._bm25.scores["indices"][indptr[col]:indptr[col + 1]], dtype=np.int64)

    @property
    def vocabulary(self) -> set[str]:
        """Every token in the index. ``"antonov" in index.vocabulary``"""
        return self._vocab

    def save(self, path: Path) -> None:
        self._bm25.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path, num_docs: int | None = None) -> "LexicalIndex":
        """Load and check a saved index: any damaged or out-of-range array raises
        ``IndexCorruptedError`` naming the file, never an ``IndexError`` later or silently wrong
        scores. ``num_docs``: the number of chunks the index must cover."""
        from rag.errors import IndexCorruptedError

        path = Path(path)
        try:
            # mmap: arrays are paged in from the file, not read into private memory (issue 13)
            bm25 = _bm25s().BM25.load(str(path), show_progress=False, verbosity=0, mmap=True)
        except Exception as exc:  # bm25s raises assorted errors on damaged files
            raise IndexCorruptedError(f"lexical index {path} cannot be read ({exc}); rebuild the index") from None
        check(bm25, path, num_docs)
        return cls(bm25)

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
