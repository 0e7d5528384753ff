"""Questions about the document itself, answered without retrieval.

- "Who wrote this?", "When was it published?", "What is the title?", "Where is it from?": from the
  document's metadata (byline, date, title, source file).
- "What is this about?", "Summarize the article", "What is the main argument?", "What does the
  author conclude?": an extractive overview, every sentence quoted verbatim and cited: the lead
  sentence plus the most central sentences (closest to the mean of the document's sentence
  vectors, which the index already stores); conclusions from the last paragraphs.

In an index of several documents each named document is answered, or every document (up to
``MAX_DOCS``) when none is named.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from rag.ingest.terms import tokenize
from rag.store.textstore import titles as store_titles

MAX_DOCS = 5  # documents summarised when the question names none
_DOC = (r"(?:this|it|the (?:[\w-]+ )?(?:article|piece|document|text|paper|report|commentary|essay|post|chapter|page|story|"
        r"book|readme|guide|author|writer)s?)")
KINDS = (
    ("author", re.compile(r"\bwho (?:wrote|authored|penned|is the (?:author|writer) of)\b|\b(?:who is|name) the (?:author|writer)\b|"
                          r"\bwho(?:'s| is) (?:the |its )?(?:author|writer)\b|\bwritten by whom\b|\bby whom\b", re.I)),
    ("date", re.compile(r"\bwhen (?:was|is|did) .*\b(?:published|written|released|posted|dated|come out|appear)\b|"
                        r"\b(?:publication|release) date\b|\bwhat date\b|\bdated\b", re.I)),
    ("title", re.compile(r"\b(?:what(?:'s| is)|give me) (?:the |its )?title\b|\btitle of\b|"
                         r"\bwhat is (?:this|the) (?:article|piece|document|text|paper|report|essay|book|chapter) called\b",
                         re.I)),
    ("source", re.compile(r"\b(?:where|who) (?:was|is|did) .*\b(?:published|from|come from|appear)\b|"
                          r"\bwhat(?:'s| is) (?:the |its )?source\b|\bwho published\b|\bpublisher\b", re.I)),
    ("conclusion", re.compile(r"\bconclu(?:de|des|sion|ding)\b|\bend (?:with|on)\b|\bfinal (?:point|thoughts?)\b", re.I)),
    ("argument", re.compile(r"\b(?:main|central|key|core) (?:argument|claim|thesis|point|message)\b|\bwhat does .* argue\b|"
                            r"\bpoint of (?:this|the)\b", re.I)),
    ("summary", re.compile(r"\bwhat(?:'s| is| are)\b.*\babout\b|\bsummar(?:y|i[sz]e|i[sz]ing)\b|\boverview\b|\btl;?dr\b|"
                           r"\bgist\b|\bkey (?:points|takeaways|ideas)\b|\bmain (?:points|ideas?|topics?|themes?)\b", re.I)),
)
_ENDS = re.compile(r"[.!?…][”’\"')\]]*$")
_REFERS = re.compile(r"\b" + _DOC + r"\b", re.I)
# A question made only of these words is about the document even without "this"/"the article":
# "What is the main argument?", "Summarize."
_KIND_WORDS = frozenset(tokenize("main central key core argument claim thesis point message conclude conclusion "
                                 "concluding final summary summarize summarise overview gist tldr about author writer "
                                 "wrote written published publication date title source publisher article piece "
                                 "document text whole please briefly"))


@dataclass(frozen=True)
class About:
    kind: str  # one of KINDS' names
    doc_ids: tuple[str, ...]


def classify(question: str, documents, follow_up: bool = False) -> About | None:
    """The kind of question about the document(s), or None for a question about their content.

    It must refer to the document ("this", "it", "the article", "the author", or a document's
    title): "Who wrote the Minsk agreement?" is about the content. In a follow-up (``follow_up``)
    a bare "this"/"it" means the previous answer, so only "the article" or a title counts.
    ``classify("Who wrote this piece?", docs).kind == "author"``

    Only a question matching one of ``KINDS`` reads the documents' titles, so a content question
    costs a few regular expressions however large the index (at 5,000 documents reading every title
    and comparing each with every other took 2.4 s of a 3.2 s cold ``ragqa ask``; bench/scale.py).
    """
    kind = next((name for name, pattern in KINDS if pattern.search(question)), None)
    if kind is None:
        return None
    titles = store_titles(documents)
    low = question.lower()
    named = [d for d, title in titles.items() if len(title) > 3 and title.lower() in low or d.lower() in low]
    refers = _REFERS.search(question)
    if follow_up and refers and refers.group(0).lower() in ("this", "it"):
        refers = None
    if not named and not refers and not set(tokenize(question)) <= _KIND_WORDS:
        return None
    if kind == "summary" and re.search(r"\babout\b", question, re.I) and not re.search(
            r"\bwhat(?:'s| is| are) (?:it|this|these|the \w+|" + "|".join(
                re.escape(x) for d in named for x in (d, titles[d])) + "|\x00"
            + r")(?: \w+)? about\b", question, re.I):
        return None  # "What is the article's view about sanctions?" is a content question
    picked = named or _named_by_word(question, titles)
    return About(kind, tuple(picked) or tuple(list(titles)[:MAX_DOCS]))


def _named_by_word(question: str, titles: dict[str, str]) -> list[str]:
    """Documents whose id or title has a word (4+ letters) that no other document's has and the
    question uses: "Summarize the pytz README" picks ``pytz-timezones``."""
    if len(titles) < 2:
        return []
    words = {d: set(tokenize(f"{d.replace('-', ' ').replace('_', ' ')} {title}")) for d, title in titles.items()}
    seen = Counter(t for ws in words.values() for t in ws)
    asked = set(tokenize(question))
    return [d for d, ws in words.items() if any(len(t) >= 4 and t in asked and seen[t] == 1 for t in ws)]


def metadata_answer(about: About, documents) -> tuple[str, bool]:
    """(text, found): the metadata the question asks for, one line per document."""
    lines, found = [], False
    for d in about.doc_ids:
        doc = documents[d]
        value = {"author": doc.author, "date": doc.date, "title": doc.title if doc.title != d else None,
                 "source": doc.source_path}[about.kind]
        if about.kind == "source" and value and doc.meta.get("kind"):
            value = f"{value} ({doc.meta['kind']})"
        if value:
            found = True
        label = {"author": "Author", "date": "Published", "title": "Title", "source": "Source"}[about.kind]
        prefix = f"“{doc.title}”: " if len(about.doc_ids) > 1 else ""
        lines.append(f"{prefix}{label}: {value or 'not recorded in the document'}.")
    return " ".join(lines), found


def _doc_sentences(retriever, doc_id: str):
    """[(start, end, ¶)] of the document's sentences (first occurrence) and their vectors."""
    spans, vecs, seen = [], [], set()
    for row, c in enumerate(retriever.data.chunks):
        if c.doc_id != doc_id:
            continue
        for (s, e, n), v in zip(retriever.sentences(row), retriever.sentence_vectors(row)):
            if s not in seen:
                seen.add(s)
                spans.append((s, e, n))
                vecs.append(v)
    return spans, (np.vstack(vecs) if vecs else np.zeros((0, 1)))


