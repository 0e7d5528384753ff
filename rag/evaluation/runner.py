"""Run an evaluation: load/build the index, validate gold files, retrieve per mode, answer, score.

``evaluate(EvalSettings(gold=("eval/gold.jsonl",), modes=("hybrid", "dense")))`` returns the
results dict written to ``results.json`` (see ``rag.evaluation.report``).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import PACKAGE_DIR, Config
from rag.errors import GoldFileError
from rag.types import Mode

from . import metrics as M
from .gold import GoldItem, load_gold

REPO_EVAL = PACKAGE_DIR.parent / "eval"
RECALL_KS = (1, 3, 5, 10)
RETRIEVAL_METRICS = ("mrr@10", "ndcg@10")
ANSWER_METRICS = ("key_fact_recall", "token_f1", "citation_precision", "citation_recall", "cited_sentence_share",
                  "abstain_accuracy", "false_abstention_rate", "span_contained", "span_contained_all",
                  "answer_words_p50", "right_paragraph", "followup_right_paragraph")
TIMINGS = ("retrieve", "generate", "total")
LATENCY_METRICS = tuple(f"latency_{t}_{p}_ms" for t in TIMINGS for p in ("p50", "p95"))
SEARCH_METRICS = ("search_p50_ms", "search_p95_ms")
LOWER_IS_BETTER = ("false_abstention_rate",)  # and every *_ms latency


def _local(rel: str) -> Path:
    """``rel`` under the working directory when it has an ``eval/`` folder, else in the checkout."""
    here = Path(rel)
    return here if Path("eval").is_dir() else REPO_EVAL.parent / rel


def default_gold() -> Path:
    return _local("eval/gold.jsonl")


def default_out() -> Path:
    return _local("eval/reports/latest")


@dataclass(frozen=True)
class EvalSettings:
    gold: tuple = field(default_factory=lambda: (default_gold(),))
    index: Path | None = None  # an existing index directory; None: the bundled article
    corpus: tuple = ()  # files/folders indexed into a temporary directory (excludes ``index``)
    generator: str | None = None  # None: the configured one (extractive by default)
    modes: tuple[str, ...] = ("hybrid",)  # retrieval metrics per mode; answers use the first
    k: int | None = None  # passages given to the answerer (default config.k); retrieval scores max(10, k)
    answers: bool = True  # False: retrieval metrics only (no generator)
    squad: Path | None = None  # a SQuAD-format file instead of gold files (rag.evaluation.squad)
    squad_sample: int = 400  # questions per class (answerable, unanswerable), seeded
    seed: int = 0
    articles: tuple | None = None  # SQuAD articles to ask about (all are indexed); None: every article

    def __post_init__(self):
        if not self.modes:
            raise ValueError("modes must name at least one of " + ", ".join(repr(m.value) for m in Mode))
        for m in self.modes:
            Mode.from_str(m)
        if len(set(self.modes)) != len(self.modes):
            raise ValueError(f"modes must not repeat: {list(self.modes)}")
        if self.index is not None and self.corpus:
            raise ValueError("give either an index directory or corpus paths, not both")
        if self.squad is not None and self.corpus:
            raise ValueError("--squad indexes the SQuAD file's articles; do not give --corpus as well")
        if self.k is not None and (not isinstance(self.k, int) or self.k < 1):
            raise ValueError(f"k must be a positive integer. Currently, k is {self.k!r}")


def recall_ks(k: int) -> tuple[int, ...]:
    """Cut-offs reported for evidence recall. ``recall_ks(20) == (1, 3, 5, 10, 20)``"""
    return tuple(sorted(set(RECALL_KS) | {k}))


def metric_names(modes, k: int, answers: bool = True) -> list[str]:
    """Every name ``aggregates`` (and so ``--min``/``--max``) knows: flat names describe the first
    mode; ``MODE:metric`` names any mode's retrieval metric (``dense:recall@5``)."""
    retrieval = [f"recall@{j}" for j in recall_ks(k)] + list(RETRIEVAL_METRICS)
    names = retrieval + list(SEARCH_METRICS)
    if answers:
        names += list(ANSWER_METRICS) + list(LATENCY_METRICS)
    return names + [f"{m}:{n}" for m in modes for n in retrieval + list(SEARCH_METRICS)]


def lower_is_better(name: str) -> bool:
    return name.split(":")[-1] in LOWER_IS_BETTER or name.endswith("_ms")


