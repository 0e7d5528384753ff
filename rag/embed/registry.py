"""Choosing the embedder: the ``EMBEDDERS`` registry (one entry per backend) and the "auto" rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.registry import Registry

if TYPE_CHECKING:
    from rag.embed.base import Embedder

EMBEDDERS = Registry("backend")
EMBEDDERS.register("torch", "rag.embed.sbert:SentenceTransformerEmbedder",
                   "sentence-transformers on torch: the reference vectors; imports torch (~2 s)")
EMBEDDERS.register("onnx", "rag.embed.onnx:OnnxEmbedder",
                   "the same model exported once to ONNX, run with onnxruntime: no torch at query time")
BACKENDS = ("auto",) + EMBEDDERS.names()  # "auto": ONNX when exported or exportable, else torch


def make_query_embedder(config, index_path=None) -> "Embedder":
    """The query embedder for ``config``: ``make_query_embedder(Config(backend="torch"))`` is torch.

    "auto": ONNX (no torch import) when this model has an export, else ONNX exported on first use
    when torch and onnx are installed, else torch. "onnx": ONNX or ``MissingDependencyError``.
    Exports are per model, not per index (see ``rag.embed.onnx``), so ``index_path`` is unused.
    """
    if config.backend == "torch":
        return EMBEDDERS.create("torch", config.model)
    from rag.embed.onnx import can_export, find_export

    path = find_export(config.model)
    if path is not None:
        return EMBEDDERS.create("onnx", config.model, path)
    if can_export():
        fallback = EMBEDDERS.create("torch", config.model) if config.backend == "auto" else None
        return EMBEDDERS.create("onnx", config.model, export=True, fallback=fallback)
    if config.backend == "onnx":
        from rag.embed.onnx import _export_deps_error

        raise _export_deps_error()
    return EMBEDDERS.create("torch", config.model)
