"""Issue 13, item 1: where do sentence vectors come from? Measured on gold, gold2 and SQuAD part A.

    PYTHONPATH=. python eval/sentence_study.py --build    # -> eval/reports/sentence_study.{md,json}

``--build`` first builds, with this checkout and ``sentence_vectors="stored"``, the indexes it reads
from ``INDEXES/base-{gold,gold2,squad}`` (gold: the bundled article; gold2: eval/corpus2; squad:
the articles written by ``eval/squad_eval.py``). Each variant changes how the loaded index's
sentence vectors are used, then runs the same evaluation:

- stored (float16 since schema 4), every candidate re-scored (the starting commit's behaviour);
- stored int8 (per-row scale), every candidate: what a smaller compact storage would give;
- stored, only the top D chunks of the dense+BM25 fusion re-scored (D = 5, 10, 20; 10 is the default);
- stored 6-bit and 4-bit (per-row scale, packed), and the chunk vectors through FAISS's 8-bit scalar
  quantizer (a fixed [-1, 1] range, or a range per dimension trained on the index's vectors), alone and
  combined: the compact storage of issue 13 (``--variants`` picks them; eval/reports/compact_storage.md);
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


def _int4(v):
    """Per-row symmetric 4-bit: codes -7..7 times max|v|/7 (what rag.store.quant stores)."""
    scale = np.abs(v).max(axis=1, keepdims=True) / 7.0
    scale[scale == 0] = 1.0
    return (np.clip(np.round(v / scale), -7, 7) * scale).astype(np.float32)


def _int6(v):
    """Per-row symmetric 6-bit: codes -31..31 times max|v|/31 (what rag.store.quant stores)."""
    scale = np.abs(v).max(axis=1, keepdims=True) / 31.0
    scale[scale == 0] = 1.0
    return (np.clip(np.round(v / scale), -31, 31) * scale).astype(np.float32)


def _int6_clip4(v):
    """Per-row 6-bit with the range at 4 standard deviations of the row (larger components clipped)."""
    scale = v.std(axis=1, keepdims=True) * 4.0 / 31.0
    scale[scale == 0] = 1.0
    return (np.clip(np.round(v / scale), -31, 31) * scale).astype(np.float32)


def _int4_minmax(v):
    """Per-row asymmetric 4-bit: 16 levels between the row's min and max."""
    lo, hi = v.min(axis=1, keepdims=True), v.max(axis=1, keepdims=True)
    step = np.where(hi > lo, (hi - lo) / 15.0, 1.0)
    return (np.round((v - lo) / step) * step + lo).astype(np.float32)


def _sq(kind: str):
    """A FAISS reader that turns the stored chunk vectors into a scalar-quantized index: "fixed8" is
    QT_8bit_uniform over [-1, 1] (no training: normalised vectors never leave it), "trained8" QT_8bit
    with a per-dimension min/max trained on the index's own vectors, "fixed4" QT_4bit_uniform over [-1, 1]."""
    def read(filename):
        import faiss

        flat = _ORIG_READ(filename)
        x = flat.reconstruct_n(0, flat.ntotal)
        qt = {"fixed8": faiss.ScalarQuantizer.QT_8bit_uniform, "trained8": faiss.ScalarQuantizer.QT_8bit,
              "fixed4": faiss.ScalarQuantizer.QT_4bit_uniform}[kind]
        ix = faiss.IndexScalarQuantizer(flat.d, qt, faiss.METRIC_INNER_PRODUCT)
        if kind.startswith("fixed"):
            faiss.copy_array_to_vector(np.array([-1.0, 2.0], np.float32), ix.sq.trained)
            ix.is_trained = True
        else:
            ix.train(x)
        ix.add(x)
        return ix
    return read


