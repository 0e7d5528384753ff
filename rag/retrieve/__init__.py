"""Stage 4, retrieve: a question in, ranked ``Passage``s out.

- ``query``: question clean-up, term weights, names and answer types, follow-up folding
- ``fusion``: how dense and BM25 scores combine (measured in ``eval/fusion_study.py``)
- ``retriever``: ``Retriever`` (and the ``Mode`` it searches in, from ``rag.types``)
- ``rerank``: the optional cross-encoder stage
"""
