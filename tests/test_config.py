"""Config: defaults < RAGQA_* environment < explicit overrides; invalid values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import DEFAULT_MODEL, Config


def test_defaults():
    c = Config()
    assert (c.k, c.mode, c.generator, c.model, c.max_tokens, c.min_tokens, c.overlap) == (
        5, "hybrid", "extractive", DEFAULT_MODEL, 180, 80, 0)
    assert c.is_bundled


def test_from_env_reads_k_and_generator():
    c = Config.from_env({"RAGQA_K": "3", "RAGQA_GENERATOR": "local"})
    assert (c.k, c.generator) == (3, "local")


def test_from_env_override_wins():
    c = Config.from_env({"RAGQA_K": "3", "RAGQA_GENERATOR": "local"}, k=7, generator="extractive")
    assert (c.k, c.generator) == (7, "extractive")


def test_from_env_none_override_ignored():
    assert Config.from_env({"RAGQA_K": "3"}, k=None).k == 3


def test_from_env_empty_value_ignored():
    assert Config.from_env({"RAGQA_K": "", "RAGQA_MODE": ""}) == Config()


def test_from_env_types():
    c = Config.from_env({"RAGQA_TIMEOUT": "2.5", "RAGQA_INDEX_DIR": "/tmp/somewhere", "RAGQA_MAX_FILE_MB": "1"})
    assert c.timeout == 2.5 and isinstance(c.timeout, float)
    assert c.index_dir == Path("/tmp/somewhere") and not c.is_bundled
    assert c.resolved_index_dir == Path("/tmp/somewhere")
    assert c.max_file_mb == 1.0


def test_from_env_reads_openai_variables():
    c = Config.from_env({"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1", "OPENAI_API_KEY": "sk-test"})
    assert (c.openai_base_url, c.openai_api_key) == ("http://127.0.0.1:8080/v1", "sk-test")


def test_ragqa_openai_base_url_beats_openai_base_url():
    c = Config.from_env({"OPENAI_BASE_URL": "http://a/v1", "RAGQA_OPENAI_BASE_URL": "http://b/v1"})
    assert c.openai_base_url == "http://b/v1"


def test_from_env_ignores_unrelated_variables():
    assert Config.from_env({"K": "9", "GENERATOR": "local", "RAGQA_UNKNOWN": "x"}) == Config()


def test_from_env_defaults_to_process_environment(monkeypatch):
    monkeypatch.setenv("RAGQA_K", "4")
    monkeypatch.setenv("RAGQA_MODE", "dense")
    c = Config.from_env()
    assert (c.k, c.mode) == (4, "dense")


def test_replace_returns_copy():
    c = Config()
    d = c.replace(k=2, mode="dense")
    assert (c.k, c.mode, d.k, d.mode) == (5, "hybrid", 2, "dense")


def test_replace_none_turns_an_option_off():
    c = Config(reranker="some/cross-encoder")
    assert c.replace(reranker=None).reranker is None


def test_from_env_ignores_unset_flags():
    assert Config.from_env({}, k=None, mode=None).k == 5


def test_timeout_must_be_finite():
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="timeout must be a finite number"):
            Config(timeout=bad)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        Config().k = 3


@pytest.mark.parametrize("kwargs, match", [
    ({"k": 0}, r"k must be a positive integer\. Currently, k is 0"),
    ({"k": -2}, r"Currently, k is -2"),
    ({"mode": "sparse"}, r"mode must be one of 'hybrid', 'dense', 'lexical'\. Currently, mode is 'sparse'"),
    ({"generator": "gpt"}, r"generator must be .* Currently, generator is 'gpt'"),
    ({"backend": "cuda"}, r"backend must be .* Currently, backend is 'cuda'"),
    ({"timeout": 0}, r"timeout must be a finite number of seconds greater than 0"),
    ({"n_threads": 0}, r"n_threads must be at least 1"),
    ({"abstain_threshold": 1.5}, r"abstain_threshold must be a number from 0 to 1 .* Currently, abstain_threshold is 1\.5"),
    ({"abstain_threshold": -0.1}, r"Currently, abstain_threshold is -0\.1"),
    ({"abstain_threshold": "high"}, r"Currently, abstain_threshold is 'high'"),
])
def test_invalid_values_raise_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Config(**kwargs)


def test_invalid_env_k_raises_naming_k():
    with pytest.raises(ValueError, match=r"Currently, k is 0"):
        Config.from_env({"RAGQA_K": "0"})


def test_invalid_env_mode_raises_naming_mode():
    with pytest.raises(ValueError, match=r"Currently, mode is 'fast'"):
        Config.from_env({"RAGQA_MODE": "fast"})


def test_invalid_override_raises():
    with pytest.raises(ValueError, match=r"Currently, k is 0"):
        Config.from_env({}, k=0)


def test_non_numeric_env_k_names_variable():
    with pytest.raises(ValueError, match="RAGQA_K"):
        Config.from_env({"RAGQA_K": "abc"})


def test_abstain_threshold_from_env_and_default():
    assert Config().abstain_threshold is None
    assert Config.from_env({"RAGQA_ABSTAIN_THRESHOLD": "0.5"}).abstain_threshold == 0.5
    with pytest.raises(ValueError, match="RAGQA_ABSTAIN_THRESHOLD must be a number"):
        Config.from_env({"RAGQA_ABSTAIN_THRESHOLD": "high"})
