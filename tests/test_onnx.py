"""The torch-free ONNX embedder: selection logic and pooling (fast, no model), and, with the real
model, that an export reproduces sentence-transformers and retrieval does not change (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rag.config import DEFAULT_MODEL, Config
from rag.embed import onnx as onnx_embed
from rag.embed.onnx import OnnxEmbedder
from rag.embed.registry import make_query_embedder
from rag.embed.sbert import SentenceTransformerEmbedder
from rag.errors import MissingDependencyError

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Why might Antonov's appointment matter?"


def gold_questions() -> list[str]:
    lines = (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


# -- fast: no model --------------------------------------------------------------------------------
def _fake_export(root: Path, model: str = "some/model") -> Path:
    path = onnx_embed.export_path(model, root)
    path.mkdir(parents=True)
    (path / onnx_embed.META_FILE).write_text(json.dumps({"dim": 7}))
    return path


def test_cache_root_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGQA_ONNX_CACHE", str(tmp_path / "x"))
    assert onnx_embed.cache_root() == tmp_path / "x"
    monkeypatch.delenv("RAGQA_ONNX_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert onnx_embed.cache_root() == tmp_path / "ragqa" / "onnx"


def test_export_key_changes_with_the_weights(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"1234")
    before = onnx_embed.export_path(str(model), tmp_path)
    (model / "model.safetensors").write_bytes(b"12345")
    assert onnx_embed.export_path(str(model), tmp_path) != before
    assert onnx_embed.export_path(str(model), tmp_path) == onnx_embed.export_path(str(model), tmp_path)


def test_backend_torch_is_sentence_transformers():
    assert isinstance(make_query_embedder(Config(backend="torch")), SentenceTransformerEmbedder)


def test_auto_uses_an_existing_export(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGQA_ONNX_CACHE", str(tmp_path))
    path = _fake_export(tmp_path)
    emb = make_query_embedder(Config(model="some/model"))
    assert isinstance(emb, OnnxEmbedder) and emb.path == path and emb.name == "some/model"
    assert emb.dim == 7  # from meta.json, without opening the model


def test_auto_without_export_or_torch_falls_back(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGQA_ONNX_CACHE", str(tmp_path))
    monkeypatch.setattr(onnx_embed, "can_export", lambda: False)
    assert isinstance(make_query_embedder(Config(model="some/model")), SentenceTransformerEmbedder)


def test_auto_without_export_exports_on_first_use(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGQA_ONNX_CACHE", str(tmp_path))
    monkeypatch.setattr(onnx_embed, "can_export", lambda: True)
    emb = make_query_embedder(Config(model="some/model"))
    assert isinstance(emb, OnnxEmbedder) and emb.export and isinstance(emb.fallback, SentenceTransformerEmbedder)
    assert not any(tmp_path.iterdir())  # nothing exported until the first embedding


def test_onnx_without_export_or_torch_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGQA_ONNX_CACHE", str(tmp_path))
    monkeypatch.setattr(onnx_embed, "can_export", lambda: False)
    with pytest.raises(MissingDependencyError, match="pip install"):
        make_query_embedder(Config(model="some/model", backend="onnx"))
    with pytest.raises(MissingDependencyError, match="pip install"):
        onnx_embed.export_onnx("some/model", tmp_path / "out")


def test_failed_export_falls_back_in_auto(monkeypatch, tmp_path, fake_embedder):
    def boom(*a, **k):
        raise RuntimeError("no exporter")

    monkeypatch.setattr(onnx_embed, "export_onnx", boom)
    emb = OnnxEmbedder("some/model", tmp_path / "none", export=True, fallback=fake_embedder)
    np.testing.assert_allclose(emb.embed("hello"), fake_embedder.embed("hello"))
    with pytest.raises(RuntimeError):
        OnnxEmbedder("some/model", tmp_path / "none", export=True).embed("hello")


def test_mean_pooling_ignores_padding_and_normalises():
    hidden = np.array([[[1, 0], [3, 0], [100, 100]]], dtype=np.float32)
    v = onnx_embed._pool(hidden, np.array([[1, 1, 0]]), "mean")
    np.testing.assert_allclose(v, [[1.0, 0.0]])
    np.testing.assert_allclose(np.linalg.norm(onnx_embed._pool(hidden, np.ones((1, 3)), "mean"), axis=1), 1.0,
                               rtol=1e-6)
    np.testing.assert_allclose(onnx_embed._pool(hidden, np.array([[1, 1, 0]]), "cls"), [[1.0, 0.0]])


class _FakeSession:
    """Token vectors [id, 1]: a text's pooled vector depends on its ids only, never on padding."""

    def run(self, _, feeds):
        ids = feeds["input_ids"].astype(np.float32)
        return [np.stack([ids, np.ones_like(ids)], axis=-1)]