_ORIG_READ = None
VARIANTS = {  # name -> (transform of stored sentence vectors or "drop", SENTENCE_DEPTH, SENTENCE_WEIGHT[,
    # chunk-vector FAISS reader])
    "stored, all candidates (the starting commit's rule)": (None, None, 0.5),
    "stored int8, all candidates": (_int8, None, 0.5),
    "stored int8, top 10": (_int8, 10, 0.5),
    "stored, top 5": (None, 5, 0.5),
    "stored, top 10 (default)": (None, 10, 0.5),
    "stored, top 20": (None, 20, 0.5),
    "query time, top 10": ("drop", 10, 0.5),
    "query time, top 20": ("drop", 20, 0.5),
    "no sentence term": (None, None, 0.0),
    "stored 4-bit, top 10": (_int4, 10, 0.5),
    "stored 4-bit min-max, top 10": (_int4_minmax, 10, 0.5),
    "chunks SQ8 fixed [-1,1], top 10": (None, 10, 0.5, "fixed8"),
    "chunks SQ8 trained, top 10": (None, 10, 0.5, "trained8"),
    "chunks SQ4 fixed [-1,1], top 10": (None, 10, 0.5, "fixed4"),
    "stored int8 + chunks SQ8 fixed, top 10": (_int8, 10, 0.5, "fixed8"),
    "stored 4-bit + chunks SQ8 fixed, top 10": (_int4, 10, 0.5, "fixed8"),
    "stored 4-bit + chunks SQ8 trained, top 10": (_int4, 10, 0.5, "trained8"),
    "stored 6-bit, top 10": (_int6, 10, 0.5),
    "stored 6-bit clip 4 sd, top 10": (_int6_clip4, 10, 0.5),
    "stored 6-bit + chunks SQ8 fixed, top 10": (_int6, 10, 0.5, "fixed8"),
    "stored 6-bit clip 4 sd + chunks SQ8 fixed, top 10": (_int6_clip4, 10, 0.5, "fixed8"),
}
GOLD_METRICS = ("recall@1", "recall@5", "mrr@10", "key_fact_recall", "citation_precision", "false_abstention_rate",
                "token_f1", "citation_recall", "right_paragraph")
SQUAD_METRICS = ("recall@1", "recall@5", "mrr@10", "answer_has_span", "unanswerable_abstained")


def run(indexes: Path, answers: int, only=None) -> dict:
    import squad_eval

    from rag.answer.assistant import Assistant
    from rag.evaluation import EvalSettings, evaluate
    from rag.retrieve import retriever as R
    from rag.store import disk
    from rag.store import vectors as V

    global _ORIG_READ
    _ORIG_READ = _ORIG_READ or V.read
    original_load = disk.load
    items = squad_eval.write_docs(Path("/tmp/ragqa-squad-a/docs"))
    out = {}
    for name, (transform, depth, weight, *chunks) in VARIANTS.items():
        if only and name not in only:
            continue
        V.read = _sq(chunks[0]) if chunks else _ORIG_READ

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
    V.read = _ORIG_READ
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


# Estimated disk per paragraph beyond the text at the 1,000-paragraph SQuAD bench corpus
# (/tmp/ragqa-bench/idx-new-real-1000: 1,384 chunks, 4,850 sentences, BM25 0.67 KB/para, manifest
# and offsets ~0.01 KB/para): bytes per sentence row and per chunk vector of each storage.
SENTENCE_BYTES = {None: 768, _int8: 384 + 4, _int6: 288 + 4, _int6_clip4: 288 + 4, _int4: 192 + 4,
                  _int4_minmax: 192 + 8, "drop": 0}
CHUNK_BYTES = {None: 1536, "fixed8": 384, "trained8": 384, "fixed4": 192}


def disk_kb(variant) -> float:
    transform, _, _, *chunks = variant
    return (1384 * CHUNK_BYTES[chunks[0] if chunks else None] + 4850 * SENTENCE_BYTES[transform]) / 1000 / 1024 \
        + 0.67 + 0.01


def render(results: dict) -> str:
    cols = [("gold", m) for m in GOLD_METRICS] + [("gold2", m) for m in GOLD_METRICS] + \
           [("squad", m) for m in SQUAD_METRICS]
    base = results["variants"].get("stored, top 10 (default)")
    lines = ["| variant | est. KB/para (1k) | " + " | ".join(f"{g} {m}" for g, m in cols)
             + (" | max abs diff vs default |" if base else " |"),
             "|---|---:|" + "---:|" * (len(cols) + bool(base))]
    for name, row in results["variants"].items():
        cells = [row[g].get(m) for g, m in cols]
        kb = f"{disk_kb(VARIANTS[name]):.2f}" if name in VARIANTS else "–"
        diff = ""
        if base:
            d = max(abs(row[g][m] - base[g][m]) for g, m in cols if row[g].get(m) is not None)
            diff = f" {d:.3f} |"
        lines.append(f"| {name} | {kb} | " + " | ".join("–" if c is None else f"{c:.3f}" for c in cells) + " |"
                     + diff)
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

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=False,
                            capture_output=True,
                            text=True).stdout.strip()
    import shlex

    results = {"command": "PYTHONPATH=. python eval/sentence_study.py " + shlex.join(argv or sys.argv[1:]),
               "commit": commit,
               "date": time.strftime("%Y-%m-%d %H:%M:%S"), "variants": run(a.indexes, a.answers, a.variants)}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    a.out.with_suffix(".md").write_text(f"# Sentence vectors study\n\n`{results['command']}` ({results['date']})\n\n"
                                        + render(results) + "\n")
    print(render(results))


if __name__ == "__main__":
    main()
