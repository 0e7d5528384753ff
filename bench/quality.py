"""Quality before/after (issue 13): gold, gold2 and SQuAD part A metrics for the starting commit
and for this checkout with each vector store, every index built fresh with the real model.

    python bench/quality.py --base /tmp/base          # -> bench/quality_results.json
    python bench/quality.py --base /tmp/base --main /tmp/mainref --only main/faiss   # main without this branch
    python bench/quality.py --base /tmp/base --only new/faiss new/faiss+compact new/milvus   # --storage compact too

Runs, for each code/store: ``ragqa eval --corpus <article> --gold eval/gold.jsonl``,
``ragqa eval --corpus eval/corpus2 --gold eval/gold2.jsonl`` and
``python eval/squad_eval.py --answers 300``, with ``PYTHONPATH`` at that code and
``RAGQA_VECTOR_STORE`` set. The article is indexed from its file (not the bundled index) so that
every store builds the same chunks in the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "quality_results.json"
ARTICLE = REPO / "rag/data/rusi-2017-02-22-us-russia-reset.txt"
GOLD_KEYS = ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10", "key_fact_recall", "token_f1",
             "citation_precision", "citation_recall", "abstain_accuracy", "false_abstention_rate")


def run(code: Path, store: str) -> dict:
    store, _, storage = store.partition("+")  # "faiss+compact": RAGQA_STORAGE=compact (Config.storage)
    env = dict(os.environ, PYTHONPATH=str(code), HF_HUB_OFFLINE="1", RAGQA_VECTOR_STORE=store,
               GRADIO_ANALYTICS_ENABLED="False")
    if store == "faiss":
        env.pop("RAGQA_VECTOR_STORE")  # the starting commit has no such setting
    env.pop("RAGQA_STORAGE", None)
    if storage:
        env["RAGQA_STORAGE"] = storage
        store = f"{store} RAGQA_STORAGE={storage}"
    res = {}
    for name, corpus, gold in (("gold", ARTICLE, REPO / "eval/gold.jsonl"),
                               ("gold2", REPO / "eval/corpus2", REPO / "eval/gold2.jsonl")):
        with tempfile.TemporaryDirectory() as out:
            cmd = [sys.executable, "-m", "rag.cli", "eval", "--corpus", str(corpus), "--gold", str(gold),
                   "--out", out, "--quiet"]
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=code)  # -m imports from cwd
            if p.returncode not in (0, 1) or not (Path(out) / "results.json").exists():
                raise RuntimeError(f"{cmd} failed: {p.stderr[-2000:]}")
            agg = json.loads((Path(out) / "results.json").read_text())["aggregates"]
        res[name] = {k: agg.get(k) for k in GOLD_KEYS}
        res[name]["command"] = f"PYTHONPATH={code} RAGQA_VECTOR_STORE={store} python -m rag.cli eval " \
                               f"--corpus {corpus.relative_to(REPO)} --gold {gold.relative_to(REPO)}"
    with tempfile.TemporaryDirectory() as work:
        cmd = [sys.executable, str(REPO / "eval/squad_eval.py"), "--work", work, "--answers", "300"]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=code)
        if p.returncode:
            raise RuntimeError(f"{cmd} failed: {p.stderr[-2000:]}")
        res["squad"] = json.loads(p.stdout[p.stdout.index("{"):])
        res["squad"]["command"] = f"PYTHONPATH={code} RAGQA_VECTOR_STORE={store} python eval/squad_eval.py --answers 300"
    res["rag_imported_from"] = subprocess.run([sys.executable, "-c", "import rag; print(rag.__file__)"], env=env,
                                              capture_output=True, text=True, cwd=code).stdout.strip()
    return res


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", type=Path, required=True, help="checkout of the starting commit")
    p.add_argument("--main", type=Path, help="checkout of main before this branch's store work (optional)")
    p.add_argument("--only", nargs="*", default=["base/faiss", "new/faiss", "new/milvus"])
    a = p.parse_args(argv)
    data = json.loads(OUT.read_text()) if OUT.exists() else {}
    for key in a.only:
        label, store = key.split("/")
        code = {"base": a.base, "main": a.main}.get(label, REPO)
        t = time.perf_counter()
        load0 = os.getloadavg()[0]
        commit = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        name = f"{key} ({commit})"
        data[name] = run(code, store) | {"seconds": time.perf_counter() - t, "date": time.strftime("%Y-%m-%d %H:%M"),
                                         "load": [round(load0, 2), round(os.getloadavg()[0], 2)]}
        OUT.write_text(json.dumps(data, indent=1, sort_keys=True))
        print(name, json.dumps(data[name]), flush=True)


if __name__ == "__main__":
    main()
