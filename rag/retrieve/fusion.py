"""Fusing dense and lexical rankings. Each function maps per-chunk score arrays to one fused array
(higher is better). The default was chosen by measurement on two gold sets (see README)."""

from __future__ import annotations

import numpy as np

RRF_K = 60  # the constant from Cormack et al. (2009); ranks past ~60 stop mattering


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each entry, best first. ``ranks(np.array([0.1, 0.9])) -> [2, 1]``"""
    order = np.argsort(-scores, kind="stable")
    r = np.empty(len(scores), dtype=np.int64)
    r[order] = np.arange(1, len(scores) + 1)
    return r


def top_rows(scores: np.ndarray, m: int) -> np.ndarray:
    """The rows of the ``m`` highest ``scores``, ties taken in row order: the same rows as
    ``np.argsort(-scores, kind="stable")[:m]`` (not in that order). A partition instead of a full
    sort: 1.8 ms instead of 5.6 ms per query over 139k chunks (bench/scale_search.py at 100k, cProfile)."""
    if m >= len(scores):
        return np.arange(len(scores))
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    threshold = scores[np.argpartition(-scores, m - 1)[m - 1]]
    above = np.flatnonzero(scores > threshold)
    ties = np.flatnonzero(scores == threshold)[: m - len(above)]
    return np.concatenate([above, ties])


def rrf(dense: np.ndarray, lexical: np.ndarray, w_dense: float = 0.5, k: int = RRF_K) -> np.ndarray:
    """(Weighted) reciprocal rank fusion; ``w_dense=0.5`` is plain RRF. Chunks with no lexical
    match get no lexical contribution."""
    lex = np.where(lexical > 0, 1.0 / (k + ranks(lexical)), 0.0)
    return 2 * (w_dense / (k + ranks(dense)) + (1 - w_dense) * lex)


def saturate(bm25: np.ndarray, half: float) -> np.ndarray:
    """Map BM25 scores to [0, 1) without looking at other chunks: ``half`` scores 0.5.
    Unlike min-max normalisation, the result means the same thing for every query."""
    return bm25 / (bm25 + half)


def linear(dense: np.ndarray, lexical: np.ndarray, w_dense: float = 0.4, half: float = 32.0) -> np.ndarray:
    """Score-level fusion: ``w_dense * cosine + (1 - w_dense) * saturate(bm25)``, in [-1, 1],
    comparable across queries (so an abstention threshold on it is meaningful)."""
    return w_dense * dense + (1 - w_dense) * saturate(np.maximum(lexical, 0), half)


def minmax(dense: np.ndarray, lexical: np.ndarray, w_dense: float = 0.6) -> np.ndarray:
    """Linear fusion after per-query min-max normalisation (LlamaIndex's "relative score" fusion)."""
    def mm(x):
        span = x.max() - x.min() if len(x) else 0
        return (x - x.min()) / span if span > 0 else np.zeros_like(x)
    return w_dense * mm(dense) + (1 - w_dense) * mm(lexical)




def with_sentences(fused: np.ndarray, best_sentence: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """Blend a chunk's fused score with the cosine of its best-matching sentence. A chunk of
    several paragraphs is judged by its most relevant sentence, not diluted by the rest."""
    return (1 - weight) * fused + weight * best_sentence


def keep_in_top(order: np.ndarray, ids: np.ndarray, keep_rows, top: int) -> np.ndarray:
    """``order`` (positions into ``ids``, best first) with every chunk row in ``keep_rows`` moved
    up to the first ``top`` places if it is below them; the others keep their relative order.

    ``keep_in_top(np.array([0, 1, 2, 3]), np.array([10, 11, 12, 13]), {13}, 2)`` -> ``[0, 3, 1, 2]``
    """
    keep_rows = set(int(r) for r in keep_rows)
    if not keep_rows or top < 1:
        return order
    order = list(order)
    wanted = [pos for pos in order if int(ids[pos]) in keep_rows]
    late = [pos for pos in wanted[:top] if order.index(pos) >= top]
    if not late:
        return np.asarray(order)
    rest = [pos for pos in order if pos not in late]
    head = rest[: max(0, top - len(late))]
    return np.asarray(head + late + rest[len(head):])