class _FakeTokenizer:
    def encode_batch(self, texts):
        return [SimpleNamespace(ids=[ord(c) for c in t] or [1], type_ids=[0] * max(1, len(t))) for t in texts]


def test_embed_many_sorts_by_length_and_restores_order():
    emb = OnnxEmbedder("fake")
    emb._session, emb._tokenizer = _FakeSession(), _FakeTokenizer()
    emb._meta = {"dim": 2, "inputs": ["input_ids", "attention_mask", "token_type_ids"], "pad_id": 0,
                 "pooling": "mean"}
    texts = ["a", "zzzzzzzzzz", "bb", "", "hello world", "a"]
    one_by_one = np.vstack([emb.embed(t) for t in texts])
    done = []
    np.testing.assert_allclose(emb.embed_many(texts, batch_size=4, progress=done.append), one_by_one, rtol=1e-6)
    np.testing.assert_allclose(emb.embed_batch(texts), one_by_one, rtol=1e-6)
    assert done == [4, 6]
    assert emb.embed_many([]).shape == (0, 2)


# -- slow: the real model --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def export_root(tmp_path_factory):
    """A fresh export of the default model into a private cache (also tests the export itself)."""
    if not onnx_embed.can_export():
        pytest.skip("exporting needs torch, sentence-transformers and onnx (pip install onnx)")
    root = tmp_path_factory.mktemp("onnx-cache")
    path = onnx_embed.export_onnx(DEFAULT_MODEL, onnx_embed.export_path(DEFAULT_MODEL, root))
    assert onnx_embed.find_export(DEFAULT_MODEL, root) == path
    return root


@pytest.fixture(scope="module")
def embedders(export_root):
    return (OnnxEmbedder(DEFAULT_MODEL, onnx_embed.find_export(DEFAULT_MODEL, export_root)),
            SentenceTransformerEmbedder(DEFAULT_MODEL))


@pytest.mark.slow
def test_export_is_committed_atomically_and_once(export_root):
    path = onnx_embed.find_export(DEFAULT_MODEL, export_root)
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "model.onnx", "tokenizer.json"]
    assert not [p for p in export_root.iterdir() if p.name.startswith(".tmp-")]
    meta = json.loads((path / "meta.json").read_text())
    assert meta["opset"] >= 14 and meta["max_seq_length"] == 256 and meta["pooling"] == "mean"
    assert meta["probe_min_cosine"] >= onnx_embed.MIN_COSINE
    mtime = (path / "model.onnx").stat().st_mtime_ns
    assert onnx_embed.export_onnx(DEFAULT_MODEL, path) == path  # already there: nothing redone
    assert (path / "model.onnx").stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_vectors_match_torch_on_gold_questions_and_long_texts(embedders):
    onnx, torch = embedders
    texts = gold_questions() + ["word " * 600, "  padded  ", "Ünïcödé ✓"]
    a, b = onnx.embed_batch(texts), torch.embed_batch(texts)
    assert a.shape == b.shape == (len(texts), 384)
    assert float((a * b).sum(axis=1).min()) >= 0.999
    assert float((onnx.embed_many(texts, batch_size=8) * b).sum(axis=1).min()) >= 0.999


@pytest.mark.slow
def test_top5_identical_to_torch_on_gold_questions(embedders):
    from rag.retrieve.retriever import Retriever

    onnx, torch = embedders
    base = Retriever.load(embedder=torch)
    r_onnx, r_torch = Retriever(base.data, base.config, onnx), Retriever(base.data, base.config, torch)
    for q in gold_questions():
        for mode in ("hybrid", "dense"):
            got = [p.chunk_id for p in r_onnx.search(q, k=5, mode=mode)]
            want = [p.chunk_id for p in r_torch.search(q, k=5, mode=mode)]
            assert got == want, (q, mode)


@pytest.mark.slow
def test_ask_never_imports_torch(export_root):
    code = ("import sys; from rag.cli import main; rc = main(['ask', %r]); "
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH'); sys.exit(rc)" % QUESTION)
    env = dict(os.environ, RAGQA_ONNX_CACHE=str(export_root), RAGQA_BACKEND="auto")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("NO-TORCH"), out.stdout[-500:]
    assert "Antonov" in out.stdout
