"""Shared fixtures. Real model and FAISS for integration tests; a tiny deterministic fake
embedder for unit tests of pure logic."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `from tests.servers import ...`


class FakeEmbedder:
    """Bag-of-words hashed into 64 dims: deterministic, instant, similar texts get similar vectors."""

    name = "fake"
    dim = 64

    def embed_batch(self, texts):
        from rag.ingest.terms import tokenize

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for tok in tokenize(t) or ["empty"]:
                out[i, int(hashlib.md5(tok.encode()).hexdigest(), 16) % self.dim] += 1
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def embed(self, text):
        return self.embed_batch([text])[0]

    def embed_many(self, texts, batch_size=32, progress=None):
        v = self.embed_batch(texts)
        if progress:
            progress(len(texts))
        return v


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def fake_config():
    from rag.config import Config

    return Config(model="fake")


@pytest.fixture(scope="session")
def bundled_assistant():
    """The real thing: bundled article, real MiniLM, real FAISS, extractive generator."""
    from rag import Assistant

    return Assistant.load(generator="extractive")


@pytest.fixture(scope="session")
def bundled_retriever(bundled_assistant):
    return bundled_assistant.retriever


PETS = ("Cats are small domesticated carnivores that purr when they are content.\n\n"
        "Dogs bark loudly at strangers who come near the house at night.\n\n"
        "Parrots can learn to imitate human speech and live for decades.")


@pytest.fixture
def fake_retriever(tmp_path, fake_embedder):
    """A real index (real FAISS and BM25) of three short paragraphs, embedded by the fake embedder."""
    from rag import Retriever, build_index
    from rag.config import Config

    src = tmp_path / "pets.txt"
    src.write_text(PETS, encoding="utf-8")
    cfg = Config(model="fake", min_tokens=0)
    build_index([src], tmp_path / "idx", cfg, embedder=fake_embedder)
    return Retriever.load(tmp_path / "idx", config=cfg, embedder=fake_embedder)


@pytest.fixture
def fake_models(monkeypatch, fake_embedder):
    """Every embedder the CLI creates is the fake one, and no RAGQA_* variable leaks in."""
    import rag.embed.registry

    monkeypatch.setattr(rag.embed.registry, "make_query_embedder", lambda *a, **k: fake_embedder)
    for var in [v for v in os.environ if v.startswith("RAGQA_")]:
        monkeypatch.delenv(var)
