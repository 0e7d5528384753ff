"""Torch-free embedding: the sentence-transformers model exported once to ONNX, run with onnxruntime.

An export is a self-contained directory (``model.onnx``, ``tokenizer.json``, ``meta.json``) in a
per-user cache, ``$RAGQA_ONNX_CACHE`` or ``$XDG_CACHE_HOME/ragqa/onnx/<key>/``, keyed by the model:
one export serves every index built with that model, it survives index rebuilds, and it works when
the index directory is read-only. Querying needs only onnxruntime, tokenizers and numpy; exporting
needs torch, sentence-transformers and onnx, once.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import numpy as np

from rag.config import DEFAULT_MODEL
from rag.embed.base import Embedder, offline_hub, resolve_model
from rag.errors import MissingDependencyError, RagError

EXPORT_VERSION = 1  # bump when the export recipe changes: older exports are then ignored
OPSET = 17
MODEL_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
META_FILE = "meta.json"
MIN_COSINE = 0.9999  # an fp32 export must reproduce torch this closely on the probes, or it is not saved
# int8 (dynamic, per-channel uint8 weights, MatMul only: the most faithful variant tried) agrees with
# fp32 at cosine ~0.986 at worst on real paragraphs and ~0.97 on the odd probes ("", "hi"): it is
# opt-in, never the default, and this gate only catches a broken quantisation (~0.85).
MIN_COSINE_INT8 = 0.97
# Both cores of the 2-core target machine, with spin-waiting off: spinning threads made a single query
# 2.4x slower (19 ms vs 8 ms) whenever other processes shared the CPU, while without it 2 threads
# match 1 thread on a query and beat it on batches when the second core is free. See BENCHMARKS.md.
THREADS = min(2, os.cpu_count() or 1)
# Texts the export is checked on: short, long (truncated), padded in one batch, odd whitespace/unicode.
PROBES = ["Why might Antonov's appointment matter?", "hi", "  Leading and trailing spaces.  ",
          "Résumé naïve café — “quotes” and emoji 🙂", "",
          "Sergei Kislyak, the Russian Ambassador to the US, discussed sanctions. " * 40]


def cache_root() -> Path:
    """Where exports live: ``$RAGQA_ONNX_CACHE``, else ``~/.cache/ragqa/onnx``."""
    env = os.environ.get("RAGQA_ONNX_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ragqa" / "onnx"


def _model_key(model: str) -> str:
    """Key of a model: its resolved path or name plus size/mtime of its files, so changed weights
    at the same path get a new export. Cheap (a few ``stat`` calls): runs on every cold start."""
    resolved = resolve_model(model)
    path = Path(resolved)
    stamp = {}
    if path.is_dir():
        resolved = str(path.resolve())
        for f in sorted(path.iterdir()):
            if f.is_file() and f.suffix in (".json", ".safetensors", ".bin", ".txt", ".model"):
                st = f.stat()
                stamp[f.name] = [st.st_size, st.st_mtime_ns]
    blob = json.dumps({"model": resolved, "files": stamp, "v": EXPORT_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def export_path(model: str = DEFAULT_MODEL, root=None) -> Path:
    """The directory an export of ``model`` lives in (whether or not it exists yet)."""
    return Path(root or cache_root()) / _model_key(model)


def find_export(model: str = DEFAULT_MODEL, root=None) -> Path | None:
    """``find_export("all-MiniLM-L6-v2")`` is the export directory, or None if not exported yet."""
    try:
        path = export_path(model, root)
    except RagError:  # e.g. the package shipping the default model is missing: nothing to find
        return None
    return path if (path / META_FILE).is_file() else None


def can_export() -> bool:
    """True when torch, sentence-transformers and onnx are importable (checked without importing)."""
    from importlib.util import find_spec

    return all(find_spec(m) is not None for m in ("torch", "sentence_transformers", "onnx"))


def _export_deps_error() -> MissingDependencyError:
    return MissingDependencyError(
        "the ONNX embedder needs a one-time export, which needs torch, sentence-transformers and onnx: "
        "pip install torch==2.13.0 sentence-transformers onnx (or use backend='torch')")


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Sentence vectors from token vectors, as sentence-transformers' Pooling, then L2-normalised."""
    if mode == "cls":
        v = hidden[:, 0]
    elif mode == "max":
        v = np.where(mask[..., None] > 0, hidden, -1e9).max(axis=1)
    else:
        m = mask[..., None].astype(np.float32)
        v = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    v = v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)
    return np.ascontiguousarray(v, dtype=np.float32)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def export_onnx(model_name_or_path: str = DEFAULT_MODEL, out_dir=None, quantize: bool = False) -> Path:
    """Export ``model_name_or_path`` to ONNX in ``out_dir`` (default ``export_path(model)``), once.

    ``export_onnx("all-MiniLM-L6-v2")`` returns the export directory. The export is written to a
    temporary directory, checked against torch on ``PROBES`` and renamed into place: a crash never
    leaves half an export, and concurrent exporters leave exactly one. ``quantize`` adds an int8 copy.
    """
    out = Path(out_dir) if out_dir is not None else export_path(model_name_or_path)
    if not (out / META_FILE).is_file():
        if not can_export():
            raise _export_deps_error()
        import shutil
        import uuid

        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".tmp-{out.name}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            _export_into(model_name_or_path, tmp)
            try:
                os.rename(tmp, out)  # atomic; fails if another process committed first
            except OSError:
                if not (out / META_FILE).is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if quantize and not (out / INT8_FILE).is_file():
        quantize_int8(out)
    return out


