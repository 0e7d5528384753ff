"""An offline corpus of real English paragraphs for embedding benchmarks: the Python reference
manual's topics (``pydoc_data.topics``) and docstrings of standard-library modules, classes and
functions (read with ``ast``, nothing imported). Deterministic: same Python, same paragraphs."""

from __future__ import annotations

import ast
import random
import re
import sysconfig
from pathlib import Path


def _clean(text: str) -> str | None:
    text = " ".join(text.split())
    if len(text) < 80 or sum(c.isalpha() or c == " " for c in text) < 0.8 * len(text):
        return None  # too short, or mostly code / tables
    return text


def paragraphs(n: int = 4000, seed: int = 0) -> list[str]:
    """``paragraphs(4000)``: up to ``n`` distinct paragraphs, shuffled with ``seed`` (mixed lengths,
    as paragraphs of real documents come)."""
    import pydoc_data.topics as topics

    out: dict[str, None] = {}
    for key in sorted(topics.topics):
        for p in re.split(r"\n\s*\n", topics.topics[key]):
            if (t := _clean(p)) is not None:
                out[t] = None
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for f in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")):
        if len(out) >= 3 * n or any(s in f.parts for s in ("test", "tests", "idlelib", "lib2to3", "site-packages")):
            continue
        try:
            tree = ast.parse(f.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                for p in re.split(r"\n\s*\n", doc or ""):
                    if (t := _clean(p)) is not None:
                        out[t] = None
    texts = sorted(out)
    random.Random(seed).shuffle(texts)
    return texts[:n]


if __name__ == "__main__":
    ps = paragraphs()
    lengths = sorted(len(p) for p in ps)
    print(len(ps), "paragraphs; chars p10/p50/p90:", lengths[len(ps) // 10], lengths[len(ps) // 2],
          lengths[9 * len(ps) // 10])
