"""Issue 13, item 1: where do sentence vectors come from? Measured on gold, gold2 and SQuAD part A.

    PYTHONPATH=. python eval/sentence_study.py --build    # -> eval/reports/sentence_study.{md,json}

``--build`` first builds, with this checkout and ``sentence_vectors="stored"``, the indexes it reads
from ``INDEXES/base-{gold,gold2,squad}`` (gold: the bundled article; gold2: eval/corpus2; squad:
the articles written by ``eval/squad_eval.py``). Each variant changes how the loaded index's
sentence vectors are used, then runs the same evaluation:

- stored (float16 since schema 4), every candidate re-scored (the starting commit's behaviour);
- stored int8 (per-row scale), every candidate: what a smaller compact storage would give;
- stored, only the top D chunks of the dense+BM25 fusion re-scored (D = 5, 10, 20; 10 is the default);
- query time, top D: no stored vectors at all, sentences embedded when a query needs them
  (must equal "stored, top D" up to float noise: the same model embeds the same sentences);
- no sentence term in retrieval (the answer step still scores sentences).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))


def _fp16(v):
    return v.astype(np.float16).astype(np.float32)


def _int8(v):
    scale = np.abs(v).max(axis=1, keepdims=True) / 127.0
    return (np.round(v / scale).astype(np.int8).astype(np.float32) * scale).astype(np.float32)


VARIANTS = {  # name -> (transform of stored sentence vectors or "drop", SENTENCE_DEPTH, SENTENCE_WEIGHT)
    "stored, all candidates (the starting commit's rule)": (None, None, 0.5),
    "stored int8, all candidates": (_int8, None, 0.5),
    "stored int8, top 10": (_int8, 10, 0.5),
    "stored, top 5": (None, 5, 0.5),
    "stored, top 10 (default)": (None, 10, 0.5),
    "stored, top 20": (None, 20, 0.5),
    "query time, top 10": ("drop", 10, 0.5),
    "query time, top 20": ("drop", 20, 0.5),
    "no sentence term": (None, None, 0.0),
}
GOLD_METRICS = ("recall@1", "recall@5", "mrr@10", "key_fact_recall", "citation_precision", "false_abstention_rate")
SQUAD_METRICS = ("recall@1", "recall@5", "mrr@10", "answer_has_span", "unanswerable_abstained")


def run(indexes: Path, answers: int, only=None) -> dict:
    import squad_eval

    from rag.answer.assistant import Assistant
    from rag.evaluation import EvalSettings, evaluate
    from rag.retrieve import retriever as R
    from rag.store import disk

    original_load = disk.load
    items = squad_eval.write_docs(Path("/tmp/ragqa-squad-a/docs"))
    out = {}
    for name, (transform, depth, weight) in VARIANTS.items():
        if only and name not in only:
            continue

        def load(*a, _t=transform, **k):
            data = original_load(*a, **k)
            if _t == "drop":
                return replace(data, sentence_vectors=None, sentence_offsets=None)
            if _t is not None:
                return replace(data, sentence_vectors=_t(np.asarray(data.sentence_vectors, np.float32)))
            return data
        disk.load = load
        R.SENTENCE_DEPTH, R.SENTENCE_WEIGHT = depth, weight
        t = time.perf_counter()
        row = {}
        for gold, idx in (("gold", "base-gold"), ("gold2", "base-gold2")):
            res = evaluate(EvalSettings(gold=(ROOT / f"eval/{gold}.jsonl",), index=indexes / idx), progress=False)
            row[gold] = {m: res["aggregates"].get(m) for m in GOLD_METRICS}
        assistant = Assistant.load(indexes / "base-squad")
        squad_eval.paragraph_numbers(assistant.retriever, items)
        s = squad_eval.evaluate(assistant.retriever, items, answers, assistant)
        row["squad"] = {m: s.get(m) for m in SQUAD_METRICS} | {"search_p50_ms": s["search_p50_ms"]}
        row["seconds"] = time.perf_counter() - t
        out[name] = row
        print(name, json.dumps(row), flush=True)
    disk.load = original_load
    return out


def build(indexes: Path, mode: str = "stored") -> None:
    import squad_eval

    from rag.config import Config
    from rag.ingest.formats import load_bundled
    from rag.store.indexer import build_index

    squad_eval.write_docs(Path("/tmp/ragqa-squad-a/docs"))
    cfg = Config(sentence_vectors=mode)
    for name, src in (("gold", [load_bundled()]), ("gold2", [ROOT / "eval/corpus2"]),
                      ("squad", [Path("/tmp/ragqa-squad-a/docs")])):
        build_index(src, indexes / f"base-{name}", cfg, incremental=False)


def render(results: dict) -> str:
    cols = [("gold", m) for m in GOLD_METRICS[:4]] + [("gold2", m) for m in GOLD_METRICS[:4]] + \
           [("squad", m) for m in SQUAD_METRICS]
    lines = ["| variant | " + " | ".join(f"{g} {m}" for g, m in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for name, row in results["variants"].items():
        cells = [row[g].get(m) for g, m in cols]
        lines.append(f"| {name} | " + " | ".join("–" if c is None else f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--indexes", type=Path, default=Path("/tmp/ragqa-study"))
    p.add_argument("--answers", type=int, default=300, help="SQuAD questions answered per kind")
    p.add_argument("--build", action="store_true", help="build the three indexes first (real model)")
    p.add_argument("--out", type=Path, default=ROOT / "eval/reports/sentence_study")
    p.add_argument("--mode", default="stored", choices=("stored", "pooled"),
                   help="with --build: how the indexes' sentence vectors are made (rag.config sentence_vectors)")
    p.add_argument("--variants", nargs="+", metavar="NAME", help="run only these variants")
    a = p.parse_args(argv)
    if a.build:
        build(a.indexes, a.mode)
    import subprocess

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    results = {"command": "PYTHONPATH=. python eval/sentence_study.py " + " ".join(argv or sys.argv[1:]),
               "commit": commit,
               "date": time.strftime("%Y-%m-%d %H:%M:%S"), "variants": run(a.indexes, a.answers, a.variants)}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    a.out.with_suffix(".md").write_text(f"# Sentence vectors study\n\n`{results['command']}` ({results['date']})\n\n"
                                        + render(results) + "\n")
    print(render(results))


if __name__ == "__main__":
    main()
