"""Evaluation output: terminal tables, ``results.json``, ``report.md`` and two PNG plots
(``recall_at_k.png``, ``outcomes.png``), drawn with matplotlib's Agg canvas (no display needed)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .metrics import OUTCOMES
from .runner import ANSWER_METRICS, TIMINGS, recall_ks

COLORS = {"correct": "#2e7d32", "partial": "#f9a825", "wrong": "#c62828", "abstained-correctly": "#1565c0",
          "false-abstention": "#8e24aa", "missed-abstention": "#ef6c00", "retrieval only": "#9e9e9e"}


def fmt(value, ms: bool = False) -> str:
    """``fmt(0.8512) == "0.851"``; ``fmt(None) == "n/a"``; ``fmt(12.34, ms=True) == "12.3"``"""
    if value is None:
        return "n/a"
    return f"{value:.1f}" if ms else f"{value:.3f}"


def _retrieval_columns(results: dict) -> list[str]:
    return [f"recall@{j}" for j in recall_ks(results["config"]["k"])] + ["mrr@10", "ndcg@10", "search_p50_ms"]


def _rows(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def _md(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def _tables(results: dict):
    """(title, headers, rows) of every summary table."""
    cfg, agg = results["config"], results["aggregates"]
    cols = _retrieval_columns(results)
    counts = results["counts"]
    yield (f"Retrieval ({counts['answerable']} answerable questions, top {cfg['k_retrieval']} passages)",
           ["mode"] + cols, [[m] + [fmt(a.get(c), c.endswith("_ms")) for c in cols]
                             for m, a in results["by_mode"].items()])
    if results["outcomes"]:
        yield (f"Answers ({cfg['generator']} generator, {cfg['answer_mode']} retrieval, k={cfg['k']}; "
               f"{counts['answerable']} answerable, {counts['unanswerable']} unanswerable)",
               ["metric", "value"], [[n, fmt(agg.get(n))] for n in ANSWER_METRICS])
        yield ("Latency (ms)", ["stage", "p50", "p95"],
               [[t, fmt(agg.get(f"latency_{t}_p50_ms"), True), fmt(agg.get(f"latency_{t}_p95_ms"), True)]
                for t in TIMINGS])
        yield ("Outcomes", ["outcome", "questions"], [[o, str(n)] for o, n in results["outcomes"].items()])


def format_tables(results: dict) -> str:
    """The summary printed to the terminal."""
    return "\n\n".join(f"{title}\n{_rows(h, r)}" for title, h, r in _tables(results))


def _short(text: str, n: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


def write_markdown(results: dict, path: Path) -> None:
    cfg = results["config"]
    first = cfg["modes"][0]
    lines = ["# ragqa evaluation", "",
             f"Gold: {', '.join(cfg['gold'])} · index: {cfg['index']} ({cfg['documents']} documents, "
             f"{cfg['chunks']} chunks) · modes: {', '.join(cfg['modes'])} · generator: {cfg['generator'] or 'none'} "
             f"· k={cfg['k']} · {cfg['created']} · {cfg['seconds']} s", ""]
    for title, h, r in _tables(results):
        lines += [f"## {title}", "", _md(h, r), ""]
    lines += ["## Evidence recall@k", "", "![Recall@k per mode](recall_at_k.png)", ""]
    if results["outcomes"]:
        lines += ["## Per-question outcomes", "", "![Outcome per question](outcomes.png)", ""]
    headers = ["id", "outcome", f"recall@5 ({first})", "first relevant rank", "key facts", "F1", "answer"]
    rows = []
    for q in results["questions"]:
        r = q["retrieval"][first]
        a = q.get("answer")
        facts = (f"{len(a['metrics']['key_facts_found'])}/{len(q['key_facts'])}" if a and q["answerable"] else "")
        rows.append([q["id"], q.get("outcome", ""), fmt(r["metrics"].get("recall@5")) if r["metrics"] else "",
                     str(r.get("first_relevant_rank") or ("–" if q["answerable"] else "")), facts,
                     fmt(a["metrics"]["token_f1"]) if a and q["answerable"] else "",
                     _short(a["text"]) if a else ""])
    lines += ["## Questions", "", _md(headers, rows), ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def plot_recall(results: dict, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for mode, curve in results["recall_curve"].items():
        ks = [k for k, v in enumerate(curve, 1) if v is not None]
        ax.plot(ks, [curve[k - 1] for k in ks], marker="o", markersize=4, label=mode)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("evidence recall@k")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(range(1, results["config"]["k_retrieval"] + 1))
    ax.grid(alpha=0.3)
    ax.legend(title="mode")
    ax.set_title(f"Evidence recall@k ({results['counts']['answerable']} answerable questions)")
    fig.tight_layout()
    fig.savefig(path)


def plot_outcomes(results: dict, path: Path) -> None:
    """One coloured cell per question, labelled with its id, in gold-file order."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    qs = results["questions"]
    n = len(qs)
    cols = max(1, min(n, math.ceil(math.sqrt(n * 3))))
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(max(6.0, cols * 0.62), rows * 0.55 + 1.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, q in enumerate(qs):
        r, c = divmod(i, cols)
        color = COLORS[q.get("outcome", "retrieval only")]
        ax.add_patch(Rectangle((c, rows - 1 - r), 0.94, 0.9, color=color))
        ax.text(c + 0.47, rows - 1 - r + 0.45, q["id"], ha="center", va="center", fontsize=7,
                color="black" if color in ("#f9a825", "#9e9e9e") else "white")
    ax.set_xlim(-0.05, cols)
    ax.set_ylim(-0.05, rows)
    ax.set_aspect("auto")
    ax.axis("off")
    counts = results["outcomes"] or {"retrieval only": n}
    ax.legend(handles=[Patch(color=COLORS[o], label=f"{o} ({counts.get(o, 0)})") for o in (OUTCOMES if
              results["outcomes"] else ["retrieval only"])], loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=3, fontsize=8, frameon=False)
    ax.set_title("Outcome per question")
    fig.tight_layout()
    fig.savefig(path)


def write_all(results: dict, out) -> Path:
    """Write results.json, report.md and the plots into ``out`` (created); return ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    plot_recall(results, out / "recall_at_k.png")
    plot_outcomes(results, out / "outcomes.png")
    write_markdown(results, out / "report.md")
    return out
