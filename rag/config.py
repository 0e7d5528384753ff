"""One typed configuration object. Defaults < ``RAGQA_*`` environment variables < explicit overrides
(CLI flags, keyword arguments). Nothing global: a ``Config`` is passed to what needs it."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


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
    mode: str = "hybrid"  # "hybrid" | "dense" | "lexical"
    reranker: str | None = None  # a sentence-transformers CrossEncoder name or local path; off by default
    generator: str = "extractive"  # "extractive" | "local" | "openai"
    openai_base_url: str | None = None
    openai_model: str = "default"
    openai_api_key: str | None = None
    timeout: float = 30.0  # seconds, for the openai backend
    n_threads: int = 2  # llama.cpp threads for the local generator
    model_path: Path | None = None  # GGUF file for the local generator (None: the bundled SmolLM2-135M)
    max_file_mb: float = 25.0
    feedback_path: Path | None = None

    def __post_init__(self):
        if self.k < 1:
            raise ValueError(f"k must be greater than 0. Currently, k is {self.k}")
        if self.mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"mode must be 'hybrid', 'dense' or 'lexical'. Currently, mode is {self.mode!r}")
        if self.generator not in ("extractive", "local", "openai"):
            raise ValueError(
                f"generator must be 'extractive', 'local' or 'openai'. Currently, generator is {self.generator!r}")
        if self.backend not in ("auto", "onnx", "torch"):
            raise ValueError(f"backend must be 'auto', 'onnx' or 'torch'. Currently, backend is {self.backend!r}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be greater than 0. Currently, timeout is {self.timeout}")
        if self.n_threads < 1:
            raise ValueError(f"n_threads must be at least 1. Currently, n_threads is {self.n_threads}")

    @property
    def resolved_index_dir(self) -> Path:
        return Path(self.index_dir) if self.index_dir else default_index_dir()

    @property
    def is_bundled(self) -> bool:
        return self.index_dir is None

    def replace(self, **changes) -> "Config":
        """A copy with ``changes`` applied; ``None`` values are ignored (unset CLI flags)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> "Config":
        """Defaults, then ``RAGQA_<FIELD>`` env vars (e.g. ``RAGQA_GENERATOR=local``), then ``overrides``."""
        env = os.environ if env is None else env
        values = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"RAGQA_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            kind = f.type if isinstance(f.type, str) else f.type.__name__
            if kind.startswith(("int", "float")):
                try:
                    values[f.name] = (int if kind.startswith("int") else float)(raw)
                except ValueError:
                    raise ValueError(f"RAGQA_{f.name.upper()} must be a number. Currently, it is {raw!r}") from None
            elif "Path" in kind:
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        # The usual OpenAI variables work too, so an existing set-up needs no renaming.
        values.setdefault("openai_base_url", env.get("OPENAI_BASE_URL") or None)
        values.setdefault("openai_api_key", env.get("OPENAI_API_KEY") or None)
        return cls(**{k: v for k, v in values.items() if v is not None}).replace(**overrides)
