"""``ragqa eval``: register with ``add_parser(subparsers)``; ``run_cli(args)`` returns the exit status
(0 ok, 1 a ``--min``/``--max`` gate failed; errors raise ``RagError``/``ValueError`` for ``rag.cli``)."""

from __future__ import annotations

import sys
from pathlib import Path

from rag.answer.registry import GENERATORS
from rag.types import Mode

from .runner import lower_is_better


def add_parser(sub) -> None:
    """Add the ``eval`` subcommand to an argparse subparsers object."""
    s = sub.add_parser(
        "eval", help="score retrieval, answers, citations and abstention on gold question files",
        description="Evaluate on gold JSONL files; writes results.json, report.md and plots to --out. "
                    "Retrieval metrics per --mode; answer metrics with the first mode.")
    s.add_argument("--gold", nargs="+", metavar="FILE", help="gold JSONL file(s) (default: eval/gold.jsonl)")
    src = s.add_mutually_exclusive_group()
    src.add_argument("--index", metavar="DIR", help="an existing index (default: the bundled article's)")
    src.add_argument("--corpus", nargs="+", metavar="PATH", help="files/folders to index into a temporary index")
    s.add_argument("--squad", metavar="FILE", help="a SQuAD-format JSON file instead of gold files: every article is "
                   "indexed as one document (into --index DIR when given, reused when unchanged) and a seeded "
                   "sample of its questions is asked")
    s.add_argument("--squad-sample", type=int, default=400, metavar="N",
                   help="with --squad: questions per class, answerable and unanswerable (default 400)")
    s.add_argument("--seed", type=int, default=0, help="with --squad: sampling seed (default 0)")
    s.add_argument("--holdout-articles", nargs="*", metavar="TITLE",
                   help="with --squad: ask only about these articles; without titles, the articles the shipped "
                        "answerability model was not trained on")
    s.add_argument("--generator", choices=GENERATORS.names(), help="answer generator (default extractive)")
    s.add_argument("--abstain-threshold", dest="abstain_threshold", type=float, metavar="P",
                   help="answer only when the answerability model gives at least P (0-1) (default: the model's "
                        "operating point); each answer's `answerability` is in results.json")
    s.add_argument("--mode", nargs="+", choices=[m.value for m in Mode], dest="modes", metavar="MODE",
                   help="retrieval mode(s): hybrid, dense, lexical (default hybrid)")
    s.add_argument("-k", type=int, help="passages given to the answerer (default 5); retrieval is scored on max(10, k)")
    s.add_argument("--out", metavar="DIR", help="report directory (default: eval/reports/latest)")
    s.add_argument("--min", nargs="+", action="extend", dest="min_gates", metavar="METRIC=VALUE",
                   help="fail (exit 1) when a metric is below VALUE, e.g. recall@5=0.9")
    s.add_argument("--max", nargs="+", action="extend", dest="max_gates", metavar="METRIC=VALUE",
                   help="fail (exit 1) when a metric is above VALUE, e.g. false_abstention_rate=0.1")
    s.add_argument("--retrieval-only", action="store_true", help="skip answering: retrieval metrics only")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=run_cli)


def run_cli(args) -> int:
    from rag.config import Config

    from . import gates as G
    from .report import format_tables, write_all
    from .runner import (
        EvalSettings,
        default_gold,
        default_out,
        evaluate,
        gate_values,
        metric_names,
    )

    def log(msg):
        print(msg, file=sys.stderr)

    config = Config.from_env(generator=getattr(args, "generator", None), k=getattr(args, "k", None),
                             abstain_threshold=getattr(args, "abstain_threshold", None))
    modes = tuple(getattr(args, "modes", None) or (config.mode,))
    answers = not getattr(args, "retrieval_only", False)
    valid = metric_names(modes, config.k, answers)
    gates = (G.parse_gates(getattr(args, "min_gates", None), "min", valid)
             + G.parse_gates(getattr(args, "max_gates", None), "max", valid))
    for g in gates:
        if g.kind == "min" and lower_is_better(g.metric):
            log(f"note: {g.metric} is lower-is-better; --max {g.metric}=... is probably what you meant")
    squad = getattr(args, "squad", None)
    holdout = getattr(args, "holdout_articles", None)
    if holdout is not None and not squad:
        raise ValueError("--holdout-articles needs --squad FILE")
    if holdout is not None and not holdout:
        from .squad import holdout_articles

        holdout = holdout_articles()
    settings = EvalSettings(
        gold=tuple(Path(p) for p in (args.gold or [default_gold()])),
        index=Path(args.index) if getattr(args, "index", None) else None,
        corpus=tuple(Path(p) for p in (getattr(args, "corpus", None) or ())),
        generator=config.generator, modes=modes, k=config.k, answers=answers,
        squad=Path(squad) if squad else None, squad_sample=getattr(args, "squad_sample", 400),
        seed=getattr(args, "seed", 0), articles=tuple(holdout) if holdout else None)
    results = evaluate(settings, config, progress=False if getattr(args, "quiet", False) else None, log=log)
    out = write_all(results, Path(args.out) if getattr(args, "out", None) else default_out())
    print(format_tables(results))
    print(f"\nwrote {out / 'results.json'}, {out / 'report.md'}, recall_at_k.png, outcomes.png")
    failures = G.check(gates, gate_values(results))
    for f in failures:
        print(f, file=sys.stderr)
    if gates and not failures:
        print("PASS: " + ", ".join(f"{g.metric} {'>=' if g.kind == 'min' else '<='} {g.bound:g}" for g in gates))
    return 1 if failures else 0