def _load_all(paths, texts) -> list[GoldItem]:
    """Gold items from every file; problems of all files are reported together."""
    items, problems = [], []
    for p in paths:
        try:
            items += load_gold(p, texts)
        except GoldFileError as exc:
            problems += getattr(exc, "problems", [str(exc)])
    first: dict[str, GoldItem] = {}
    for it in items:
        if it.id in first and first[it.id].source != it.source:
            problems.append(f"{it.source} line {it.line} ({it.id}): id also used in {first[it.id].source} "
                            f"line {first[it.id].line}")
        first.setdefault(it.id, it)
    if problems:
        err = GoldFileError(f"{len(problems)} problem(s) in gold file(s):\n  " + "\n  ".join(problems))
        err.problems = problems
        raise err
    return items


def _retrieval_record(item: GoldItem, passages, k: int, k_max: int, n_relevant: int, seconds: float) -> dict:
    if item.paragraph is not None:  # SQuAD: relevant = the passage holds the question's paragraph
        doc, num = item.paragraph
        hits = [[p.doc_id == doc and num in p.paragraphs] for p in passages]
    else:
        hits = M.quote_hits([p.text for p in passages], item.evidence)
    relevant = [any(row) for row in hits]
    rec = {"passages": [{"doc_id": p.doc_id, "paragraphs": list(p.paragraphs), "score": round(p.score, 5),
                         "relevant": rel, "text": p.text} for p, rel in zip(passages, relevant)],
           "search_ms": seconds * 1000, "metrics": {}}
    if item.answerable and item.evidence:
        curve = M.recall_curve(hits, 1 if item.paragraph is not None else len(item.evidence), k_max)
        first = next((i + 1 for i, r in enumerate(relevant) if r), None)
        rec["recall_curve"] = curve
        rec["first_relevant_rank"] = first
        rec["n_relevant_in_index"] = n_relevant
        rec["metrics"] = {f"recall@{j}": curve[j - 1] for j in recall_ks(k)}
        rec["metrics"]["mrr@10"] = M.reciprocal_rank(relevant, 10)
        rec["metrics"]["ndcg@10"] = M.ndcg(relevant, 10, n_relevant)
    return rec


def _answer_record(item: GoldItem, ans) -> dict:
    facts = M.key_fact_recall(ans.text, item.key_facts) if item.answerable else None
    refs = item.answers or (item.answer,)
    f1 = max(M.token_f1(ans.text, r) for r in refs) if item.answerable else None
    counts = M.citation_counts(ans.text, ans.citations, item.evidence) if not ans.abstained else None
    metrics = {"key_fact_recall": facts, "token_f1": f1,
               "key_facts_found": [f for f in item.key_facts if M.fact_found(ans.text, f)],
               "words": None if ans.abstained else M.words(ans.text),
               "span_contained": (M.span_contained(ans.text, item.answers)
                                  if item.answerable and item.answers and not ans.abstained else None),
               "right_paragraph": _right_paragraph(item, ans) if item.answerable else None}
    if counts:
        metrics |= {"citation_precision": M.ratio(counts["precise_citations"], counts["citations"]),
                    "citation_recall": M.ratio(counts["quotes_cited"], counts["quotes"]),
                    "cited_sentence_share": M.ratio(counts["cited_sentences"], counts["sentences"]),
                    "citation_counts": counts}
    return {"text": ans.text, "abstained": ans.abstained, "generator": ans.generator, "notice": ans.notice,
            "answerability": ans.answerability,
            "citations": [{"doc_id": c.doc_id, "paragraph": c.paragraph, "quote": c.quote,
                           "paragraph_text": c.paragraph_text} for c in ans.citations],
            "timings_ms": {t: v * 1000 for t, v in (ans.timings or {}).items()},
            "metrics": metrics, "outcome": M.outcome(item.answerable, ans.abstained, facts, f1)}


def _right_paragraph(item: GoldItem, ans) -> bool:
    """Answered, citing a paragraph that holds an evidence quote (or the SQuAD question's paragraph)."""
    if ans.abstained:
        return False
    return any((item.paragraph is not None and (c.doc_id, c.paragraph) == tuple(item.paragraph))
               or any(M.contains(c.paragraph_text, q) for q in item.evidence) for c in ans.citations)


def _asking_order(items: list[GoldItem]) -> list[GoldItem]:
    """Items in file order, except that a conversation's turns are asked in turn order."""
    order = sorted(range(len(items)), key=lambda i: (items[i].conversation is not None, items[i].conversation or "",
                                                     items[i].turn, i))
    return [items[i] for i in order]


def _aggregate_retrieval(records: list[dict], k: int) -> dict:
    scored = [r for r in records if r["metrics"]]
    out = {name: M.mean(r["metrics"].get(name) for r in scored)
           for name in [f"recall@{j}" for j in recall_ks(k)] + list(RETRIEVAL_METRICS)}
    ms = [r["search_ms"] for r in records]
    out |= {"search_p50_ms": M.percentile(ms, 50), "search_p95_ms": M.percentile(ms, 95)}
    return out


