"""What every ``ragqa`` command shares: the config from flags, terminal styling, the common
retrieval flags and the passage printer (progress is ``rag.cli.progress``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from rag.config import Config

BOLD, DIM, YELLOW, RESET = "\033[1m", "\033[2m", "\033[33m", "\033[0m"
# Flags whose value, when given, overrides the config field of the same name (``--index`` -> index_dir).
CONFIG_FLAGS = ("index", "k", "mode", "generator", "model", "timeout", "n_threads", "openai_base_url",
                "openai_model", "openai_api_key", "backend", "reranker", "model_path", "vector_store", "milvus_uri",
                "sentence_vectors", "storage", "abstain_threshold")


def color() -> bool:
    """ANSI styles only on a terminal, and never with ``NO_COLOR`` set."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def style(text: str, code: str) -> str:
    return f"{code}{text}{RESET}" if color() else text


def config_from_args(args) -> Config:
    """Config from env vars, overridden by whichever flags this command has and the user set."""
    over = {}
    for n in CONFIG_FLAGS:
        v = getattr(args, n, None)
        if v is not None:
            over["index_dir" if n == "index" else n] = Path(v) if n in ("index", "model_path") else v
    return Config.from_env(**over)


def add_retrieval_flags(sp, k: bool = True) -> None:
    """``--index``, ``--model`` and (with ``k``) ``-k``, ``--mode``, ``--reranker``."""
    from rag.types import Mode

    sp.add_argument("--index", metavar="DIR", help="index directory (default: the bundled article's)")
    sp.add_argument("--model", help="embedding model name or path (default all-MiniLM-L6-v2)")
    if k:
        sp.add_argument("-k", type=int, help="number of passages (default 5)")
        sp.add_argument("--mode", choices=[m.value for m in Mode], help="retrieval mode (default hybrid)")
        sp.add_argument("--reranker", metavar="MODEL",
                        help="rerank with a sentence-transformers CrossEncoder (name or local path)")


def add_abstain_flag(sp) -> None:
    """``--abstain-threshold P`` (Config.abstain_threshold)."""
    sp.add_argument("--abstain-threshold", dest="abstain_threshold", type=float, metavar="P",
                    help="answer only when the answerability model gives at least P (0-1); higher abstains more "
                         "often (default: the model's operating point; or set RAGQA_ABSTAIN_THRESHOLD)")


def answerability_line(p: float, threshold: float | None) -> str:
    """``answerability_line(0.62, 0.25) == "answerability 0.62 (answers from 0.25)"``"""
    return f"answerability {p:.2f}" + (f" (answers from {threshold:.2f})" if threshold is not None else "")


def print_passages(passages, as_json: bool) -> None:
    if as_json:
        from dataclasses import asdict

        print(json.dumps([asdict(p) for p in passages], ensure_ascii=False, indent=2))
        return
    for i, p in enumerate(passages, 1):
        where = f"{p.doc_id} {p.label}" + (f" p.{p.pages[0]}" if p.pages else "")
        print(style(f"{i}. {where}  score {p.score:.3f}", BOLD))
        print(f"   {p.text}\n")
