"""Feature tables for training the answerability model (used by ``eval/train_answerability.py``).

For every question of SQuAD part A and of the gold sets: retrieve as ``Assistant.ask`` does
(hybrid, k passages), take every sentence of the retrieved passages as a candidate, compute
``rag.answerability.FEATURES`` and label the sentence 1 when it holds the gold answer (SQuAD: the
sentence of the gold paragraph containing a gold span; gold sets: a sentence containing an
evidence quote or contained in one). Unanswerable questions' sentences are all 0.

Tables are cached under ``--cache`` keyed by the feature code, so retraining is seconds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

import perturb  # noqa: E402

from rag.answer.answerability import FEATURES, Scorer  # noqa: E402
from rag.config import Config  # noqa: E402
from rag.evaluation import metrics as M  # noqa: E402
from rag.evaluation.gold import load_gold  # noqa: E402
from rag.evaluation.squad import load_squad, to_document, to_item  # noqa: E402
from rag.retrieve.query import clean  # noqa: E402
from rag.retrieve.retriever import Retriever  # noqa: E402
from rag.store.indexer import build_index  # noqa: E402

OFFTOPIC_PER_INDEX = 300  # SQuAD questions asked of each gold-set index
# Perturbed, unanswerable copies (eval/perturb.py; ids "synth<n>-...") per answerable SQuAD question
# (fractions draw with the seed): training rows only, never scored. Measured by eval/train_answerability.py (ROC AUC
# of P(answerable); out-of-fold on SQuAD's six training articles / held-out articles / gold / gold2):
#   share 0 (none)   0.734 / 0.706 / 0.690 / 0.640
#   share 0.5        0.746 / 0.707 / 0.694 / 0.663
#   share 1.0        0.743 / 0.724 / 0.741 / 0.731
#   share 2.0        0.746 / 0.727 / 0.671 / 0.680
# End to end (`ragqa eval`, held-out SQuAD articles / gold / gold2), share 2.0 against 1.0: SQuAD
# abstained 0.263 vs 0.210 (false abstention 0.065 vs 0.060), but gold key-fact recall 0.885 vs 0.923
# and gold2 0.600 vs 0.629 (its sentence ranking got worse). 1.0 is better on two corpora of three.
# A fifth kind of change was tried the same way and not kept: "What did X do?" asked as "When did X
# do?" / "How many times did X do?" of a paragraph with no date / no number (like gold's "What is
# Antonov's date of birth?"): SQuAD held-out abstained 0.255 vs 0.210, but gold key-fact recall 0.885
# vs 0.923, gold2 0.571 vs 0.629, follow-up turns from the right paragraph 57/66 vs 58/66.
SYNTH_SHARE = 1.0
GOLD_SETS = {"gold": ([ROOT / "rag/data/rusi-2017-02-22-us-russia-reset.txt"], ROOT / "eval/gold.jsonl"),
             "gold2": ([ROOT / "eval/corpus2"], ROOT / "eval/gold2.jsonl")}


@dataclass
class Table:
    X: np.ndarray  # candidate rows, columns FEATURES
    y: np.ndarray  # 1: the sentence holds the answer
    qid: np.ndarray  # question index of each row
    answerable: np.ndarray  # per question
    group: list  # per question: article title, or "gold"/"gold2"
    questions: list  # per question text
    ids: list
    texts: list  # per row: sentence text (for reports and short-answer studies)


def _code_key(k: int) -> str:
    h = hashlib.sha256()
    for f in ("rag/answer/answerability.py", "rag/retrieve/retriever.py", "rag/store/lexical.py",
              "rag/ingest/terms.py", "rag/retrieve/query.py", "rag/ingest/sentences.py", "eval/answerability_data.py",
              "eval/perturb.py"):
        h.update((ROOT / f).read_bytes())
    h.update(str(k).encode())
    return h.hexdigest()[:16]


def _index(name: str, sources, cache: Path, config: Config) -> Retriever:
    path = cache / f"index-{name}"
    build_index(sources, path, config.replace(index_dir=path))
    return Retriever.load(path, config.replace(index_dir=path))


def _label_squad(cands, item, article, qa, n, para_start: int) -> list[int]:
    if not item.answerable:
        return [0] * len(cands)
    doc_id, para = item.paragraph
    ctx = article.contexts[n - 1]
    starts = []
    for a in qa["answers"]:
        s = a.get("answer_start")
        if isinstance(s, int) and ctx[s : s + len(a["text"])] == a["text"]:
            starts.append((s, s + len(a["text"])))
    out = []
    for c in cands:
        if (c.doc_id, c.paragraph) != (doc_id, para):
            out.append(0)
            continue
        hit = bool(M.span_contained(c.text, item.answers))
        out.append(int(hit or any(c.start <= para_start + s < c.end for s, _ in starts)))
    return out


def _label_gold(cands, item) -> list[int]:
    if not item.answerable:
        return [0] * len(cands)
    return [int(any(M.contains(c.text, q) or M.contains(q, c.text) for q in item.evidence)) for c in cands]


def _rows(scorer: Scorer, question: str, k: int):
    q = clean(question)
    passages = scorer.retriever.search(q, k=k)
    cands = scorer.candidates(q, passages)
    X = scorer.features(q, cands, passages) if cands else np.zeros((0, len(FEATURES)))
    return cands, X


def build_tables(squad_file: Path, cache: Path, k: int = 5, log=print, synth_share: float = SYNTH_SHARE) -> Table:
    """Feature table of every SQuAD part A question and every gold-set question (cached)."""
    cache.mkdir(parents=True, exist_ok=True)
    key = _code_key(k) + hashlib.sha256(squad_file.read_bytes()).hexdigest()[:8] + f"-s{synth_share:g}"
    path = cache / f"table-{key}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=True)
        meta = json.loads(str(z["meta"]))
        return Table(z["X"], z["y"], z["qid"], z["answerable"], meta["group"], meta["questions"], meta["ids"],
                     meta["texts"])
    config = Config.from_env()
    Xs, ys, qids, answerable, group, questions, ids, texts = [], [], [], [], [], [], [], []

    def add(cands, X, labels, item, grp):
        qi = len(answerable)
        Xs.append(X)
        ys.extend(labels)
        qids.extend([qi] * len(X))
        texts.extend(c.text for c in cands)
        answerable.append(item.answerable)
        group.append(grp)
        questions.append(item.question)
        ids.append(item.id)

    articles = load_squad(squad_file)
    log(f"indexing {len(articles)} SQuAD articles ...")
    retriever = _index("squad", [to_document(a) for a in articles], cache, config)
    scorer = Scorer(retriever, load=False)
    for art in articles:
        log(f"  features: {art.title} ({len(art.qas)} questions)")
        for n, qa in art.qas:
            item = to_item(art, n, qa)
            cands, X = _rows(scorer, item.question, k)
            para_start = retriever.documents[item.paragraph[0]].paragraph(n).start
            add(cands, X, _label_squad(cands, item, art, qa, n, para_start), item, art.title)
    rng = random.Random(1)
    for art in articles:
        log(f"  features: perturbed questions of {art.title}")
        names = perturb.article_names(list(art.contexts))
        for n, qa in art.qas:
            item = to_item(art, n, qa)
            if not item.answerable:
                continue
            copies = int(synth_share) + (rng.random() < synth_share - int(synth_share))
            avoid = {x.lower() for x in perturb.article_names([art.contexts[n - 1]])}
            made = set()
            for copy in range(copies):
                changed = perturb.perturb(item.question, rng, names, avoid)
                if changed is None or changed in made:
                    continue
                made.add(changed)
                cands, X = _rows(scorer, changed, k)
                fake = dataclasses.replace(item, question=changed, answerable=False, id=f"synth{copy}-{item.id}")
                add(cands, X, [0] * len(cands), fake, art.title)
    gold_items = {}
    for name, (sources, gold) in GOLD_SETS.items():
        log(f"  features: {name}")
        retriever = _index(name, sources, cache, config)
        scorer = Scorer(retriever, load=False)
        gold_items[name] = load_gold(gold)
        for item in gold_items[name]:
            cands, X = _rows(scorer, item.question, k)
            add(cands, X, _label_gold(cands, item), item, name)
    # Off-topic questions: SQuAD's questions are all about the indexed articles, so on its own it
    # never shows the model a question whose subject the documents do not discuss at all. Questions
    # asked of another corpus's index are that (group "offtopic"; all unanswerable).
    rng = random.Random(0)
    squad_qs = [to_item(a, n, qa) for a in articles for n, qa in a.qas]
    for name, (sources, _) in GOLD_SETS.items():
        log(f"  features: off-topic SQuAD questions on {name}")
        scorer = Scorer(Retriever.load(cache / f"index-{name}", config.replace(index_dir=cache / f"index-{name}")),
                        load=False)
        for item in rng.sample(squad_qs, OFFTOPIC_PER_INDEX):
            cands, X = _rows(scorer, item.question, k)
            off = dataclasses.replace(item, answerable=False, id=f"offtopic-{name}-{item.id}")
            add(cands, X, [0] * len(cands), off, f"offtopic:{item.source[6:]}")
    log("  features: off-topic gold questions on SQuAD")
    scorer = Scorer(Retriever.load(cache / "index-squad", config.replace(index_dir=cache / "index-squad")), load=False)
    for name, items in gold_items.items():
        for item in items:
            cands, X = _rows(scorer, item.question, k)
            add(cands, X, [0] * len(cands), dataclasses.replace(item, answerable=False, id=f"offtopic-{item.id}"),
                f"offtopic:{name}")
    X = np.vstack(Xs)
    t = Table(X, np.array(ys, dtype=np.int8), np.array(qids), np.array(answerable), group, questions, ids, texts)
    np.savez_compressed(path, X=t.X, y=t.y, qid=t.qid, answerable=t.answerable,
                        meta=json.dumps({"group": group, "questions": questions, "ids": ids, "texts": texts}))
    return t
