"""Learned answerability and answer-sentence selection.

For a question and its retrieved passages, every sentence of those passages gets a feature row
(dense cosine, BM25 evidence, IDF-weighted coverage of the question by the sentence, its
neighbours and its paragraph, the rarest question word the paragraph lacks, names and numbers
missing, question type against what the sentence offers, rank and margin features). A small
gradient-boosted tree model, trained by ``eval/train_answerability.py`` on SQuAD part A (split by
article) and the gold sets, turns each row into P(this sentence answers the question). The best
sentences' scores feed a question model, P(the question is answerable), which decides whether to
answer (``Model.threshold``, the operating point the training script chose); below the model's
cosine floor (the lowest best-sentence cosine of any answerable training question) the passages
are off topic. The sentence ranking decides which sentences answer and which chunks come first.

The model ships as JSON (``rag/data/answerability.json``) and runs with numpy only, so importing
``rag`` and answering stay cheap.
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.ingest.sentences import split_spans
from rag.ingest.terms import tokenize
from rag.retrieve.query import important_tokens

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "answerability.json"

_QTYPES = (
    ("who", re.compile(r"\b(?:who|whom|whose)\b|\bwhat (?:is the name|was the name|person|people|group|organi[sz]ation)\b", re.I)),
    ("when", re.compile(r"\bwhen\b|\b(?:what|which|in what) (?:year|years|date|day|month|century|decade|time|period|era)\b", re.I)),
    ("quantity", re.compile(r"\bhow (?:many|much|long|old|far|large|big|high|often|fast|tall)\b|\bwhat (?:percentage|percent|number|amount|proportion|fraction)\b", re.I)),
    ("where", re.compile(r"\bwhere\b|\b(?:what|which|in what) (?:country|city|place|region|state|continent|location|area|town)\b", re.I)),
    ("why", re.compile(r"\bwhy\b|\bwhat (?:was|is) the (?:reason|cause|purpose)\b", re.I)),
    ("how", re.compile(r"\bhow\b", re.I)),
    ("what", re.compile(r"\b(?:what|which)\b", re.I)),
)
QTYPES = tuple(name for name, _ in _QTYPES) + ("other",)
_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|without|cannot)\b|n[’']t\b", re.I)
_NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                     r"thirty|forty|fifty|hundred|thousand|million|billion|dozen|half|twice)\b", re.I)
_DATE = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b|\b(?:january|february|march|april|may|june|july|august|september|"
                   r"october|november|december|century|centuries|decade|monday|tuesday|wednesday|thursday|friday|"
                   r"saturday|sunday)\b", re.I)
# Quantifiers, negations and comparison words: stop words to BM25, but SQuAD 2.0's unanswerable
# questions are often an answerable one with exactly such a word changed ("all" for "some").
MODIFIERS = frozenset("""all any both each every few many much more most less least no none not never nor only
other others some same non without always""".split())
# Words that give a reason or a purpose: what a "why" question's answer sentence usually holds.
_CAUSE = re.compile(r"\b(?:because|since|due to|owing to|as a result|so that|in order to|reasons?|caus(?:e|es|ed)|"
                    r"thanks to|therefore|thus|led to|leads? to|aims? to|intended to|so as to)\b", re.I)
_RAW = re.compile(r"[^\W\d_]+", re.UNICODE)
_CAP = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'-]+")

FEATURES = (
    "cos", "cos_gap", "cos_rank", "overlap", "cov_s", "cov_s_gap", "cov_w", "cov_p", "cov_d",
    "miss_s_max", "miss_w_max", "miss_p_max", "miss_p_n", "miss_p_share", "miss_d_max", "miss_vocab",
    "names_miss_p", "names_miss_d", "nums_miss_p", "bigram_s", "bigram_p",
    "names_miss_w", "nums_miss_w", "mods_miss_w", "mods_extra_s", "neg_mismatch", "miss_w_n", "miss_w_share",
    "neg_q", "neg_s", "new_tokens", "new_number", "new_date", "new_cap", "s_len", "s_pos",
    "p_rank", "p_score", "p_gap", "p_dense", "p_lex", "top_p_score", "top_p_margin", "q_len", "cause",
    "why_cause_s", "why_cause_w", "type_ok_s", "type_ok_w",
) + tuple(f"q_{t}" for t in QTYPES)
# The question model sees the sentence model's scores of the best sentences and the best
# sentence's own feature row.
QUESTION_FEATURES = ("prob1", "prob2", "prob_gap", "prob3_mean", "n_over_0.3", "n_over_0.1", "max_cov_s", "max_cov_w",
                     "min_miss_w_share", "max_cos") + tuple(f"top_{f}" for f in FEATURES)


def question_features(probs: np.ndarray, X: np.ndarray) -> np.ndarray:
    """One row of ``QUESTION_FEATURES`` from the candidates' sentence-model ``probs`` and rows ``X``."""
    if not len(probs):
        return np.zeros(len(QUESTION_FEATURES))
    order = np.argsort(-probs, kind="stable")
    p = probs[order]
    p2 = p[1] if len(p) > 1 else 0.0
    head = [p[0], p2, p[0] - p2, p[:3].mean(), float((p > 0.3).sum()), float((p > 0.1).sum()),
            X[:, FEATURES.index("cov_s")].max(), X[:, FEATURES.index("cov_w")].max(),
            X[:, FEATURES.index("miss_w_share")].min(), X[:, FEATURES.index("cos")].max()]
    return np.concatenate([head, X[order[0]]])


