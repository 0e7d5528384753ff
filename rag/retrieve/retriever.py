"""``Retriever``: load an index directory and return grounded ``Passage``s for a question."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from rag.config import Config
from rag.errors import IndexCorruptedError
from rag.retrieve import fusion
from rag.retrieve.query import prepare
from rag.store import disk as store
from rag.types import Mode, Passage

CANDIDATES = 50  # per ranker, before fusion; fusion only re-orders what either ranker found
# Hybrid scoring, chosen on eval/gold.jsonl and checked on eval/gold2.jsonl (README, "Evaluation";
# RRF, weighted RRF, min-max and saturated-linear fusion compared): linear fusion of cosine and
# saturated BM25, then blended with the best sentence's cosine. Every term is an absolute score,
# so the fused score means the same for every query.
FUSION_W_DENSE = 0.4
FUSION_BM25_HALF = 32.0
SENTENCE_WEIGHT = 0.5


class Retriever:
    """Search one index. Cheap to construct; the embedding model loads on the first dense query."""

    def __init__(self, data: store.IndexData, config: Config, embedder=None):
        self.data = data
        self.config = config
        self._embedder = embedder
        self._faiss = None
        self._lexical = None
        self._reranker = None
        self._qcache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, path=None, config: Config | None = None, embedder=None) -> "Retriever":
        """``Retriever.load()`` opens the bundled article's index (building it if missing or stale);
        ``Retriever.load("some/dir")`` opens any index made by ``build_index``."""
        config = config or Config.from_env()
        if path is not None:
            config = config.replace(index_dir=Path(path))
        if embedder is None:
            from rag.embed.registry import make_query_embedder

            embedder = make_query_embedder(config, config.resolved_index_dir)  # lazy: loads on first use
        if config.is_bundled:
            from rag.store.indexer import ensure_bundled_index

            data = ensure_bundled_index(config, embedder)
        else:
            data = store.load(config.resolved_index_dir)
            store.check_compatible(data.manifest, config.model, data.path)
        return cls(data, config, embedder)

    @property
    def documents(self):
        """doc_id -> Document, in index order."""
        return self.data.documents

    @property
    def embedder(self):
        with self._lock:
            if self._embedder is None:
                from rag.embed.registry import make_query_embedder

                self._embedder = make_query_embedder(self.config, self.data.path)
        return self._embedder

    @property
    def faiss_index(self):
        with self._lock:
            if self._faiss is None:
                from rag.store import vectors

                try:
                    self._faiss = vectors.read(str(self.data.file("faiss")))
                except RuntimeError as exc:
                    raise IndexCorruptedError(f"FAISS index in {self.data.path} cannot be read ({exc})") from None
                if self._faiss.ntotal != len(self.data.chunks):
                    raise IndexCorruptedError(f"FAISS index in {self.data.path} has {self._faiss.ntotal} "
                                              f"vectors for {len(self.data.chunks)} chunks; rebuild the index")
        return self._faiss

    @property
    def lexical(self):
        with self._lock:
            if self._lexical is None:
                from rag.store.lexical import LexicalIndex

                path = self.data.file("lexical")
                try:
                    self._lexical = LexicalIndex.load(path)
                except Exception as exc:  # bm25s raises assorted errors on damaged files
                    raise IndexCorruptedError(f"lexical index {path} cannot be read ({exc}); rebuild") from None
        return self._lexical

    # -- search ----------------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, mode: Mode | str | None = None,
               history=None) -> list[Passage]:
        """Top-``k`` passages for ``query``, best first. ``mode``: a ``Mode`` or its name (default hybrid).

        ``history``: earlier (question, answer) turns; the last question is folded into the query.
        """
        k = self.config.k if k is None else k
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a positive integer. Currently, k is {k!r}")
        mode = Mode.from_str(mode or self.config.mode)
        q = prepare(query, history)
        n = len(self.data.chunks)
        cand: set[int] = set()
        lex_all = None
        if mode in ("hybrid", "lexical"):
            lex_all = self.lexical.scores(list(q.tokens), q.weights)
            top = np.argsort(-lex_all, kind="stable")[:CANDIDATES]
            cand.update(int(i) for i in top if lex_all[i] > 0 or mode == "lexical")
        qvec = None
        if mode in ("hybrid", "dense"):
            qvec = self.query_vector(q.text)
            if q.history_text:
                qvec = qvec + 0.5 * self.query_vector(q.history_text)
                qvec = (qvec / np.linalg.norm(qvec)).astype(np.float32)
            from rag.store import vectors

            _, ids = vectors.search(self.faiss_index, qvec, min(n, max(CANDIDATES, k)))
            cand.update(int(i) for i in ids)
        ids = np.array(sorted(cand), dtype=np.int64)
        dense = self.data.vectors[ids] @ qvec if qvec is not None else np.zeros(len(ids), np.float32)
        lex = lex_all[ids] if lex_all is not None else np.zeros(len(ids), np.float32)
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = fusion.saturate(lex, 8.0)
        else:
            fused = fusion.with_sentences(fusion.linear(dense, lex, FUSION_W_DENSE, FUSION_BM25_HALF),
                                          self.best_sentence_scores(ids, qvec), SENTENCE_WEIGHT)
        depth = max(k, self.reranker.candidates) if self.config.reranker else k
        order = np.lexsort((ids, -fused))[:depth]  # ties broken by document order: deterministic
        hits = [self._passage(int(ids[i]), float(fused[i]), float(dense[i]), float(lex[i])) for i in order]
        if self.config.reranker:
            hits = self.reranker.rerank(q.text, hits)
        return hits[:k]

    @property
    def reranker(self):
        """The optional cross-encoder stage (``Config.reranker``), loaded on first use."""
        with self._lock:
            if self._reranker is None and self.config.reranker:
                from rag.retrieve.rerank import CrossEncoderReranker

                self._reranker = CrossEncoderReranker(self.config.reranker)
        return self._reranker

    def query_vector(self, text: str) -> np.ndarray:
        """The embedding of ``text``, cached: the answer step scores sentences against the same
        query vector that retrieval used, without embedding the question twice."""
        with self._lock:
            vec = self._qcache.get(text)
        if vec is None:
            vec = self.embedder.embed(text)
            with self._lock:
                if len(self._qcache) >= 1024:
                    self._qcache.pop(next(iter(self._qcache)))  # oldest first
                self._qcache[text] = vec
        return vec

    def sentences(self, row: int) -> list[tuple[int, int, int]]:
        """(start, end, paragraph) of chunk ``row``'s sentences; row i of ``sentence_vectors(row)``."""
        c = self.data.chunks[row]
        from rag.ingest.chunking import chunk_sentences

        return chunk_sentences(self.data.documents[c.doc_id], c)

    def sentence_vectors(self, row: int) -> np.ndarray:
        """Stored vectors of chunk ``row``'s sentences, in ``sentences(row)`` order."""
        off = self.data.sentence_offsets
        return self.data.sentence_vectors[off[row] : off[row + 1]]

    def best_sentence_scores(self, ids: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        """For each chunk in ``ids``, the cosine of its sentence closest to ``qvec``."""
        return np.array([float((self.sentence_vectors(int(i)) @ qvec).max()) for i in ids], dtype=np.float32)

    def _passage(self, row: int, score: float, dense: float, lex: float) -> Passage:
        c = self.data.chunks[row]
        doc = self.data.documents[c.doc_id]
        pages = tuple(sorted({doc.paragraph(p).page for p in c.paragraphs if doc.paragraph(p).page}))
        return Passage(c.text, score, c.doc_id, doc.title, c.paragraphs, c.start, c.end, row, dense, lex, pages)
