"""``ragqa eval --squad``: SQuAD files as documents and a seeded question sample (pure), and an
end-to-end run on a small SQuAD-format file with the real model and FAISS (slow)."""

from __future__ import annotations

import json

import pytest

from rag.errors import GoldFileError
from rag.evaluation import metrics as M
from rag.evaluation.squad import (
    answer_sentence,
    load_squad,
    sample_items,
    select_articles,
    to_document,
)

CTX1 = "The castle was built in 1590 by King Sigismund. It burned in 1944. Tourists visit it every summer."
CTX2 = "Rivers freeze in January. The Vistula is the longest river in Poland."
CTX3 = "Steam engines use boiling water. James Watt improved them in 1781."


def squad(tmp_path):
    def qa(i, q, ans=None, ctx=None):
        rec = {"id": f"q{i}", "question": q, "is_impossible": ans is None,
               "answers": [] if ans is None else [{"text": ans, "answer_start": ctx.index(ans)}]}
        return rec
    data = {"version": "v2.0", "data": [
        {"title": "Warsaw_Castle", "paragraphs": [
            {"context": CTX1, "qas": [qa(1, "When was the castle built?", "1590", CTX1),
                                      qa(2, "Who burned the castle in 1590?"),
                                      qa(3, "When did it burn?", "1944", CTX1)]},
            {"context": CTX2, "qas": [qa(4, "What is the longest river in Poland?", "The Vistula", CTX2),
                                      qa(5, "What is the shortest river in Poland?")]}]},
        {"title": "Steam", "paragraphs": [
            {"context": CTX3, "qas": [qa(6, "Who improved steam engines?", "James Watt", CTX3),
                                      qa(7, "Who invented steam engines in 1781?")]}]}]}
    p = tmp_path / "squad.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def test_articles_become_documents_with_contexts_as_paragraphs(tmp_path):
    arts = load_squad(squad(tmp_path))
    doc = to_document(arts[0])
    assert doc.doc_id == "Warsaw_Castle" and doc.title == "Warsaw Castle"
    assert [p.text for p in doc.paragraphs] == [CTX1, CTX2]
    assert [n for n, _ in arts[0].qas] == [1, 1, 1, 2, 2]


def test_answer_sentence_is_the_sentence_holding_the_span(tmp_path):
    arts = load_squad(squad(tmp_path))
    assert answer_sentence(CTX1, arts[0].qas[2][1]) == "It burned in 1944."


def test_sample_is_seeded_and_per_class(tmp_path):
    arts = load_squad(squad(tmp_path))
    a = sample_items(arts, 2, 1, seed=3)
    assert sum(i.answerable for i in a) == 2 and sum(not i.answerable for i in a) == 1
    assert [i.id for i in a] == [i.id for i in sample_items(arts, 2, 1, seed=3)]
    every = sample_items(arts, 100, 100)
    assert len(every) == 7
    item = next(i for i in every if i.id == "q4")
    assert item.paragraph == ("Warsaw_Castle", 2) and item.answers == ("The Vistula",)
    assert item.evidence == ("The Vistula is the longest river in Poland.",)


def test_select_articles_by_title_or_id(tmp_path):
    arts = load_squad(squad(tmp_path))
    assert [a.title for a in select_articles(arts, ["Steam"])] == ["Steam"]
    with pytest.raises(ValueError, match="unknown SQuAD article.*Nope"):
        select_articles(arts, ["Nope"])


@pytest.mark.parametrize("content, message", [("{", "not valid JSON"), ('{"data": []}', "not a SQuAD file"),
                                              ('{"data": [{"paragraphs": []}]}', "lacks SQuAD field")])
def test_bad_squad_files_are_named(tmp_path, content, message):
    p = tmp_path / "bad.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(GoldFileError, match=message):
        load_squad(p)


@pytest.mark.parametrize("answer, spans, expected", [
    ("It was built in 1590 [¶1].", ["1590"], True), ("The Vistula river.", ["the Vistula"], True),
    ("It burned.", ["1944"], False), ("x", [], None), ("King Sigismund III", ["Sigismund"], True),
])
def test_span_contained(answer, spans, expected):
    assert M.span_contained(answer, spans) is expected


def test_words_ignores_markers():
    assert M.words("It burned in 1944 [¶1].") == 4


@pytest.mark.slow
def test_squad_eval_end_to_end(tmp_path):
    from rag.evaluation import EvalSettings, evaluate

    res = evaluate(EvalSettings(squad=squad(tmp_path), squad_sample=10, index=tmp_path / "idx"), progress=False)
    agg = res["aggregates"]
    assert res["counts"] == {"questions": 7, "answerable": 4, "unanswerable": 3}
    assert res["config"]["squad"]["sample_per_class"] == 10
    q4 = next(q for q in res["questions"] if q["id"] == "q4")
    assert q4["paragraph"] == ["Warsaw_Castle", 2]
    # paragraph R@1: the passage ranked first holds the question's paragraph
    assert q4["retrieval"]["hybrid"]["metrics"]["recall@1"] == float(
        2 in q4["retrieval"]["hybrid"]["passages"][0]["paragraphs"]
        and q4["retrieval"]["hybrid"]["passages"][0]["doc_id"] == "Warsaw_Castle")
    assert 0 <= agg["recall@5"] <= 1 and agg["abstain_accuracy"] is not None
    for name in ("span_contained", "answer_words_p50", "right_paragraph", "false_abstention_rate"):
        assert name in agg
    assert (tmp_path / "idx" / "manifest.json").exists()  # --index DIR keeps the SQuAD index for reuse
