"""Short extractive answers: lead with the one sentence that answers, give it its subject when it
leans on the sentence before, and answer each part of a compound question.

Sentences come ranked by the answerability model (``rag.answer.answerability``); this module only decides
how many to quote and in what order, and writes them with their ``[¶N]`` markers.
"""

from __future__ import annotations

import re

from rag.ingest.sentences import split_spans

# A second sentence joins the best one only when the sentence model gives it at least this share
# of the best sentence's probability. Measured with ``ragqa eval`` (extractive, k=5, the model trained
# with perturbed questions) on SQuAD part A's six training articles (``--holdout-articles`` naming
# them; 400 answerable + 400 unanswerable, seed 0), eval/gold.jsonl and eval/gold2.jsonl:
#   share                          0.5    0.6    0.7    0.8    0.9    1.01 (never)
#   SQuAD median words              32     31     31     30     29     29
#   SQuAD gold span contained      .915   .907   .902   .891   .878   .868   (answered questions)
#   SQuAD key-fact recall          .882   .875   .870   .860   .848   .838
#   gold key-fact recall           .923   .923   .923   .923   .846   .833
#   gold2 key-fact recall          .629   .629   .629   .629   .629   .629
# 0.8 is the lowest share that keeps SQuAD's median answer within the 30-word target. A word budget
# on the pair instead (second sentence only if the two stay within 40/45/50 words) lost more key facts
# at the same length (SQuAD 30 words at 40: key facts .848, gold .859).
SECOND_SHARE = 0.8
# Sentences opening with one of these lean on the sentence before them for their subject.
_LEANS = re.compile(r"^(?:it|its|he|his|she|her|they|their|them|this|these|that|those|such|the latter|the former|"
                    r"both|there)\b", re.I)
# "what ... and when ...": a conjunction followed by a new question word splits a compound question.
_SPLIT = re.compile(r",?\s+(?:and|but|also|as well as)\s+(?=(?:what|when|where|who|whom|why|how|which|whose|did|does|"
                    r"do|is|was|were|are)\b)", re.I)


def parts(question: str) -> list[str]:
    """Sub-questions of a compound question; ``[question]`` when it is not compound.

    ``parts("What did he sign and when did it take effect?")`` gives
    ``["What did he sign?", "when did it take effect?"]``.
    """
    pieces = [p.strip(" ,;") for p in _SPLIT.split(question) if p.strip(" ,;")]
    if len(pieces) < 2 or any(len(p.split()) < 3 for p in pieces):
        return [question]
    return [p if p.endswith("?") else p + "?" for p in pieces]


def leans_on_previous(sentence: str) -> bool:
    """``leans_on_previous("It said that 'it is too early'.") is True``"""
    return bool(_LEANS.match(sentence.lstrip("‘'\"“(")))


def previous_sentence(document, paragraph: int, start: int) -> tuple[int, int, int] | None:
    """(start, end, ¶) in ``document.text`` of the sentence before the one at ``start``: in the same
    paragraph, or the last sentence of the paragraph before when it opens its paragraph (¶12 "It
    said ..." leans on ¶11's tabloid); None at the start of the document."""
    para = document.paragraph(paragraph)
    prev = None
    for s, e in split_spans(para.text):
        if para.start + s >= start:
            break
        prev = (para.start + s, para.start + e, paragraph)
    if prev is None and paragraph > 1:
        before = document.paragraph(paragraph - 1)
        spans = split_spans(before.text)
        if spans:
            prev = (before.start + spans[-1][0], before.start + spans[-1][1], paragraph - 1)
    return prev


def choose(ranked, second_share: float = SECOND_SHARE) -> list:
    """The best candidate, plus the runner-up when it scores ``second_share`` of the best."""
    if not ranked:
        return []
    chosen = [ranked[0]]
    if len(ranked) > 1 and ranked[1].prob >= second_share * ranked[0].prob:
        chosen.append(ranked[1])
    return chosen


def compose(chosen, documents, multi: bool) -> str:
    """The answer text: chosen sentences (each preceded by the sentence it leans on, when it opens
    with a pronoun), best first, each with its marker."""
    out, seen = [], set()
    for c in chosen:
        doc = documents[c.doc_id]
        spans = []
        if leans_on_previous(c.text):
            prev = previous_sentence(doc, c.paragraph, c.start)
            if prev is not None:
                spans.append(prev)
        spans.append((c.start, c.end, c.paragraph))
        for s, e, n in spans:
            if (c.doc_id, s) in seen:
                continue
            seen.add((c.doc_id, s))
            marker = f"[{c.doc_id} ¶{n}]" if multi else f"[¶{n}]"
            out.append(f"{doc.text[s:e]} {marker}")
    return " ".join(out)