def _aggregate_answers(items: list[GoldItem], answers: list[dict]) -> dict:
    ans_ok = [a for it, a in zip(items, answers) if it.answerable]
    unans = [a for it, a in zip(items, answers) if not it.answerable]
    cited = [a["metrics"]["citation_counts"] for a in ans_ok if not a["abstained"]]
    pooled = {k: sum(c[k] for c in cited) for k in ("citations", "precise_citations", "quotes", "quotes_cited",
                                                    "sentences", "cited_sentences")}
    out = {"key_fact_recall": M.mean(a["metrics"]["key_fact_recall"] for a in ans_ok),
           "token_f1": M.mean(a["metrics"]["token_f1"] for a in ans_ok),
           "citation_precision": M.ratio(pooled["precise_citations"], pooled["citations"]),
           "citation_recall": M.ratio(pooled["quotes_cited"], pooled["quotes"]),
           "cited_sentence_share": M.ratio(pooled["cited_sentences"], pooled["sentences"]),
           "abstain_accuracy": M.ratio(sum(a["abstained"] for a in unans), len(unans)),
           "false_abstention_rate": M.ratio(sum(a["abstained"] for a in ans_ok), len(ans_ok))}
    spans = [a["metrics"]["span_contained"] for it, a in zip(items, answers) if it.answerable and it.answers]
    out["span_contained"] = M.mean(spans)  # over answered questions with gold spans
    out["span_contained_all"] = M.ratio(sum(bool(s) for s in spans), len(spans) + sum(
        a["abstained"] for it, a in zip(items, answers) if it.answerable and it.answers)) if spans else None
    out["answer_words_p50"] = M.percentile([a["metrics"]["words"] for a in answers if a["metrics"]["words"]], 50)
    out["right_paragraph"] = M.mean(a["metrics"]["right_paragraph"] for a in ans_ok)
    out["followup_right_paragraph"] = M.mean(a["metrics"]["right_paragraph"] for it, a in zip(items, answers)
                                             if it.answerable and it.turn > 1)
    for t in TIMINGS:
        vals = [a["timings_ms"][t] for a in answers if t in a["timings_ms"]]
        out[f"latency_{t}_p50_ms"] = M.percentile(vals, 50)
        out[f"latency_{t}_p95_ms"] = M.percentile(vals, 95)
    return out