def overview_sentences(retriever, doc_id: str, kind: str, n_central: int) -> list[tuple[int, int, int]]:
    """Sentences (start, end, ¶) for an overview of ``kind`` ("summary", "argument", "conclusion")."""
    spans, vecs = _doc_sentences(retriever, doc_id)
    if not spans:
        return []
    centre = vecs.mean(axis=0)
    central = vecs @ centre
    text = retriever.documents[doc_id].text
    whole = np.array([len(text[s:e].split()) >= 6 and bool(_ENDS.search(text[s:e])) for s, e, _ in spans])
    central = np.where(whole, central, -np.inf)  # whole sentences only: not headings, fragments, "as follows:"
    if kind == "conclusion":
        last = sorted({n for *_, n in spans})[-3:]  # the close, and a caption or footer after it
        pool = [i for i, sp in enumerate(spans) if sp[2] in last]
        picked = sorted(pool, key=lambda i: -central[i])[: max(n_central, 1)]
    else:
        lead = next((i for i in range(len(spans)) if np.isfinite(central[i])), 0)
        rest = [i for i in np.argsort(-central, kind="stable") if i != lead and np.isfinite(central[i])]
        picked = [lead] + rest[:n_central]
    return [spans[i] for i in sorted(set(picked))]


def overview_text(about: About, retriever) -> str:
    """Verbatim overview sentences with markers, document by document."""
    docs = retriever.documents
    multi = len(docs) > 1
    n_central = {"summary": 3, "argument": 2, "conclusion": 2}[about.kind]
    if len(about.doc_ids) > 1:
        n_central = 1
    out = []
    for d in about.doc_ids:
        text = docs[d].text
        for s, e, n in overview_sentences(retriever, d, about.kind, n_central):
            out.append(f"{text[s:e]} [{d} ¶{n}]" if multi else f"{text[s:e]} [¶{n}]")
    return " ".join(out)
