"""SQuAD-format files as an evaluation source (``ragqa eval --squad FILE``).

Each article becomes one ``Document`` whose numbered paragraphs are the SQuAD contexts, so a
question's gold paragraph is ``(doc_id, n)``. A fixed, seeded sample of answerable and
unanswerable questions becomes ``GoldItem``s: evidence is the context sentence holding the first
gold answer, ``key_facts`` its gold answers (one ``|``-separated fact), ``paragraph`` the context.

    docs, items = squad_items("squad2-dev-part-a.json", n_answerable=400, n_unanswerable=400, seed=0)
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import GoldFileError
from rag.ingest.document import Document, Paragraph
from rag.ingest.sentences import split_spans

from .gold import GoldItem

DEFAULT_SAMPLE = 400  # per class (answerable, unanswerable), as the issue suggests
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Article:
    title: str
    contexts: tuple[str, ...]
    qas: tuple[tuple[int, dict], ...]  # (1-based paragraph number, SQuAD qa record)


def doc_id(title: str) -> str:
    """A filesystem- and marker-safe id for an article title. ``doc_id("Force") == "Force"``"""
    return re.sub(r"[^\w.-]+", "_", title).strip("_") or "article"


def load_squad(path) -> list[Article]:
    """Articles of a SQuAD 1.1/2.0 JSON file; ``GoldFileError`` naming what is wrong with it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldFileError(f"cannot read SQuAD file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise GoldFileError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list) or not data["data"]:
        raise GoldFileError(f"{path}: not a SQuAD file (expected a top-level 'data' list of articles)")
    articles = []
    for i, art in enumerate(data["data"]):
        try:
            title = str(art["title"])
            contexts, qas = [], []
            for n, para in enumerate(art["paragraphs"], 1):
                contexts.append(para["context"])
                qas += [(n, qa) for qa in para["qas"]]
        except (KeyError, TypeError) as exc:
            raise GoldFileError(f"{path}: article {i} lacks SQuAD field {exc}") from None
        articles.append(Article(title, tuple(contexts), tuple(qas)))
    return articles


def to_document(article: Article) -> Document:
    """One article as a Document: paragraphs are the contexts, separated by blank lines."""
    text, paras, pos = "", [], 0
    for n, ctx in enumerate(article.contexts, 1):
        if n > 1:
            text += "\n\n"
            pos += 2
        paras.append(Paragraph(n, ctx, pos, pos + len(ctx)))
        text += ctx
        pos += len(ctx)
    return Document(doc_id(article.title), article.title.replace("_", " "), text, tuple(paras),
                    source_path=f"squad:{article.title}")


def _answers(qa: dict) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a["text"].strip() for a in qa.get("answers") or () if a.get("text", "").strip()))


def answer_sentence(context: str, qa: dict) -> str:
    """The sentence of ``context`` holding the first gold answer (by ``answer_start``)."""
    first = qa["answers"][0]
    start = first.get("answer_start")
    if not isinstance(start, int) or context[start : start + len(first["text"])] != first["text"]:
        start = context.find(first["text"])
    spans = split_spans(context)
    for s, e in spans:
        if s <= start < e:
            end = start + len(first["text"])
            while e < end and spans and (s, e) != spans[-1]:  # an answer across a sentence boundary
                e = next(e2 for s2, e2 in spans if s2 >= e)
            return context[s:e]
    return first["text"]


def to_item(article: Article, n: int, qa: dict) -> GoldItem:
    impossible = bool(qa.get("is_impossible")) or not _answers(qa)
    context = article.contexts[n - 1]
    answers = () if impossible else _answers(qa)
    evidence = () if impossible else (answer_sentence(context, qa),)
    facts = () if impossible else ("|".join(a.replace("|", " ") for a in answers),)
    return GoldItem(str(qa["id"]), " ".join(str(qa["question"]).split()), answers[0] if answers else "", evidence,
                    not impossible, facts, source=f"squad:{article.title}", line=n,
                    answers=answers, paragraph=(doc_id(article.title), n))


def select_articles(articles: list[Article], names) -> list[Article]:
    """The articles named in ``names`` (title or doc id); ``ValueError`` naming unknown ones."""
    if names is None:
        return list(articles)
    by = {a.title: a for a in articles} | {doc_id(a.title): a for a in articles}
    unknown = [n for n in names if n not in by]
    if unknown:
        raise ValueError(f"unknown SQuAD article(s): {', '.join(unknown)}. "
                         f"Articles: {', '.join(a.title for a in articles)}")
    wanted = {by[n].title for n in names}
    return [a for a in articles if a.title in wanted]


def sample_items(articles: list[Article], n_answerable: int = DEFAULT_SAMPLE, n_unanswerable: int = DEFAULT_SAMPLE,
                 seed: int = DEFAULT_SEED) -> list[GoldItem]:
    """A seeded sample: up to ``n_answerable`` answerable and ``n_unanswerable`` unanswerable items
    (all of them when fewer exist), in file order so reports read article by article."""
    items = [to_item(a, n, qa) for a in articles for n, qa in a.qas]
    rng = random.Random(seed)
    keep = set()
    for want, pool in ((n_answerable, [i for i, it in enumerate(items) if it.answerable]),
                       (n_unanswerable, [i for i, it in enumerate(items) if not it.answerable])):
        if want < 0:
            raise ValueError(f"sample sizes must be >= 0. Currently, one is {want}")
        keep.update(pool if want >= len(pool) else rng.sample(pool, want))
    return [it for i, it in enumerate(items) if i in keep]


def holdout_articles() -> tuple[str, ...]:
    """Titles the shipped answerability model never saw in training (recorded in its file)."""
    from rag.answer.answerability import load_model

    model = load_model()
    held = tuple(model.meta.get("holdout_articles") or ()) if model is not None else ()
    if not held:
        raise ValueError("the shipped answerability model records no held-out articles; "
                         "name them: --holdout-articles TITLE ...")
    return held


def squad_items(path, n_answerable: int = DEFAULT_SAMPLE, n_unanswerable: int = DEFAULT_SAMPLE,
                seed: int = DEFAULT_SEED, articles=None) -> tuple[list[Document], list[GoldItem]]:
    """(every article as a Document, the seeded sample of questions from ``articles`` or all)."""
    all_articles = load_squad(path)
    chosen = select_articles(all_articles, articles)
    return [to_document(a) for a in all_articles], sample_items(chosen, n_answerable, n_unanswerable, seed)
