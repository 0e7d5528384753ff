"""Evaluation metrics: hand-computed cases."""

import math

import pytest

from rag.evaluation import metrics as M
from rag.evaluation.gates import Gate, check, parse_gates
from rag.evaluation.runner import metric_names
from rag.types import Answer, Citation


# -- retrieval ---------------------------------------------------------------------------------
def test_contains_normalises_whitespace_only():
    assert M.contains("he is on\nthe  EU sanctions list.", "on the EU sanctions")
    assert not M.contains("Trump’s deal", "Trump's deal")  # evidence is verbatim: quotes are not folded
    assert not M.contains("anything", "   ")


def test_quote_hits_and_evidence_recall():
    passages = ["alpha beta", "gamma delta", "beta gamma epsilon"]
    hits = M.quote_hits(passages, ["beta", "epsilon", "zeta"])
    assert hits == [[True, False, False], [False, False, False], [True, True, False]]
    assert M.evidence_recall(hits, 1) == pytest.approx(1 / 3)
    assert M.evidence_recall(hits, 2) == pytest.approx(1 / 3)
    assert M.evidence_recall(hits, 3) == pytest.approx(2 / 3)
    assert M.evidence_recall(hits, 10) == pytest.approx(2 / 3)
    assert M.evidence_recall([], 5, n_quotes=2) == 0.0
    assert M.evidence_recall([[], []], 5) is None  # no quotes: undefined


def test_recall_curve_is_monotone_and_padded():
    hits = [[False, False], [True, False], [True, True]]
    assert M.recall_curve(hits, 2, 5) == [0.0, 0.5, 1.0, 1.0, 1.0]
    assert M.recall_curve([], 0, 3) == [None, None, None]


def test_reciprocal_rank():
    assert M.reciprocal_rank([True, False]) == 1.0
    assert M.reciprocal_rank([False, False, True]) == pytest.approx(1 / 3)
    assert M.reciprocal_rank([False] * 10 + [True]) == 0.0  # beyond @10
    assert M.reciprocal_rank([]) == 0.0


