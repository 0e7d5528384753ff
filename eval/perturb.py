"""Unanswerable training questions made from answerable ones, the way SQuAD 2.0's authors wrote theirs
(Rajpurkar et al. 2018, table 2: antonym 20%, entity swap 21%, negation 9%, number swap and other
changes): change one thing in an answerable question so its paragraph no longer answers it.

Used by ``eval/answerability_data.py`` for training rows only: they never enter an evaluation set or
the choice of the operating point. Seeded and deterministic.

``perturb("How many people lived in Warsaw in 1939?", random.Random(0), ["Kraków"], set())`` returns a
changed question (or None when no change applies).
"""

from __future__ import annotations

import random
import re

_PAIRS = """largest smallest|biggest smallest|highest lowest|most least|more less|first last|earliest latest|
before after|increase decrease|increased decreased|north south|east west|northern southern|eastern western|
maximum minimum|major minor|best worst|older younger|oldest youngest|longest shortest|early late|
win lose|won lost|accepted rejected|allowed banned|rise fall|rose fell|strong weak|strongest weakest|
upper lower|inner outer|start end|began ended|public private|internal external|ancient modern|
successful unsuccessful|legal illegal|positive negative|higher lower|larger smaller|above below|
primary secondary|open closed|same different|common rare|cheap expensive|cheapest most expensive"""
ANTONYMS: dict[str, str] = {}
for _pair in _PAIRS.replace("\n", "").split("|"):
    a, b = _pair.split(" ", 1)
    ANTONYMS.setdefault(a, b)
    ANTONYMS.setdefault(b, a)
_AUX = re.compile(r"\b(is|was|were|are|did|does|do|can|could|has|have|had|will|would|should)\b(?! not\b)", re.I)
_NUM = re.compile(r"\b\d{1,4}\b")
_CAP = re.compile(r"(?<=\s)[A-Z][a-z]{2,}(?:\s[A-Z][a-z]{2,})*")


def _antonym(q: str, rng: random.Random) -> str | None:
    hits = [m for m in re.finditer(r"\b[a-z]+\b", q) if m.group(0) in ANTONYMS]
    if not hits:
        return None
    m = rng.choice(hits)
    return q[: m.start()] + ANTONYMS[m.group(0)] + q[m.end():]


def _negate(q: str, rng: random.Random) -> str | None:
    hits = list(_AUX.finditer(q))
    if not hits:
        return None
    m = rng.choice(hits)
    return q[: m.end()] + " not" + q[m.end():]


def _number(q: str, rng: random.Random) -> str | None:
    hits = list(_NUM.finditer(q))
    if not hits:
        return None
    m = rng.choice(hits)
    n = int(m.group(0))
    delta = rng.choice([-1, 1]) * rng.randint(1, 20 if n > 1000 else max(2, n // 2 + 1))
    new = max(0, n + delta)
    return None if new == n else q[: m.start()] + str(new) + q[m.end():]


def _entity(q: str, rng: random.Random, names: list[str], avoid: set[str]) -> str | None:
    hits = list(_CAP.finditer(q))
    pool = [n for n in names if n not in q and n.lower() not in avoid]
    if not hits or not pool:
        return None
    m = rng.choice(hits)
    return q[: m.start()] + rng.choice(pool) + q[m.end():]


def perturb(question: str, rng: random.Random, names: list[str], avoid: set[str]) -> str | None:
    """One changed question, or None. ``names``: capitalised names of the same article to swap in;
    ``avoid``: lowercased names of the question's own paragraph (swapping one of those in could leave
    the question answerable)."""
    kinds = [lambda: _entity(question, rng, names, avoid), lambda: _antonym(question, rng),
             lambda: _negate(question, rng), lambda: _number(question, rng)]
    rng.shuffle(kinds)
    for kind in kinds:
        changed = kind()
        if changed and changed != question:
            return changed
    return None


def article_names(contexts: list[str]) -> list[str]:
    """Capitalised names (one to three words, not sentence-initial) of an article, in first-seen order."""
    return list(dict.fromkeys(m.group(0) for c in contexts for m in _CAP.finditer(c)))
