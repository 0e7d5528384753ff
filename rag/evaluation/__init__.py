"""Evaluation against gold question files (``ragqa eval``).

    from rag.evaluation import EvalSettings, evaluate
    results = evaluate(EvalSettings(modes=("hybrid", "dense", "lexical")))

Modules: ``gold`` (load and validate JSONL), ``metrics`` (pure scoring functions), ``runner``
(retrieve, answer, aggregate), ``gates`` (``--min``/``--max``), ``report`` (tables, JSON,
Markdown, plots), ``cli`` (``add_parser`` for ``rag.cli``).
"""

from __future__ import annotations

from .gold import GoldItem, load_gold
from .runner import EvalSettings, evaluate, metric_names

__all__ = ["EvalSettings", "GoldItem", "evaluate", "load_gold", "metric_names"]
