"""Answer generators. A ``Generator`` has a ``name`` and one method, ``generate``, returning a draft
answer with [¶N] markers; ``rag.answer.citations.validate`` then checks every marker, whatever wrote it.
Generators are created by name through ``rag.answer.registry.GENERATORS``."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.answer import prompts
from rag.answer.llm import ChatModel
from rag.ingest.sentences import split_spans
from rag.ingest.terms import tokenize
from rag.retrieve.query import prepare

MAX_SENTENCES = 3
# A sentence joins the best one when it scores at least this share of the best score:
# it keeps a second reason ("... and because he is on the EU sanctions list") and drops filler.
RELATIVE_KEEP = 0.8
W_DENSE = 0.5  # sentence score = W_DENSE * cosine + (1 - W_DENSE) * weighted word overlap


@dataclass(frozen=True)
class Draft:
    text: str
    evidence: float = 1.0  # extractive: best sentence score (used for abstention); LLMs: 1.0


class Generator(Protocol):
    """What the assistant needs of a generator: a name and a draft for the question. A generator
    that streams also accepts ``on_token`` and ``cancel`` keywords (see ``LLMGenerator.generate``)."""

    name: str

    def generate(self, question: str, passages, documents, history=None) -> Draft: ...


@dataclass(frozen=True)
class Candidate:
    doc_id: str
    paragraph: int
    start: int  # in the document text, for article order
    text: str
    score: float


class ExtractiveGenerator:
    """No language model: picks the retrieved sentences that best answer the question."""

    name = "extractive"

    def __init__(self, embedder, max_sentences: int = MAX_SENTENCES, retriever=None):
        if max_sentences < 1:
            raise ValueError(f"max_sentences must be at least 1. Currently, max_sentences is {max_sentences}")
        self.embedder = embedder
        self.retriever = retriever  # when given, sentence vectors come from its (cached) sentence store
        self.max_sentences = max_sentences
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Sentence vectors, cached: the same article sentences come back question after question."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self.embedder.embed_batch(missing)
            with self._lock:
                if len(self._cache) > 50_000:
                    self._cache.clear()
                self._cache.update(zip(missing, vecs))
        with self._lock:
            return np.vstack([self._cache[t] for t in texts])

    def candidates(self, question: str, passages, documents, history=None) -> list[Candidate]:
        """Every sentence of the retrieved paragraphs, scored against the question, best first."""
        q = prepare(question, history)
        weights = {t: w for t, w in q.weights.items()}
        total = sum(weights.values()) or 1.0
        sents, vecs = [], []
        stored = {}
        if self.retriever is not None:  # one embedding batch for every passage whose sentences are not cached
            rows = [p.chunk_id for p in passages if p.chunk_id >= 0]
            stored = dict(zip(rows, self.retriever.sentence_store.get(rows)))
        for p in passages:
            doc = documents[p.doc_id]
            if p.chunk_id in stored:
                spans = self.retriever.sentences(p.chunk_id)
                vecs.append(stored[p.chunk_id])
                sents += [(p.doc_id, n, s, doc.text[s:e]) for s, e, n in spans]
                continue
            for n in p.paragraphs:
                para = doc.paragraph(n)
                for s, e in split_spans(para.text):
                    sents.append((p.doc_id, n, para.start + s, para.text[s:e]))
        if not sents:
            return []
        qv = self.retriever.query_vector(q.text) if self.retriever is not None else self._vectors([q.text])[0]
        if vecs and sum(len(v) for v in vecs) == len(sents):
            matrix = np.vstack(vecs)
        else:
            matrix = self._vectors([t for *_, t in sents])
        keep = list({(d, s): i for i, (d, n, s, t) in enumerate(sents)}.values())  # overlapping chunks
        sents, cos = [sents[i] for i in keep], (matrix @ qv)[keep]
        out = []
        for (doc_id, n, start, text), c in zip(sents, cos):
            toks = set(tokenize(text))
            overlap = sum(w for t, w in weights.items() if t in toks) / total
            out.append(Candidate(doc_id, n, start, text, float(W_DENSE * c + (1 - W_DENSE) * overlap)))
        return sorted(out, key=lambda c: -c.score)

    def generate(self, question: str, passages, documents, history=None) -> Draft:
        ranked = self.candidates(question, passages, documents, history)
        if not ranked:
            return Draft("", 0.0)
        best = ranked[0].score
        chosen = [c for c in ranked[: self.max_sentences] if c.score >= RELATIVE_KEEP * best]
        chosen.sort(key=lambda c: (c.doc_id != ranked[0].doc_id, c.doc_id, c.start))  # article order
        multi = len(documents) > 1
        text = " ".join(f"{c.text} [{c.doc_id} ¶{c.paragraph}]" if multi else f"{c.text} [¶{c.paragraph}]"
                        for c in chosen)
        return Draft(text, best)


class LLMGenerator:
    """Any chat model (in-process llama.cpp or an OpenAI-compatible server), prompted with the
    numbered paragraphs from ``rag.answer.prompts``."""

    def __init__(self, name: str, model: ChatModel, max_tokens: int = 200):
        self.name = name
        self.model = model
        self.max_tokens = max_tokens

    def generate(self, question: str, passages, documents, history=None, on_token=None, cancel=None) -> Draft:
        """The model's draft. With ``on_token``, the model streams and ``on_token(draft_so_far)``
        sees the draft grow; ``cancel`` (a ``threading.Event``) stops the model mid-answer."""
        messages = prompts.render(question, passages, documents, history)
        if on_token is None and cancel is None:
            text = self.model.complete(messages, max_tokens=self.max_tokens, temperature=0.0)
        else:
            parts: list[str] = []

            def on_text(piece: str) -> None:
                parts.append(piece)
                if on_token is not None:
                    on_token("".join(parts))

            text = self.model.complete(messages, max_tokens=self.max_tokens, temperature=0.0,
                                       on_text=on_text, cancel=cancel)
        if not isinstance(text, str) or not text.strip():
            from rag.errors import GeneratorError

            raise GeneratorError(f"{self.name} backend returned an empty answer")
        return Draft(text.strip())


def extractive(config, embedder) -> ExtractiveGenerator:
    """Factory registered as "extractive" (``rag.answer.registry``)."""
    return ExtractiveGenerator(embedder)


def local(config, embedder) -> LLMGenerator:
    """Factory registered as "local": llama.cpp in this process."""
    from rag.answer.llm import LocalLLM

    return LLMGenerator("local", LocalLLM(getattr(config, "model_path", None), n_threads=config.n_threads))


def openai(config, embedder) -> LLMGenerator:
    """Factory registered as "openai": any OpenAI-compatible chat endpoint."""
    if not config.openai_base_url:
        raise ValueError("generator 'openai' needs a base URL: set --openai-base-url or OPENAI_BASE_URL "
                         "(e.g. http://127.0.0.1:11434/v1 for Ollama)")
    from rag.answer.llm import OpenAIChat

    return LLMGenerator("openai", OpenAIChat(config.openai_base_url, config.openai_model,
                                             config.openai_api_key, config.timeout))
