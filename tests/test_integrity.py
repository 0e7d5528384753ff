"""Every file of the index is verified (issue #12, item 4): sizes and sha256 of every file, BM25's
included; damaged or out-of-range BM25 data raises IndexCorruptedError naming the file, also above
the hashing limit, never a raw IndexError or silently wrong scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.config import Config
from rag.errors import IndexCorruptedError
from rag.retrieve.retriever import Retriever
from rag.store import disk as store
from rag.store.indexer import build_index

FAKE = Config(model="fake")


@pytest.fixture
def index(tmp_path, fake_embedder):
    src = tmp_path / "src"
    src.mkdir()
    for i, topic in enumerate(["beans climb poles", "tomatoes need sun", "ships dock in harbours"]):
        (src / f"n{i}.txt").write_text(f"Notes about {topic}.\n\nMore about {topic} and weather.", encoding="utf-8")
    out = tmp_path / "idx"
    build_index([src], out, FAKE, embedder=fake_embedder)
    return out


def _lexical(out):
    m = json.loads((out / "manifest.json").read_text())
    return out / m["files"]["lexical"]["name"]


def _search(out, fake_embedder):
    return Retriever.load(out, FAKE, embedder=fake_embedder).search("beans poles", k=2, mode="lexical")


def _rewrite(path, arr):
    """Replace an .npy file's array, keeping the file size (as a flipped or zeroed block would)."""
    size = path.stat().st_size
    np.save(path, arr)
    assert path.stat().st_size == size


@pytest.mark.parametrize("name", ["data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy",
                                  "vocab.index.json", "params.index.json"])
def test_a_flipped_byte_in_any_bm25_file_is_caught(index, fake_embedder, name):
    f = _lexical(index) / name
    raw = bytearray(f.read_bytes())
    raw[-2] ^= 0x01
    f.write_bytes(bytes(raw))
    with pytest.raises(IndexCorruptedError, match=f"{name}.*checksum"):
        _search(index, fake_embedder)


def test_a_missing_bm25_file_is_named(index, fake_embedder):
    (_lexical(index) / "vocab.index.json").unlink()
    with pytest.raises(IndexCorruptedError, match="missing vocab.index.json"):
        _search(index, fake_embedder)


@pytest.fixture
def unhashed(monkeypatch):
    """Files over HASH_MAX_BYTES are only size-checked: the loader's own checks must hold."""
    monkeypatch.setattr(store, "HASH_MAX_BYTES", 0)


def test_zeroed_bm25_scores_are_refused_not_used(index, fake_embedder, unhashed):
    f = _lexical(index) / "data.csc.index.npy"
    _rewrite(f, np.zeros_like(np.load(f)))
    with pytest.raises(IndexCorruptedError, match="data.csc.index.npy is damaged"):
        _search(index, fake_embedder)


def test_out_of_range_bm25_document_ids_are_refused(index, fake_embedder, unhashed):
    f = _lexical(index) / "indices.csc.index.npy"
    arr = np.load(f)
    arr[0] = 10_000
    _rewrite(f, arr)
    with pytest.raises(IndexCorruptedError, match="indices.csc.index.npy is damaged"):
        _search(index, fake_embedder)


def test_bm25_offsets_out_of_range_are_refused(index, fake_embedder, unhashed):
    f = _lexical(index) / "indptr.csc.index.npy"
    arr = np.load(f)
    arr[-1] = arr[-1] + 7
    _rewrite(f, arr)
    with pytest.raises(IndexCorruptedError, match="indptr.csc.index.npy is damaged"):
        _search(index, fake_embedder)


def test_bm25_for_another_number_of_chunks_is_refused(index, fake_embedder, unhashed):
    f = _lexical(index) / "params.index.json"
    params = json.loads(f.read_text())
    params["num_docs"] += 1
    text = json.dumps(params)
    f.write_text(text + " " * (f.stat().st_size - len(text)))
    with pytest.raises(IndexCorruptedError, match="params.index.json is damaged"):
        _search(index, fake_embedder)


def test_an_intact_index_still_searches(index, fake_embedder, unhashed):
    hits = _search(index, fake_embedder)
    assert hits[0].doc_id == "n0"


def test_bm25_built_from_a_stream_of_ids_scores_as_bm25s_from_tokens(tmp_path):
    """LexicalIndex.build holds token ids, not texts or token strings (issue 13, build memory): its
    scores equal bm25s indexing the token lists directly, and the same texts give the same files."""
    from rag.ingest.terms import tokenize
    from rag.store.lexical import LexicalIndex, _bm25s

    texts = ["Cats purr when content.", "A cat sleeps most of the day.", "", "Ships carry steel boxes; ships dock.",
             "The harbour hosts container ships.", "Kittens open their eyes after a week."]
    built = LexicalIndex.build(t for t in texts)  # a generator, read once
    ref = _bm25s().BM25()
    ref.index([tokenize(t) or ["\x00empty"] for t in texts], show_progress=False)
    for query in ("ships", "cat purr", "harbour ships boxes", "week eyes kittens", "nothing here"):
        toks = [t for t in tokenize(query) if t in built.vocabulary]
        want = np.asarray(ref.get_scores(toks), dtype=np.float32) if toks else np.zeros(len(texts), np.float32)
        np.testing.assert_allclose(built.scores(query), want, rtol=1e-6)
    assert built.vocabulary == set(ref.vocab_dict)
    built.save(tmp_path / "a")
    LexicalIndex.build(texts).save(tmp_path / "b")
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name
