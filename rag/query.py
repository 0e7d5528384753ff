"""Query preparation: validation, follow-up history folded in, names and quoted phrases weighted."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lexical import tokenize

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
