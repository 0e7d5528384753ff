"""The learned answerability model: numpy inference equals scikit-learn's, the shipped file loads
and scores sanely, and the real assistant uses it to answer or abstain."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer.answerability import (
    FEATURES,
    QUESTION_FEATURES,
    Model,
    Trees,
    load_model,
    question_type,
)


def test_trees_match_scikit_learn():
    sklearn = pytest.importorskip("sklearn.ensemble")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
    from train_answerability import export

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    clf = sklearn.HistGradientBoostingClassifier(max_iter=30, max_depth=3, random_state=0).fit(X, y)
    ours = Trees(export(clf)).predict(X)
    assert np.allclose(ours, clf.predict_proba(X)[:, 1], atol=1e-6)


def test_shipped_model_loads_with_matching_features():
    model = load_model()
    assert model is not None, "rag/data/answerability.json is missing: run eval/train_answerability.py"
    assert 0.0 < model.threshold < 1.0
    assert model.meta["holdout_articles"] and not set(model.meta["holdout_articles"]) & set(model.meta["trained_on"])
    assert model.sentence.feature.max() < len(FEATURES) and model.question.feature.max() < len(QUESTION_FEATURES)


def test_model_refuses_other_features():
    with pytest.raises(ValueError, match="retrain"):
        Model({"features": ["cos"], "question_features": [], "sentence": {}, "question": {}, "threshold": 0.5})


@pytest.mark.parametrize("question, kind", [
    ("Who wrote it?", "who"), ("When did it open?", "when"), ("In what year was it built?", "when"),
    ("How many ships?", "quantity"), ("Where is Warsaw?", "where"), ("Why did he go?", "why"),
    ("How did he travel?", "how"), ("Which treaty?", "what"), ("Is it cold?", "other"),
])
def test_question_type(question, kind):
    assert question_type(question) == kind


@pytest.mark.slow
def test_scores_rank_the_answer_sentence_first(bundled_assistant):
    q = "Which tabloid said Trump's press conference demonstrated his impotence to change the Russia-US relationship?"
    scored = bundled_assistant.scorer.score(q, bundled_assistant.retriever.search(q, k=5))
    assert scored.answers
    assert "Moskovskiy Komsomolets" in scored.candidates[0].text
    assert all(a.prob >= b.prob for a, b in zip(scored.candidates, scored.candidates[1:]))


@pytest.mark.slow
def test_unrelated_question_scores_below_answerable_one(bundled_assistant):
    def p(q):
        return bundled_assistant.scorer.score(q, bundled_assistant.retriever.search(q, k=5)).answerable

    assert p("Who is the Russian ambassador with whom Flynn discussed sanctions?") > p(
        "What is the boiling point of liquid nitrogen?")


@pytest.mark.slow
def test_abstention_carries_a_reason(bundled_assistant):
    ans = bundled_assistant.ask("What is the boiling point of liquid nitrogen?")
    assert ans.abstained and ans.abstain_reason in ("low_support", "no_relevant_passage")
    assert bundled_assistant.ask("Who is Sergei Kislyak?").abstain_reason is None


def _info(scorer_text: str):
    from rag.answer.answerability import Scorer

    return Scorer(None, load=False).info(scorer_text)


@pytest.mark.parametrize("qtype, question, text, offers", [
    ("when", "When did Flynn resign?", "Flynn resigned in February 2017.", True),
    ("when", "When did Flynn resign?", "Flynn resigned after the calls.", False),
    ("when", "Did he resign in 2017?", "He resigned in 2017.", False),  # the question's own date
    ("quantity", "How many sanctions were imposed?", "Three sanctions were imposed.", True),
    ("quantity", "How many sanctions were imposed?", "Sanctions were imposed.", False),
    ("who", "Who replaced Flynn?", "Flynn was replaced by Keith Kellogg.", True),
    ("who", "Who replaced Flynn?", "Flynn was replaced quickly.", False),
    ("what", "What did he say?", "Nothing here.", True),  # other types: any text offers an answer
])
def test_answer_type_offered(qtype, question, text, offers):
    from rag.answer.answerability import _NUMBER, _offers
    from rag.ingest.terms import tokenize

    q_nums = {m.group(0).lower().rstrip(".,") for m in _NUMBER.finditer(question) if m.group(0)[0].isdigit()}
    got = _offers(qtype, _info(text), q_nums, question.lower(), set(tokenize(question)))
    assert got is offers


def test_why_question_prefers_the_causal_sentence(bundled_assistant):
    """"Why might Antonov's appointment matter?": the "because ... sanctions list" sentence (¶25)
    is chosen, not only the front-runner sentence (¶23)."""
    ans = bundled_assistant.ask("Why might Antonov's appointment matter?")
    assert 25 in [c.paragraph for c in ans.citations]
