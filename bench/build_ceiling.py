"""How much faster can an index build get while it keeps its model? Issue 13 asks for a 1,000-paragraph
build >= 3x faster than its starting commit, whose build time is ~96% model inference over two sets of
texts: every chunk, and every sentence of every chunk. This measures the model time alone on the same
texts the indexer embeds, for the ways of cutting it:

    python bench/build_ceiling.py [--corpus DIR] [--paragraphs 300] [--rounds 3]   # -> bench/build_ceiling.json

- ``chunks + sentences, fp32``: what the default build (and the starting commit) embeds;
- ``chunks only, fp32``: no sentence embedding at build time (``--sentence-vectors query`` or ``pooled``);
- ``chunks + sentences, int8`` / ``chunks only, int8``: the dynamically quantised ONNX copy
  (``OnnxEmbedder(quantized=True)``), with its cosine to the fp32 vectors.

Each variant runs ``--rounds`` times, interleaved, and the median is kept, so the machine's load
touches every variant alike. The ratio of the first row's time to another's is the most that variant
can speed up a build: the rest of the build (reading, chunking, BM25, writing) only adds to both.
The corpus is ``bench/corpus.py``'s (SQuAD part A contexts); the first ``--paragraphs`` paragraphs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def texts_of(corpus: Path, paragraphs: int):
    from rag.config import Config
    from rag.ingest.chunking import chunk_document, indexed_sentences, indexed_text
    from rag.ingest.sources import read_sources

    config = Config()
    docs, _, _ = read_sources([corpus], int(config.max_file_mb * 1024 * 1024))
    chunks, sentences, seen = [], [], 0
    for d in docs:
        for c in chunk_document(d, config.max_tokens, config.overlap, config.encoding, config.min_tokens):
            chunks.append(indexed_text(d, c))
            sentences += indexed_sentences(d, c)
        seen += len(d.paragraphs)
        if seen >= paragraphs:
            break
    return chunks, sentences, seen


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/ragqa-bench/corpus-1000"),
                    help="a bench/corpus.py folder (made with: python bench/scale.py --sizes 1000 ...)")
    ap.add_argument("--paragraphs", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "build_ceiling.json")
    args = ap.parse_args(argv)
    from rag.embed.onnx import OnnxEmbedder

    chunks, sentences, n_par = texts_of(args.corpus, args.paragraphs)
    models = {"fp32": OnnxEmbedder(), "int8": OnnxEmbedder(quantized=True)}
    for m in models.values():
        m.embed_batch(["warm up"])
    variants = {"chunks + sentences, fp32": ("fp32", True), "chunks only, fp32": ("fp32", False),
                "chunks + sentences, int8": ("int8", True), "chunks only, int8": ("int8", False)}
    times: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}  # process CPU seconds: steadier on a shared machine
    vecs: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for name, (model, with_sentences) in variants.items():
            todo = chunks + sentences if with_sentences else chunks
            t, c = time.perf_counter(), time.process_time()
            v = models[model].embed_many(todo)
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
            if with_sentences:
                vecs.setdefault(model, v)
    cos = np.sum(vecs["fp32"] * vecs["int8"], axis=1)
    base = statistics.median(times["chunks + sentences, fp32"])
    base_cpu = statistics.median(cpu["chunks + sentences, fp32"])
    rows = [{"variant": v, "seconds_median": round(statistics.median(t), 2), "seconds": [round(x, 2) for x in t],
             "ceiling_speedup": round(base / statistics.median(t), 2),
             "cpu_seconds_median": round(statistics.median(cpu[v]), 2),
             "ceiling_speedup_cpu": round(base_cpu / statistics.median(cpu[v]), 2)} for v, t in times.items()]
    result = {"command": "python bench/build_ceiling.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "load_avg": os.getloadavg(),
              "corpus": str(args.corpus), "paragraphs": n_par, "chunks": len(chunks), "sentences": len(sentences),
              "rows": rows, "int8_cosine_to_fp32": {"min": round(float(cos.min()), 4),
                                                    "median": round(float(np.median(cos)), 4)}}
    try:
        import subprocess

        result["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                          text=True).stdout.strip()
    except OSError:
        pass
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for r in rows:
        print(f"{r['variant']:28s} {r['seconds_median']:7.2f} s  ceiling {r['ceiling_speedup']:.2f}x  "
              f"(CPU {r['cpu_seconds_median']:.2f} s, {r['ceiling_speedup_cpu']:.2f}x)")
    print(f"int8 cosine to fp32: {result['int8_cosine_to_fp32']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
