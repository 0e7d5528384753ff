"""A scalable corpus of document-length paragraphs made from SQuAD 2.0 dev part A's contexts
(345 real Wikipedia paragraphs, median 743 characters), for scale benchmarks.

Copy 0 is the real paragraphs; copy r > 0 of a paragraph shuffles its sentences and replaces
about one word in eight with another word of the same corpus (seeded by r and the paragraph), so
every paragraph is distinct text of the same length and vocabulary. Paragraphs are grouped into
documents of ``PER_DOC`` (one SQuAD article-sized file each)::

    python bench/squad_corpus.py 10000 /tmp/corpus-10k      # writes doc-00000.txt, ...
    paragraphs(1000)                                        # the texts, in memory
"""

from __future__ import annotations

import json
import random
import re
import sys
import zlib
from pathlib import Path

SQUAD_A = Path("/work/shared/data/squad2/squad2-dev-part-a.json")
PER_DOC = 40  # paragraphs per document file
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def contexts(path: Path = SQUAD_A) -> list[str]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    return [" ".join(p["context"].split()) for a in data for p in a["paragraphs"]]


def questions(path: Path = SQUAD_A, answerable: bool = True) -> list[str]:
    """Questions in file order (answerable ones only by default)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    return [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]
            if not answerable or not q["is_impossible"]]


def _perturb(text: str, r: int, vocab: list[str]) -> str:
    rng = random.Random(r * 1_000_003 + zlib.crc32(text.encode()))
    sents = _SENT.split(text)
    rng.shuffle(sents)
    words = " ".join(sents).split(" ")
    for i in range(len(words)):
        if rng.random() < 0.125:
            words[i] = rng.choice(vocab)
    return " ".join(words)


def paragraphs(n: int, path: Path = SQUAD_A):
    """Yield ``n`` paragraphs: the real contexts, then perturbed copies, in a fixed order."""
    base = contexts(path)
    vocab = sorted({w for t in base for w in t.split(" ") if w.isalpha() and len(w) > 3})
    for i in range(n):
        r, j = divmod(i, len(base))
        yield base[j] if r == 0 else _perturb(base[j], r, vocab)


def write(n: int, out: Path) -> dict:
    """Write ``n`` paragraphs as .txt documents of ``PER_DOC`` paragraphs into ``out`` (reused when
    already complete). Returns {"paragraphs", "documents", "text_bytes"}."""
    out = Path(out)
    meta_path = out / ".corpus.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("paragraphs") == n:
            return meta
    out.mkdir(parents=True, exist_ok=True)
    buf, docs, text_bytes = [], 0, 0
    for i, p in enumerate(paragraphs(n)):
        buf.append(p)
        text_bytes += len(p.encode("utf-8"))
        if len(buf) == PER_DOC or i == n - 1:
            (out / f"doc-{docs:05d}.txt").write_text("\n\n".join(buf) + "\n", encoding="utf-8")
            docs, buf = docs + 1, []
    meta = {"paragraphs": n, "documents": docs, "text_bytes": text_bytes}
    meta_path.write_text(json.dumps(meta))
    return meta


if __name__ == "__main__":
    print(write(int(sys.argv[1]), Path(sys.argv[2])))
