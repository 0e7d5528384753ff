"""Markdown tables for BENCHMARKS.md's "Scale" section from ``bench/scale_results.json`` and
``bench/quality_results.json``: ``python bench/scale.py --report``."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _f(x, nd=1):
    return "–" if x is None else f"{x:,.{nd}f}"


def _label(e) -> str:
    if e["code"] == "base":
        return "starting commit"
    return "this branch" + (f", {e['variant']}" if e.get("variant") else "")


def scale_table(runs: dict, embedder: str) -> str:
    rows = sorted((e for e in runs.values() if e["embedder"] == embedder),
                  key=lambda e: (e["paragraphs"], e["code"] != "base", e.get("variant", "")))
    base = {e["paragraphs"]: e for e in rows if e["code"] == "base"}
    out = ["| paragraphs | code | chunks | build s (ratio) | build CPU s (ratio) | build peak RSS MB | disk/paragraph beyond text | "
           "cold ask median s (ratio) | cold ask CPU s | cold ask peak RSS MB (own memory) | warm search p50 / p95 ms | load avg (build; ask; search) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in rows:
        b = base.get(e["paragraphs"])
        bs = e["build"]["build_s"]
        ratio = f" ({b['build']['build_s'] / bs:.2f}×)" if b and e is not b else ""
        cpu = e["build"].get("cpu_s")
        cpu_ratio = f" ({b['build']['cpu_s'] / cpu:.2f}×)" if b and e is not b and cpu and b["build"].get("cpu_s") else ""
        ask = e.get("cold_ask", {})
        ask_ratio = f" ({b['cold_ask']['median_s'] / ask['median_s']:.2f}×)" \
            if b and e is not b and ask and b.get("cold_ask") else ""
        anon = f" ({ask['median_anon_mb']:.0f})" if ask.get("median_anon_mb") else ""
        ws = e.get("warm_search", {})
        loads = "; ".join(f"{x[0]}–{x[1]}" for x in (e["build"]["load"], ask.get("load"), ws.get("load")) if x)
        out.append(f"| {e['paragraphs']:,} | {_label(e)} | {e['build']['chunks']:,} | {_f(bs)}{ratio} | {_f(cpu)}{cpu_ratio} | "
                   f"{_f(e['build']['peak_rss_mb'], 0)} | {e['disk_per_paragraph_beyond_text'] / 1024:.2f} KB | "
                   f"{_f(ask.get('median_s'), 2)}{ask_ratio} | {_f(ask.get('median_cpu_s'), 2)} | {_f(ask.get('median_rss_mb'), 0)}{anon} | "
                   f"{_f(ws.get('p50_ms'))} / {_f(ws.get('p95_ms'))} | {loads} |")
    return "\n".join(out)


def quality_table(q: dict) -> str:
    cols = [("gold", "recall@1"), ("gold", "recall@5"), ("gold", "mrr@10"), ("gold", "key_fact_recall"),
            ("gold", "citation_precision"), ("gold", "abstain_accuracy"),
            ("gold2", "recall@1"), ("gold2", "recall@5"), ("gold2", "mrr@10"), ("gold2", "key_fact_recall"),
            ("squad", "recall@1"), ("squad", "recall@5"), ("squad", "mrr@10"), ("squad", "answer_has_span"),
            ("squad", "unanswerable_abstained")]
    out = ["| code / store | " + " | ".join(f"{g} {m}" for g, m in cols) + " |", "|---|" + "---:|" * len(cols)]
    for key in q:
        out.append(f"| {key} | " + " | ".join(_f(q[key][g].get(m), 3) for g, m in cols) + " |")
    return "\n".join(out)


def render(data: dict) -> str:
    runs = data["runs"]
    parts = ["### Real model (all-MiniLM-L6-v2, ONNX)", scale_table(runs, "real"),
             "### Stand-in embedder at build time (feature hashing; the question is embedded by the real model)",
             scale_table(runs, "standin")]
    qpath = HERE / "quality_results.json"
    if qpath.exists():
        parts += ["### Quality", quality_table(json.loads(qpath.read_text()))]
    return "\n\n".join(parts)


if __name__ == "__main__":
    print(render(json.loads((HERE / "scale_results.json").read_text())))
