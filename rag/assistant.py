"""``Assistant``: retrieve, decide whether the documents can answer, generate, validate citations."""

from __future__ import annotations

import dataclasses
import re
import time

from . import followup, overview, shortanswer
from .answer import ABSTAIN, Answer, Citation  # noqa: F401  (re-exported: ``from rag import Citation``)
from .answerability import Scorer
from .citations import strip_markers, validate
from .config import Config
from .errors import GeneratorError
from .generators import ExtractiveGenerator, make
from .query import clean, full_names
from .retriever import Retriever

# Whether to answer, and which sentences answer, is decided by the learned model in
# rag.answerability (trained by eval/train_answerability.py; its operating point is in the model
# file). No hand-set evidence threshold remains on the answering path. One rule stays beside it:
# a question naming someone by a full name with a word no indexed document uses ("Rex Tillerson")
# is about someone the documents never mention. Measured over every question of SQuAD part A,
# eval/gold.jsonl and eval/gold2.jsonl it fires on 23 unanswerable and 11 answerable questions
# (SQuAD 20/1639 vs 10/1611, gold 3/12 vs 0/39, gold2 0/5 vs 1/35).
# An LLM declining in its own words ("The article does not mention ...") is an abstention.
_DECLINES = re.compile(r"\b(?:article|text|paragraphs?|document)s? (?:doesn[’']t|does not|do not|don[’']t) "
                       r"(?:say|mention|provide|state|specify|contain)", re.I)


