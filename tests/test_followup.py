"""Follow-up questions: pronouns and ellipsis resolved against the previous turn."""

from __future__ import annotations

import pytest

from rag.answer.followup import cited, names, resolve, scoring_text
from rag.ingest.document import Document, Paragraph

T = "Alpha text.\n\nBeta text."
DOCS = {"a": Document("a", "A", T, (Paragraph(1, "Alpha text.", 0, 11), Paragraph(2, "Beta text.", 13, 23)))}


def test_no_history_leaves_question_alone():
    turn = resolve("Why would he be controversial?", None, DOCS)
    assert turn.question == "Why would he be controversial?" and not turn.rewritten and turn.focus == ()


def test_he_after_a_who_question_is_the_person_answered():
    history = [("Who was the front-runner for ambassador to the US?",
                "Anatoliy Antonov, former deputy Defence Minister, previously appeared to be the front-runner [¶2].")]
    turn = resolve("And why would he be controversial?", history, DOCS)
    assert turn.question == "And why would Antonov be controversial?"
    assert turn.focus == (("a", 2),) and turn.rewritten


def test_his_after_a_question_naming_someone_is_that_person():
    turn = resolve("What was his job?", [("What did Aleksey Pushkov tweet?", "That the target was not Flynn [¶1].")], DOCS)
    assert turn.question == "What was Pushkov’s job?"


def test_bare_question_word_reuses_previous_question():
    turn = resolve("And why?", [("Who denied the report?", "Peskov [¶1].")], DOCS)
    assert turn.question == "Why denied the report?"[:3] + " denied the report?"


def test_what_about_swaps_the_name():
    turn = resolve("What about Mike Pence?", [("What did Sean Spicer say about Crimea?", "x [¶1].")], DOCS)
    assert turn.question == "What did Mike Pence say about Crimea?"


@pytest.mark.parametrize("text, expected", [
    ("Who replaced Sergei Kislyak in Washington?", ["Sergei Kislyak", "Washington"]),
    ("The Kremlin denied it.", ["Kremlin"]),
    ("what is this?", []),
])
def test_names(text, expected):
    assert names(text) == expected


def test_cited_markers_known_paragraphs_only():
    assert cited("A [¶2]. B [¶9]. C [a ¶1].", DOCS) == (("a", 2), ("a", 1))


def test_he_after_who_is_question_is_the_person_asked_about():
    history = [("Who is Leonid Slutsky?", "Duma MP Leonid Slutsky, of the far right Liberal Democratic Party [¶1].")]
    assert resolve("What did he say about Trump?", history, DOCS).question == "What did Slutsky say about Trump?"


def test_other_pronouns_are_scored_with_the_previous_question():
    history = [("What is the major problem with local times?", "Some datetimes occur twice [¶1].")]
    turn = resolve("What is the best solution to it?", history, DOCS)
    assert turn.question == "What is the best solution to it?" and turn.focus == (("a", 1),)
    assert scoring_text(turn, history) == "What is the major problem with local times? What is the best solution to it?"
    full = resolve("What is the best solution to daylight saving ambiguity?", history, DOCS)
    assert scoring_text(full, history) == full.question


def test_a_short_question_naming_something_new_is_not_judged_with_the_previous_one():
    from rag.answer.followup import Turn, scoring_text

    history = [("How many days of annual leave do employees get?", "Every employee gets 25 days [vacation ¶1].")]
    assert scoring_text(Turn("What is the capital of Australia?"), history) == "What is the capital of Australia?"
    assert scoring_text(Turn("And the deadline?"), history).startswith("How many days of annual leave")
    assert scoring_text(Turn("Why is it so?"), history).startswith("How many days of annual leave")