def _export_into(model: str, out: Path) -> None:
    """Load the sentence-transformers model, export its transformer, save tokenizer and metadata."""
    offline_hub()
    import warnings

    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(resolve_model(model), device="cpu", local_files_only=True)
    hf = st[0].auto_model.eval()
    tok = st.tokenizer
    pool_cfg = st[1].get_config_dict() if len(st) > 1 and hasattr(st[1], "get_config_dict") else {}
    legacy = {"pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max", "pooling_mode_mean_tokens": "mean"}
    mode = pool_cfg.get("pooling_mode") or next((m for key, m in legacy.items() if pool_cfg.get(key)), "mean")
    if mode not in ("mean", "cls", "max"):
        raise RagError(f"ONNX export supports mean, cls and max pooling. Currently, pooling is {mode!r}")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tok.model_input_names]

    class Body(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *inputs):
            return self.m(**dict(zip(names, inputs))).last_hidden_state

    sample = tok(["this is a test", "test"], padding=True, return_tensors="pt")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Body(hf), tuple(sample[n] for n in names), str(out / MODEL_FILE), dynamo=False,
                          opset_version=OPSET, input_names=names, output_names=["token_embeddings"],
                          dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["token_embeddings"]},
                          do_constant_folding=True)
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(tok.backend_tokenizer.to_str())  # with sentence-transformers' do_lower_case
    backend.no_truncation()
    backend.no_padding()
    backend.save(str(out / "tokenizer.json"))
    dim = (getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension)()
    meta = {"model": model, "source": resolve_model(model), "dim": int(dim),
            "max_seq_length": int(st.max_seq_length), "pooling": mode, "inputs": names,
            "pad_id": int(tok.pad_token_id or 0), "export_version": EXPORT_VERSION, "opset": OPSET,
            "torch": torch.__version__}
    (out / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    # The gate: the export must reproduce torch on the probes (one padded batch) before it is kept.
    want = st.encode(PROBES, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    got = OnnxEmbedder(model, out, threads=1).embed_batch(PROBES)
    cos = float(_cosines(want, got).min())
    if not cos >= MIN_COSINE:
        raise RagError(f"ONNX export of {model} does not match torch (min cosine {cos:.6f} < {MIN_COSINE})")
    meta["probe_min_cosine"] = cos
    (out / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")


def quantize_int8(export_dir) -> Path:
    """Add a dynamically int8-quantised copy (``model.int8.onnx``) to an export; returns its path."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise MissingDependencyError("int8 quantisation needs onnx: pip install onnx") from None
    export_dir = Path(export_dir)
    tmp = export_dir / f".{INT8_FILE}.{os.getpid()}.tmp"
    try:
        quantize_dynamic(str(export_dir / MODEL_FILE), str(tmp), weight_type=QuantType.QUInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
        fp32 = OnnxEmbedder(path=export_dir, threads=1).embed_batch(PROBES)
        int8 = OnnxEmbedder(path=export_dir, quantized=True, threads=1, model_file=str(tmp)).embed_batch(PROBES)
        cos = float(_cosines(fp32, int8).min())
        if not cos >= MIN_COSINE_INT8:
            raise RagError(f"int8 model disagrees with fp32 (min cosine {cos:.4f} < {MIN_COSINE_INT8})")
        os.replace(tmp, export_dir / INT8_FILE)
    finally:
        if tmp.exists():
            tmp.unlink()
    return export_dir / INT8_FILE


class OnnxEmbedder(Embedder):
    """``OnnxEmbedder("all-MiniLM-L6-v2").embed("hi").shape == (384,)``; loads on first use.

    ``path``: an export directory (default: this model's in the cache). When there is none yet and
    ``export`` is true, the first use exports the model (needs torch, once). ``fallback``: an embedder
    to use instead if that export fails. ``quantized``: run the int8 copy (faster, less exact).
    """

    def __init__(self, model: str = DEFAULT_MODEL, path=None, quantized: bool = False, threads: int | None = None,
                 export: bool = False, fallback: Embedder | None = None, model_file: str | None = None):
        self.name = model
        self.path = Path(path) if path is not None else None
        self.quantized = quantized
        self.threads = threads or THREADS
        self.export = export
        self.fallback = fallback
        self._model_file = model_file
        self._session = None
        self._tokenizer = None
        self._meta = None
        self._delegate = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._session is None and self._delegate is None:
                path = self.path or find_export(self.name)
                if path is None or not (path / META_FILE).is_file():
                    if not self.export:
                        raise _export_deps_error() if not can_export() else RagError(
                            f"no ONNX export of {self.name}; run rag.embed.onnx.export_onnx({self.name!r})")
                    import sys

                    print(f"ragqa: exporting {self.name} to ONNX, once (later runs start without torch)",
                          file=sys.stderr)
                    try:
                        path = export_onnx(self.name, self.path)
                    except Exception as exc:
                        if self.fallback is None:
                            raise
                        print(f"ragqa: ONNX export failed ({exc}); using the torch embedder", file=sys.stderr)
                        self._delegate = self.fallback
                        return self
                if self.quantized and not (path / INT8_FILE).is_file() and self._model_file is None:
                    quantize_int8(path)
                self._open(path)
        return self

    def _open(self, path: Path) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise MissingDependencyError("the ONNX embedder needs onnxruntime and tokenizers: "
                                         "pip install onnxruntime tokenizers") from None
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        tok.enable_truncation(max_length=meta["max_seq_length"])
        tok.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        file = self._model_file or str(path / (INT8_FILE if self.quantized else MODEL_FILE))
        self._session = ort.InferenceSession(file, opts, providers=["CPUExecutionProvider"])
        self._tokenizer, self._meta, self.path = tok, meta, path

    @property
    def dim(self) -> int:  # type: ignore[override]
        if self._meta is None and self._delegate is None:
            path = self.path or find_export(self.name)
            if path is not None and (path / META_FILE).is_file():
                return int(json.loads((path / META_FILE).read_text(encoding="utf-8"))["dim"])
            self._load()
        return self._delegate.dim if self._delegate is not None else int(self._meta["dim"])

    def _hidden(self, encodings) -> tuple[np.ndarray, np.ndarray]:
        """Token vectors and attention mask for tokenised texts, padded to the longest in this batch."""
        n, width = len(encodings), max(len(e.ids) for e in encodings)
        arrays = {name: np.zeros((n, width), dtype=np.int64) for name in self._meta["inputs"]}
        if self._meta["pad_id"] and "input_ids" in arrays:
            arrays["input_ids"].fill(self._meta["pad_id"])
        mask = np.zeros((n, width), dtype=np.int64)
        for i, e in enumerate(encodings):
            k = len(e.ids)
            mask[i, :k] = 1
            if "input_ids" in arrays:
                arrays["input_ids"][i, :k] = e.ids
            if "token_type_ids" in arrays:
                arrays["token_type_ids"][i, :k] = e.type_ids
        if "attention_mask" in arrays:
            arrays["attention_mask"] = mask
        return self._session.run(None, arrays)[0], mask

    def _run(self, encodings) -> np.ndarray:
        """Vectors for tokenised texts, padded to the longest in this batch."""
        hidden, mask = self._hidden(encodings)
        return _pool(hidden, mask, self._meta["pooling"])

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        self._load()
        if self._delegate is not None:
            return self._delegate.embed_batch(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._run(self._tokenizer.encode_batch([str(t) for t in texts]))

    def embed_many(self, texts: list[str], batch_size: int = 32, progress=None) -> np.ndarray:
        """Like ``Embedder.embed_many`` but batches texts of similar token length (sorted, then put
        back in order), so little time goes into padding."""
        self._load()
        if self._delegate is not None:
            return self._delegate.embed_many(texts, batch_size, progress)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([str(t) for t in texts])
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), batch_size):
            rows = order[i : i + batch_size]
            out[rows] = self._run([encodings[j] for j in rows])
            if progress:
                progress(min(i + batch_size, len(texts)))
        return out

    def embed_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32):
        """Vectors of ``texts`` and, from the same forward pass, of the character spans ``spans[i]``
        of each text: the mean of the span's token vectors (tokenizer offsets), L2-normalised. No
        extra inference: ``sentence_vectors="pooled"`` (see ``rag.config``). A span the model never
        sees whole (cut by truncation at ``max_seq_length`` tokens) is embedded on its own instead."""
        self._load()
        if self._delegate is not None:
            return Embedder.embed_spans(self._delegate, texts, spans, batch_size)
        dim = self.dim
        out = np.zeros((len(texts), dim), dtype=np.float32)
        span_out = [np.zeros((len(sp), dim), dtype=np.float32) for sp in spans]
        if not texts:
            return out, span_out
        texts = [str(t) for t in texts]
        encodings = self._tokenizer.encode_batch(texts)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        alone: list[tuple[int, int]] = []  # (text, span) pairs to embed on their own
        for i in range(0, len(order), batch_size):
            rows = order[i : i + batch_size]
            hidden, mask = self._hidden([encodings[j] for j in rows])
            out[rows] = _pool(hidden, mask, self._meta["pooling"])
            for b, j in enumerate(rows):
                e = encodings[j]
                offs = np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2)
                real = np.asarray(e.special_tokens_mask, dtype=bool) == 0
                seen_to = int(offs[real, 1].max()) if real.any() else 0
                for s, (a, z) in enumerate(spans[j]):
                    tok = real & (offs[:, 0] < z) & (offs[:, 1] > a)
                    if not tok.any() or (z > seen_to and texts[j][seen_to:z].strip()):
                        alone.append((j, s))
                        continue
                    h = hidden[b, : len(tok)][tok]
                    v = h.max(axis=0) if self._meta["pooling"] == "max" else h.mean(axis=0)
                    span_out[j][s] = v / max(float(np.linalg.norm(v)), 1e-12)
        if alone:
            vecs = self.embed_many([texts[j][spans[j][s][0] : spans[j][s][1]] for j, s in alone], batch_size)
            for (j, s), v in zip(alone, vecs):
                span_out[j][s] = v
        return out, span_out
