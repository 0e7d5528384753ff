"""``Assistant``: retrieve, decide whether the documents can answer, generate, validate citations."""

from __future__ import annotations

import re
import time

from rag.answer.citations import strip_markers, validate
from rag.answer.generators import ExtractiveGenerator, Generator
from rag.answer.registry import GENERATORS
from rag.config import Config
from rag.errors import GeneratorError
from rag.retrieve.query import answer_type, clean, full_names, has_answer_type
from rag.retrieve.retriever import Retriever
from rag.types import ABSTAIN, Answer, Citation  # noqa: F401  (re-exported: ``from rag import Citation``)

# Abstain when the best retrieved sentence scores below this (0.5 * cosine + 0.5 * weighted
# word overlap, see rag.answer.generators). On eval/gold.jsonl answerable questions' best sentences score
# 0.30-0.92 (the lowest are paraphrases sharing few words with the text) while questions about
# things the article never discusses score 0.28-0.29 and below; 0.30 keeps false abstentions
# rare, and the two checks below catch unanswerable questions about topics the article does
# discuss. Re-calibrate with ``ragqa eval`` when scoring changes.
EVIDENCE_MIN = 0.30
# An LLM declining in its own words ("The article does not mention ...") is an abstention.
_DECLINES = re.compile(r"\b(?:article|text|paragraphs?|document)s? (?:doesn[’']t|does not|do not|don[’']t) "
                       r"(?:say|mention|provide|state|specify|contain)", re.I)


class Assistant:
    """Answers questions about an index with cited paragraphs, or says the documents don't say."""

    def __init__(self, retriever: Retriever, generator: str | Generator | None = None, config: Config | None = None):
        """``generator``: a name from ``GENERATORS`` or any object with ``name`` and ``generate``."""
        self.retriever = retriever
        self.config = config or retriever.config
        self.extractive = ExtractiveGenerator(retriever.embedder, retriever=retriever)
        self._generators: dict[str, Generator] = {"extractive": self.extractive}
        self.generator = self.get_generator(generator or self.config.generator)  # validates the name now
        self.generator_name = self.generator.name

    @classmethod
    def load(cls, path=None, generator: str | Generator | None = None, config: Config | None = None,
             **overrides) -> "Assistant":
        """``Assistant.load()`` for the bundled article; ``Assistant.load("dir", generator="local")``."""
        config = (config or Config.from_env()).replace(**{k: v for k, v in overrides.items() if v is not None})
        if isinstance(generator, str):
            config = config.replace(generator=generator)
        return cls(Retriever.load(path, config), generator or config.generator, config)

    def get_generator(self, generator: str | Generator) -> Generator:
        """The generator called ``generator`` (created once, then reused), or ``generator`` itself."""
        if not isinstance(generator, str):
            if not callable(getattr(generator, "generate", None)):
                raise ValueError(f"generator must be a name ({', '.join(GENERATORS.names())}) or an object "
                                 f"with a generate() method. Currently, generator is {generator!r}")
            self._generators.setdefault(generator.name, generator)
            return generator
        if generator not in self._generators:
            self._generators[generator] = GENERATORS.create(generator, self.config, self.retriever.embedder)
        return self._generators[generator]

    @property
    def documents(self):
        return self.retriever.documents

    def ask(self, question: str, history=None, k: int | None = None,
            generator: str | Generator | None = None) -> Answer:
        """Answer ``question``; ``history`` is a list of earlier (question, answer) turns."""
        t0 = time.perf_counter()
        question = clean(question)
        gen = self.get_generator(generator) if generator else self.generator
        passages = tuple(self.retriever.search(question, k=k, history=history))
        t1 = time.perf_counter()
        docs = self.documents
        draft = self.extractive.generate(question, passages, docs, history)
        notice = None
        if self._unknown_names(question) or draft.evidence < EVIDENCE_MIN or not self._typed(question, draft):
            return self._abstain(question, passages, gen.name, t0, t1, notice)
        if gen is not self.extractive:
            try:
                llm_draft = gen.generate(question, passages, docs, history)
                if _DECLINES.search(llm_draft.text):
                    return self._abstain(question, passages, gen.name, t0, t1, None)
                checked = validate(llm_draft.text, passages, docs, auto_cite=True)
                if not checked.citations:
                    notice = f"the {gen.name} model's answer had no claim supported by the retrieved paragraphs"
            except GeneratorError as exc:
                notice = f"{gen.name} generator unavailable ({exc}); answered extractively"
                checked = validate(draft.text, passages, docs)
        else:
            checked = validate(draft.text, passages, docs)
        if not checked.citations:
            return self._abstain(question, passages, gen.name, t0, t1, notice)
        t2 = time.perf_counter()
        return Answer(question, checked.text, checked.citations, passages, False, gen.name, notice,
                      {"retrieve": t1 - t0, "generate": t2 - t1, "total": t2 - t0})

    def _unknown_names(self, question: str) -> list[str]:
        """Full names in the question ("Rex Tillerson") with a word the documents never use:
        the question is about someone the documents do not mention."""
        vocab = self.retriever.vocabulary
        return [" ".join(n) for n in full_names(question) if any(t not in vocab for t in n)]

    @staticmethod
    def _typed(question: str, draft) -> bool:
        """A "how many"/"when" question needs a number/date in the answer it would give."""
        kind = answer_type(question)
        return kind is None or has_answer_type(kind, strip_markers(draft.text), question)

    def _abstain(self, question, passages, gen_name, t0, t1, notice) -> Answer:
        t2 = time.perf_counter()
        return Answer(question, ABSTAIN, (), passages, True, gen_name, notice,
                      {"retrieve": t1 - t0, "generate": t2 - t1, "total": t2 - t0})


__all__ = ["Assistant", "Answer", "Citation", "ABSTAIN", "strip_markers"]
