"""Answering: the real bundled assistant (slow), and generator handling with a fake index (fast)."""

from __future__ import annotations

import json

import pytest

from rag.answer.assistant import Assistant
from rag.answer.generators import Draft
from rag.config import Config
from rag.errors import GeneratorError
from rag.types import ABSTAIN

ANTONOV = "Why might Antonov's appointment matter?"


# -- the real thing ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def antonov(bundled_assistant):
    return bundled_assistant.ask(ANTONOV)


@pytest.mark.slow
def test_antonov_answered(antonov):
    assert not antonov.abstained
    assert antonov.generator == "extractive"


@pytest.mark.slow
def test_antonov_answer_cites_paragraph_25(antonov):
    assert "[¶25]" in antonov.text
    assert 25 in [c.paragraph for c in antonov.citations]


@pytest.mark.slow
def test_antonov_answer_gives_both_reasons(antonov):
    assert "hard line" in antonov.text
    assert "EU sanctions list" in antonov.text


@pytest.mark.slow
def test_antonov_quotes_are_verbatim(antonov, bundled_assistant):
    doc = bundled_assistant.documents["rusi-2017-02-22-us-russia-reset"]
    for c in antonov.citations:
        assert c.quote in c.paragraph_text
        assert c.paragraph_text == doc.paragraph(c.paragraph).text


@pytest.mark.slow
def test_antonov_cites_only_retrieved_paragraphs(antonov):
    retrieved = {(p.doc_id, n) for p in antonov.passages for n in p.paragraphs}
    assert antonov.citations
    assert all((c.doc_id, c.paragraph) in retrieved for c in antonov.citations)


@pytest.mark.slow
def test_antonov_every_marker_has_a_citation(antonov):
    import re

    markers = {int(n) for n in re.findall(r"\[¶(\d+)\]", antonov.text)}
    assert markers == {c.paragraph for c in antonov.citations}


@pytest.mark.slow
def test_answer_to_dict_is_json_serialisable(antonov):
    d = json.loads(json.dumps(antonov.to_dict()))
    assert d["citations"][0]["paragraph"] == antonov.citations[0].paragraph
    assert len(d["passages"]) == len(antonov.passages)


@pytest.mark.slow
def test_answer_timings_recorded(antonov):
    assert set(antonov.timings) == {"retrieve", "generate", "total"}
    assert antonov.timings["total"] >= antonov.timings["retrieve"] >= 0


@pytest.mark.slow
def test_unmentioned_person_abstains(bundled_assistant):
    ans = bundled_assistant.ask("What did Rex Tillerson say in Munich?")
    assert ans.abstained
    assert ans.text == ABSTAIN
    assert ans.citations == ()
    assert ans.passages  # the closest passages are still shown for the user to check


@pytest.mark.slow
def test_follow_up_uses_history_for_retrieval(bundled_assistant):
    # "his" only means Pushkov through the conversation: ¶16 is retrieved only with history.
    first = bundled_assistant.ask("What did Aleksey Pushkov tweet?")
    with_history = bundled_assistant.ask("What was his job?", history=[(first.question, first.text)], k=3)
    without = bundled_assistant.ask("What was his job?", k=3)
    assert 16 in with_history.passages[0].paragraphs
    assert 16 not in {n for p in without.passages for n in p.paragraphs}


# -- generator selection and LLM handling, on a fake index ------------------------------------------


class ScriptedLLM:
    """A generator that returns a fixed draft (or raises), standing in for an LLM backend."""

    def __init__(self, name, reply):
        self.name, self.reply = name, reply

    def generate(self, question, passages, documents, history=None):
        if isinstance(self.reply, Exception):
            raise self.reply
        return Draft(self.reply)


def with_llm(retriever, reply):
    return Assistant(retriever, generator=ScriptedLLM("openai", reply))


def test_unknown_generator_name_raises(fake_retriever):
    with pytest.raises(ValueError, match=r"generator must be .* Currently, generator is 'gpt-9'"):
        Assistant(fake_retriever, generator="gpt-9")


def test_unknown_generator_in_config_raises():
    with pytest.raises(ValueError, match=r"Currently, generator is 'gpt-9'"):
        Config(generator="gpt-9")


