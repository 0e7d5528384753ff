"""ragqa benchmarks, one command: ``.venv/bin/python bench/run.py [--quick]``.

Writes ``bench/results.json`` (every number) and ``BENCHMARKS.md`` (tables and targets, rendered by
``bench/report.py``). ``--quick`` uses fewer repeats and a smaller corpus and skips the 1M-vector
FAISS run; ``--only SECTION ...`` reruns some sections and keeps the others from the last results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
from rag.embed.base import offline_hub  # noqa: E402

offline_hub()

PY = str(ROOT / ".venv" / "bin" / "python")
RAGQA = str(ROOT / ".venv" / "bin" / "ragqa")
QUESTION = "Why might Antonov's appointment matter?"
RESULTS = ROOT / "bench" / "results.json"
FW_PYTHON = os.environ.get("RAGQA_BENCH_FW_PYTHON",
                           str(Path.home() / ".cache" / "ragqa" / "bench-fw" / "bin" / "python"))
SECTIONS = ("cli", "warm", "index", "throughput", "faiss", "frameworks")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def stats(seconds: list[float], scale: float = 1000.0) -> dict:
    """p50/p95/mean of ``seconds``, in ms by default."""
    a = np.asarray(seconds, dtype=float) * scale
    return {"n": len(a), "p50": float(np.median(a)), "p95": float(np.percentile(a, 95)), "mean": float(a.mean()),
            "min": float(a.min()), "max": float(a.max())}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def gold_questions() -> list[str]:
    lines = (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


# -- machine ---------------------------------------------------------------------------------------
def machine() -> dict:
    import platform
    from importlib import metadata

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    versions = {}
    for p in ("torch", "sentence-transformers", "transformers", "onnxruntime", "onnx", "tokenizers", "faiss-cpu",
              "numpy", "bm25s", "xllamacpp"):
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem / 2**20, 1), "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions}


# -- cold CLI --------------------------------------------------------------------------------------
def _popen_rusage(argv, env=None, cwd=None) -> dict:
    """Run ``argv`` to completion through ``bench/measure.py``: its wall time, and the peak RSS and CPU
    time of that process alone (not inflated by this benchmark's own memory, see measure.py)."""
    with tempfile.TemporaryDirectory() as d:
        res = os.path.join(d, "rusage.json")
        with open(os.path.join(d, "out"), "w+b") as fo, open(os.path.join(d, "err"), "w+b") as fe:
            subprocess.run([sys.executable, str(ROOT / "bench" / "measure.py"), res, *argv], stdout=fo, stderr=fe,
                           env=env, cwd=cwd)
            fo.seek(0)
            fe.seek(0)
            r = json.load(open(res))
            r["stdout"], r["stderr"] = fo.read().decode(errors="replace"), fe.read().decode(errors="replace")
        return r


def cold_runs(argv, n, env=None, warmup=1) -> dict:
    runs = []
    for i in range(warmup + n):
        r = _popen_rusage(argv, env=env, cwd=ROOT)
        if r["rc"] != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({r['rc']}): {r['stderr'][-800:]}")
        if i >= warmup:
            runs.append(r)
    walls = [r["wall_s"] for r in runs]
    rss = [r["maxrss_mb"] for r in runs]
    return {"argv": argv[1:], "runs_s": walls, "median_s": statistics.median(walls), **{
        f"{k}_s": v / 1000 for k, v in stats(walls).items() if k in ("p95", "min", "max")},
        "rss_mb": rss, "median_rss_mb": statistics.median(rss), "max_rss_mb": max(rss),
        "median_cpu_s": statistics.median(r["user_s"] + r["sys_s"] for r in runs)}


def bench_cli(quick: bool) -> dict:
    from rag.config import DEFAULT_MODEL
    from rag.embed.onnx import export_onnx, find_export

    out = {}
    t = time.perf_counter()
    had = find_export(DEFAULT_MODEL)
    path = export_onnx(DEFAULT_MODEL)
    out["onnx_export"] = {"path": str(path), "existed": had is not None,
                          "export_s": None if had else time.perf_counter() - t,
                          "bytes": sum(f.stat().st_size for f in path.iterdir())}
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGQA_")}
    n = 3 if quick else 5
    log("cli: --help")
    out["help"] = cold_runs([RAGQA, "--help"], 5 if quick else 10, env)
    log("cli: ask (onnx)")
    out["ask"] = cold_runs([RAGQA, "ask", QUESTION], n, env)
    log("cli: search (onnx)")
    out["search"] = cold_runs([RAGQA, "search", QUESTION], n, env)
    code = ("import sys; from rag.cli import main; rc = main(['ask', %r]); "
            "sys.stderr.write('\\nMODULES ' + ' '.join(m for m in ('torch', 'sentence_transformers', 'transformers') "
            "if m in sys.modules)); sys.exit(rc)" % QUESTION)
    r = _popen_rusage([PY, "-c", code], env=env, cwd=ROOT)
    heavy = r["stderr"].rsplit("MODULES", 1)[-1].split()
    out["ask_imports"] = {"torch_imported": "torch" in heavy, "heavy_modules": heavy}
    r = _popen_rusage([PY, "-X", "importtime", "-c", code], env=env, cwd=ROOT)
    top = []
    for line in r["stderr"].splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cum, name = line[len("import time:"):].split("|")
            if not name.startswith("  ") and cum.strip().isdigit():
                top.append((int(cum) / 1e6, name.strip()))
    out["ask_import_top"] = sorted(top, reverse=True)[:8]
    log("cli: ask (torch backend, for comparison)")
    out["ask_torch"] = cold_runs([RAGQA, "ask", QUESTION], 2 if quick else 3, dict(env, RAGQA_BACKEND="torch"))
    return out


# -- warm, in process ------------------------------------------------------------------------------
def bench_warm(quick: bool) -> dict:
    from rag import Assistant
    from rag.config import Config
    from rag.embed.onnx import OnnxEmbedder
    from rag.embed.sbert import SentenceTransformerEmbedder
    from rag.retrieve.retriever import Retriever

    qs = gold_questions()
    repeats = 2 if quick else 5
    out = {"questions": len(qs)}
    asst = Assistant.load(config=Config.from_env(backend="auto"))
    r = asst.retriever
    out["embedder"] = type(r.embedder).__name__
    asst.ask("What is this article about?")  # loads the model, FAISS and BM25
    # ask, first time each question is seen (the sentence-vector cache warms as a real session would)
    times = []
    for q in qs:
        t = time.perf_counter()
        asst.ask(q)
        times.append(time.perf_counter() - t)
    out["ask_extractive_first"] = stats(times)
    times = []
    for _ in range(repeats):
        for q in qs:
            t = time.perf_counter()
            asst.ask(q)
            times.append(time.perf_counter() - t)
    out["ask_extractive"] = stats(times)
    # Search as for a new question: the retriever's query-vector cache (if any) is emptied before each
    # call, so every search embeds its query; "cached" repeats questions already asked.
    for mode in ("hybrid", "dense", "lexical"):
        times = []
        for _ in range(repeats):
            for q in qs:
                _forget_queries(r)
                t = time.perf_counter()
                r.search(q, mode=mode)
                times.append(time.perf_counter() - t)
        out[f"search_{mode}"] = stats(times)
    out["search"] = out["search_hybrid"]
    times = []
    for _ in range(repeats):
        for q in qs:
            t = time.perf_counter()
            r.search(q)
            times.append(time.perf_counter() - t)
    out["search_cached"] = stats(times)
    # the query embedding alone, ONNX vs torch, and their agreement on the gold questions
    onnx = r.embedder if isinstance(r.embedder, OnnxEmbedder) else OnnxEmbedder(r.config.model)
    torch = SentenceTransformerEmbedder(r.config.model)
    for name, emb in (("onnx", onnx), ("torch", torch)):
        emb.embed("warm up")
        times = []
        for _ in range(repeats):
            for q in qs:
                t = time.perf_counter()
                emb.embed(q)
                times.append(time.perf_counter() - t)
        out[f"embed_query_{name}"] = stats(times)
    for threads in (1, 2):
        e1 = OnnxEmbedder(r.config.model, threads=threads)
        e1.embed("warm up")
        times = []
        for q in qs * repeats:
            t = time.perf_counter()
            e1.embed(q)
            times.append(time.perf_counter() - t)
        out[f"embed_query_onnx_{threads}t"] = stats(times)
    a, b = onnx.embed_batch(qs), torch.embed_batch(qs)
    out["agreement"] = {"min_cosine": float((a * b).sum(1).min()), **_top5(r, onnx, torch, qs)}
    try:
        int8 = OnnxEmbedder(r.config.model, quantized=True)
        c = int8.embed_batch(qs)
        out["agreement_int8"] = {"min_cosine": float((c * b).sum(1).min()), **_top5(r, int8, torch, qs)}
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        out["agreement_int8"] = {"error": str(exc)}
    # torch-backed search for comparison
    rt = Retriever(r.data, r.config, torch)
    times = []
    for q in qs * repeats:
        _forget_queries(rt)
        t = time.perf_counter()
        rt.search(q)
        times.append(time.perf_counter() - t)
    out["search_torch"] = stats(times)
    out["local"] = _bench_local(asst, qs[: 3 if quick else 6])
    return out


def _forget_queries(retriever) -> None:
    """Empty the retriever's cache of query vectors, if it has one."""
    cache = getattr(retriever, "_qcache", None)
    if hasattr(cache, "clear"):
        cache.clear()


def _top5(r, emb_a, emb_b, qs) -> dict:
    from rag.retrieve.retriever import Retriever

    ra, rb = Retriever(r.data, r.config, emb_a), Retriever(r.data, r.config, emb_b)
    same = {}
    for mode in ("hybrid", "dense"):
        same[f"top5_identical_{mode}"] = sum(
            [p.chunk_id for p in ra.search(q, k=5, mode=mode)] == [p.chunk_id for p in rb.search(q, k=5, mode=mode)]
            for q in qs)
    return same


def _bench_local(asst, qs) -> dict:
    try:
        from rag.answer.llm import smollm2_path

        smollm2_path()
        gen = asst.get_generator("local")
    except Exception as exc:  # noqa: BLE001
        return {"skipped": f"local generator unavailable: {exc}"}
    t = time.perf_counter()
    first = asst.ask(qs[0], generator="local")
    load = time.perf_counter() - t
    times, notices = [], 0
    for q in qs:
        t = time.perf_counter()
        ans = asst.ask(q, generator="local")
        times.append(time.perf_counter() - t)
        notices += bool(ans.notice)
    return {"model": os.path.basename(gen.model.model_path), "first_ask_s": load, **stats(times),
            "with_notice": notices, "first_answer": first.text[:200]}


# -- index build -----------------------------------------------------------------------------------
def bench_index(quick: bool) -> dict:
    from rag.config import Config
    from rag.embed.onnx import OnnxEmbedder
    from rag.embed.sbert import SentenceTransformerEmbedder
    from rag.ingest.formats import load_bundled
    from rag.store.indexer import build_index

    doc = load_bundled()
    config = Config()
    out = {}
    for name, emb in (("torch", SentenceTransformerEmbedder(config.model)), ("onnx", OnnxEmbedder(config.model))):
        emb.embed("warm up")
        times = []
        for _ in range(2 if quick else 3):
            with tempfile.TemporaryDirectory() as d:
                rep = build_index([doc], d, config, embedder=emb, incremental=False)
                times.append(rep.seconds)
        out[f"article_{name}"] = {"median_s": statistics.median(times), "runs_s": times, "chunks": rep.chunks,
                                  "paragraphs": len(doc.paragraphs)}
    with tempfile.TemporaryDirectory() as d:
        r = _popen_rusage([RAGQA, "index", "--out", d, "--full"], cwd=ROOT)
        out["cli_index_cold"] = {"wall_s": r["wall_s"], "maxrss_mb": r["maxrss_mb"], "rc": r["rc"]}
    return out


# -- embedding throughput --------------------------------------------------------------------------
def bench_throughput(quick: bool) -> dict:
    from bench.corpus import paragraphs
    from rag.config import DEFAULT_MODEL
    from rag.embed.base import Embedder
    from rag.embed.onnx import OnnxEmbedder
    from rag.embed.sbert import SentenceTransformerEmbedder

    texts = paragraphs(800 if quick else 2000)
    lengths = [len(t) for t in texts]
    torch = SentenceTransformerEmbedder(DEFAULT_MODEL)
    onnx = OnnxEmbedder(DEFAULT_MODEL)
    out = {"paragraphs": len(texts), "chars_p50": float(np.median(lengths)), "chars_p90": float(np.percentile(lengths, 90)),
           "batch_size": 32}
    torch.embed("warm up")
    onnx.embed("warm up")
    runs = {
        "torch_unsorted": lambda: torch.embed_many(texts),  # the indexer's path: batches of 32 in text order
        "st_encode": lambda: torch.model.encode(texts, batch_size=32, normalize_embeddings=True,
                                                show_progress_bar=False),  # sorts by length internally
        "onnx_sorted": lambda: onnx.embed_many(texts),
        "onnx_unsorted": lambda: Embedder.embed_many(onnx, texts),
    }
    try:
        int8 = OnnxEmbedder(DEFAULT_MODEL, quantized=True)
        int8.embed("warm up")
        runs["onnx_int8_sorted"] = lambda: int8.embed_many(texts)
    except Exception as exc:  # noqa: BLE001
        out["int8_error"] = str(exc)
    vecs = {}
    for name, fn in runs.items():
        log(f"throughput: {name}")
        t = time.perf_counter()
        vecs[name] = np.asarray(fn(), dtype=np.float32)
        s = time.perf_counter() - t
        out[name] = {"seconds": s, "per_s": len(texts) / s}
    base = vecs["torch_unsorted"]
    for name, v in vecs.items():
        cos = (v * base).sum(1)
        out[name].update({"speedup": out[name]["per_s"] / out["torch_unsorted"]["per_s"],
                          "cos_min": float(cos.min()), "cos_p1": float(np.percentile(cos, 1)),
                          "cos_mean": float(cos.mean())})
    return out


# -- FAISS, frameworks: own processes --------------------------------------------------------------
def bench_faiss(quick: bool) -> dict:
    sizes = ["100000"] if quick else ["100000", "1000000"]
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "faiss.json")
        t = time.perf_counter()
        p = subprocess.run([PY, str(ROOT / "bench" / "faiss_bench.py"), "--sizes", *sizes, "--out", f], cwd=ROOT,
                           stdout=sys.stderr)
        if p.returncode:
            return {"error": f"faiss_bench exited {p.returncode}"}
        out = json.load(open(f))
        out["wall_s"] = time.perf_counter() - t
        return out


