"""Short answers: compound questions, sentences that lean on the one before, choice of sentences."""

from __future__ import annotations

import pytest

from rag.answer.answerability import Candidate
from rag.answer.shortanswer import (
    choose,
    compose,
    leans_on_previous,
    parts,
    previous_sentence,
)
from rag.ingest.document import Document, Paragraph

TEXT = "The tabloid Moskovskiy Komsomolets wrote about it. It said that it was too early. Others agreed."
DOC = Document("d", "D", TEXT, (Paragraph(1, TEXT, 0, len(TEXT)),))


def cand(start, end, prob, paragraph=1, doc="d"):
    return Candidate(doc, paragraph, start, end, TEXT[start:end], 0.5, 0, prob)


@pytest.mark.parametrize("question, expected", [
    ("What did he sign and when did it take effect?", ["What did he sign?", "when did it take effect?"]),
    ("Who resigned from the team, and why did he go?", ["Who resigned from the team?", "why did he go?"]),
    ("What are salt and pepper?", ["What are salt and pepper?"]),  # "and" joins nouns, not questions
    ("Why and when?", ["Why and when?"]),  # parts too short to stand alone
])
def test_parts(question, expected):
    assert parts(question) == expected


@pytest.mark.parametrize("sentence, leans", [
    ("It said that ‘it is too early’.", True), ("He is on the list.", True), ("This distancing tactic works.", True),
    ("‘They left,’ she said.", True), ("Antonov would be significant.", False), ("Itineraries vary.", False),
])
def test_leans_on_previous(sentence, leans):
    assert leans_on_previous(sentence) is leans


def test_previous_sentence_within_paragraph_or_before_it():
    second = TEXT.index("It said")
    assert previous_sentence(DOC, 1, second) == (0, TEXT.index(" It said"), 1)
    assert previous_sentence(DOC, 1, 0) is None
    two = "A tabloid wrote. It agreed.\n\nIt said no."
    doc = Document("t", "T", two, (Paragraph(1, two[:27], 0, 27), Paragraph(2, two[29:], 29, len(two))))
    assert previous_sentence(doc, 2, 29) == (17, 27, 1)


def test_compose_names_the_subject_of_a_leaning_sentence():
    s = TEXT.index("It said")
    e = TEXT.index(" Others")
    text = compose([cand(s, e, 0.9)], {"d": DOC}, multi=False)
    assert text == "The tabloid Moskovskiy Komsomolets wrote about it. [¶1] It said that it was too early. [¶1]"


def test_compose_multi_document_markers_and_no_repeats():
    first = cand(0, TEXT.index(" It said"), 0.9)
    text = compose([first, first], {"d": DOC}, multi=True)
    assert text.count("[d ¶1]") == 1


def test_choose_keeps_runner_up_only_when_close():
    a, b = cand(0, 10, 0.8), cand(11, 20, 0.7)
    assert choose([a, b], 0.8) == [a, b]
    assert choose([a, cand(11, 20, 0.5)], 0.8) == [a]
    assert choose([], 0.8) == []
