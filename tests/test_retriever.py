"""Retrieval over the bundled article with the real model and real FAISS (slow), plus import hygiene."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rag.retrieve.retriever import Passage

ANTONOV = "Why might Antonov's appointment matter?"
QUERIES = [ANTONOV, "What did Mike Pence say at the Munich Security Conference?", "Crimea",
           "Is Moscow losing patience with Trump?", "INF treaty cruise missile"]


def test_import_rag_loads_no_heavy_modules():
    code = ("import rag, sys; "
            "print([m for m in ('torch','sentence_transformers','faiss','gradio') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_import_retriever_and_assistant_loads_no_heavy_modules():
    code = ("import rag.retrieve.retriever, rag.answer.assistant, rag.cli, sys; "
            "print([m for m in ('torch','sentence_transformers','faiss','gradio') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_passage_label():
    p = Passage("t", 1.0, "d", "T", (4, 5), 0, 1)
    assert (p.label, Passage("t", 1.0, "d", "T", (7,), 0, 1).label) == ("¶4–5", "¶7")


@pytest.mark.slow
@pytest.mark.parametrize("query", QUERIES)
def test_faiss_top_k_equals_brute_force(bundled_retriever, query):
    r = bundled_retriever
    k = 5
    qvec = r.embedder.embed(query)
    chunk_vecs = r.embedder.embed_many([c.text for c in r.data.chunks])  # independent of the vector store
    brute = np.argsort(-(chunk_vecs @ qvec), kind="stable")[:k]
    hits = r.search(query, k=k, mode="dense")
    assert [p.chunk_id for p in hits] == [int(i) for i in brute]
    assert np.allclose([p.score for p in hits], (chunk_vecs @ qvec)[brute], atol=1e-5)


@pytest.mark.slow
def test_antonov_top3_has_sanctions_passage(bundled_retriever):
    hits = bundled_retriever.search(ANTONOV, k=3, mode="hybrid")
    assert any("he is on the EU sanctions list" in p.text for p in hits)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_mode_returns_k_passages_best_first(bundled_retriever, mode):
    hits = bundled_retriever.search(ANTONOV, k=4, mode=mode)
    assert len(hits) == 4
    assert len({p.chunk_id for p in hits}) == 4
    scores = [p.score for p in hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_mode_finds_antonov_paragraphs(bundled_retriever, mode):
    hits = bundled_retriever.search(ANTONOV, k=3, mode=mode)
    assert {23, 24, 25} & {n for p in hits for n in p.paragraphs}


@pytest.mark.slow
def test_passages_carry_source_metadata(bundled_retriever):
    docs = bundled_retriever.documents
    for p in bundled_retriever.search(ANTONOV, k=5):
        doc = docs[p.doc_id]
        assert p.doc_id == "rusi-2017-02-22-us-russia-reset"
        assert p.title == "US–Russia Relations: Is the Prospect of a Trump–Putin Reset Over?"
        assert p.paragraphs and all(1 <= n <= 28 for n in p.paragraphs)
        assert doc.text[p.start : p.end] == p.text
        assert p.start == doc.paragraph(p.paragraphs[0]).start and p.end == doc.paragraph(p.paragraphs[-1]).end


@pytest.mark.slow
def test_k_larger_than_index_returns_every_chunk(bundled_retriever):
    n = len(bundled_retriever.data.chunks)
    assert len(bundled_retriever.search("Russia", k=n + 10, mode="dense")) == n


@pytest.mark.slow
def test_search_is_deterministic(bundled_retriever):
    a = bundled_retriever.search(ANTONOV, k=5)
    b = bundled_retriever.search(ANTONOV, k=5)
    assert [(p.chunk_id, p.score) for p in a] == [(p.chunk_id, p.score) for p in b]


@pytest.mark.slow
def test_default_k_from_config(bundled_retriever):
    assert len(bundled_retriever.search(ANTONOV)) == bundled_retriever.config.k


@pytest.mark.slow
def test_history_folds_previous_question_into_retrieval(bundled_retriever):
    follow_up = "What was his job?"
    history = [("What did Aleksey Pushkov tweet?", "")]
    with_history = bundled_retriever.search(follow_up, k=3, history=history)
    without = {n for p in bundled_retriever.search(follow_up, k=3) for n in p.paragraphs}
    assert 16 in with_history[0].paragraphs
    assert 16 not in without


# -- invalid input: checked before any model work ----------------------------------------------------

def test_non_string_query_raises(fake_retriever):
    with pytest.raises(ValueError, match="query must be a string. Currently, query is NoneType"):
        fake_retriever.search(None)


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_raises(fake_retriever, k):
    with pytest.raises(ValueError, match=rf"k must be a positive integer. Currently, k is {k!r}"):
        fake_retriever.search(ANTONOV, k=k)


def test_unknown_mode_raises(fake_retriever):
    with pytest.raises(ValueError, match=r"mode must be .* Currently, mode is 'sparse'"):
        fake_retriever.search(ANTONOV, mode="sparse")


def test_top_rows_are_the_stable_sorts_head():
    from rag.retrieve.fusion import top_rows

    rng = np.random.default_rng(0)
    for n, m in ((1000, 50), (1000, 1), (30, 50), (500, 499)):
        scores = rng.integers(0, 6, n).astype(np.float32)  # many ties, zeros included
        want = np.argsort(-scores, kind="stable")[:m]
        assert sorted(top_rows(scores, m).tolist()) == sorted(want.tolist())