def bench_frameworks(quick: bool) -> dict:
    if not os.path.exists(FW_PYTHON):
        return {"skipped": f"no frameworks venv at {FW_PYTHON}; create it with bench/setup_frameworks.sh "
                           "(LangChain and LlamaIndex pin huggingface-hub<2, so they live apart from .venv)"}
    from rag.config import Config
    from rag.store import disk as store

    data = store.load(Config().resolved_index_dir)
    qs = gold_questions()
    out = {}
    with tempfile.TemporaryDirectory() as d:
        chunks, questions = os.path.join(d, "chunks.json"), os.path.join(d, "questions.json")
        json.dump([c.text for c in data.chunks], open(chunks, "w"))
        json.dump(qs, open(questions, "w"))
        for name in ("langchain", "llamaindex"):
            log(f"frameworks: {name}")
            sdir = os.path.join(d, name)
            os.makedirs(sdir)
            r = _popen_rusage([FW_PYTHON, str(ROOT / "bench" / "frameworks.py"), "warm", name, chunks, questions, sdir],
                              cwd=ROOT)
            line = next((ln for ln in r["stdout"].splitlines() if ln.startswith("RESULT ")), None)
            if r["rc"] or line is None:
                out[name] = {"error": (r["stderr"] or r["stdout"])[-1500:]}
                continue
            res = json.loads(line[len("RESULT "):])
            top = res.pop("top")
            res["query"] = stats(res.pop("query_s"))
            # how often its top-5 chunks are ragqa's dense top-5 (same model, so they should be)
            res["same_top5_as_ragqa_dense"] = _same_top5(top)
            res["cold"] = cold_runs([FW_PYTHON, str(ROOT / "bench" / "frameworks.py"), "cold", name, sdir, QUESTION],
                                    2 if quick else 3, warmup=1)
            out[name] = res
    return out