def evaluate(settings: EvalSettings, config: Config | None = None, progress: bool | None = None,
             log=None) -> dict:
    """Run the evaluation and return the results (config, aggregates, by_mode, questions).

    ``progress``: tqdm bar on stderr (None: only when stderr is a terminal). ``log(msg)`` gets
    status lines such as "indexing corpus ...".
    """
    from tqdm import tqdm

    log = log or (lambda msg: None)
    config = (config or Config.from_env()).replace(mode=settings.modes[0])
    if settings.generator is not None:
        config = config.replace(generator=settings.generator)
    if settings.k is not None:
        config = config.replace(k=settings.k)
    k_max = max(10, config.k)
    t_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        index_dir = Path(settings.index) if settings.index is not None else None
        if settings.corpus:
            from rag.store.indexer import build_index

            index_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ragqa-eval-")))
            log(f"indexing {', '.join(map(str, settings.corpus))} into a temporary index ...")
            report = build_index(list(settings.corpus), index_dir, config.replace(index_dir=index_dir))
            for path, reason in report.skipped:
                log(f"skipped: {reason}")
        squad_docs = None
        if settings.squad is not None:
            from rag.store.indexer import build_index

            from .squad import squad_items

            squad_docs, squad_q = squad_items(settings.squad, settings.squad_sample, settings.squad_sample,
                                              settings.seed, settings.articles)
            if index_dir is None:
                index_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ragqa-squad-")))
            log(f"indexing {len(squad_docs)} SQuAD article(s) into {index_dir} ...")
            build_index(squad_docs, index_dir, config.replace(index_dir=index_dir))
        if settings.answers:
            from rag.answer.assistant import Assistant

            assistant = Assistant.load(index_dir, config=config)
            retriever = assistant.retriever
        else:
            from rag.retrieve.retriever import Retriever

            assistant, retriever = None, Retriever.load(index_dir, config=config)
        docs = retriever.documents
        items = squad_q if squad_docs is not None else _load_all(settings.gold, [d.text for d in docs.values()])
        chunk_texts = [M.normalize_ws(c.text) for c in retriever.data.chunks]

        def n_relevant(item):
            if item.paragraph is not None:
                doc, num = item.paragraph
                return sum(1 for c in retriever.data.chunks if c.doc_id == doc and num in c.paragraphs)
            qs = [M.normalize_ws(q) for q in item.evidence]
            return sum(1 for t in chunk_texts if any(q in t for q in qs))

        n_rel = {it.id: n_relevant(it) for it in items}
        steps = len(items) * (len(settings.modes) + (1 if settings.answers else 0))
        bar = tqdm(total=steps, desc="eval", unit="step", file=sys.stderr,
                   disable=None if progress is None else not progress)
        retrieval: dict[str, list[dict]] = {}
        try:
            for mode in settings.modes:
                bar.set_postfix_str(f"retrieve {mode}")
                recs = []
                for it in items:
                    t0 = time.perf_counter()
                    passages = retriever.search(it.question, k=k_max, mode=mode)
                    recs.append(_retrieval_record(it, passages, config.k, k_max, n_rel[it.id], time.perf_counter() - t0))
                    bar.update()
                retrieval[mode] = recs
            answers = []
            if assistant is not None:
                bar.set_postfix_str(f"answer ({config.generator})")
                said: dict[str, list] = {}  # conversation -> earlier (question, answer) turns
                for it in _asking_order(items):
                    past = said.setdefault(it.conversation, []) if it.conversation else None
                    ans = assistant.ask(it.question, history=list(past) or None) if past is not None else \
                        assistant.ask(it.question)
                    if past is not None:
                        past.append((it.question, ans.text))
                    answers.append((it, _answer_record(it, ans)))
                    bar.update()
                done = {id(it): rec for it, rec in answers}
                answers = [done[id(it)] for it in items]
        finally:
            bar.close()
        manifest = retriever.data.manifest
        index_label = "bundled article" if index_dir is None else (
            "temporary index of the corpus" if settings.corpus else
            "temporary index of the SQuAD articles" if settings.squad is not None and settings.index is None
            else str(index_dir))

    by_mode = {m: _aggregate_retrieval(recs, config.k) for m, recs in retrieval.items()}
    aggregates = dict(by_mode[settings.modes[0]])
    if answers:
        aggregates |= _aggregate_answers(items, answers)
    questions = []
    for i, it in enumerate(items):
        q = {"id": it.id, "source": it.source, "line": it.line, "question": it.question, "answerable": it.answerable,
             "reference": it.answer, "evidence": list(it.evidence), "key_facts": list(it.key_facts),
             "retrieval": {m: retrieval[m][i] for m in settings.modes}}
        if it.paragraph is not None:
            q["paragraph"] = list(it.paragraph)
        if it.conversation is not None:
            q["conversation"], q["turn"] = it.conversation, it.turn
        if answers:
            q["answer"] = answers[i]
            q["outcome"] = answers[i]["outcome"]
        questions.append(q)
    outcomes = {o: sum(1 for q in questions if q.get("outcome") == o) for o in M.OUTCOMES} if answers else {}
    return {
        "config": {"gold": [str(settings.squad)] if settings.squad is not None else [str(p) for p in settings.gold],
                   "index": index_label, "squad": None if settings.squad is None else {
                       "file": str(settings.squad), "sample_per_class": settings.squad_sample, "seed": settings.seed,
                       "articles": list(settings.articles) if settings.articles is not None else "all"},
                   "corpus": [str(p) for p in settings.corpus], "generator": config.generator if answers else None,
                   "modes": list(settings.modes), "answer_mode": settings.modes[0], "k": config.k,
                   "k_retrieval": k_max, "model": manifest.get("model"),
                   "documents": manifest.get("counts", {}).get("documents"),
                   "chunks": manifest.get("counts", {}).get("chunks"),
                   "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "seconds": round(time.perf_counter() - t_start, 2)},
        "counts": {"questions": len(items), "answerable": sum(it.answerable for it in items),
                   "unanswerable": sum(not it.answerable for it in items)},
        "aggregates": aggregates,
        "by_mode": by_mode,
        "recall_curve": {m: [M.mean(r.get("recall_curve", [None] * k_max)[j] for r in recs) for j in range(k_max)]
                         for m, recs in retrieval.items()},
        "outcomes": outcomes,
        "questions": questions,
    }


def gate_values(results: dict) -> dict:
    """Flat aggregates plus ``MODE:metric`` names, as ``--min``/``--max`` see them."""
    values = dict(results["aggregates"])
    for mode, agg in results["by_mode"].items():
        values |= {f"{mode}:{n}": v for n, v in agg.items()}
    return values
