"""Exact identifiers are never lost (issue #12, item 7): in 2,000 near-identical notes, hybrid
search keeps the one note holding a rare exact query term ("unique1234") in the top results, as
lexical search does."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from rag.config import Config
from rag.retrieve import fusion
from rag.retrieve.query import exact_terms
from rag.retrieve.retriever import Retriever
from rag.store.indexer import build_index

NOTE = "Weekly team note: the team reviewed the quarterly budget and will meet again next week (reference unique{i})."
QUERIES = {"unique1234": "note1234", "What does the note with reference unique1234 say?": "note1234",
           "Which note mentions unique1999?": "note1999", "budget note unique77": "note0077"}


class BlindEmbedder:
    """Dense vectors that know nothing about identifiers: every text gets a fixed pseudo-random
    direction, so dense search ranks the 2,000 notes arbitrarily (MiniLM nearly does)."""

    name, dim = "blind", 64

    def embed_batch(self, texts):
        out = np.stack([np.random.default_rng(int(hashlib.md5(t.encode()).hexdigest()[:8], 16)).normal(size=self.dim)
                        for t in texts]).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed(self, text):
        return self.embed_batch([text])[0]

    def embed_many(self, texts, batch_size=32, progress=None):
        return self.embed_batch(texts)


def _notes(folder):
    folder.mkdir()
    for i in range(2000):
        (folder / f"note{i:04d}.txt").write_text(NOTE.format(i=i), encoding="utf-8")
    return folder


def test_exact_terms_are_ids_codes_and_names():
    assert exact_terms("What does the note with reference unique1234 say?") == {"unique1234"}
    assert "antonov" in exact_terms("Why might Antonov's appointment matter?")
    assert exact_terms("what is the budget") == set()


def test_keep_in_top_moves_only_what_is_below():
    order, ids = np.arange(6), np.array([10, 11, 12, 13, 14, 15])
    assert fusion.keep_in_top(order, ids, {15}, 1).tolist() == [5, 0, 1, 2, 3, 4]
    assert fusion.keep_in_top(order, ids, {10}, 1).tolist() == [0, 1, 2, 3, 4, 5]
    assert fusion.keep_in_top(order, ids, {14, 15}, 3).tolist() == [0, 4, 5, 1, 2, 3]
    assert fusion.keep_in_top(order, ids, set(), 3).tolist() == order.tolist()


def test_rare_identifier_kept_first_among_2000_near_identical_notes(tmp_path):
    emb, cfg = BlindEmbedder(), Config(model="blind")
    build_index([_notes(tmp_path / "notes")], tmp_path / "idx", cfg, embedder=emb)
    r = Retriever.load(tmp_path / "idx", cfg, embedder=emb)
    for query, note in QUERIES.items():
        assert r.search(query, k=5, mode="lexical")[0].doc_id == note
        assert note not in [h.doc_id for h in r.search(query, k=5, mode="dense")]  # dense is blind to it
        assert r.search(query, k=5, mode="hybrid")[0].doc_id == note, query


def test_a_common_word_is_not_forced_up(tmp_path):
    emb, cfg = BlindEmbedder(), Config(model="blind")
    build_index([_notes(tmp_path / "notes")], tmp_path / "idx", cfg, embedder=emb)
    r = Retriever.load(tmp_path / "idx", cfg, embedder=emb)
    assert r._rare_exact_matches("What did the Team say about the Budget?") == set()  # in every note


@pytest.mark.slow
def test_rare_identifier_kept_with_the_real_model(tmp_path):
    cfg = Config(index_dir=tmp_path / "idx")
    build_index([_notes(tmp_path / "notes")], tmp_path / "idx", cfg)
    r = Retriever.load(tmp_path / "idx", cfg)
    for query, note in QUERIES.items():
        assert r.search(query, k=5, mode="hybrid")[0].doc_id == note, query
