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
