"""Readers survive any number of rebuilds (issue #12, item 9): a Retriever whose generation was
removed re-opens the current manifest, goes on, and says so in the log."""

from __future__ import annotations

import logging

import pytest

from rag.config import Config
from rag.errors import IndexCorruptedError
from rag.retrieve.retriever import Retriever
from rag.store.indexer import build_index

FAKE = Config(model="fake")
Q = "How often should tomatoes be watered?"


@pytest.fixture
def src(tmp_path):
    f = tmp_path / "tomatoes.txt"
    f.write_text("Tomatoes need sun.\n\nWater tomatoes deeply twice a week.", encoding="utf-8")
    return f


def _hits(r):
    return [(h.doc_id, h.paragraphs, h.text) for h in r.search(Q, k=3)]


@pytest.mark.parametrize("rebuilds", [2, 5])
def test_a_reader_survives_rebuilds(src, tmp_path, fake_embedder, caplog, rebuilds):
    out = tmp_path / "idx"
    build_index([src], out, FAKE, embedder=fake_embedder)
    reader = Retriever.load(out, FAKE, embedder=fake_embedder)  # loaded, FAISS and BM25 not opened yet
    for i in range(rebuilds):
        src.write_text(f"Tomatoes need sun.\n\nWater tomatoes deeply, round {i}.", encoding="utf-8")
        build_index([src], out, FAKE, embedder=fake_embedder)
    with caplog.at_level(logging.WARNING, logger="rag"):
        hits = _hits(reader)
    assert hits == _hits(Retriever.load(out, FAKE, embedder=fake_embedder))
    assert f"round {rebuilds - 1}" in reader.documents["tomatoes"].text
    assert any("reopened" in r.getMessage() for r in caplog.records)


def test_a_really_damaged_index_still_raises(src, tmp_path, fake_embedder):
    import json

    out = tmp_path / "idx"
    build_index([src], out, FAKE, embedder=fake_embedder)
    reader = Retriever.load(out, FAKE, embedder=fake_embedder)
    m = json.loads((out / "manifest.json").read_text())
    (out / m["files"]["faiss"]["name"]).write_bytes(b"garbage")
    with pytest.raises(IndexCorruptedError):
        reader.search(Q, mode="dense")


def test_an_assistant_in_dense_mode_survives_rebuilds(src, tmp_path, fake_embedder):
    from rag.answer.assistant import Assistant

    out = tmp_path / "idx"
    build_index([src], out, FAKE, embedder=fake_embedder)
    assistant = Assistant(Retriever.load(out, FAKE.replace(mode="dense"), embedder=fake_embedder), "extractive")
    for i in range(2):
        src.write_text(f"Tomatoes need sun.\n\nWater tomatoes deeply, round {i}.", encoding="utf-8")
        build_index([src], out, FAKE, embedder=fake_embedder)
    assert assistant.ask("How should tomatoes be watered?").passages
