"""Gold question files (JSONL): one question per line, every problem reported, nothing dropped.

Line schema: ``{"id", "question", "answer", "evidence": [verbatim quotes], "answerable": bool,
"key_facts": ["alt1|alt2", ...]}``, plus ``"conversation": str, "turn": int`` in follow-up sets
(turn n is asked with turns 1..n-1 of its conversation as history).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rag.errors import GoldFileError

from .metrics import contains, normalize_ws

FIELDS = {"id": str, "question": str, "answer": str, "evidence": list, "answerable": bool, "key_facts": list}


@dataclass(frozen=True)
class GoldItem:
    """One gold question. ``line`` is 1-based in ``source``."""

    id: str
    question: str
    answer: str  # "" for unanswerable questions (null in the file)
    evidence: tuple[str, ...]
    answerable: bool
    key_facts: tuple[str, ...]
    source: str = ""
    line: int = 0
    answers: tuple[str, ...] = ()  # every gold answer span (SQuAD); token F1 takes the best
    paragraph: tuple[str, int] | None = None  # (doc_id, ¶) the question was written on (SQuAD)
    conversation: str | None = None  # follow-up sets: turns of one conversation share this id
    turn: int = 0  # 1-based turn within ``conversation``; earlier turns are asked first, as history


def _shorten(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _check(obj, texts) -> list[str]:
    """Problems of one parsed line (empty when it is valid)."""
    if not isinstance(obj, dict):
        return [f"expected a JSON object, got {type(obj).__name__}"]
    problems = []
    for name, kind in FIELDS.items():
        if name not in obj:
            problems.append(f"missing field {name!r}")
            continue
        value = obj[name]
        if name == "answer" and value is None:  # unanswerable questions have no reference answer
            continue
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            want = {str: "a string", list: "a list of strings", bool: "true or false"}[kind]
            problems.append(f"field {name!r} must be {want}, got {json.dumps(value, ensure_ascii=False)[:40]}")
        elif kind is list and not all(isinstance(x, str) and x.strip() for x in value):
            problems.append(f"field {name!r} must be a list of non-empty strings")
        elif kind is str and name != "answer" and not value.strip():
            problems.append(f"field {name!r} is empty")
    if problems:
        return problems
    if obj["answerable"] and not obj["evidence"]:
        problems.append("answerable question with no evidence quotes")
    if obj["answerable"] and not (obj["answer"] or "").strip():
        problems.append("answerable question with no reference answer")
    conv, turn = obj.get("conversation"), obj.get("turn")
    if (conv is None) != (turn is None):
        problems.append("'conversation' and 'turn' go together")
    elif conv is not None and (not isinstance(conv, str) or not conv.strip() or not isinstance(turn, int)
                               or isinstance(turn, bool) or turn < 1):
        problems.append("'conversation' must be a non-empty string and 'turn' an integer >= 1")
    if texts is not None:
        for quote in obj["evidence"]:
            if not any(contains(t, quote) for t in texts):
                problems.append(f"evidence not found in the documents: {_shorten(quote)!r}")
    return problems


def load_gold(path, document_texts=None) -> list[GoldItem]:
    """Read and validate ``path``; raise ``GoldFileError`` listing every bad line.

    ``document_texts`` (strings, or a doc_id -> text mapping): each evidence quote must occur in one
    of them (whitespace-normalised); ``None`` skips that check. ``load_gold("eval/gold.jsonl", [text])``
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldFileError(f"cannot read gold file {path}: {exc}") from None
    texts = None
    if document_texts is not None:
        values = document_texts.values() if hasattr(document_texts, "values") else document_texts
        texts = [normalize_ws(t) for t in values]
    items, problems, seen = [], [], {}
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path} line {n}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        qid = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else "?"
        found = _check(obj, texts)
        if qid != "?" and qid in seen:
            found.append(f"duplicate id (first on line {seen[qid]})")
        seen.setdefault(qid, n)
        problems += [f"{path} line {n} ({qid}): {p}" for p in found]
        if not found:
            items.append(GoldItem(obj["id"], obj["question"], obj["answer"] or "", tuple(obj["evidence"]),
                                  obj["answerable"], tuple(obj["key_facts"]), str(path), n,
                                  conversation=obj.get("conversation"), turn=obj.get("turn") or 0))
    if not problems and not items:
        problems.append(f"{path}: no questions in the file")
    if problems:
        err = GoldFileError(f"{len(problems)} problem(s) in gold file {path}:\n  " + "\n  ".join(problems))
        err.problems = problems
        raise err
    return items