def question_type(question: str) -> str:
    """``question_type("When did it open?") == "when"``; "other" for yes/no and imperatives."""
    for name, pattern in _QTYPES:
        if pattern.search(question):
            return name
    return "other"


@dataclass(frozen=True)
class _Info:
    toks: frozenset
    bigrams: frozenset
    raw: frozenset  # lowercased words, stop words kept
    mods: frozenset
    nums: frozenset
    neg: bool
    dates: tuple
    caps: frozenset  # tokens of capitalised words not opening the text
    cause: bool


def _offers(qtype: str, info: "_Info", q_nums: set, q_lower: str, q_set: set) -> bool:
    """Whether a text holds something of the type the question asks for that the question itself
    lacks: a date for "when", a number for "how many/much", a name for "who"/"where" (any text
    does for other question types). Gold-set unanswerable questions are mostly of this kind ("What
    is Antonov's date of birth?": sentences about Antonov, none with a date)."""
    if qtype == "when":
        return any(d not in q_lower for d in info.dates) or any(n not in q_nums and n[:1].isdigit() for n in info.nums)
    if qtype == "quantity":
        return any(n not in q_nums and n not in q_lower for n in info.nums)
    if qtype in ("who", "where"):
        return bool(info.caps - q_set)
    return True


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage; ``prob`` is P(it answers the question) once scored."""

    doc_id: str
    paragraph: int
    start: int  # in the document text
    end: int
    text: str
    cos: float
    passage_rank: int  # 0-based rank of the best passage holding it
    prob: float = 0.0


class Trees:
    """Gradient-boosted trees exported from scikit-learn as padded arrays; numpy-only inference.

    ``spec``: ``{"init": log-odds, "feature", "threshold", "left", "right", "value": [trees][nodes]}``
    with ``feature == -1`` at leaves (leaf values already include the learning rate).
    """

    def __init__(self, spec: dict):
        self.init = float(spec["init"])
        self.feature = np.asarray(spec["feature"], dtype=np.int64)
        self.threshold = np.asarray(spec["threshold"], dtype=np.float64)
        self.left = np.asarray(spec["left"], dtype=np.int64)
        self.right = np.asarray(spec["right"], dtype=np.int64)
        self.value = np.asarray(spec["value"], dtype=np.float64)
        self.depth = int(spec["depth"])

    def margin(self, X: np.ndarray) -> np.ndarray:
        """Log-odds per row; all trees are walked together, one level per step."""
        X = np.asarray(X, dtype=np.float64)
        n_trees = self.feature.shape[0]
        tree = np.arange(n_trees)[None, :]
        row = np.arange(len(X))[:, None]
        node = np.zeros((len(X), n_trees), dtype=np.int64)
        for _ in range(self.depth):
            f = self.feature[tree, node]
            leaf = f < 0
            go_left = X[row, np.where(leaf, 0, f)] <= self.threshold[tree, node]
            node = np.where(leaf, node, np.where(go_left, self.left[tree, node], self.right[tree, node]))
        return self.init + self.value[tree, node].sum(axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.margin(X)))


class Model:
    """The shipped pair of models: ``sentence`` scores each candidate sentence (P it holds the
    answer), ``question`` scores the question from its best sentences (P it is answerable).
    ``threshold`` is the operating point on the question score chosen by the training script."""

    def __init__(self, spec: dict):
        if list(spec.get("features", ())) != list(FEATURES) or list(spec.get("question_features", ())) != list(
                QUESTION_FEATURES):
            raise ValueError("answerability model was trained on other features than this code computes; "
                             "retrain with eval/train_answerability.py")
        self.sentence = Trees(spec["sentence"])
        self.question = Trees(spec["question"])
        self.threshold = float(spec["threshold"])
        self.cos_floor = float(spec.get("cos_floor", -1.0))  # best sentence cosine below it: off topic
        self.meta = spec.get("meta", {})


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Model:
    return Model(json.loads(Path(path).read_text(encoding="utf-8")))


def load_model(path=None) -> Model | None:
    """The shipped model (None when the file is missing, e.g. before the first training run)."""
    p = Path(path or MODEL_PATH)
    if not p.is_file():
        return None
    return _load(str(p), p.stat().st_mtime)


class Scorer:
    """Features and scores for one index. ``Scorer(retriever).score(question, passages)``"""

    def __init__(self, retriever, model: Model | None = None, load: bool = True, threshold: float | None = None):
        """``model``: None loads the shipped one, unless ``load`` is False (features only, for training).
        ``threshold``: the P(answerable) to answer from, instead of the model's operating point."""
        self.retriever = retriever
        self.model = model if model is not None or not load else load_model()
        self._threshold = threshold
        self._tokens: dict[str, frozenset] = {}
        self._lock = threading.Lock()
        self._idf = None
        self._doc_tokens: dict[str, frozenset] = {}
        self._info: dict[str, _Info] = {}
        self._spans: dict = {}

    # -- corpus statistics ------------------------------------------------------------------------
    @property
    def idf(self) -> dict:
        """token -> BM25 idf over the index's chunks (bm25s' document frequencies)."""
        if self._idf is None:
            lex = self.retriever.lexical
            bm = lex._bm25
            n = int(bm.scores["num_docs"])
            indptr = np.asarray(bm.scores["indptr"])
            vocab = bm.vocab_dict or {}
            df = np.diff(indptr)
            self._idf = {t: math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)) for t, i in vocab.items() if i < len(df)}
            self._idf_unknown = math.log(1 + (n + 0.5) / 0.5)
        return self._idf

    def tokens(self, text: str) -> frozenset:
        toks = self._tokens.get(text)
        if toks is None:
            toks = frozenset(tokenize(text))
            with self._lock:
                if len(self._tokens) > 100_000:
                    self._tokens.clear()
                self._tokens[text] = toks
        return toks

    def info(self, text: str) -> "_Info":
        """Per-text facts the features use, cached: the same sentences come back question after question."""
        got = self._info.get(text)
        if got is None:
            toks = tokenize(text)
            raw = frozenset(_RAW.findall(text.lower()))
            got = _Info(frozenset(toks), frozenset(zip(toks, toks[1:])), raw, raw & MODIFIERS,
                        frozenset(m.group(0).lower().rstrip(".,") for m in _NUMBER.finditer(text)),
                        bool(_NEGATION.search(text)), tuple(m.group(0).lower() for m in _DATE.finditer(text)),
                        frozenset(t for m in _CAP.finditer(text) for t in tokenize(m.group(0))),
                        bool(_CAUSE.search(text)))
            with self._lock:
                if len(self._info) > 100_000:
                    self._info.clear()
                self._info[text] = got
        return got

    def spans(self, doc_id: str, number: int) -> list[tuple[int, int]]:
        """Sentence spans of ¶``number`` in document coordinates, cached."""
        key = (doc_id, number)
        got = self._spans.get(key)
        if got is None:
            para = self.retriever.documents[doc_id].paragraph(number)
            got = self._spans[key] = [(para.start + a, para.start + b) for a, b in split_spans(para.text)]
        return got

    def doc_tokens(self, doc_id: str) -> frozenset:
        toks = self._doc_tokens.get(doc_id)
        if toks is None:
            toks = self._doc_tokens[doc_id] = frozenset(tokenize(self.retriever.documents[doc_id].text))
        return toks

    # -- candidates -----------------------------------------------------------------------------
    def candidates(self, query_text: str, passages) -> list[Candidate]:
        """Every sentence of ``passages`` once (overlapping chunks), with its cosine to the query."""
        r = self.retriever
        if not passages:
            return []
        qv = r.query_vector(query_text)
        seen, out = set(), []
        for rank, p in enumerate(passages):
            if p.chunk_id < 0:
                continue
            doc = r.documents[p.doc_id]
            cos = r.sentence_vectors(p.chunk_id) @ qv
            for (s, e, n), c in zip(r.sentences(p.chunk_id), cos):
                if (p.doc_id, s) in seen:
                    continue
                seen.add((p.doc_id, s))
                out.append(Candidate(p.doc_id, n, s, e, doc.text[s:e], float(c), rank))
        return out

    # -- features -------------------------------------------------------------------------------
    def features(self, question: str, cands: list[Candidate], passages) -> np.ndarray:
        """One row per candidate, columns ``FEATURES``."""
        idf = self.idf
        unk = self._idf_unknown
        vocab = self.retriever.lexical.vocabulary
        q_toks = list(dict.fromkeys(tokenize(question)))
        q_w = {t: idf.get(t, unk) for t in q_toks}
        total = sum(q_w.values()) or 1.0
        names = [t for t in important_tokens(question) if t in q_w]
        q_nums = {m.group(0).lower().rstrip(".,") for m in _NUMBER.finditer(question) if m.group(0)[0].isdigit()}
        q_numwords = {m.group(0).lower().rstrip(".,") for m in _NUMBER.finditer(question)}
        q_mods = {w for w in _RAW.findall(question.lower()) if w in MODIFIERS}
        q_bigrams = set(zip(q_toks, q_toks[1:]))
        neg_q = float(bool(_NEGATION.search(question)))
        qtype = question_type(question)
        docs = self.retriever.documents
        top = passages[0].score if passages else 0.0
        margin = passages[0].score - passages[1].score if len(passages) > 1 else passages[0].score if passages else 0.0
        q_set = set(q_toks)
        is_why = qtype == "why"

        def cov(toks):
            return sum(w for t, w in q_w.items() if t in toks) / total

        def miss_max(toks):
            return max((w for t, w in q_w.items() if t not in toks), default=0.0)

        rows = []
        cos_all = np.array([c.cos for c in cands]) if cands else np.zeros(0)
        cos_max = float(cos_all.max()) if len(cos_all) else 0.0
        cos_rank = np.argsort(np.argsort(-cos_all, kind="stable"), kind="stable") if len(cos_all) else []
        q_lower = question.lower()
        for i, c in enumerate(cands):
            text = docs[c.doc_id].text
            spans = self.spans(c.doc_id, c.paragraph)
            para = docs[c.doc_id].paragraph(c.paragraph)
            pi = self.info(para.text)
            p_toks = pi.toks
            si = self.info(c.text)
            s_toks = si.toks
            pos = next((j for j, (a, b) in enumerate(spans) if a <= c.start < b), 0)
            w_toks, w_raw, w_nums, neg_w = set(s_toks), set(si.raw), set(si.nums), si.neg
            w_type, w_cause = _offers(qtype, si, q_nums, q_lower, q_set), si.cause
            s_type = w_type
            for j in (pos - 1, pos + 1):
                if 0 <= j < len(spans):
                    oi = self.info(text[spans[j][0]:spans[j][1]])
                    w_toks |= oi.toks
                    w_raw |= oi.raw
                    w_nums |= oi.nums
                    neg_w = neg_w or oi.neg
                    w_type = w_type or _offers(qtype, oi, q_nums, q_lower, q_set)
                    w_cause = w_cause or oi.cause
            missing_w = [t for t in q_toks if t not in w_toks]
            d_toks = self.doc_tokens(c.doc_id)
            missing_p = [t for t in q_toks if t not in p_toks]
            new = [t for t in s_toks if t not in q_set]
            p = passages[c.passage_rank]
            rows.append([
                c.cos, c.cos - cos_max, float(cos_rank[i]),
                sum(1.0 for t in q_toks if t in s_toks) / max(len(q_toks), 1),
                cov(s_toks), 0.0, cov(w_toks), cov(p_toks), cov(d_toks),
                miss_max(s_toks), miss_max(w_toks), miss_max(p_toks), float(len(missing_p)),
                sum(q_w[t] for t in missing_p) / total, miss_max(d_toks),
                float(sum(1 for t in q_toks if t not in vocab)),
                float(sum(1 for t in names if t not in p_toks)), float(sum(1 for t in names if t not in d_toks)),
                float(len(q_nums - pi.nums)),
                len(q_bigrams & si.bigrams) / max(len(q_bigrams), 1), len(q_bigrams & pi.bigrams) / max(len(q_bigrams), 1),
                float(sum(1 for t in names if t not in w_toks)), float(len(q_numwords - w_nums)),
                float(len(q_mods - w_raw)), float(len(si.mods - q_mods)), float(bool(neg_q) != neg_w),
                float(len(missing_w)), sum(q_w[t] for t in missing_w) / total,
                neg_q, float(si.neg), float(len(new)),
                float(any(n not in q_nums for n in si.nums)),
                float(any(d not in q_lower for d in si.dates)),
                float(bool(si.caps - q_set)), float(len(s_toks)), float(pos),
                float(c.passage_rank), p.score, p.score - top, p.dense_score, p.lexical_score / (p.lexical_score + 32.0),
                top, margin, float(len(q_toks)), float(si.cause),
                float(is_why and si.cause), float(is_why and w_cause), float(s_type), float(w_type),
            ] + [float(qtype == t) for t in QTYPES])
        X = np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
        if len(X):
            X[:, FEATURES.index("cov_s_gap")] = X[:, FEATURES.index("cov_s")] - X[:, FEATURES.index("cov_s")].max()
        return X

    @property
    def threshold(self) -> float | None:
        """The P(answerable) answered from: the configured one, else the model's operating point
        (None without a model)."""
        if self._threshold is not None:
            return self._threshold
        return self.model.threshold if self.model is not None else None

    def score(self, question: str, passages, query_text: str | None = None) -> "Scored":
        """Candidates with ``prob`` set, best first, and P(answerable) (needs a model)."""
        if self.model is None:
            raise ValueError(f"no answerability model at {MODEL_PATH}; run eval/train_answerability.py")
        cands = self.candidates(query_text or question, passages)
        threshold = self.threshold
        if not cands:
            return Scored((), 0.0, threshold, False)
        X = self.features(question, cands, passages)
        probs = self.model.sentence.predict(X)
        answerable = float(self.model.question.predict(question_features(probs, X)[None, :])[0])
        scored = [Candidate(c.doc_id, c.paragraph, c.start, c.end, c.text, c.cos, c.passage_rank, float(pr))
                  for c, pr in zip(cands, probs)]
        relevant = max(c.cos for c in cands) >= self.model.cos_floor
        return Scored(tuple(sorted(scored, key=lambda c: -c.prob)), answerable, threshold, relevant)


@dataclass(frozen=True)
class Scored:
    candidates: tuple  # Candidate, best first
    answerable: float  # P(the documents answer the question)
    threshold: float  # answer from this P(answerable): the model's operating point unless configured
    relevant: bool = True  # some sentence is at least as close to the question as the model's cosine floor

    @property
    def answers(self) -> bool:
        return bool(self.candidates) and self.relevant and self.answerable >= self.threshold
