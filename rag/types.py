"""Result types shared by every stage: small frozen dataclasses with no dependencies, so pure logic
(citation checking, rendering, evaluation) can use them without loading an index or a model."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import Enum


class Mode(str, Enum):
    """How the retriever ranks: ``Mode.from_str("dense") is Mode.DENSE``; a ``Mode`` equals its string."""

    HYBRID = "hybrid"  # BM25 and dense fused with the best sentence's cosine (the default)
    DENSE = "dense"  # FAISS inner product only
    LEXICAL = "lexical"  # BM25 only

    def __str__(self) -> str:
        return self.value

    @classmethod
    def from_str(cls, value) -> "Mode":
        """``Mode.from_str("bm25")`` raises ``ValueError`` naming the valid modes."""
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(repr(m.value) for m in cls)
            raise ValueError(f"mode must be one of {valid}. Currently, mode is {value!r}") from None


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk. ``text == document.text[start:end]``; ``paragraphs`` are 1-based ¶ numbers."""

    text: str
    score: float
    doc_id: str
    title: str
    paragraphs: tuple[int, ...]
    start: int
    end: int
    chunk_id: int = -1
    dense_score: float = 0.0
    lexical_score: float = 0.0
    pages: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        """``"¶4–5"`` style label."""
        p = self.paragraphs
        return f"¶{p[0]}" if len(p) == 1 else f"¶{p[0]}–{p[-1]}"


# A citation marker in answer text: ``[¶12]``, or ``[doc-id ¶12]`` in a multi-document index. The one
# parser of markers, used by citation validation, evaluation, the CLI and the chat.
MARKER = re.compile(r"\[(?:(?P<doc>[^\[\]¶\n]{1,120}?)\s*)?¶\s?(?P<num>\d{1,5})\]")

# The one phrase used whenever the documents do not support an answer (UI, eval and tests match it).
ABSTAIN = "The article doesn't say."


@dataclass(frozen=True)
class Citation:
    """A claim's source: ¶``paragraph`` of ``doc_id``; ``quote`` is a verbatim substring of
    ``paragraph_text`` (the sentence that supports the claim)."""

    doc_id: str
    paragraph: int
    paragraph_text: str
    quote: str
    title: str = ""
    page: int | None = None
    support: float = 1.0  # 0..1, see rag.answer.citations.support

    @property
    def key(self) -> str:
        return f"¶{self.paragraph}"


@dataclass(frozen=True)
class Answer:
    question: str
    text: str  # with inline [¶N] markers after the sentences they support
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    abstained: bool
    generator: str = "extractive"
    notice: str | None = None  # e.g. "openai backend timed out; answered extractively"
    timings: dict = field(default_factory=dict, compare=False)  # seconds: retrieve, generate, total
    # Why the answer abstained, machine-readable: "no_relevant_passage", "low_support",
    # "unknown_name", "answer_type" or "model_unsupported"; None when it answered.
    abstain_reason: str | None = None
    removed_claims: tuple[str, ...] = ()  # claims citation validation removed from the draft
    # P(the documents answer the question) from the answerability model (rag.answer.answerability),
    # 0 to 1; the assistant answers from ``Config.abstain_threshold`` (default: the model's operating
    # point). None when the model did not score the question (questions about the document itself,
    # names the documents never use).
    answerability: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["citations"] = [asdict(c) for c in self.citations]
        d["passages"] = [asdict(p) for p in self.passages]
        return d
