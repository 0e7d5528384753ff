"""``sentence_vectors="pooled"`` (issue 13): sentence vectors mean-pooled from their chunk's own
forward pass (real MiniLM through ONNX), stored, reused and checkpointed like embedded ones."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.config import DEFAULT_MODEL, Config
from rag.embed.onnx import OnnxEmbedder, find_export
from rag.store import disk as store
from rag.store.indexer import build_index

SENTENCES = ["The cat purred on the warm windowsill all afternoon.",
             "A container ship entered the harbour guided by two tugboats.",
             "The central bank raised interest rates to curb inflation."]


@pytest.fixture(scope="module")
def onnx():
    if find_export(DEFAULT_MODEL) is None:
        pytest.skip("no ONNX export of the default model in the cache")
    return OnnxEmbedder(DEFAULT_MODEL)


def _spans(text: str, parts: list[str]) -> list[tuple[int, int]]:
    out, at = [], 0
    for p in parts:
        a = text.index(p, at)
        out.append((a, a + len(p)))
        at = a + len(p)
    return out


def test_span_vectors_come_from_the_texts_own_pass(onnx):
    text = " ".join(SENTENCES)
    other = "Bees make honey in hives."
    vecs, spans = onnx.embed_spans([other, text], [[(0, 4)], _spans(text, SENTENCES)])
    np.testing.assert_allclose(vecs, onnx.embed_many([other, text]), atol=1e-5)
    assert spans[1].shape == (3, onnx.dim)
    np.testing.assert_allclose(np.linalg.norm(spans[1], axis=1), 1.0, rtol=1e-5)
    alone = onnx.embed_many(SENTENCES)
    sims = spans[1] @ alone.T
    assert list(sims.argmax(axis=1)) == [0, 1, 2], f"each pooled sentence is nearest its own: {sims}"
    assert float(sims.diagonal().min()) < 0.999, "pooled in context, not the sentence embedded alone"


def test_a_span_cut_off_by_truncation_is_embedded_alone(onnx):
    filler = "Sergei Kislyak discussed sanctions with the new administration. " * 40  # > 256 tokens
    last = "Tugboats guide container ships into the harbour."
    text = filler + last
    _, spans = onnx.embed_spans([text], [[(0, 20), (len(filler), len(text))]])
    assert float(spans[0][1] @ onnx.embed(last)) > 0.9999


def test_pooled_index_stores_reuses_and_searches(tmp_path, onnx):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(" ".join(SENTENCES[:2]) + "\n\n" + SENTENCES[2], encoding="utf-8")
    cfg = Config(min_tokens=0, max_tokens=30, sentence_vectors="pooled")  # one chunk per paragraph
    out = tmp_path / "idx"

    class Counting:
        def __init__(self):
            self.name, self.dim, self.texts = onnx.name, onnx.dim, []

        def embed_spans(self, texts, spans, batch_size=32):
            self.texts += texts
            return onnx.embed_spans(texts, spans, batch_size)

    emb = Counting()
    build_index([src], out, cfg, embedder=emb)
    assert json.loads((out / "manifest.json").read_text())["sentence_vectors"] == "pooled"
    data = store.load(out)
    assert len(emb.texts) == len(data.chunks) == 2
    assert data.sentence_vectors.dtype == np.float16 and list(data.sentence_offsets) == [0, 2, 3]
    _, want = onnx.embed_spans([SENTENCES[2]], [[(0, len(SENTENCES[2]))]])
    np.testing.assert_allclose(np.asarray(data.sentence_vectors[2], np.float32), want[0][0], atol=2e-3)
    (src / "b.txt").write_text("Bees make honey. They live in hives.", encoding="utf-8")
    emb = Counting()
    rep = build_index([src], out, cfg, embedder=emb)
    assert rep.reused == 2 and emb.texts == ["Bees make honey. They live in hives."]
    again = store.load(out)
    np.testing.assert_array_equal(again.sentence_vectors[:3], data.sentence_vectors[:3])
    from rag.retrieve.retriever import Retriever

    r = Retriever.load(out, config=cfg, embedder=onnx)
    hit = r.search("Where do bees live?", k=1)[0]
    assert r.data.chunks[hit.chunk_id].doc_id == "b"
    assert r.sentence_vectors(hit.chunk_id).shape == (2, onnx.dim)


def test_interrupted_pooled_build_resumes(tmp_path, fake_embedder, fake_config, monkeypatch):
    """Killed after the first checkpoint slice: the re-run embeds only the remaining chunks, and
    chunk and sentence vectors equal an uninterrupted build's (generic ``embed_spans``)."""
    from rag.store import checkpoint

    monkeypatch.setattr(checkpoint, "SLICE", 2)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"d{i}.txt").write_text(f"Topic{i} is one thing. Subject{i} is another.\n\nMatter{i} is third.",
                                       encoding="utf-8")
    cfg = fake_config.replace(min_tokens=0, max_tokens=12, sentence_vectors="pooled")
    calls = []

    class Dies:
        name, dim = "fake", 64

        def embed_many(self, texts, batch_size=32, progress=None):
            calls.append(list(texts))
            if len(calls) == 3:  # the second slice's chunks (call 3; call 2 was slice 1's sentences)
                raise KeyboardInterrupt
            return fake_embedder.embed_batch(texts)

    out = tmp_path / "idx"
    with pytest.raises(KeyboardInterrupt):
        build_index([src], out, cfg, embedder=Dies())
    calls.clear()

    class Counts(Dies):
        def embed_many(self, texts, batch_size=32, progress=None):
            calls.append(list(texts))
            return fake_embedder.embed_batch(texts)

    report = build_index([src], out, cfg, embedder=Counts())
    chunk_calls = calls[0::2]  # per slice: its chunks, then its sentences
    assert report.chunks == 6 and sum(map(len, chunk_calls)) == 4, "the first slice's 2 chunks not again"
    whole = build_index([src], tmp_path / "whole", cfg, embedder=fake_embedder, incremental=False)
    a, b = store.load(out), store.load(whole.path)
    np.testing.assert_array_equal(a.sentence_vectors, b.sentence_vectors)
    np.testing.assert_array_equal(a.sentence_offsets, b.sentence_offsets)
