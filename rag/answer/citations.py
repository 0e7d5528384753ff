"""Citation markers: one regex to parse them, and validation of every cited claim.

A marker is ``[¶N]`` (or ``[doc_id ¶N]`` when an index holds several documents). A citation
survives only if ¶N was retrieved for this question and the cited paragraph has a sentence that
supports the claim; ``Citation.quote`` is that sentence, verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.ingest.sentences import split_spans
from rag.ingest.terms import tokenize
from rag.types import MARKER, Citation

# A claim is supported when at least this share of its content words (stemmed, stop words
# removed) occur in one sentence of the cited paragraph. 0.5 accepts paraphrase that keeps the
# key terms and rejects a claim that merely shares a name with the paragraph.
SUPPORT_MIN = 0.5


def support(claim: str, sentence: str) -> float:
    """Share of ``claim``'s content words found in ``sentence``. ``support("EU sanctions", "on the EU sanctions list") == 1.0``"""
    words = set(tokenize(claim))
    if not words:
        return 0.0
    return len(words & set(tokenize(sentence))) / len(words)


def best_sentence(claim: str, paragraph_text: str) -> tuple[str, float]:
    """The sentence of ``paragraph_text`` that best supports ``claim``, with its support score."""
    best, score = paragraph_text, -1.0
    for s, e in split_spans(paragraph_text):
        sc = support(claim, paragraph_text[s:e])
        if sc > score:
            best, score = paragraph_text[s:e], sc
    return best, max(score, 0.0)


def _names(claim: str) -> set[str]:
    """Tokens of capitalised words after the first word: names a supporting paragraph must contain.

    ``_names("He met Anatoliy Antonov.") == {"anatoliy", "antonov"}``
    """
    words = re.findall(r"[^\W\d_][\w’'-]*", claim)[1:]
    return {t for w in words if w[0].isupper() for t in tokenize(w)}


def strip_markers(text: str) -> str:
    """Remove citation markers. ``strip_markers("Yes [¶2].") == "Yes."``"""
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]*" + MARKER.pattern, "", text)).strip()


@dataclass(frozen=True)
class Checked:
    text: str  # the answer with only valid markers, unsupported sentences removed
    citations: tuple[Citation, ...]
    dropped: tuple[str, ...]  # human-readable reasons, for logs and tests
    removed: tuple[str, ...] = ()  # the claims (sentences, markers stripped) that were removed


def validate(answer: str, passages, documents, auto_cite: bool = False) -> Checked:
    """Keep only claims whose markers point at a retrieved paragraph that supports them.

    ``passages``: the retrieved Passages; ``documents``: doc_id -> Document. Sentences with no
    valid citation are removed; a sentence with several markers keeps the valid ones. With
    ``auto_cite`` (small LLMs often forget markers), an unmarked sentence is attributed to the
    retrieved paragraph that supports it best, if that support clears ``SUPPORT_MIN``.
    """
    retrieved = {(p.doc_id, n) for p in passages for n in p.paragraphs}
    by_num: dict[int, list[str]] = {}
    for doc_id, n in retrieved:
        by_num.setdefault(n, []).append(doc_id)
    # Titles of the retrieved documents only: a marker naming any other is dropped either way, and
    # reading every document of a large index (rows on demand, rag.store.textstore) per answer is slow.
    titles = {d: documents[d].title for d in dict.fromkeys(p.doc_id for p in passages)} if documents else {}
    kept_sentences, cites, dropped, seen, removed = [], [], [], set(), []
    for s, e in _claims(answer):
        sentence = answer[s:e]
        claim = strip_markers(sentence)
        valid = []
        if auto_cite and not MARKER.search(sentence) and claim:
            sentence += "".join(f"[{d} ¶{n}]" for d, n in _best_paragraph(claim, retrieved, documents))
        for m in MARKER.finditer(sentence):
            num = int(m.group("num"))
            doc = (m.group("doc") or "").strip()
            doc_id = doc if (doc, num) in retrieved else _resolve(doc, num, by_num, titles)
            if doc_id is None or (doc_id, num) not in retrieved:
                dropped.append(f"¶{num} was not retrieved for this question: {claim[:60]!r}")
                continue
            para = documents[doc_id].paragraph(num)
            quote, score = best_sentence(claim, para.text)
            foreign = _names(claim) - set(tokenize(para.text))
            if foreign:  # "Kislyak was ... Anatoliy Antonov [¶7]": ¶7 never names Antonov
                dropped.append(f"¶{num} does not mention {', '.join(sorted(foreign))}: {claim[:60]!r}")
                continue
            if score < SUPPORT_MIN:
                dropped.append(f"¶{num} does not support {claim[:60]!r} (support {score:.2f})")
                continue
            valid.append(Citation(doc_id, num, para.text, quote, titles.get(doc_id, ""), para.page, round(score, 3)))
        if not valid:
            if claim:
                dropped.append(f"no valid citation: {claim[:60]!r}")
                removed.append(claim)
            continue
        multi = len({c.doc_id for c in valid}) > 1 or len(documents or {}) > 1
        markers = "".join(f"[{c.doc_id} ¶{c.paragraph}]" if multi else f"[¶{c.paragraph}]"
                          for c in dict.fromkeys(valid))
        kept_sentences.append(_attach(claim, markers))
        for c in valid:
            if (c.doc_id, c.paragraph, c.quote) not in seen:
                seen.add((c.doc_id, c.paragraph, c.quote))
                cites.append(c)
    return Checked(" ".join(kept_sentences), tuple(cites), tuple(dropped), tuple(removed))


def _attach(claim: str, markers: str) -> str:
    """Put markers before the sentence's final punctuation: ``"He left [¶2]."``"""
    m = re.search(r"([.!?…]+[’'\"”)]*)$", claim)
    if m:
        return f"{claim[: m.start()]} {markers}{m.group(1)}"
    return f"{claim} {markers}"


def _claims(text: str):
    """Sentence spans of an answer. Markers written after a sentence's full stop ("It fell. [¶2]
    Next.") belong to the sentence before them, not to the one they precede."""
    merged: list[list[int]] = []
    lead = re.compile(r"(?:\s*" + MARKER.pattern + r")+[.]?")
    for s, e in split_spans(text):
        m = lead.match(text, s)
        if m and merged:
            merged[-1][1] = m.end()
            s = m.end()
            while s < e and text[s].isspace():
                s += 1
        if s < e:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def _resolve(doc: str, num: int, by_num: dict, titles: dict) -> str | None:
    """The doc_id a marker means: named explicitly (id or title), or the only retrieved doc with ¶num."""
    if doc:
        for doc_id, title in titles.items():
            if doc in (doc_id, title):
                return doc_id
        return None
    candidates = by_num.get(num, [])
    return candidates[0] if len(candidates) == 1 else None


def _best_paragraph(claim: str, retrieved, documents) -> list[tuple[str, int]]:
    """[(doc_id, n)] of the retrieved paragraph best supporting ``claim``, or [] if none does."""
    scored = [(best_sentence(claim, documents[d].paragraph(n).text)[1], d, n) for d, n in sorted(retrieved)]
    if not scored:
        return []
    score, d, n = max(scored, key=lambda x: x[0])
    return [(d, n)] if score >= SUPPORT_MIN else []
