"""Follow-up questions: pronouns and ellipsis resolved against the previous turn."""

from __future__ import annotations

import pytest

from rag.answer.answerability import Candidate, Scored
from rag.answer.followup import (
    NEAR_FACTOR,
    bare,
    cited,
    leans,
    names,
    prefer_context,
    resolve,
    scoring_text,
    search_history,
)
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
    history = [("What did Aleksey Pushkov tweet?", "That the target was not Flynn [¶1].")]
    turn = resolve("What was his job?", history, DOCS)
    assert turn.question == "What was Pushkov’s job?"


def test_bare_question_word_reuses_previous_question():
    turn = resolve("And why?", [("Who denied the report?", "Peskov [¶1].")], DOCS)
    assert turn.question == "Why denied the report?"[:3] + " denied the report?"


def test_what_about_swaps_the_name():
    for q in ("What about Mike Pence?", "And what about Mike Pence?"):
        turn = resolve(q, [("What did Sean Spicer say about Crimea?", "x [¶1].")], DOCS)
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


def test_and_followed_by_a_whole_question_is_not_glued_onto_the_previous_one():
    history = [("Why is pushing to the stack faster than allocating on the heap?", "It never searches [¶1].")]
    turn = resolve("And why is accessing data in the heap slower?", history, DOCS)
    assert turn.question == "And why is accessing data in the heap slower?" and not turn.rewritten
    assert resolve("And the deadline?", [("When is the report due?", "x [¶1].")], DOCS).rewritten  # ellipsis still is


def test_previous_follow_up_is_resolved_against_its_own_history():
    history = [("What does the banner image show?", "A Russian Su-24 near USS Porter [¶2]."),
               ("Where was this?", "In the Black Sea [¶2].")]
    turn = resolve("Who provided it?", history, DOCS)
    assert turn.context == "What does the banner image show? Where was this?"
    assert scoring_text(turn, history) == "What does the banner image show? Where was this? Who provided it?"
    assert search_history(turn, history)[-1] == (turn.context, "In the Black Sea [¶2].")
    # a name resolved in turn 2 carries into turn 3
    history = [("Who was the front-runner?", "Anatoliy Antonov [¶1]."),
               ("Why was he controversial?", "Sanctions [¶2].")]
    assert resolve("And why?", history, DOCS).question == "Why was Antonov controversial?"


def _cand(par, prob, text="s."):
    return Candidate("a", par, 0, 2, text, 0.5, 0, prob)


def test_a_leaning_turn_prefers_sentences_near_the_previous_answer():
    history = [("How does the stack store values?", "In order, removed in the opposite order [¶2].")]
    turn = resolve("What is this referred to as?", history, DOCS)
    near, far = _cand(2, 0.08, "This is referred to as LIFO."), _cand(20, 0.12, "It is referred to as GoF.")
    ranked = prefer_context(Scored((far, near), 0.7, 0.2), turn).candidates
    assert ranked[0].text == "This is referred to as LIFO."
    much_likelier = _cand(20, 0.08 * NEAR_FACTOR * 1.5, "The best solution is UTC.")
    assert prefer_context(Scored((much_likelier, near), 0.7, 0.2), turn).candidates[0].text == much_likelier.text
    standalone = resolve("What is the capital of Australia?", history, DOCS)  # no pronoun: untouched
    assert prefer_context(Scored((far, near), 0.7, 0.2), standalone).candidates[0] is far


def test_what_else_skips_sentences_the_previous_answer_gave():
    history = [("Where did Mike Pence speak?", "At Munich, Pence urged Russia to honour Minsk [¶5].")]
    turn = resolve("What else did he emphasise there?", history, DOCS)
    given = _cand(5, 0.6, "At Munich, Pence urged Russia to honour Minsk.")
    other = _cand(5, 0.3, "He urged common ground.")
    assert prefer_context(Scored((given, other), 0.7, 0.2), turn).candidates == (other,)


