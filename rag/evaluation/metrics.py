"""Evaluation metrics: pure functions over texts, booleans and counts (no model, no numpy).

Retrieval: a passage is relevant to an evidence quote when it contains the quote (whitespace
normalised). Answers: key-fact recall, SQuAD token F1, citation precision/recall, cited-sentence
share. ``None`` means "undefined" (e.g. recall of a question without evidence) and is skipped
by ``mean``.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata

from rag.ingest.sentences import split_spans
from rag.ingest.terms import STOPWORDS  # the one stop-word list
from rag.types import MARKER

_QUOTES = str.maketrans({"’": "'", "‘": "'", "‚": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"',
                         "–": "-", "—": "-", "‐": "-", "‑": "-"})
_LEADING = re.compile(r"(?:\s*" + MARKER.pattern.replace("?P<doc>", "?:").replace("?P<num>", "?:") + r")+[.!?…]?")
_TRAILING = re.compile(r"((?:\s*" + MARKER.pattern + r")+)\s*[.!?…;:’'\"”)\]]*\s*$")


# -- text helpers ------------------------------------------------------------------------------
def normalize_ws(text: str) -> str:
    """Collapse whitespace runs to one space. ``normalize_ws(" a \\n b ") == "a b"``"""
    return " ".join(text.split())


def contains(text: str, quote: str) -> bool:
    """True when ``quote`` occurs in ``text``, whitespace normalised. ``contains("a  b c", "b c")``"""
    q = normalize_ws(quote)
    return bool(q) and q in normalize_ws(text)


def strip_markers(text: str) -> str:
    """Remove citation markers. ``strip_markers("He left [¶2].") == "He left."``"""
    return re.sub(r"\s+([.,;:!?])", r"\1", normalize_ws(MARKER.sub("", text)))


def mean(values) -> float | None:
    """Mean of the non-None values, None if there are none. ``mean([1, None, 0]) == 0.5``"""
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def ratio(num: float, den: float) -> float | None:
    """``num / den``, None when ``den`` is 0. ``ratio(1, 4) == 0.25``"""
    return num / den if den else None


def percentile(values, q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default). ``percentile([1, 2, 3, 4], 50) == 2.5``"""
    vals = sorted(values)
    if not vals:
        return None
    pos = (len(vals) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


# -- retrieval ---------------------------------------------------------------------------------
def quote_hits(passage_texts, quotes) -> list[list[bool]]:
    """``hits[i][j]``: passage i (rank order) contains quote j. ``quote_hits(["a b"], ["b", "c"]) == [[True, False]]``"""
    qs = [normalize_ws(q) for q in quotes]
    out = []
    for t in passage_texts:
        t = normalize_ws(t)
        out.append([bool(q) and q in t for q in qs])
    return out


def evidence_recall(hits, k: int, n_quotes: int | None = None) -> float | None:
    """Share of quotes found in at least one of the top ``k`` passages; None without quotes.
    ``n_quotes`` defaults to the row length (give it when nothing was retrieved).

    ``evidence_recall([[False, True], [True, False]], 1) == 0.5``
    """
    n = n_quotes if n_quotes is not None else (len(hits[0]) if hits else 0)
    if n == 0:
        return None
    return sum(1 for j in range(n) if any(row[j] for row in hits[:k])) / n


def recall_curve(hits, n_quotes: int, k_max: int) -> list[float | None]:
    """``[recall@1, ..., recall@k_max]`` (None throughout when there are no quotes)."""
    if n_quotes == 0:
        return [None] * k_max
    found, out = [False] * n_quotes, []
    for k in range(k_max):
        if k < len(hits):
            found = [f or h for f, h in zip(found, hits[k])]
        out.append(sum(found) / n_quotes)
    return out


def reciprocal_rank(relevant, k: int = 10) -> float:
    """1 / rank of the first relevant passage within the top ``k``, else 0. ``reciprocal_rank([0, 1]) == 0.5``"""
    for i, rel in enumerate(relevant[:k]):
        if rel:
            return 1.0 / (i + 1)
    return 0.0


def dcg(relevant, k: int = 10) -> float:
    """Binary-relevance DCG: sum of 1/log2(rank + 1) over relevant ranks <= k."""
    return sum(1.0 / math.log2(i + 2) for i, rel in enumerate(relevant[:k]) if rel)


def ndcg(relevant, k: int = 10, n_relevant: int | None = None) -> float:
    """nDCG@k with binary relevance. The ideal ranking puts ``n_relevant`` relevant passages first
    (pass the count over the whole index when known); default: the relevant ones retrieved.

    ``ndcg([0, 1], k=10, n_relevant=1) == 1 / math.log2(3)``
    """
    n = sum(1 for r in relevant if r) if n_relevant is None else n_relevant
    ideal = dcg([True] * min(n, k), k)
    return dcg(relevant, k) / ideal if ideal else 0.0


# -- answers -----------------------------------------------------------------------------------
def normalize_fact(text: str) -> str:
    """Lowercase, typographic quotes/dashes folded, whitespace collapsed. ``normalize_fact("Trump’s  X") == "trump's x"``"""
    return normalize_ws(unicodedata.normalize("NFKC", text).translate(_QUOTES).lower())


def fact_found(answer: str, fact: str) -> bool:
    """Whether any ``|``-separated alternative of ``fact`` occurs in ``answer`` as whole words,
    case-insensitively. ``fact_found("It is the INF treaty.", "Intermediate-Range|INF")``"""
    text = normalize_fact(strip_markers(answer))
    for alt in fact.split("|"):
        alt = normalize_fact(alt)
        if alt and re.search(r"(?<!\w)" + re.escape(alt) + r"(?!\w)", text):
            return True
    return False


def key_fact_recall(answer: str, key_facts) -> float | None:
    """Share of ``key_facts`` found in ``answer``; None without key facts."""
    return ratio(sum(fact_found(answer, f) for f in key_facts), len(key_facts)) if key_facts else None


def squad_tokens(text: str) -> list[str]:
    """SQuAD normalisation: lowercase, punctuation (ASCII and Unicode) removed, a/an/the removed, split."""
    text = text.lower()
    text = "".join(c for c in text if c not in string.punctuation and not unicodedata.category(c).startswith("P"))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 of ``prediction`` (citation markers stripped) against ``reference``.

    ``token_f1("the INF treaty [¶3]", "INF treaty") == 1.0``
    """
    pred, ref = squad_tokens(strip_markers(prediction)), squad_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common: dict[str, int] = {}
    for t in pred:
        common[t] = common.get(t, 0) + 1
    same = 0
    for t in ref:
        if common.get(t, 0) > 0:
            common[t] -= 1
            same += 1
    if same == 0:
        return 0.0
    p, r = same / len(pred), same / len(ref)
    return 2 * p * r / (p + r)


def span_contained(answer: str, spans) -> bool | None:
    """Whether the answer contains any gold span as a run of SQuAD-normalised tokens; None without
    spans. ``span_contained("It opened in 1990 [¶2].", ["1990"]) is True``"""
    spans = [squad_tokens(s) for s in spans]
    spans = [s for s in spans if s]
    if not spans:
        return None
    toks = squad_tokens(strip_markers(answer))
    for s in spans:
        n = len(s)
        if any(toks[i : i + n] == s for i in range(len(toks) - n + 1)):
            return True
    return False


def words(text: str) -> int:
    """Words in an answer, citation markers not counted. ``words("He left [¶2].") == 2``"""
    return len(strip_markers(text).split())


def content_words(text: str) -> set[str]:
    """Lowercased words minus stop words, a plural ``s`` folded. ``content_words("The ships sailed")``"""
    words = re.findall(r"[^\W_]+", normalize_fact(strip_markers(text)).replace("'s ", " "))
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in words if w not in STOPWORDS}


def supports(sentence: str, quote: str, min_share: float = 0.5) -> bool:
    """At least ``min_share`` of the sentence's content words occur in ``quote``."""
    words = content_words(sentence)
    return bool(words) and len(words & content_words(quote)) / len(words) >= min_share


def answer_sentences(text: str) -> list[tuple[str, list[tuple[str, int]]]]:
    """Sentences of an answer, each with the markers it ends with as ``(doc, paragraph)`` pairs
    (``doc`` is "" for a bare ``[¶N]``). A marker written after the full stop stays with its sentence.

    ``answer_sentences("A [¶1]. B.") == [("A [¶1].", [("", 1)]), ("B.", [])]``
    """
    merged: list[list[int]] = []
    for s, e in split_spans(text):
        lead = _LEADING.match(text, s, e)
        if merged and lead and lead.end() > s:  # "Claim. [¶3] Next claim.": the marker closes "Claim."
            merged[-1][1] = lead.end()
            s = lead.end()
            while s < e and text[s].isspace():
                s += 1
        if s >= e:
            continue
        if merged and not re.search(r"[^\W_]", MARKER.sub("", text[s:e])):  # only markers/punctuation
            merged[-1][1] = e
        else:
            merged.append([s, e])
    out = []
    for s, e in merged:
        sent = text[s:e]
        m = _TRAILING.search(sent)
        markers = [((mm.group("doc") or "").strip(), int(mm.group("num"))) for mm in MARKER.finditer(m.group(1))] if m else []
        out.append((sent, markers))
    return out


def _matches(marker: tuple[str, int], citation) -> bool:
    doc, num = marker
    return num == citation.paragraph and (not doc or doc in (citation.doc_id, getattr(citation, "title", "")))


def citation_counts(answer_text: str, citations, evidence) -> dict:
    """Counts behind citation precision/recall and the cited-sentence share of one answer.

    ``citations``: objects with ``doc_id``, ``paragraph``, ``paragraph_text``, ``quote``. A citation
    is *precise* when its paragraph contains an evidence quote or its quote supports a sentence
    that cites it; an evidence quote is *cited* when some cited paragraph contains it; a sentence
    is *cited* when it ends with a marker matching one of ``citations``.
    """
    sentences = answer_sentences(answer_text)
    precise = 0
    for c in citations:
        if any(contains(c.paragraph_text, q) for q in evidence):
            precise += 1
            continue
        citing = [s for s, ms in sentences if any(_matches(m, c) for m in ms)]
        if any(supports(strip_markers(s), c.quote) for s in citing):
            precise += 1
    quotes_cited = sum(1 for q in evidence if any(contains(c.paragraph_text, q) for c in citations))
    cited_sentences = sum(1 for _, ms in sentences if any(_matches(m, c) for m in ms for c in citations))
    return {"citations": len(citations), "precise_citations": precise, "quotes": len(evidence),
            "quotes_cited": quotes_cited, "sentences": len(sentences), "cited_sentences": cited_sentences}


def outcome(answerable: bool, abstained: bool, fact_recall: float | None, f1: float | None) -> str:
    """One of correct, partial, wrong, abstained-correctly, false-abstention, missed-abstention.

    Answered answerable questions are graded by key-fact recall (1 correct, >0 partial), or by
    token F1 (>=0.5 correct, >0 partial) when the question has no key facts.
    """
    if not answerable:
        return "abstained-correctly" if abstained else "missed-abstention"
    if abstained:
        return "false-abstention"
    if fact_recall is not None:
        return "correct" if fact_recall >= 1 else "partial" if fact_recall > 0 else "wrong"
    f1 = f1 or 0.0
    return "correct" if f1 >= 0.5 else "partial" if f1 > 0 else "wrong"


OUTCOMES = ("correct", "partial", "wrong", "abstained-correctly", "false-abstention", "missed-abstention")