def test_ndcg_hand_cases():
    assert M.ndcg([True, True, False]) == 1.0
    assert M.ndcg([False, True]) == pytest.approx((1 / math.log2(3)) / 1.0)
    # two relevant chunks in the index, one retrieved at rank 1: DCG 1, IDCG 1 + 1/log2(3)
    assert M.ndcg([True, False], n_relevant=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert M.ndcg([False, False], n_relevant=0) == 0.0
    assert M.ndcg([False, True], n_relevant=None) == pytest.approx(1 / math.log2(3))  # ideal from the list


# Hand-computed MRR@10 / nDCG@10 (binary relevance; the ideal ranking puts every relevant passage of
# the index first). Each row: ranked relevance, relevant passages in the index, RR, nDCG.
_L2_3, _L2_5 = math.log2(3), math.log2(5)
RANKING_TABLE = [
    # relevant at ranks 2 and 4: RR 1/2; DCG 1/log2(3) + 1/log2(5); IDCG 1 + 1/log2(3)
    ([False, True, False, True], 2, 1 / 2, (1 / _L2_3 + 1 / _L2_5) / (1 + 1 / _L2_3)),
    ([False, False], 1, 0.0, 0.0),  # nothing relevant retrieved
    # ranks 1 and 3 (a third relevant one at rank 11, past the cut): DCG 1 + 1/2; IDCG 1 + 1/log2(3) + 1/2
    ([True, False, True] + [False] * 7 + [True], 3, 1.0, 1.5 / (1 + 1 / _L2_3 + 0.5)),
    ([True] * 14, 14, 1.0, 1.0),  # more relevant passages than the cut: ideal is 10 hits
    ([False] * 10 + [True], 1, 0.0, 0.0),  # first hit at rank 11
    ([False, False, True], 1, 1 / 3, 1 / 2),  # DCG 1/log2(4); IDCG 1
]


@pytest.mark.parametrize("relevant, n_relevant, rr, ndcg", RANKING_TABLE)
def test_mrr_and_ndcg_hand_table(relevant, n_relevant, rr, ndcg):
    assert M.reciprocal_rank(relevant, 10) == pytest.approx(rr, abs=1e-12)
    assert M.ndcg(relevant, 10, n_relevant=n_relevant) == pytest.approx(ndcg, abs=1e-12)


def test_mean_over_the_table():
    assert M.mean(M.reciprocal_rank(r, 10) for r, *_ in RANKING_TABLE) == pytest.approx(
        (1 / 2 + 0 + 1 + 1 + 0 + 1 / 3) / 6)


def test_percentile_and_mean():
    assert M.percentile([4, 1, 3, 2], 50) == 2.5
    assert M.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == pytest.approx(9.55)
    assert M.percentile([], 50) is None
    assert M.mean([1, None, 0]) == 0.5 and M.mean([None]) is None
    assert M.ratio(1, 0) is None


# -- answers -----------------------------------------------------------------------------------
def test_key_fact_recall_alternatives_case_quotes_and_markers():
    text = "Because he is on the EU Sanctions List [¶4]. Trump’s ‘deal’ is off [¶7]."
    assert M.key_fact_recall(text, ["sanctions list|EU sanctions"]) == 1.0
    assert M.key_fact_recall(text, ["trump's 'deal'"]) == 1.0  # ’ vs ' and ‘ vs '
    assert M.key_fact_recall(text, ["hard line", "eu sanctions"]) == 0.5
    assert M.key_fact_recall(text, []) is None
    assert M.key_fact_recall("more information", ["INF"]) == 0.0  # whole words only
    assert M.key_fact_recall("the INF treaty", ["Intermediate-Range Nuclear Forces|INF"]) == 1.0
    assert M.key_fact_recall("a  Duma\nMP", ["Duma MP"]) == 1.0


def test_token_f1_squad_normalisation():
    assert M.token_f1("The INF treaty [¶3].", "INF treaty") == 1.0
    assert M.token_f1("Sergei Kislyak, the ambassador", "Sergei Kislyak") == pytest.approx(2 * 0.6667 * 1 / 1.6667, 1e-3)
    assert M.token_f1("nothing here", "Kislyak") == 0.0
    assert M.token_f1("", "") == 1.0
    assert M.squad_tokens("An apple, the ‘pear’ and a plum!") == ["apple", "pear", "and", "plum"]


def test_strip_markers():
    assert M.strip_markers("He left [¶2]. Then [doc-a ¶12] came.") == "He left. Then came."


def test_answer_sentences_keep_markers_with_their_sentence():
    assert M.answer_sentences("A [¶1]. B.") == [("A [¶1].", [("", 1)]), ("B.", [])]
    got = M.answer_sentences("First claim. [¶3] Second claim. [¶5][¶6]")
    assert [m for _, m in got] == [[("", 3)], [("", 5), ("", 6)]]
    got = M.answer_sentences("Rust frees memory [rust-ownership ¶4]. Unmarked [¶2] in the middle.")
    assert [m for _, m in got] == [[("rust-ownership", 4)], []]


def _cite(n, text, quote=None, doc="doc"):
    return Citation(doc, n, text, quote or text)


def test_citation_counts():
    evidence = ["on the EU sanctions list", "an important indicator"]
    para4 = "He is on the EU sanctions list. He is a hardliner."
    para9 = "The weather was cold in Moscow."
    text = "He is on the EU sanctions list [¶4]. It was cold in Moscow [¶9]. Nobody knows [¶2]. Unmarked."
    cites = (_cite(4, para4, "He is on the EU sanctions list."), _cite(9, para9), _cite(2, "Other text.", "Other text."))
    c = M.citation_counts(text, cites, evidence)
    # ¶4 contains evidence; ¶9's quote supports "It was cold in Moscow" (cold, moscow); ¶2 supports nothing
    assert c["citations"] == 3 and c["precise_citations"] == 2
    assert c["quotes"] == 2 and c["quotes_cited"] == 1
    assert c["sentences"] == 4 and c["cited_sentences"] == 3
    # a marker without a matching citation does not count as cited
    assert M.citation_counts("Claim [¶8].", (), evidence)["cited_sentences"] == 0


def test_citation_counts_from_an_answer_object():
    para = "Russia has violated its Intermediate-Range Nuclear Forces (INF) treaty obligations."
    ans = Answer("Which treaty?", "Russia violated the INF treaty [¶9].", (_cite(9, para),), (), False,
                 timings={"retrieve": 0.01, "generate": 0.02, "total": 0.03})
    c = M.citation_counts(ans.text, ans.citations, ["violated its Intermediate-Range Nuclear Forces (INF) treaty"])
    assert (c["precise_citations"], c["quotes_cited"], c["cited_sentences"]) == (1, 1, 1)


def test_supports_threshold():
    assert M.supports("Trump is unpredictable", "Unlike Clinton, Trump is unpredictable.")
    assert not M.supports("Trump signed the treaty yesterday", "Trump is unpredictable.")


@pytest.mark.parametrize("answerable,abstained,facts,f1,expected", [
    (True, False, 1.0, 0.2, "correct"), (True, False, 0.5, 0.9, "partial"), (True, False, 0.0, 0.9, "wrong"),
    (True, True, 0.0, 0.0, "false-abstention"), (False, True, None, None, "abstained-correctly"),
    (False, False, None, None, "missed-abstention"), (True, False, None, 0.6, "correct"),
])
def test_outcome(answerable, abstained, facts, f1, expected):
    assert M.outcome(answerable, abstained, facts, f1) == expected


# -- gates -------------------------------------------------------------------------------------
def test_gates_parse_and_check():
    names = metric_names(["hybrid", "dense"], 5)
    assert {"recall@5", "dense:recall@5", "false_abstention_rate", "latency_total_p95_ms"} <= set(names)
    gates = parse_gates(["recall@5=0.9", "mrr@10=0.5"], "min", names) + parse_gates(
        ["false_abstention_rate=0.1"], "max", names)
    values = {"recall@5": 0.85, "mrr@10": 0.9, "false_abstention_rate": 0.2}
    assert check(gates, values) == ["FAIL: recall@5 = 0.850 < 0.900", "FAIL: false_abstention_rate = 0.200 > 0.100"]
    assert check([Gate("abstain_accuracy", 0.5, "min")], {"abstain_accuracy": None})[0].startswith(
        "FAIL: abstain_accuracy is undefined")


def test_gates_reject_unknown_metric_and_bad_syntax():
    names = metric_names(["hybrid"], 5)
    with pytest.raises(ValueError, match=r"unknown metric 'recall@7'.*Valid metrics: recall@1, recall@3"):
        parse_gates(["recall@7=0.5"], "min", names)
    with pytest.raises(ValueError, match="METRIC=VALUE"):
        parse_gates(["recall@5"], "min", names)
    with pytest.raises(ValueError, match="not a number"):
        parse_gates(["recall@5=high"], "min", names)
