"""Result types of answering: small frozen dataclasses, one shape whatever the generator."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .retriever import Passage

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
    support: float = 1.0  # 0..1, see rag.citations.support

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
    abstain_reason: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["citations"] = [asdict(c) for c in self.citations]
        d["passages"] = [asdict(p) for p in self.passages]
        return d
