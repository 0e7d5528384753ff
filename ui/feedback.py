"""Like/dislike feedback as JSON lines. Each record is written with one ``os.write`` on an
``O_APPEND`` descriptor under a lock, so concurrent writers never interleave or lose lines.

>>> FeedbackLog("/tmp/fb.jsonl").append({"liked": True})  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ENV = "RAGQA_FEEDBACK_PATH"


def default_path(config=None) -> Path:
    """``Config.feedback_path``, else ``$RAGQA_FEEDBACK_PATH``, else ``./feedback.jsonl``."""
    path = getattr(config, "feedback_path", None) or os.environ.get(ENV) or "feedback.jsonl"
    return Path(path).expanduser().resolve()


def record(question: str, answer: str, citations=(), liked=None, **extra) -> dict:
    """One feedback line: ``record("Q?", "A [¶1].", [], True)["liked"] is True``."""
    cites = [{"doc_id": c.get("doc_id"), "paragraph": c.get("paragraph"), "quote": c.get("quote")}
             if isinstance(c, dict) else {"doc_id": c.doc_id, "paragraph": c.paragraph, "quote": c.quote}
             for c in citations]
    return {"timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"), "question": question,
            "answer": answer, "citations": cites, "liked": liked, **extra}


@dataclass(frozen=True)
class FeedbackLog:
    """Appends records to ``path`` (created with its parent directory on first write)."""

    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def append(self, rec: dict) -> None:
        line = (json.dumps(rec, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        path = Path(self.path)
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = os.write(fd, line)
            finally:
                os.close(fd)
        if written != len(line):  # a full disk; never silently keep half a record
            raise OSError(f"feedback: wrote {written} of {len(line)} bytes to {path}")

    def read(self) -> list[dict]:
        """All records so far (for tests and reports)."""
        path = Path(self.path)
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
