"""Words as the lexical side sees them: one tokenizer for BM25 documents, queries, the extractive
scorer and citation checks, so all four normalise text identically.

A ``Tokenizer`` lowercases, folds accents (``café`` → ``cafe``), drops possessive ``'s``, removes stop
words and stems with a Snowball stemmer (PyStemmer, a C extension; any of its languages by name,
or none). ``tokenize`` is the default English tokenizer:

    >>> tokenize("Antonov's appointment")
    ['antonov', 'appoint']
    >>> tokenize("The boxes of news, at speed")
    ['box', 'news', 'speed']
    >>> Tokenizer(stemmer=None, stopwords=None)("The boxes")
    ['the', 'boxes']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# English function words: they match everywhere and only add noise to BM25 and to word-overlap
# scores. The last line are words that frame a question rather than carry its content ("What did
# Spicer say ...?", "According to the text, ..."): a question's reporting verb rarely occurs in the
# answering sentence in the same form, and matching it pulls in every quoted sentence.
ENGLISH_STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she should
so some such than that the their theirs them themselves then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves
say said says tell told according
""".split())
STOPWORD_LISTS = {"en": ENGLISH_STOPWORDS, "english": ENGLISH_STOPWORDS}
_WORD = re.compile(r"[^\W_]+(?:[’'][^\W_]+)*", re.UNICODE)
_POSSESSIVE = re.compile(r"[’']s$")


def fold(text: str) -> str:
    """Lowercase and strip accents. ``fold("Café Crème") == "cafe creme"``"""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


class Tokenizer:
    """``Tokenizer(stemmer="english", stopwords="en")``: ``stemmer`` is a Snowball language name
    (``Stemmer.algorithms()`` lists them) or None; ``stopwords`` a list name, any iterable of
    words, or None."""

    def __init__(self, stemmer: str | None = "english", stopwords: str | Iterable[str] | None = "en"):
        if isinstance(stopwords, str):
            if stopwords not in STOPWORD_LISTS:
                raise ValueError(f"stopwords must be one of {', '.join(map(repr, STOPWORD_LISTS))}, a list of "
                                 f"words or None. Currently, stopwords is {stopwords!r}")
            stopwords = STOPWORD_LISTS[stopwords]
        self.stopwords = frozenset(stopwords or ())
        self._stem = None
        if stemmer:
            import Stemmer  # PyStemmer: Snowball stemmers in C

            try:
                self._stem = Stemmer.Stemmer(stemmer).stemWord
            except KeyError:
                raise ValueError(f"stemmer must be one of {', '.join(Stemmer.algorithms())} or None. "
                                 f"Currently, stemmer is {stemmer!r}") from None
        self._cache: dict[str, str] = {}  # word -> stem: a corpus repeats its words a lot

    def __call__(self, text: str) -> list[str]:
        out = []
        cache, stem, stop = self._cache, self._stem, self.stopwords
        for w in _WORD.findall(fold(text)):
            w = _POSSESSIVE.sub("", w).replace("’", "'")
            if len(w) < 2 or w in stop:
                continue
            s = cache.get(w)
            if s is None:
                s = stem(w) if stem else w
                if len(cache) < 500_000:
                    cache[w] = s
            out.append(s)
        return out


tokenize = Tokenizer()
# Recorded in every index's manifest: BM25 tokens depend on it, so a change means rebuilding.
TOKENIZER_ID = "snowball-english/stop-en-v1"
STOPWORDS = ENGLISH_STOPWORDS
