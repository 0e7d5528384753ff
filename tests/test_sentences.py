"""Sentence vectors (issue 13, item 1): embedded at query time in one batch and cached, or read
from an index written before schema 4."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.ingest.chunking import chunk_sentences
from rag.retrieve.retriever import Retriever
from rag.store import disk as store
from rag.store.indexer import build_index

TEXT = """Cats are small domesticated carnivores. They purr when content.

A container ship carries thousands of steel boxes. Tugboats guide it into the harbour.

Kittens are born blind. They open their eyes after about a week."""


class Counting:
    """Wraps an embedder and records every batch it is asked for."""

    def __init__(self, inner):
        self.inner, self.batches = inner, []
        self.name, self.dim = inner.name, inner.dim

    def embed_batch(self, texts):
        self.batches.append(list(texts))
        return self.inner.embed_batch(texts)

    def embed(self, text):
        return self.embed_batch([text])[0]

    def embed_many(self, texts, batch_size=32, progress=None):
        return self.embed_batch(texts)


@pytest.fixture
def small_index(tmp_path, fake_embedder, fake_config):
    """sentence_vectors="query": no sentence vectors on disk."""
    src = tmp_path / "a.txt"
    src.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "idx"
    build_index([src], out, fake_config.replace(max_tokens=20, min_tokens=0, sentence_vectors="query"),
                embedder=fake_embedder)
    return out


def _sentence_texts(r: Retriever, row: int) -> list[str]:
    doc = r.documents[r.data.chunks[row].doc_id]
    return [doc.text[s:e] for s, e, _ in r.sentences(row)]


def test_query_mode_stores_no_sentence_vectors(small_index):
    m = json.loads((small_index / "manifest.json").read_text())
    assert m["schema_version"] == store.SCHEMA_VERSION >= 4 and m["sentence_vectors"] == "query"
    assert "sentences" not in m["files"]
    assert not list(small_index.glob("sentence*"))


def test_stored_mode_float16_memory_mapped_and_reused(tmp_path, fake_embedder, fake_config):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(TEXT, encoding="utf-8")
    cfg = fake_config.replace(max_tokens=20, min_tokens=0)  # sentence_vectors="stored" is the default
    out = tmp_path / "idx"
    build_index([src], out, cfg, embedder=fake_embedder)
    data = store.load(out)
    assert data.sentence_vectors.dtype == np.float16 and isinstance(data.sentence_vectors, np.memmap)
    emb = Counting(fake_embedder)
    r = Retriever.load(out, config=cfg, embedder=emb)
    for row in range(len(r.data.chunks)):
        want = fake_embedder.embed_batch(_sentence_texts(r, row))
        np.testing.assert_allclose(r.sentence_vectors(row), want, atol=2e-3)  # float16
    r.search("kittens open their eyes", k=2)
    assert emb.batches == [["kittens open their eyes"]], "only the query is embedded"
    (src / "b.txt").write_text("Bees make honey. They live in hives.", encoding="utf-8")
    emb = Counting(fake_embedder)
    rep = build_index([src], out, cfg, embedder=emb)
    assert rep.reused == len(data.chunks) and rep.added == ("b",)
    assert emb.batches == [["Bees make honey. They live in hives."], ["Bees make honey.", "They live in hives."]]
    again = store.load(out)
    n = int(data.sentence_offsets[-1])
    np.testing.assert_array_equal(again.sentence_vectors[:n], data.sentence_vectors[:n])


def test_query_time_sentences_one_batch_then_cached(small_index, fake_embedder, fake_config):
    emb = Counting(fake_embedder)
    r = Retriever.load(small_index, config=fake_config, embedder=emb)
    rows = list(range(len(r.data.chunks)))
    assert len(rows) >= 2
    got = r.sentence_store.get(rows)
    assert len(emb.batches) == 1, "every chunk's sentences in one batch"
    assert emb.batches[0] == [t for row in rows for t in _sentence_texts(r, row)]
    for row, vecs in zip(rows, got):
        np.testing.assert_allclose(vecs, fake_embedder.embed_batch(_sentence_texts(r, row)), atol=1e-6)
    r.sentence_store.get(rows[::-1])
    r.search("kittens open their eyes", k=2)  # hybrid: re-scores sentences of cached chunks
    assert len(emb.batches) == 2, f"only the query was embedded again: {emb.batches[1:]}"
    assert emb.batches[1] == ["kittens open their eyes"]


def test_schema_3_float32_npz_sentence_vectors_are_read(small_index, fake_embedder, fake_config):
    data = store.load(small_index)
    docs = data.documents
    spans = [chunk_sentences(docs[c.doc_id], c) for c in data.chunks]
    texts = [docs[c.doc_id].text[s:e] for c, sp in zip(data.chunks, spans) for s, e, _ in sp]
    stored = -fake_embedder.embed_batch(texts)  # negated: proves these, not fresh ones, are used
    offsets = np.concatenate([[0], np.cumsum([len(sp) for sp in spans])])
    name = "sentences-legacy.npz"
    np.savez(small_index / name, vectors=stored, offsets=offsets)
    m = json.loads((small_index / "manifest.json").read_text())
    m["files"]["sentences"] = {"name": name, "size": (small_index / name).stat().st_size}
    (small_index / "manifest.json").write_text(json.dumps(m))
    emb = Counting(fake_embedder)
    r = Retriever.load(small_index, config=fake_config, embedder=emb)
    np.testing.assert_array_equal(r.sentence_vectors(0), stored[: offsets[1]])
    assert emb.batches == []


@pytest.mark.slow
def test_real_model_query_time_sentence_vectors_match_the_model(bundled_retriever):
    r = bundled_retriever
    rows = [p.chunk_id for p in r.search("Who is the Russian ambassador?", k=3)]
    for row in rows:
        got = r.sentence_vectors(row)
        want = r.embedder.embed_batch(_sentence_texts(r, row))
        assert got.shape == want.shape and got.shape[0] >= 1
        assert float(np.min(np.sum(got * want, axis=1))) > 0.9999
