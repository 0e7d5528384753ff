"""Paragraph retrieval and extractive answers on SQuAD 2.0 dev part A (8 Wikipedia articles,
345 paragraphs, 1,611 answerable and 1,639 unanswerable questions), one article per document.

    python eval/squad_eval.py                      # builds /tmp/ragqa-squad-a/index, prints JSON
    python eval/squad_eval.py --index DIR          # an index already built from --write-docs
    python eval/squad_eval.py --answers 400        # also answer the first 400 answerable questions

Retrieval (hybrid, top 10) over the answerable questions: recall@1/@5 (a passage of the right
article covers the question's paragraph) and MRR@10. Answers (extractive, k=5): share whose answer
contains a gold answer span, and share of unanswerable questions abstained on.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQUAD_A = Path("/work/shared/data/squad2/squad2-dev-part-a.json")


def write_docs(out: Path, path: Path = SQUAD_A) -> list[dict]:
    """One .txt per article (paragraphs separated by blank lines); returns the question list with
    ``doc`` (file stem) and ``para`` (0-based context index)."""
    out.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    items = []
    for a in data:
        stem = re.sub(r"\W+", "_", a["title"]).strip("_").lower()
        ctxs = [" ".join(p["context"].split()) for p in a["paragraphs"]]
        (out / f"{stem}.txt").write_text("\n\n".join(ctxs) + "\n", encoding="utf-8")
        for j, p in enumerate(a["paragraphs"]):
            for q in p["qas"]:
                items.append({"doc": stem, "para": j, "context": ctxs[j], "question": q["question"],
                              "answerable": not q["is_impossible"], "answers": [x["text"] for x in q["answers"]]})
    return items


def paragraph_numbers(retriever, items) -> None:
    """Map each item's context to the document's paragraph number (matched by text)."""
    by_doc = {}
    for doc_id, doc in retriever.documents.items():
        by_doc[doc_id] = {" ".join(p.text.split()): p.number for p in doc.paragraphs}
    for it in items:
        it["number"] = by_doc[it["doc"]].get(it["context"])


def evaluate(retriever, items, answers: int = 0, assistant=None) -> dict:
    ans = [it for it in items if it["answerable"]]
    r1 = r5 = mrr = 0.0
    times = []
    for it in ans:
        t = time.perf_counter()
        hits = retriever.search(it["question"], k=10)
        times.append(time.perf_counter() - t)
        rank = next((i + 1 for i, p in enumerate(hits) if p.doc_id == it["doc"] and it["number"] in p.paragraphs), None)
        r1 += rank == 1
        r5 += rank is not None and rank <= 5
        mrr += 1 / rank if rank else 0.0
    n = len(ans)
    times.sort()
    out = {"questions": n, "recall@1": r1 / n, "recall@5": r5 / n, "mrr@10": mrr / n,
           "search_p50_ms": 1000 * times[n // 2]}
    if answers and assistant is not None:
        step = max(1, len(ans) // answers)
        sub = ans[::step][:answers]
        has = sum(any(a.lower() in assistant.ask(it["question"]).text.lower() for a in it["answers"]) for it in sub)
        un = [it for it in items if not it["answerable"]][::step][:answers]
        abst = sum(assistant.ask(it["question"]).abstained for it in un)
        out |= {"answer_has_span": has / len(sub), "answered": len(sub), "unanswerable_abstained": abst / len(un),
                "unanswerable": len(un)}
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("/tmp/ragqa-squad-a"))
    p.add_argument("--index", type=Path, help="existing index of --work/docs (default: build --work/index)")
    p.add_argument("--answers", type=int, default=0, help="answer this many (un)answerable questions too")
    a = p.parse_args(argv)
    if not os.environ.get("PYTHONPATH"):  # with PYTHONPATH set, its rag is the one measured
        sys.path.insert(0, str(ROOT))
    from rag.answer.assistant import Assistant
    from rag.store.indexer import build_index

    items = write_docs(a.work / "docs")
    index = a.index or a.work / "index"
    if a.index is None:
        from rag.config import Config

        build_index([a.work / "docs"], index, Config.from_env(), incremental=False)  # RAGQA_VECTOR_STORE applies
    assistant = Assistant.load(index)
    paragraph_numbers(assistant.retriever, items)
    res = evaluate(assistant.retriever, items, a.answers, assistant)
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
