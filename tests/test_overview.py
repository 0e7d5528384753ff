"""Questions about the document itself: classification (pure) and answers on the bundled article (real)."""

from __future__ import annotations

import pytest

from rag.answer.overview import classify
from rag.ingest.document import Document, Paragraph
from rag.types import ABSTAIN

DOCS = {"rusi": Document("rusi", "US–Russia Relations", "x", (Paragraph(1, "x", 0, 1),), "Sarah Lain", "22 February 2017")}


@pytest.mark.parametrize("question, kind", [
    ("Who wrote this piece?", "author"), ("Who is the author?", "author"), ("When was it published?", "date"),
    ("What is the title of the article?", "title"), ("Where was this published?", "source"),
    ("What is the article about?", "summary"), ("Summarize the article.", "summary"), ("Summarize.", "summary"),
    ("What is the main argument?", "argument"), ("What does the author conclude?", "conclusion"),
    ("What is US–Russia Relations about?", "summary"),
])
def test_classify_document_questions(question, kind):
    about = classify(question, DOCS)
    assert about is not None and about.kind == kind and about.doc_ids == ("rusi",)


@pytest.mark.parametrize("question", [
    "Who wrote the Minsk agreement?", "When did Flynn resign?", "What is the article's view about sanctions relief?",
    "What did Trump conclude about the press conference?", "What is the main argument for sanctions relief?",
])
def test_content_questions_are_not_document_questions(question):
    assert classify(question, DOCS) is None


@pytest.mark.slow
@pytest.mark.parametrize("question, expected", [("Who wrote this piece?", "Sarah Lain"),
                                                ("When was it published?", "22 February 2017")])
def test_metadata_answers(bundled_assistant, question, expected):
    ans = bundled_assistant.ask(question)
    assert not ans.abstained and expected in ans.text and "metadata" in ans.notice


@pytest.mark.slow
@pytest.mark.parametrize("question", ["What is the article about?", "Summarize the article.",
                                      "What is the main argument?", "What does the author conclude?"])
def test_overview_every_sentence_cited_verbatim(bundled_assistant, question):
    from rag.answer.citations import MARKER, strip_markers
    from rag.ingest.sentences import split

    ans = bundled_assistant.ask(question)
    assert not ans.abstained and ans.citations
    doc = bundled_assistant.documents["rusi-2017-02-22-us-russia-reset"]
    for sentence in split(ans.text):
        assert MARKER.search(sentence), sentence
    for c in ans.citations:
        assert c.quote in doc.paragraph(c.paragraph).text
        assert strip_markers(c.quote) in strip_markers(ans.text) or c.quote[:-1] in ans.text


@pytest.mark.slow
def test_summary_leads_with_the_first_paragraph(bundled_assistant):
    ans = bundled_assistant.ask("What is the article about?")
    assert ans.citations[0].paragraph == 1


def test_missing_metadata_abstains_with_reason(tmp_path, fake_embedder):
    from rag.answer.assistant import Assistant
    from rag.config import Config
    from rag.retrieve.retriever import Retriever
    from rag.store.indexer import build_index

    src = tmp_path / "notes.md"
    src.write_text("# Notes\n\nCats purr when content.\n\nDogs bark at night.", encoding="utf-8")
    cfg = Config(model="fake", min_tokens=0)
    build_index([src], tmp_path / "idx", cfg, embedder=fake_embedder)
    a = Assistant(Retriever.load(tmp_path / "idx", config=cfg, embedder=fake_embedder))
    ans = a.ask("Who wrote this?")
    assert ans.abstained and ans.text == ABSTAIN and ans.abstain_reason == "no_metadata"
    assert a.ask("What is the title?").text == "Title: Notes."


def test_in_a_follow_up_this_means_the_previous_answer():
    assert classify("What is this sometimes called?", DOCS, follow_up=True) is None
    assert classify("Who wrote the article?", DOCS, follow_up=True).kind == "author"


def test_a_document_named_by_a_word_only_it_has():
    docs = {"pytz-timezones": Document("pytz-timezones", "pytz - World Timezone Definitions", "x", (Paragraph(1, "x", 0, 1),)),
            "rust-when-to-panic": Document("rust-when-to-panic", "To panic! or Not to panic!", "x", (Paragraph(1, "x", 0, 1),))}
    about = classify("Summarize the pytz README.", docs)
    assert about.kind == "summary" and about.doc_ids == ("pytz-timezones",)
    assert classify("What does pytz recommend?", docs) is None


def test_index_titles_come_from_metadata_and_match_the_documents(tmp_path, fake_embedder):
    """A real index of several files: ``titles()`` (one query, no text read) equals each document's
    title, and a content question never reads them."""
    from rag import Retriever, build_index
    from rag.config import Config

    for name, body in [("pets.md", "# Pets at home\n\nCats purr when content."),
                       ("tides.md", "# Tides and the moon\n\nThe moon pulls the sea.")]:
        (tmp_path / name).write_text(body, encoding="utf-8")
    cfg = Config(model="fake", min_tokens=0)
    build_index([tmp_path / "pets.md", tmp_path / "tides.md"], tmp_path / "idx", cfg, embedder=fake_embedder)
    docs = Retriever.load(tmp_path / "idx", config=cfg, embedder=fake_embedder).documents
    assert docs.titles() == {d: docs[d].title for d in docs}
    docs._titles = None
    assert classify("Why do cats purr?", docs) is None
    assert docs._titles is None  # not read for a content question
    about = classify("Summarize the tides document.", docs)
    assert about.kind == "summary" and about.doc_ids == tuple(d for d in docs if "tides" in d)
