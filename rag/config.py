"""One typed configuration object. Defaults < ``RAGQA_*`` environment variables < explicit overrides
(CLI flags, keyword arguments). Nothing global: a ``Config`` is passed to what needs it."""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass
from pathlib import Path

from rag.types import Mode

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
STORAGE = ("exact", "compact")  # Config.storage: how an index keeps its vectors on disk


def default_index_dir() -> Path:
    """``index/`` in the checkout (editable install), else a per-user cache directory."""
    repo_index = PACKAGE_DIR.parent / "index"
    if (PACKAGE_DIR.parent / "pyproject.toml").exists():
        return repo_index
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ragqa" / "index"


@dataclass(frozen=True)
class Config:
    index_dir: Path | None = None  # None: the bundled article's index
    model: str = DEFAULT_MODEL  # sentence-transformers name or local path
    backend: str = "auto"  # query embedding: "auto" (ONNX when exported, else torch), "onnx", "torch"
    encoding: str = "cl100k_base"
    max_tokens: int = 180
    min_tokens: int = 80
    overlap: int = 0
    k: int = 5
    mode: Mode = Mode.HYBRID  # rag.types.Mode: "hybrid" | "dense" | "lexical"
    reranker: str | None = None  # a sentence-transformers CrossEncoder name or local path; off by default
    generator: str = "extractive"  # a name in rag.answer.registry.GENERATORS
    openai_base_url: str | None = None
    openai_model: str = "default"
    openai_api_key: str | None = None
    timeout: float = 30.0  # seconds, for the openai backend
    n_threads: int = 2  # llama.cpp threads for the local generator
    model_path: Path | None = None  # GGUF file for the local generator (None: the bundled SmolLM2-135M)
    max_file_mb: float = 25.0
    # "stored": sentence vectors embedded at build time, kept on disk (as ``storage`` says) and
    # memory-mapped; "query": embedded at query time for the chunks a query re-scores (faster build,
    # smaller index, slower first search of each chunk); "pooled": mean-pooled from each chunk's own pass, stored (build ~2x
    # less model time, but recall@1 -0.013 gold, -0.057 gold2, -0.022 SQuAD A: opt-in, see
    # eval/reports/sentence_pooled.md). Measured in BENCHMARKS.md, "Scale".
    sentence_vectors: str = "stored"
    # How an index keeps its vectors on disk. "exact": sentence vectors float16, chunk vectors float32;
    # "compact": sentence vectors 6 bits a component with a scale per row (rag.store.quant), chunk
    # vectors FAISS 8-bit scalar-quantized: 2.7-2.9 KB a paragraph beyond the text instead of 6.5 at
    # 1k-100k paragraphs (BENCHMARKS.md, "Scale"), retrieval and SQuAD part A within 0.003, but a
    # boundary answer or two moves on the small gold sets (gold key-fact recall 0.923 -> 0.897, gold2
    # token F1 -0.015; eval/reports/compact_storage.md): opt-in.
    storage: str = "exact"
    vector_store: str = "faiss"  # where an index keeps its chunk vectors: a name in rag.store.vectorstore.VECTOR_STORES
    milvus_uri: str | None = None  # --vector-store milvus: a milvus-lite file path, or http://host:19530
    feedback_path: Path | None = None
    # P(answerable) below which the assistant says the documents don't say; None: the operating point
    # stored in the answerability model (rag/data/answerability.json), the highest threshold whose
    # out-of-fold false abstention is at most 0.10 on SQuAD part A, gold and gold2. Higher abstains
    # more often, on answerable questions too: eval/reports/answerability/report.md has the
    # precision-recall curve, and ``ragqa eval`` records each answer's ``answerability`` to draw your own.
    abstain_threshold: float | None = None

    def __post_init__(self):
        from rag.answer.registry import (
            GENERATORS,  # the names only: nothing heavy is imported
        )
        from rag.embed.registry import BACKENDS

        if not isinstance(self.k, int) or isinstance(self.k, bool) or self.k < 1:
            raise ValueError(f"k must be a positive integer. Currently, k is {self.k!r}")
        object.__setattr__(self, "mode", Mode.from_str(self.mode))
        GENERATORS.check(self.generator)
        from rag.store.vectorstore import (
            VECTOR_STORES,  # names only: no engine is imported
        )

        VECTOR_STORES.check(self.vector_store)
        if self.storage not in STORAGE:
            raise ValueError(f"storage must be {' or '.join(map(repr, STORAGE))}. Currently, storage is {self.storage!r}")
        if self.sentence_vectors not in ("stored", "pooled", "query"):
            raise ValueError(f"sentence_vectors must be 'stored', 'pooled' or 'query'. "
                             f"Currently, sentence_vectors is {self.sentence_vectors!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}. "
                             f"Currently, backend is {self.backend!r}")
        if not (isinstance(self.timeout, (int, float)) and math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"timeout must be a finite number of seconds greater than 0. "
                             f"Currently, timeout is {self.timeout!r}")
        t = self.abstain_threshold
        if t is not None and not (isinstance(t, (int, float)) and not isinstance(t, bool) and 0.0 <= t <= 1.0):
            raise ValueError(f"abstain_threshold must be a number from 0 to 1 (or None for the model's own). "
                             f"Currently, abstain_threshold is {t!r}")
        if self.n_threads < 1:
            raise ValueError(f"n_threads must be at least 1. Currently, n_threads is {self.n_threads}")

    @property
    def resolved_index_dir(self) -> Path:
        return Path(self.index_dir) if self.index_dir else default_index_dir()

    @property
    def is_bundled(self) -> bool:
        return self.index_dir is None

    def replace(self, **changes) -> "Config":
        """A copy with ``changes`` applied, ``None`` included: ``cfg.replace(reranker=None)`` turns
        the reranker off."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> "Config":
        """Defaults, then ``RAGQA_<FIELD>`` env vars (e.g. ``RAGQA_GENERATOR=local``), then ``overrides``.
        An override that is ``None`` is an unset command-line flag and changes nothing."""
        env = os.environ if env is None else env
        hints = typing.get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):
            name = f"RAGQA_{f.name.upper()}"
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(name, raw, hints[f.name])
        # The usual OpenAI variables work too, so an existing set-up needs no renaming.
        values.setdefault("openai_base_url", env.get("OPENAI_BASE_URL") or None)
        values.setdefault("openai_api_key", env.get("OPENAI_API_KEY") or None)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{k: v for k, v in values.items() if v is not None})


def parse_k(value) -> int | None:
    """``k`` from an untyped source (HTTP, a form): None or "" means the default; else it must be a
    positive integer (``3``, ``3.0`` or ``"3"``). ``parse_k(2.5)`` raises ``ValueError``."""
    if value is None or value == "":
        return None
    k = value
    if isinstance(value, str):
        try:
            k = int(value.strip())
        except ValueError:
            k = None
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        k = int(value)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer. Currently, k is {value!r}")
    return k


def _parse(name: str, raw: str, hint):
    """The environment string ``raw`` as the field's type (``int``, ``float``, ``Path``, ``str``,
    or ``X | None`` of those)."""
    kinds = [t for t in typing.get_args(hint) if t is not type(None)] or [hint]
    kind = kinds[0]
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}. "
                             f"Currently, it is {raw!r}") from None
    if kind is Path:
        return Path(raw)
    return raw
