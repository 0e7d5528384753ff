"""Query preparation: validation, follow-up history folded in, names and quoted phrases weighted."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.ingest.terms import tokenize

MAX_QUERY_CHARS = 2000  # longer input is cut: MiniLM reads ~256 word pieces anyway
NAME_WEIGHT = 2.0  # capitalised words and quoted phrases: the exact terms users expect matched
HISTORY_WEIGHT = 0.5  # earlier turns help a follow-up but must not drown the new question


@dataclass(frozen=True)
class Query:
    text: str  # what the dense model embeds
    history_text: str  # the previous question, embedded at HISTORY_WEIGHT ("" when none)
    weights: dict  # lexical token -> weight
    tokens: tuple  # lexical tokens, current question first


def clean(question) -> str:
    """Validate and normalise a question: control characters removed, whitespace collapsed.

    ``clean("  hi\\x00 there ") == "hi there"``; empty input raises ``ValueError``.
    """
    if not isinstance(question, str):
        raise ValueError(f"query must be a string. Currently, query is {type(question).__name__}")
    text = "".join(c if c.isprintable() or c in "\n\t" else " " for c in question)
    text = " ".join(text.split())
    if not text:
        raise ValueError("query is empty; ask a question with some words in it")
    return text[:MAX_QUERY_CHARS]


def important_tokens(question: str) -> set[str]:
    """Tokens of names (capitalised words not starting the sentence) and quoted phrases."""
    picked = []
    for m in re.finditer(r"[\"“‘']([^\"”’']{2,80})[\"”’']", question):
        picked += tokenize(m.group(1))
    words = question.split()
    for i, w in enumerate(words):
        if i > 0 and w[:1].isupper() and not words[i - 1].endswith((".", "?", "!")):
            picked += tokenize(w)
        elif w.isupper() and len(w) > 1:  # acronyms anywhere: INF, EU
            picked += tokenize(w)
    return set(picked)


def prepare(question: str, history=None) -> Query:
    """Build the retrieval query. ``history`` is a list of (question, answer) turns."""
    text = clean(question)
    prev = ""
    if history:
        last = history[-1]
        prev = clean(last[0] if isinstance(last, (list, tuple)) else str(last))
    weights: dict[str, float] = {}
    for tok in tokenize(prev):
        weights[tok] = HISTORY_WEIGHT
    for tok in tokenize(text):
        weights[tok] = 1.0
    for tok in important_tokens(text):
        weights[tok] = NAME_WEIGHT
    tokens = tuple(dict.fromkeys(tokenize(text) + tokenize(prev)))
    return Query(text, prev, weights, tokens)


_NAME_RUN = re.compile(r"\b[A-Z][a-z]+(?:[’'][a-z]+)?(?:\s+[A-Z][a-z]+)+")


def full_names(question: str) -> list[list[str]]:
    """Runs of two or more capitalised words (person and organisation names), as token lists.

    ``full_names("What did Rex Tillerson say?") == [["rex", "tillerson"]]``; a sentence-initial
    question word is not part of a name.
    """
    out = []
    for m in _NAME_RUN.finditer(question):
        words = m.group(0).split()
        if m.start() == 0 or question[: m.start()].rstrip().endswith((".", "?", "!")):
            words = words[1:]
        toks = tokenize(" ".join(words))
        if len(words) >= 2 and toks:
            out.append(toks)
    return out


_WH_NUMBER = re.compile(r"\bhow (?:many|much)\b|\bwhat (?:percentage|number|amount)\b", re.I)
_WH_DATE = re.compile(r"^\s*when\b|\bwhat (?:date|year|day|month|time)\b|\bdate of\b", re.I)
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|million)\b", re.I)
_DATE = re.compile(r"\b(?:\d{4}|january|february|march|april|may|june|july|august|september|october|november|"
                   r"december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|"
                   r"week|weekend|month|year|autumn|spring|summer|winter|since|ago)\b", re.I)


def answer_type(question: str) -> str | None:
    """"number", "date" or None: what kind of fact the answer must contain.

    ``answer_type("How many ships?") == "number"``; ``answer_type("When did he go?") == "date"``.
    """
    if _WH_NUMBER.search(question):
        return "number"
    if _WH_DATE.search(question):
        return "date"
    return None


def has_answer_type(kind: str | None, sentence: str, question: str) -> bool:
    """Does ``sentence`` contain a fact of ``kind`` not already in the question?"""
    if kind is None:
        return True
    pattern = _NUMBER if kind == "number" else _DATE
    asked = {m.group(0).lower() for m in pattern.finditer(question)}
    return any(m.group(0).lower() not in asked for m in pattern.finditer(sentence))
