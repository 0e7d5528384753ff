"""Stage 2, embed: texts in, L2-normalised float32 vectors out.

- ``base``: ``Embedder`` (one abstract method, ``embed_batch``) and the offline model resolver
- ``sbert``: sentence-transformers on torch
- ``onnx``: the same model exported once to ONNX (no torch at query time)
- ``registry``: ``EMBEDDERS`` and ``make_query_embedder`` (the "auto" rule)
"""
