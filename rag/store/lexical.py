"""BM25 lexical index (bm25s) over the same chunks as the dense index, with our own tokenizer so
queries and documents are normalised the same way everywhere."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np

# Common English function words: they match everywhere and only add noise to BM25.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she should
so some such than that the their theirs them themselves then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves say said says tell told according article
""".split())
_WORD = re.compile(r"[^\W_]+(?:[’'][^\W_]+)*", re.UNICODE)


def stem(word: str) -> str:
    """A light suffix stripper (plurals, -ing, -ed). ``stem("sanctions") == "sanction"``"""
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + repl
    return word


def tokenize(text: str) -> list[str]:
    """Lowercased, accent-folded, stemmed content words. ``tokenize("Antonov's appointment")``
    gives ``["antonov", "appointment"]``."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    out = []
    for w in _WORD.findall(text):
        w = re.sub(r"[’']s$", "", w).replace("’", "'")
        if w not in STOPWORDS and len(w) > 1:
            out.append(stem(w))
    return out


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