class Assistant:
    """Answers questions about an index with cited paragraphs, or says the documents don't say."""

    def __init__(self, retriever: Retriever, generator: str | None = None, config: Config | None = None):
        self.retriever = retriever
        self.config = config or retriever.config
        self.generator_name = generator or self.config.generator
        self.extractive = ExtractiveGenerator(retriever.embedder, retriever=retriever)
        self.scorer = Scorer(retriever)
        self._generators = {"extractive": self.extractive}
        self.generator = self.get_generator(self.generator_name)  # validates the name now

    @classmethod
    def load(cls, path=None, generator: str | None = None, config: Config | None = None, **overrides) -> "Assistant":
        """``Assistant.load()`` for the bundled article; ``Assistant.load("dir", generator="local")``."""
        config = (config or Config.from_env()).replace(generator=generator, **overrides)
        return cls(Retriever.load(path, config), config.generator, config)

    def get_generator(self, name: str):
        if name not in self._generators:
            self._generators[name] = make(name, self.config, self.retriever.embedder)
        return self._generators[name]

    @property
    def documents(self):
        return self.retriever.documents

    def ask(self, question: str, history=None, k: int | None = None, generator: str | None = None) -> Answer:
        """Answer ``question``; ``history`` is a list of earlier (question, answer) turns."""
        t0 = time.perf_counter()
        question = clean(question)
        gen = self.get_generator(generator) if generator else self.generator
        docs = self.documents
        about = overview.classify(question, docs, follow_up=bool(history))
        if about is not None:
            return self._about(question, about, gen.name, t0)
        turn = followup.resolve(question, history, docs)
        passages = tuple(self.retriever.search(turn.question, k=k, history=history))
        passages = followup.with_focus(passages, turn, self.retriever)
        t1 = time.perf_counter()
        if self._unknown_names(turn.question):
            return self._abstain(question, passages, gen.name, t0, t1, None, "unknown_name")
        scored = [self.scorer.score(part, passages) for part in shortanswer.parts(turn.question)]
        asked = followup.scoring_text(turn, history)
        if asked != turn.question and len(scored) == 1:  # whether to answer: judged with the previous question
            whole = self.scorer.score(asked, passages)
            scored = [dataclasses.replace(scored[0], answerable=whole.answerable, relevant=whole.relevant)]
        if not any(sc.candidates and sc.relevant for sc in scored):
            return self._abstain(question, passages, gen.name, t0, t1, None, "no_relevant_passage")
        answered = [sc for sc in scored if sc.answers]
        if not answered:
            return self._abstain(question, passages, gen.name, t0, t1, None, "low_support")
        passages = self._reorder(passages, answered[0])
        share = shortanswer.SECOND_SHARE if len(scored) == 1 else 2.0  # compound: the best sentence per part
        chosen = list(dict.fromkeys(c for sc in answered for c in shortanswer.choose(sc.candidates, share)))
        draft = shortanswer.compose(chosen, docs, len(docs) > 1)
        notice = None
        if gen is not self.extractive:
            try:
                llm_draft = gen.generate(turn.question, passages, docs, history)
                if _DECLINES.search(llm_draft.text):
                    return self._abstain(question, passages, gen.name, t0, t1, None, "generator_declined")
                checked = validate(llm_draft.text, passages, docs, auto_cite=True)
                if not checked.citations:
                    notice = f"the {gen.name} model's answer had no claim supported by the retrieved paragraphs"
            except GeneratorError as exc:
                notice = f"{gen.name} generator unavailable ({exc}); answered extractively"
                checked = validate(draft, passages, docs)
        else:
            checked = validate(draft, passages, docs)
        if not checked.citations:
            return self._abstain(question, passages, gen.name, t0, t1, notice, "no_supported_claim")
        t2 = time.perf_counter()
        return Answer(question, checked.text, checked.citations, passages, False, gen.name, notice,
                      {"retrieve": t1 - t0, "generate": t2 - t1, "total": t2 - t0})

    def _unknown_names(self, question: str) -> list[str]:
        """Full names in the question ("Rex Tillerson") with a word the documents never use."""
        vocab = self.retriever.lexical.vocabulary
        return [" ".join(n) for n in full_names(question) if any(t not in vocab for t in n)]

    @staticmethod
    def _reorder(passages, scored) -> tuple:
        """Passages holding the model's best sentences first (stable otherwise)."""
        best: dict = {}
        for c in scored.candidates:
            best.setdefault(c.passage_rank, c.prob)
        return tuple(p for _, p in sorted(enumerate(passages), key=lambda ip: (-best.get(ip[0], -1.0), ip[0])))

    def _about(self, question: str, about, gen_name: str, t0: float) -> Answer:
        """Metadata or an extractive overview; overview sentences are validated like any answer."""
        docs = self.documents
        t1 = time.perf_counter()
        if about.kind in ("author", "date", "title", "source"):
            text, found = overview.metadata_answer(about, docs)
            t2 = time.perf_counter()
            if not found:
                return self._abstain(question, (), gen_name, t0, t1, "the documents record no " + about.kind,
                                     "no_metadata")
            return Answer(question, text, (), (), False, gen_name, "answered from the document's metadata",
                          {"retrieve": t1 - t0, "generate": t2 - t1, "total": t2 - t0})
        passages = tuple(self.retriever._passage(r, 0.0, 0.0, 0.0) for r, c in enumerate(self.retriever.data.chunks)
                         if c.doc_id in about.doc_ids)
        checked = validate(overview.overview_text(about, self.retriever), passages, docs)
        if not checked.citations:
            return self._abstain(question, passages[:5], gen_name, t0, t1, None, "no_supported_claim")
        cited = {(c.doc_id, c.paragraph) for c in checked.citations}
        shown = tuple(p for p in passages if any((p.doc_id, n) in cited for n in p.paragraphs))
        t2 = time.perf_counter()
        return Answer(question, checked.text, checked.citations, shown, False, gen_name,
                      "an extractive overview: the lead and the most central sentences",
                      {"retrieve": t1 - t0, "generate": t2 - t1, "total": t2 - t0})

    def _abstain(self, question, passages, gen_name, t0, t1, notice, reason: str) -> Answer:
        t2 = time.perf_counter()
        return Answer(question, ABSTAIN, (), passages, True, gen_name, notice,
                      {"retrieve": t1 - t0, "generate": t2 - t1, "total": t2 - t0}, reason)


__all__ = ["Assistant", "Answer", "Citation", "ABSTAIN", "strip_markers"]
