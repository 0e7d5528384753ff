"""Scale benchmark (issue 13): build, disk, cold ``ragqa ask`` and warm search at growing corpus
sizes, for the starting commit (``--base``, a checkout of it) and this checkout, in the same run.

    git worktree add --detach /tmp/base b25a6b7
    python bench/scale.py --base /tmp/base --sizes 1000 --embedder real
    python bench/scale.py --base /tmp/base --sizes 10000 100000 --embedder standin
    python bench/scale.py --report            # the BENCHMARKS.md section from bench/scale_results.json

Each build runs in its own process under ``bench/measure.py`` (wall, peak RSS). ``--embedder
standin`` replaces the model with ``bench/standin.py`` (feature hashing) at build time only: the
cold ``ask`` and warm search still embed the question with the real ONNX model. Corpora come
from ``bench/squad_corpus.py``; built indexes are kept in ``--work`` and reused by later runs
unless ``--rebuild``. Results are merged into ``bench/scale_results.json`` keyed by
code/embedder/size, each with the command, the commit and the load average around it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "scale_results.json"
PY = sys.executable
QUESTION = "What branch of theoretical computer science deals with classifying computational problems?"


def _commit(code: Path) -> str:
    out = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(code), "status", "--porcelain", "--", "rag"], capture_output=True,
                           text=True).stdout.strip()
    return out.stdout.strip() + ("+dirty" if dirty else "")


def _env(code: Path, extra: dict | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               GRADIO_ANALYTICS_ENABLED="False")
    env.update(extra or {})
    return env


def measured(cmd: list[str], env: dict, tag: str, work: Path, cwd: Path | None = None) -> dict:
    """Run ``cmd`` under bench/measure.py; wall, peak RSS, exit code, load average before/after.
    ``cwd``: for ``python -m``, whose first import path is the working directory (it must be the
    checkout being measured, or that checkout's ``rag`` is shadowed)."""
    out = work / f"measure-{tag}.json"
    load0 = os.getloadavg()[0]
    p = subprocess.run([PY, str(HERE / "measure.py"), str(out), *cmd], env=env, capture_output=True, text=True,
                       cwd=cwd)
    m = json.loads(out.read_text())
    m["load"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    if m["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({m['rc']}): {p.stderr[-2000:]}")
    return m


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def run_one(code: Path, label: str, n: int, embedder: str, work: Path, rebuild: bool, asks: int,
            searches: int, extra_env: dict) -> dict:
    sys.path.insert(0, str(HERE))
    from squad_corpus import write

    corpus = work / f"corpus-{n}"
    meta = write(n, corpus)
    env = _env(code, extra_env)
    idx = work / f"idx-{label}-{embedder}-{n}"
    res: dict = {"code": label, "commit": _commit(code), "embedder": embedder, "paragraphs": n,
                 "documents": meta["documents"], "text_bytes": meta["text_bytes"],
                 "env": extra_env, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    build_json = work / f"build-{label}-{embedder}-{n}.json"
    if rebuild or not (idx / "manifest.json").exists() or not build_json.exists():
        import shutil

        shutil.rmtree(idx, ignore_errors=True)
        cmd = [PY, str(HERE / "scale_build.py"), str(corpus), str(idx), embedder, str(build_json)]
        m = measured(cmd, env, f"build-{label}", work)
        b = json.loads(build_json.read_text())
        build_json.write_text(json.dumps(b | {"process": m}))
    b = json.loads(build_json.read_text())
    res["build"] = {"command": f"PYTHONPATH={code} python bench/scale_build.py {corpus} {idx} {embedder}",
                    "build_s": b["build_s"], "chunks": b["chunks"], "wall_s": b["process"]["wall_s"],
                    "cpu_s": b["process"]["user_s"] + b["process"]["sys_s"],  # less sensitive to a shared CPU
                    "peak_rss_mb": b["process"]["maxrss_mb"], "load": b["process"]["load"]}
    res["disk_bytes"] = du(idx)
    res["disk_per_paragraph_beyond_text"] = (res["disk_bytes"] - meta["text_bytes"]) / n
    if asks:
        cmd = [PY, "-m", "rag.cli", "ask", QUESTION, "--index", str(idx)]
        measured(cmd, env, f"ask-{label}", work, cwd=code)  # warm-up: OS file cache, ONNX export present
        runs = [measured(cmd, env, f"ask-{label}", work, cwd=code) for _ in range(asks)]
        res["cold_ask"] = {"command": f"PYTHONPATH={code} python -m rag.cli ask \"{QUESTION}\" --index {idx}",
                           "runs": asks, "median_s": statistics.median(r["wall_s"] for r in runs),
                           "max_s": max(r["wall_s"] for r in runs),
                           "median_rss_mb": statistics.median(r["maxrss_mb"] for r in runs),
                           "median_anon_mb": statistics.median(r.get("anon_peak_mb", 0) for r in runs),
                           "median_cpu_s": statistics.median(r["user_s"] + r["sys_s"] for r in runs),
                           "load": [runs[0]["load"][0], runs[-1]["load"][1]]}
    if searches:
        out = work / f"search-{label}.json"
        cmd = [PY, str(HERE / "scale_search.py"), str(idx), str(searches), str(out)]
        m = measured(cmd, env, f"search-{label}", work)
        s = json.loads(out.read_text())
        res["warm_search"] = s | {"command": f"PYTHONPATH={code} python bench/scale_search.py {idx} {searches}",
                                  "load": m["load"]}
    return res


def model_rss(code: Path, work: Path) -> dict:
    """Peak RSS of a process that only loads the ONNX query model and embeds one text."""
    snippet = ("from rag.config import Config; from rag.embed.registry import make_query_embedder; "
               "make_query_embedder(Config.from_env()).embed('x')")
    return measured([PY, "-c", snippet], _env(code), "model", work, cwd=code)


def save(entries: list[dict], results: Path = RESULTS) -> None:
    data = json.loads(results.read_text()) if results.exists() else {"runs": {}}
    for e in entries:
        key = f"{e['code']}/{e['embedder']}/{e['paragraphs']}" + (f"/{e['variant']}" if e.get("variant") else "")
        data["runs"][key] = e
    results.write_text(json.dumps(data, indent=1, sort_keys=True))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", type=Path, help="checkout of the starting commit to compare against")
    p.add_argument("--no-new", action="store_true", help="measure only --base")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000])
    p.add_argument("--embedder", choices=("real", "standin"), default="real")
    p.add_argument("--work", type=Path, default=Path("/tmp/ragqa-bench"))
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--asks", type=int, default=5, help="cold ask runs (0: skip)")
    p.add_argument("--searches", type=int, default=100, help="warm search queries (0: skip)")
    p.add_argument("--variant", default="", help="label for --set runs, e.g. milvus")
    p.add_argument("--set", action="append", default=[], metavar="VAR=VALUE",
                   help="environment for the current code only, e.g. RAGQA_VECTOR_STORE=milvus")
    p.add_argument("--results", type=Path, default=RESULTS, help="JSON file the results are merged into")
    p.add_argument("--report", action="store_true")
    a = p.parse_args(argv)
    if a.report:
        from scale_report import render

        print(render(json.loads(RESULTS.read_text())))
        return
    a.work.mkdir(parents=True, exist_ok=True)
    extra = dict(kv.split("=", 1) for kv in a.set)
    for n in a.sizes:
        entries = []
        codes = ([("base", a.base, {})] if a.base else []) + ([] if a.no_new else [("new", REPO, extra)])
        for label, code, env in codes:
            tag = label + (f"-{a.variant}" if a.variant and label == "new" else "")
            e = run_one(code, tag, n, a.embedder, a.work, a.rebuild, a.asks, a.searches, env)
            e["code"], e["variant"] = label, (a.variant if label == "new" else "")
            if a.embedder == "real":
                e["model_only"] = model_rss(code, a.work)
            entries.append(e)
            save([e], a.results)
            print(json.dumps(e, indent=1), flush=True)


if __name__ == "__main__":
    main()