def test_openai_without_base_url_raises(fake_retriever):
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        Assistant(fake_retriever, generator="openai", config=Config(model="fake", openai_base_url=None))


def test_extractive_answer_on_fake_index(fake_retriever):
    ans = Assistant(fake_retriever).ask("Why do dogs bark at night?")
    assert not ans.abstained
    assert "[¶2]" in ans.text and [c.paragraph for c in ans.citations] == [2]


def test_llm_answer_citations_validated(fake_retriever):
    reply = "Dogs bark loudly at strangers at night [¶2]. Dogs can fly to the moon [¶99]."
    ans = with_llm(fake_retriever, reply).ask("Why do dogs bark at night?", generator="openai")
    assert ans.generator == "openai" and not ans.abstained
    assert ans.text == "Dogs bark loudly at strangers at night [¶2]."
    assert [c.paragraph for c in ans.citations] == [2]


def test_llm_answer_without_markers_auto_cited(fake_retriever):
    ans = with_llm(fake_retriever, "Dogs bark loudly at strangers near the house.").ask(
        "Why do dogs bark at night?", generator="openai")
    assert [c.paragraph for c in ans.citations] == [2]
    assert ans.text.endswith("[¶2].")


def test_llm_abstention_phrase_abstains(fake_retriever):
    ans = with_llm(fake_retriever, "The article doesn't say.").ask("Why do dogs bark at night?", generator="openai")
    assert ans.abstained and ans.text == ABSTAIN and ans.citations == ()


def test_llm_failure_falls_back_to_extractive_with_notice(fake_retriever):
    ans = with_llm(fake_retriever, GeneratorError("timed out after 30 s")).ask(
        "Why do dogs bark at night?", generator="openai")
    assert not ans.abstained and ans.citations
    assert "openai generator unavailable (timed out after 30 s)" in ans.notice


def test_llm_answer_with_no_supported_claim_abstains_with_notice(fake_retriever):
    ans = with_llm(fake_retriever, "Elephants dance the tango [¶1].").ask(
        "Why do dogs bark at night?", generator="openai")
    assert ans.abstained and ans.text == ABSTAIN and ans.citations == ()
    assert "openai model's answer had no claim supported" in ans.notice


def test_llm_declining_in_own_words_abstains(fake_retriever):
    ans = with_llm(fake_retriever, "The text does not mention why dogs bark.").ask(
        "Why do dogs bark at night?", generator="openai")
    assert ans.abstained and ans.text == ABSTAIN


def test_question_about_unknown_person_abstains_on_fake_index(fake_retriever):
    ans = Assistant(fake_retriever).ask("What did Rex Tillerson say about dogs barking at night?")
    assert ans.abstained and ans.text == ABSTAIN


def test_abstention_names_its_reason(fake_retriever):
    ans = Assistant(fake_retriever).ask("What did Rex Tillerson say about dogs barking at night?")
    assert ans.abstained and ans.abstain_reason == "unknown_name"
    assert ans.answerability is None  # the name rule decided; the model never scored it
    assert Assistant(fake_retriever).ask("Why do dogs bark at night?").abstain_reason is None


def test_answerability_is_reported_and_the_threshold_is_configurable(fake_retriever):
    q = "Why do dogs bark at night?"
    default = Assistant(fake_retriever)
    ans = default.ask(q)
    p = ans.answerability
    assert not ans.abstained and p is not None and default.abstain_threshold <= p < 1.0
    assert default.abstain_threshold == default.scorer.model.threshold  # the model's operating point
    strict = Assistant(fake_retriever, config=fake_retriever.config.replace(abstain_threshold=p + 1e-9))
    out = strict.ask(q)
    assert out.abstained and out.abstain_reason == "low_support"
    assert out.answerability == pytest.approx(p) and strict.abstain_threshold == p + 1e-9
    exact = Assistant(fake_retriever, config=fake_retriever.config.replace(abstain_threshold=p))
    assert not exact.ask(q).abstained  # answers from the threshold itself
    assert json.loads(json.dumps(ans.to_dict()))["answerability"] == p
