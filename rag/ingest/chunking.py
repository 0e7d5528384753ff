"""Token-aware, paragraph-respecting chunking.

A chunk is one or more whole consecutive paragraphs within a token budget; a paragraph longer than
the budget is split at sentence boundaries (and, for a single overlong sentence, at token
boundaries). Every chunk keeps ``doc_id``, paragraph numbers and its character span in the source.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.ingest.document import Document
from rag.ingest.sentences import split_spans
from rag.ingest.tokens import ENCODINGS, get_encoding

# MiniLM truncates at 256 word pieces. cl100k tokens run ~1.1-1.3 word pieces on English prose,
# so 180 tokens keeps every chunk whole inside the model's window with a safety margin.
DEFAULT_MAX_TOKENS = 180
# Paragraphs are the unit users cite, so a chunk is normally one paragraph; only a group shorter
# than this keeps absorbing the next paragraph (a one-line paragraph embeds poorly on its own).
DEFAULT_MIN_TOKENS = 80  # chosen on both gold sets (eval/reports/fusion_study.md): 0/50/80 compared


@dataclass(frozen=True)
class Chunk:
    """A retrievable unit. ``doc.text[start:end] == text``."""

    doc_id: str
    paragraphs: tuple[int, ...]
    start: int
    end: int
    text: str
    n_tokens: int


def validate(max_tokens: int, overlap: int, encoding: str, min_tokens: int = 0) -> None:
    """Raise ``ValueError`` naming the bad parameter. ``validate(180, 0, "cl100k_base")`` passes."""
    if not isinstance(min_tokens, int) or min_tokens < 0:
        raise ValueError(f"min_tokens must be >= 0. Currently, min_tokens is {min_tokens!r}")
    if not isinstance(max_tokens, int) or max_tokens <= 0:
        raise ValueError(f"max_tokens must be greater than 0. Currently, max_tokens is {max_tokens!r}")
    if not isinstance(overlap, int) or overlap < 0 or overlap >= max_tokens:
        raise ValueError(
            f"overlap must be >= 0 and smaller than max_tokens ({max_tokens}). Currently, overlap is {overlap!r}")
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}. Currently, encoding is {encoding!r}")


def chunk_document(doc: Document, max_tokens: int = DEFAULT_MAX_TOKENS, overlap: int = 0,
                   encoding: str = "cl100k_base", min_tokens: int = DEFAULT_MIN_TOKENS) -> list[Chunk]:
    """Chunk ``doc``. ``overlap`` (tokens) applies only inside a split paragraph: the next piece
    starts with the last sentences (up to ``overlap`` tokens) of the previous one. Consecutive
    paragraphs share a chunk while the chunk so far is under ``min_tokens``."""
    validate(max_tokens, overlap, encoding, min_tokens)
    enc = get_encoding(encoding)

    def count(s: int, e: int) -> int:
        return len(enc.encode(doc.text[s:e], disallowed_special=()))

    chunks: list[Chunk] = []
    group: list = []  # paragraphs waiting to be emitted together

    def flush():
        if group:
            s, e = group[0].start, group[-1].end
            chunks.append(Chunk(doc.doc_id, tuple(p.number for p in group), s, e, doc.text[s:e], count(s, e)))
            group.clear()

    for p in doc.paragraphs:
        n = count(p.start, p.end)
        if n > max_tokens:
            flush()
            for s, e in _split_long(doc.text, p.start, p.end, max_tokens, overlap, count, enc):
                chunks.append(Chunk(doc.doc_id, (p.number,), s, e, doc.text[s:e], count(s, e)))
            continue
        if group and (count(group[0].start, group[-1].end) >= min_tokens
                      or count(group[0].start, p.end) > max_tokens):
            flush()
        group.append(p)
    flush()
    return chunks


def _split_long(text, start, end, max_tokens, overlap, count, enc):
    """Spans covering text[start:end], each within ``max_tokens``, cut at sentence ends."""
    sents = [(start + s, start + e) for s, e in split_spans(text[start:end])]
    pieces = []  # sentence spans, with overlong sentences cut at token boundaries
    for s, e in sents:
        if count(s, e) <= max_tokens:
            pieces.append((s, e))
            continue
        pos = s
        while pos < e:  # cut the overlong sentence at the last token boundary within budget
            toks = enc.encode(text[pos:e], disallowed_special=())
            if len(toks) <= max_tokens:
                nxt = e
            else:
                n_bytes = sum(len(b) for b in enc.decode_tokens_bytes(toks[:max_tokens]))
                head = text[pos:e].encode("utf-8")[:n_bytes].decode("utf-8", "ignore")
                nxt = pos + max(1, len(head))
                # re-tokenising a prefix can merge differently: shrink until it fits
                while nxt > pos + 1 and count(pos, nxt) > max_tokens:
                    nxt -= 1
            pieces.append((pos, nxt))
            pos = nxt
    spans, cur = [], []
    for piece in pieces:
        if cur and count(cur[0][0], piece[1]) > max_tokens:
            spans.append((cur[0][0], cur[-1][1]))
            keep = []
            for prev in reversed(cur):  # carry trailing sentences as overlap
                if overlap and count(prev[0], cur[-1][1]) <= overlap and count(prev[0], piece[1]) <= max_tokens:
                    keep.insert(0, prev)
                else:
                    break
            cur = keep
        cur.append(piece)
    if cur:
        spans.append((cur[0][0], cur[-1][1]))
    return spans


def chunk_sentences(doc: Document, chunk: Chunk) -> list[tuple[int, int, int]]:
    """(start, end, paragraph) of each sentence in ``chunk``, in document coordinates.

    Sentences never cross a paragraph boundary, so each maps to exactly one ¶ for citation.
    """
    out = []
    for n in chunk.paragraphs:
        p = doc.paragraph(n)
        s, e = max(p.start, chunk.start), min(p.end, chunk.end)
        spans = split_spans(doc.text[s:e]) or ([(0, e - s)] if e > s else [])
        out += [(s + a, s + b, n) for a, b in spans]
    return out