def test_what_about_skips_sentences_the_previous_answer_gave():
    history = [("Where should bugs be reported?", "Bugs should be reported on Github [¶1].")]
    turn = resolve("What about feature requests?", history, DOCS)
    assert turn.fresh and leans(turn)
    given = _cand(1, 0.6, "Bugs should be reported on Github.")
    other = _cand(1, 0.3, "Feature requests are unlikely to be considered.")
    assert prefer_context(Scored((given, other), 0.7, 0.2), turn).candidates == (other,)
    assert not resolve("And why is the stack faster?", history, DOCS).fresh  # a whole question after "And"


def test_rewritten_and_else_turns_lean_on_the_previous_one():
    history = [("What did Trump tweet about Crimea?", "Trump tweeted, with a dig at his predecessor [¶1].")]
    turn = resolve("Whom was he taking a dig at?", history, DOCS)
    assert turn.question == "Whom was Trump taking a dig at?" and leans(turn)
    assert scoring_text(turn, history) == "What did Trump tweet about Crimea? Whom was Trump taking a dig at?"
    other = resolve("Where else is the code available?", [("What license is pytz under?", "MIT [¶1].")], DOCS)
    assert other.fresh and leans(other)
    assert not leans(resolve("Where is the source code hosted today?", history, DOCS))


@pytest.mark.slow
def test_third_turn_leans_on_the_whole_conversation(bundled_assistant):
    # "it" in turn 3 is the banner image of turn 1; asked with "Where was this?" alone as context it
    # was judged unrelated to every passage and refused.
    history = []
    for q in ("What does the banner image show?", "Where was this?"):
        history.append((q, bundled_assistant.ask(q, history=list(history) or None).text))
    ans = bundled_assistant.ask("Who provided it?", history=history)
    assert not ans.abstained and "US Navy" in ans.text
    assert 28 in {c.paragraph for c in ans.citations}


def _second_turn(assistant, q1: str, q2: str):
    """The answer to ``q2`` asked after ``q1`` (answered first, as the chat would)."""
    return assistant.ask(q2, history=[(q1, assistant.ask(q1).text)])


@pytest.mark.slow
def test_issue_example_he_is_answered_from_paragraph_25(bundled_assistant):
    ans = _second_turn(bundled_assistant, "Who was the front-runner for ambassador to the US?",
                       "And why would he be controversial?")
    assert not ans.abstained and "sanctions list" in ans.text
    assert 25 in {c.paragraph for c in ans.citations}


def test_a_question_with_no_words_of_its_own_is_bare():
    history = [("What did Trump say Putin probably assumes?", "That he can't make a deal [¶1].")]
    assert bare(resolve("Why would that be?", history, DOCS))
    assert not bare(resolve("What is this referred to as?", history, DOCS))
    assert not bare(resolve("Why would that be?", None, DOCS))  # no previous turn to lean on


def test_ellipsis_leans_on_the_previous_turn_too():
    history = [("What method is used to localize a naive datetime?", "The localize() method [¶1].")]
    turn = resolve("What is the second way?", history, DOCS)
    assert leans(turn) and not leans(resolve("What is the capital of Australia?", history, DOCS))
    near, far = _cand(2, 0.14, "The second way is astimezone()."), _cand(9, 0.2, "The second line copies s1.")
    assert prefer_context(Scored((far, near), 0.7, 0.2), turn).candidates[0].text == near.text


@pytest.mark.slow
def test_why_would_that_be_is_answered_from_the_previous_sentence(bundled_assistant):
    # "Why would that be?" has no words of its own: ranked by itself it picked ¶24 or ¶14.
    ans = _second_turn(bundled_assistant, "What did Trump say Putin probably assumes?", "Why would that be?")
    assert not ans.abstained and "unpopular" in ans.text
    assert {c.paragraph for c in ans.citations} == {9}
