"""Documents and their numbered paragraphs: the unit every citation points to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Paragraph:
    """One body paragraph. ``number`` is 1-based and stable; ``start``/``end`` index ``Document.text``.

    >>> Paragraph(1, "Hi.", 0, 3).number
    1
    """

    number: int
    text: str
    start: int
    end: int
    page: int | None = None  # PDF page (1-based) the paragraph starts on


@dataclass(frozen=True)
class Document:
    """A parsed source: metadata plus numbered body paragraphs.

    ``text`` is the full source text; ``text[p.start:p.end] == p.text`` for every paragraph.
    """

    doc_id: str
    title: str
    text: str
    paragraphs: tuple[Paragraph, ...]
    author: str | None = None
    date: str | None = None
    tags: tuple[str, ...] = ()
    source_path: str | None = None
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        for p in self.paragraphs:
            if self.text[p.start : p.end] != p.text:
                raise ValueError(f"paragraph ¶{p.number} of {self.doc_id!r} does not match its span")

    @property
    def content_hash(self) -> str:
        """sha256 of the source text: decides whether a document must be re-embedded."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def paragraph(self, number: int) -> Paragraph:
        """Return ¶``number`` (1-based). ``doc.paragraph(1).text``"""
        if not 1 <= number <= len(self.paragraphs):
            raise KeyError(f"{self.doc_id!r} has no paragraph {number} (it has {len(self.paragraphs)})")
        return self.paragraphs[number - 1]

    def to_dict(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "author": self.author,
            "date": self.date,
            "tags": list(self.tags),
            "source_path": self.source_path,
            "text": self.text,
            "paragraphs": [[p.number, p.start, p.end, p.page] for p in self.paragraphs],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Document":
        text = d["text"]
        paras = tuple(Paragraph(n, text[s:e], s, e, pg) for n, s, e, pg in d["paragraphs"])
        return cls(
            doc_id=d["doc_id"],
            title=d["title"],
            text=text,
            paragraphs=paras,
            author=d.get("author"),
            date=d.get("date"),
            tags=tuple(d.get("tags") or ()),
            source_path=d.get("source_path"),
        )
