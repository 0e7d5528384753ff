"""``Retriever``: load an index directory and return grounded ``Passage``s for a question."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from rag.config import Config
from rag.errors import IndexCorruptedError, RagError
from rag.retrieve import fusion
from rag.retrieve.query import exact_terms, prepare
from rag.store import disk as store
from rag.types import Mode, Passage

log = logging.getLogger(__name__)
CANDIDATES = 50  # per ranker, before fusion; fusion only re-orders what either ranker found
# Hybrid scoring, chosen on eval/gold.jsonl and checked on eval/gold2.jsonl (README, "Evaluation";
# RRF, weighted RRF, min-max and saturated-linear fusion compared): linear fusion of cosine and
# saturated BM25, then blended with the best sentence's cosine. Every term is an absolute score,
# so the fused score means the same for every query.
FUSION_W_DENSE = 0.4
FUSION_BM25_HALF = 32.0
SENTENCE_WEIGHT = 0.5
# Exact identifiers are never lost (issue #12): the best chunk holding a query term the user
# expects matched exactly (rag.retrieve.query.exact_terms: an id, a code, a name) that is rare in
# the index -- in at most EXACT_MAX_DF chunks and at most 1/EXACT_MIN_RATIO of them -- is kept in
# the first EXACT_KEEP results of hybrid search. Dense vectors barely tell "unique1234" from
# "unique1243": without this, hybrid search over 2,000 near-identical notes ranked the note BM25
# ranks first below the top 5. Measured (hybrid, recall@1/@3/@5/@10, MRR@10), light stemmer:
# gold 0.806/0.957/1.000/1.000/0.921 without, MRR 0.925 with keep 1 or 2 and ratio 10, unchanged
# with keep 3 or ratio 20; gold2 0.714/0.800/0.914/0.971/0.787 unchanged for keep 1-3, max df 1
# or 3, ratio 10 or 20. Snowball stemmer, keep 1: gold MRR 0.895 -> 0.900, gold2 unchanged
# (0.714/0.800/0.943/0.971/0.788). Keep 1 puts the identifier's chunk first, where someone who
# typed an id looks.
EXACT_KEEP = 1
# Only the best SENTENCE_DEPTH chunks of the dense+BM25 fusion (and any rare exact match) are re-scored
# with their best sentence (None: every candidate, as before issue 13): with sentence vectors embedded at
# query time that bounds the work, and on gold, gold2 and SQuAD part A every metric stayed within 0.01
# of re-scoring all candidates (eval/reports/sentence_study.md).
SENTENCE_DEPTH: int | None = 10
EXACT_MAX_DF = 3
EXACT_MIN_RATIO = 10


class Retriever:
    """Search one index. Cheap to construct; the embedding model loads on the first dense query."""

    def __init__(self, data: store.IndexData, config: Config, embedder=None):
        self.data = data
        self.config = config
        self._embedder = embedder
        self._vectors = None
        self._sentences = None
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
    def vector_store(self):
        """The index's vector store (``rag.store.vectorstore``: FAISS or Milvus, as the manifest
        says), opened on first use."""
        with self._lock:
            if self._vectors is None:
                from rag.store.vectorstore import open_store

                self._vectors = open_store(self.data)
        return self._vectors

    @property
    def faiss_index(self):
        """The FAISS index object, for an index whose vector store is FAISS."""
        return self.vector_store.index

    @property
    def lexical(self):
        with self._lock:
            if self._lexical is None:
                from rag.store.lexical import LexicalIndex

                self._lexical = LexicalIndex.load(self.data.file("lexical"), len(self.data.chunks))
        return self._lexical

    @property
    def vocabulary(self) -> set[str]:
        """Every BM25 token in the index (re-opening a rebuilt index, like ``search``)."""
        try:
            return self.lexical.vocabulary
        except IndexCorruptedError:
            if not self._reopen_if_rebuilt():
                raise
            return self.lexical.vocabulary

    def _reopen_if_rebuilt(self) -> bool:
        """If the index was rebuilt since it was loaded (so this generation's files may be gone),
        load the current manifest's generation instead and say so; False if it was not."""
        try:
            current = store.read_manifest(self.data.path).get("generation")
        except RagError:
            return False
        if current == self.data.manifest.get("generation"):
            return False
        data = store.load(self.data.path)
        store.check_compatible(data.manifest, self.config.model, data.path)
        with self._lock:
            old, self.data, self._vectors, self._lexical = self.data.manifest.get("generation"), data, None, None
            self._sentences = None
        log.warning("index at %s was rebuilt (generation %s -> %s); reopened it", data.path, old, current)
        return True

    # -- search ----------------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, mode: Mode | str | None = None,
               history=None) -> list[Passage]:
        """Top-``k`` passages for ``query``, best first. ``mode``: a ``Mode`` or its name (default hybrid).

        ``history``: earlier (question, answer) turns; the last question is folded into the query.
        An index rebuilt since it was loaded is re-opened (its old files may have been removed).
        """
        k = self.config.k if k is None else k
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a positive integer. Currently, k is {k!r}")
        mode = Mode.from_str(mode or self.config.mode)
        try:
            return self._search(query, k, mode, history)
        except IndexCorruptedError:
            if not self._reopen_if_rebuilt():
                raise
            return self._search(query, k, mode, history)

    def _search(self, query: str, k: int, mode: Mode, history) -> list[Passage]:
        q = prepare(query, history)
        n = len(self.data.chunks)
        cand: set[int] = set()
        lex_all = None
        exact: set[int] = set()
        if mode in ("hybrid", "lexical"):
            lex_all = self.lexical.scores(list(q.tokens), q.weights)
            top = fusion.top_rows(lex_all, CANDIDATES)
            cand.update(int(i) for i in top if lex_all[i] > 0 or mode == "lexical")
            if mode == "hybrid":
                exact = self._rare_exact_matches(query)
                cand |= exact
        qvec = None
        if mode in ("hybrid", "dense"):
            qvec = self.query_vector(q.text)
            if q.history_text:
                qvec = qvec + 0.5 * self.query_vector(q.history_text)
                qvec = (qvec / np.linalg.norm(qvec)).astype(np.float32)
            _, ids = self.vector_store.search(qvec, min(n, max(CANDIDATES, k)))
            cand.update(int(i) for i in ids)
        ids = np.array(sorted(cand), dtype=np.int64)
        dense = self.chunk_vectors(ids) @ qvec if qvec is not None else np.zeros(len(ids), np.float32)
        lex = lex_all[ids] if lex_all is not None else np.zeros(len(ids), np.float32)
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = fusion.saturate(lex, 8.0)
        depth = max(k, self.reranker.candidates) if self.config.reranker else k
        if mode == "hybrid":
            fused = fusion.linear(dense, lex, FUSION_W_DENSE, FUSION_BM25_HALF)
            if SENTENCE_DEPTH is not None:  # re-score only the head of the first-stage ranking
                head = np.lexsort((ids, -fused))[: max(depth, SENTENCE_DEPTH)]
                keep = np.union1d(head, np.flatnonzero(np.isin(ids, list(exact)))) if exact else np.sort(head)
                ids, dense, lex, fused = ids[keep], dense[keep], lex[keep], fused[keep]
            fused = fusion.with_sentences(fused, self.best_sentence_scores(ids, qvec), SENTENCE_WEIGHT)
        order = np.lexsort((ids, -fused))  # ties broken by document order: deterministic
        if mode == "hybrid" and exact:
            order = fusion.keep_in_top(order, ids, exact, min(k, EXACT_KEEP))
        order = order[:depth]
        hits = [self._passage(int(ids[i]), float(fused[i]), float(dense[i]), float(lex[i])) for i in order]
        if self.config.reranker:
            hits = self.reranker.rerank(q.text, hits)
        return hits[:k]

    def _rare_exact_matches(self, question: str) -> set[int]:
        """Rows of chunks holding an exact-match term of ``question`` that is rare in the index."""
        n = len(self.data.chunks)
        rows: set[int] = set()
        for term in exact_terms(question):
            hits = self.lexical.chunks_with(term)
            if 0 < len(hits) <= EXACT_MAX_DF and len(hits) * EXACT_MIN_RATIO <= n:
                rows.update(int(r) for r in hits)
        return rows

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

    @property
    def sentence_store(self):
        """``rag.retrieve.sentences.SentenceVectors``: the index's stored sentence vectors, or (an
        index built with sentence_vectors="query") sentences embedded on demand, cached."""
        with self._lock:
            if self._sentences is None:
                from rag.ingest.chunking import indexed_sentences
                from rag.retrieve.sentences import SentenceVectors

                def texts(row):
                    c = self.data.chunks[row]
                    return indexed_sentences(self.data.documents[c.doc_id], c)

                def embed(batch):
                    e = self.embedder
                    return e.embed_many(batch) if hasattr(e, "embed_many") else e.embed_batch(batch)
                self._sentences = SentenceVectors(texts, embed, self.data.sentence_vectors,
                                                  self.data.sentence_offsets)
        return self._sentences

    def sentence_vectors(self, row: int) -> np.ndarray:
        """Vectors of chunk ``row``'s sentences, in ``sentences(row)`` order."""
        return self.sentence_store.get([row])[0]

    def best_sentence_scores(self, ids: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        """For each chunk in ``ids``, the cosine of its sentence closest to ``qvec`` (one embedding
        batch for the chunks whose sentences are not stored or cached)."""
        return self.sentence_store.best_scores(ids, qvec)

    def chunk_vectors(self, ids) -> np.ndarray:
        """Vectors of chunk rows ``ids`` (from the vector store; schema-3 indexes kept a copy)."""
        if self.data.vectors is not None:
            return self.data.vectors[ids]
        return self.vector_store.get(ids)

    def _passage(self, row: int, score: float, dense: float, lex: float) -> Passage:
        c = self.data.chunks[row]
        doc = self.data.documents[c.doc_id]
        pages = tuple(sorted({doc.paragraph(p).page for p in c.paragraphs if doc.paragraph(p).page}))
        return Passage(c.text, score, c.doc_id, doc.title, c.paragraphs, c.start, c.end, row, dense, lex, pages)