def _same_top5(top: dict) -> int:
    from rag import Retriever
    from rag.config import Config

    r = Retriever.load(config=Config())
    return sum([p.text for p in r.search(q, k=5, mode="dense")] == texts for q, texts in top.items())


def _commit() -> str:
    """The checkout's commit, with ``+dirty`` when files differ from it (the numbers then measure
    uncommitted code)."""
    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


# -- main ------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller corpus, no 1M-vector run")
    ap.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections (others kept from results.json)")
    args = ap.parse_args(argv)
    previous = json.loads(RESULTS.read_text()) if args.only and RESULTS.exists() else {}
    results = dict(previous)
    results.update({"date": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": args.quick, "machine": machine()})
    results.setdefault("load", {})
    t0 = time.perf_counter()
    for section in SECTIONS:
        if args.only and section not in args.only:
            continue
        log(f"== {section} (load average {loadavg()})")
        before = loadavg()
        t = time.perf_counter()
        try:
            results[section] = globals()[f"bench_{section}"](args.quick)
        except Exception as exc:  # noqa: BLE001 - one broken section must not lose the others
            import traceback

            traceback.print_exc()
            results[section] = {"error": f"{type(exc).__name__}: {exc}"}
        results["load"][section] = {"before": before, "after": loadavg(), "seconds": time.perf_counter() - t,
                                    "date": time.strftime("%Y-%m-%d %H:%M"), "commit": _commit(),
                                    "quick": args.quick}
        RESULTS.write_text(json.dumps(results, indent=2, default=str))
    results["total_s"] = time.perf_counter() - t0
    RESULTS.write_text(json.dumps(results, indent=2, default=str))
    from bench.report import write

    write(results)  # the tables, then the scale section
    log(f"wrote {RESULTS} and {ROOT / 'BENCHMARKS.md'} in {results['total_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
