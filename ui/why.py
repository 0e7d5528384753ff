""""Why this answer": a disclosure under each answer showing the work, in words.

For an answer: each claim with how well its quoted sentence supports it (strong / partial), and
the claims citation validation removed. For an abstention: why (nothing relevant found, low
support, an unknown name, ...) and a rephrasing the assistant *can* answer, found among questions
drawn from the closest passages and checked by asking it.
"""

from __future__ import annotations

import re

from . import render

STRONG = 0.8  # share of a claim's content words found in its quoted sentence; validation keeps >= 0.5
SUGGESTION_TRIES = 6  # candidate rephrasings asked before giving up


def support_word(score: float) -> str:
    """``support_word(1.0) == "strong"``; ``support_word(0.6) == "partial"``."""
    return "strong" if score >= STRONG else "partial" if score >= 0.5 else "weak"


def claims(text: str, citations) -> list[tuple[str, str, float, str]]:
    """(claim, where, support score, quote) for each sentence of an answer, ``where`` being the
    paragraphs it cites."""
    from rag.answer.citations import best_sentence, strip_markers
    from rag.ingest.sentences import split
    from rag.types import MARKER

    index = render.cite_index(citations)
    out = []
    for sentence in split(text):
        claim = strip_markers(sentence)
        cited = []
        for m in MARKER.finditer(sentence):
            doc = (m.group("doc") or "").strip() or None
            i = index.get((doc, int(m.group("num"))))
            if i is None and doc is None:
                i = next((j for (d, n), j in index.items() if n == int(m.group("num"))), None)
            if i is not None:
                cited.append(citations[i])
        if not claim or not cited:
            continue
        scored = [(best_sentence(claim, c.paragraph_text), c) for c in cited]
        (quote, score), _ = max(scored, key=lambda x: x[0][1])
        out.append((claim, ", ".join(dict.fromkeys(f"¶{c.paragraph}" for c in cited)), score, quote))
    return out


REASONS = {
    "no_relevant_passage": "Nothing in {name} comes close enough to the question: even its best-matching "
                           "sentence shares too little with it.",
    "low_support": "Passages on the topic were found, but no sentence in them supports an answer.",
    "unknown_name": "The question names {names}, which {name} never mentions.",
    "answer_type": "The question asks for a number or a date, and the closest sentence has none.",
    "model_unsupported": "The {generator} model declined, or none of its claims could be tied to a sentence "
                         "of the retrieved paragraphs.",
}


def reason_text(reason: str | None, name: str, generator: str = "", names=()) -> str:
    """The abstention reason in a sentence: ``reason_text("answer_type", "the article")``."""
    template = REASONS.get(reason or "", "The documents do not support an answer.")
    return template.format(name=name, generator=generator, names=" and ".join(f"“{n}”" for n in names) or "someone")


def unknown_names(assistant, question: str) -> list[str]:
    """Names in ``question`` (two or more capitalised words) with a word the documents never use."""
    from rag.ingest.terms import tokenize

    try:
        vocab = assistant.retriever.lexical.vocabulary
    except Exception:  # an index without a lexical part: say nothing rather than guess
        return []
    out = []
    for m in re.finditer(r"\b[A-Z][a-z]+(?:[’'][a-z]+)?(?:\s+[A-Z][a-z]+)+", question):
        words = m.group(0).split()
        if m.start() == 0 or question[: m.start()].rstrip().endswith((".", "?", "!")):
            words = words[1:]  # "Who ..." / "What ..." start the sentence, they are no name
        toks = tokenize(" ".join(words))
        if len(words) >= 2 and any(t not in vocab for t in toks):
            out.append(" ".join(words))
    return out


def suggestion(assistant, answer, labels) -> tuple[str, object] | None:
    """A question about the closest passages that the assistant answers with a citation (asked to
    check), preferring ones sharing words with the original question: (question, answer) or None."""
    from rag.ingest.sentences import split
    from rag.ingest.terms import tokenize

    from .examples import about_question, answers, questions_from_sentence

    asked = set(tokenize(answer.question))
    docs = assistant.documents
    pool: list[str] = []
    for doc_id, n, text in render.passage_paragraphs(answer.passages, docs)[:render.CLOSEST]:
        common = set(re.findall(r"\b[a-z][a-z’'-]+\b", text))
        for sentence in split(text):
            pool += questions_from_sentence(sentence, common)
        shared = [w for w in re.findall(r"[A-Za-z][\w’'-]{3,}", text) if set(tokenize(w)) & asked]
        pool += [about_question(labels, w.lower() if w[1:].islower() and w.lower() in common else w)
                 for w in dict.fromkeys(shared)]
    pool = list(dict.fromkeys(q for q in pool if q.strip().lower() != answer.question.strip().lower()))
    pool.sort(key=lambda q: -len(set(tokenize(q)) & asked))
    for q in pool[:SUGGESTION_TRIES]:
        ans = answers(assistant, q)
        if ans is not None:
            return q, ans
    return None


def why_html(answer, labels, turn: int | None = None, suggested=None, names=(), threshold=None) -> str:
    """The collapsed "Why this answer" block (HTML); ``threshold``: the P(answerable) the assistant
    answers from, shown beside the answer's own."""
    items = []
    if answer.abstained:
        reason = reason_text(answer.abstain_reason, labels.name, answer.generator, names)
        items.append(f'<p class="rq-reason">{render.escape(reason)}</p>')
        if answer.removed_claims:
            items.append(_removed(answer.removed_claims))
        if suggested:
            q, ans = suggested
            where = ", ".join(dict.fromkeys(f"¶{c.paragraph}" for c in ans.citations))
            link = (f'<a class="rq-suggest" href="#rq-suggest-{turn}">{render.escape(q)}</a>' if turn is not None
                    else render.escape(q))
            items.append(f'<p class="rq-try-instead">Try instead: {link} <span class="rq-checked">(checked: '
                         f'answered from {render.escape(where)})</span></p>')
        summary = "Why no answer"
    else:
        rows = "".join(f'<li><span class="rq-support rq-{support_word(s)}">{support_word(s)}</span> '
                       f'{render.escape(c)} <span class="rq-where">{render.escape(w)}</span></li>'
                       for c, w, s, _ in claims(answer.text, answer.citations))
        items.append(f'<ul class="rq-claims">{rows}</ul>' if rows else "")
        items.append('<p class="rq-legend">strong: nearly all of the claim\'s words are in the quoted sentence; '
                     "partial: at least half are.</p>")
        items.append(_removed(answer.removed_claims) if answer.removed_claims
                     else '<p class="rq-legend">Citation checks removed nothing.</p>')
        summary = "Why this answer"
    if answer.answerability is not None:
        from rag.cli.common import answerability_line

        line = answerability_line(answer.answerability, threshold)
        items.append(f'<p class="rq-answerability">{render.escape(line)}: how likely the answerability model '
                     "thinks it is that the documents answer this question, 0 to 1.</p>")
    return f'<details class="rq-why"><summary>{summary}</summary>{"".join(items)}</details>'


def _removed(removed) -> str:
    rows = "".join(f"<li>{render.escape(c)}</li>" for c in removed)
    return (f'<div class="rq-removed"><div class="rq-legend">Removed by the citation check (no sentence in a '
            f'retrieved paragraph supports them):</div><ul>{rows}</ul></div>')
