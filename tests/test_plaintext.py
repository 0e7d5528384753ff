"""Everyone's text is parsed as plain text (issue #12, item 2): paragraphs split on blank lines and
nothing dropped; Markdown front matter and headings become metadata and sections; .docx with
paragraph numbers; the web-article parser only for the bundled article or on request."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.config import Config
from rag.errors import IngestError
from rag.ingest.formats import BUNDLED_ARTICLE, blocks, load_document
from rag.store import disk as store
from rag.store.indexer import build_index

FAKE = Config(model="fake")

MINUTES = """Team meeting minutes

Jane Smith
Minutes, 12 March 2024

Attendees: Jane, Bob and Ali.

Jane Smith opened the meeting and reviewed the budget for the spring.

Share

Bob will send the revised report by Friday. Print it for the board.

Print
"""


# -- blocks ---------------------------------------------------------------------------------------

def test_one_character_paragraph_is_its_own_block():
    # Regression (issue #11): the lazy group let "a" swallow the blank line and "b".
    assert blocks("a\n\nb") == [(0, 1), (3, 4)]


def test_a_lone_asterisk_line_does_not_shift_paragraph_numbers(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("First.\n\n*\n\nSecond.\n\nThird.\n", encoding="utf-8")
    assert [p.text for p in load_document(f).paragraphs] == ["First.", "*", "Second.", "Third."]


def test_trailing_spaces_before_a_blank_line_still_separate_paragraphs():
    text = "One line.  \n\t\nTwo lines \nhere. \n\nThree."
    assert [text[s:e] for s, e in blocks(text)] == ["One line.", "Two lines \nhere.", "Three."]


# -- plain text -------------------------------------------------------------------------------------

def test_meeting_minutes_keep_every_paragraph(tmp_path):
    f = tmp_path / "minutes.txt"
    f.write_text(MINUTES, encoding="utf-8")
    doc = load_document(f)
    texts = [p.text for p in doc.paragraphs]
    assert texts == ["Team meeting minutes", "Jane Smith\nMinutes, 12 March 2024", "Attendees: Jane, Bob and Ali.",
                     "Jane Smith opened the meeting and reviewed the budget for the spring.", "Share",
                     "Bob will send the revised report by Friday. Print it for the board.", "Print"]
    assert doc.title == "minutes"


def test_article_parser_is_opt_in(tmp_path):
    f = tmp_path / "minutes.txt"
    f.write_text(MINUTES, encoding="utf-8")
    doc = load_document(f, format="article")
    assert doc.title == "Team meeting minutes" and doc.author == "Jane Smith"
    assert "Share" not in [p.text for p in doc.paragraphs]  # page chrome: what the user asked for
    assert doc.meta["dropped_blocks"] >= 1  # ... and the summary says so


def test_bundled_article_still_uses_the_article_parser():
    doc = load_document(BUNDLED_ARTICLE)
    assert doc.author == "Sarah Lain" and len(doc.paragraphs) == 28


def test_unknown_format_refused(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("Hello.", encoding="utf-8")
    with pytest.raises(ValueError, match="format must be one of"):
        load_document(f, format="word")


# -- Markdown ---------------------------------------------------------------------------------------

GUIDE = """---
title: The Garden Guide
author: Ann Lee
date: 2024-05-01
tags: [garden, beans]
draft: yes
---

# Ignored Because Front Matter Has A Title

Intro paragraph about the garden.

## Sowing
Sow beans in May, two inches deep.

Water them well.

## Harvest

Pick beans often.

```python
# not a heading: a comment in code

print("beans")
```
"""


@pytest.fixture
def guide(tmp_path):
    f = tmp_path / "guide.md"
    f.write_text(GUIDE, encoding="utf-8")
    return load_document(f)


def test_front_matter_becomes_metadata(guide):
    assert (guide.title, guide.author, guide.date, guide.tags) == ("The Garden Guide", "Ann Lee", "2024-05-01",
                                                                   ("garden", "beans"))
    assert guide.meta["front_matter"]["draft"] == "yes"
    assert all("title:" not in p.text and "---" not in p.text for p in guide.paragraphs)


def test_headings_are_sections_not_body_text(guide):
    texts = [p.text for p in guide.paragraphs]
    assert texts[:4] == ["Intro paragraph about the garden.", "Sow beans in May, two inches deep.",
                         "Water them well.", "Pick beans often."]
    assert [p.section for p in guide.paragraphs][:4] == [
        "Ignored Because Front Matter Has A Title", "Sowing", "Sowing", "Harvest"]
    assert not any(t.startswith("#") for t in texts)


def test_fenced_code_is_one_paragraph_and_its_comments_are_not_headings(guide):
    code = guide.paragraphs[-1]
    assert code.text.startswith("```python\n# not a heading") and code.text.endswith("```")
    assert code.section == "Harvest"


def test_first_level_one_heading_is_the_title(tmp_path):
    f = tmp_path / "notes.md"
    f.write_text("# Bean Notes\n\nBeans climb.\n\n# Peas\n\nPeas too.\n", encoding="utf-8")
    doc = load_document(f)
    assert doc.title == "Bean Notes"
    assert [(p.text, p.section) for p in doc.paragraphs] == [("Beans climb.", None), ("Peas too.", "Peas")]


def test_markdown_without_heading_is_titled_by_file_name(tmp_path):
    f = tmp_path / "plain.md"
    f.write_text("Just text.\n\nMore text.\n", encoding="utf-8")
    assert load_document(f).title == "plain"


def test_sections_and_metadata_survive_the_index(tmp_path, fake_embedder):
    f = tmp_path / "guide.md"
    f.write_text(GUIDE, encoding="utf-8")
    build_index([f], tmp_path / "idx", FAKE, embedder=fake_embedder)
    doc = store.load(tmp_path / "idx").documents["guide"]
    assert doc.paragraphs[1].section == "Sowing"
    assert doc.meta["front_matter"]["draft"] == "yes"


def test_markdown_with_only_headings_is_refused(tmp_path):
    f = tmp_path / "toc.md"
    f.write_text("# Title\n\n## One\n\n## Two\n", encoding="utf-8")
    with pytest.raises(IngestError, match="toc.md: no paragraphs"):
        load_document(f)


# -- .docx ------------------------------------------------------------------------------------------

def _docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = "Quarterly Report"
    d.core_properties.author = "Bob Stone"
    d.add_heading("Quarterly Report", 0)
    d.add_paragraph("Sales rose by ten percent in the quarter.")
    d.add_paragraph("")
    d.add_heading("Costs", level=1)
    d.add_paragraph("Costs fell because shipping got cheaper.")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Region", "Growth"
    table.cell(1, 0).text, table.cell(1, 1).text = "North", "12%"
    d.add_paragraph("Next year we expect more of the same.")
    d.save(path)
    return path


def test_docx_paragraphs_numbered_with_sections(tmp_path):
    doc = load_document(_docx(tmp_path / "report.docx"))
    assert (doc.doc_id, doc.title, doc.author) == ("report", "Quarterly Report", "Bob Stone")
    assert [(p.number, p.text, p.section) for p in doc.paragraphs] == [
        (1, "Sales rose by ten percent in the quarter.", None),
        (2, "Costs fell because shipping got cheaper.", "Costs"),
        (3, "Region | Growth", "Costs"),
        (4, "North | 12%", "Costs"),
        (5, "Next year we expect more of the same.", "Costs")]
    assert all(doc.text[p.start:p.end] == p.text for p in doc.paragraphs)


def test_docx_in_a_folder_is_indexed(tmp_path, fake_embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    _docx(folder / "report.docx")
    report = build_index([folder], tmp_path / "idx", FAKE, embedder=fake_embedder)
    assert report.documents == 1 and not report.skipped


def test_broken_docx_refused_by_name(tmp_path):
    f = tmp_path / "broken.docx"
    f.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IngestError, match=r"broken\.docx: not a readable \.docx"):
        load_document(f)


# -- unsupported files in a folder ------------------------------------------------------------------

def test_unsupported_files_in_a_folder_are_listed_with_a_reason(tmp_path, fake_embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("Beans climb poles.", encoding="utf-8")
    (folder / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / "picture.jpg").write_bytes(b"\xff\xd8\xff")
    report = build_index([folder], tmp_path / "idx", FAKE, embedder=fake_embedder)
    skipped = dict(report.skipped)
    assert set(skipped) == {str(folder / "data.csv"), str(folder / "picture.jpg")}
    assert "unsupported file type .csv" in skipped[str(folder / "data.csv")]


# -- nothing is silently dropped ----------------------------------------------------------------------

WORDS = st.sampled_from(["Share", "Print", "read more", "Jane Smith", "12 March 2024", "Minutes, 1 May 2020",
                         "You are here", "a", "*", "-", "#", "beans", "Tomatoes need sun.", "Café crème",
                         "x,y,z", "1.", ">", "---", "Subscribe to our Newsletter"])
LINE = st.lists(WORDS, min_size=1, max_size=4).map(" ".join) | st.text(
    alphabet=string.ascii_letters + string.digits + " .,;:!?*#-_'\"é", min_size=1, max_size=30)
SEPARATOR = st.sampled_from(["\n", "\n\n", "\n  \n", "\n\n\n", " \n\n", "\t\n\n"])


@st.composite
def documents(draw):
    lines = draw(st.lists(LINE, min_size=1, max_size=12))
    text = lines[0]
    for line in lines[1:]:
        text += draw(SEPARATOR) + line
    return text + draw(st.sampled_from(["", "\n", "\n\n"]))


def _non_blank_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=documents())
def test_every_line_of_a_text_file_is_in_some_paragraph(tmp_path_factory, fake_embedder, text):
    if not text.strip():
        return
    folder = tmp_path_factory.mktemp("prop")
    f = folder / "notes.txt"
    f.write_text(text, encoding="utf-8")
    build_index([f], folder / "idx", FAKE, embedder=fake_embedder)
    doc = store.load(folder / "idx").documents["notes"]
    got = [line.strip() for p in doc.paragraphs for line in p.text.split("\n") if line.strip()]
    assert got == _non_blank_lines(text)  # every line, in order, unchanged
    numbers = [p.number for p in doc.paragraphs]
    assert numbers == list(range(1, len(numbers) + 1))


@settings(max_examples=60, deadline=None)
@given(text=documents())
def test_every_line_of_a_markdown_file_is_a_paragraph_heading_or_metadata(text):
    import tempfile

    if not text.strip():
        return
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "notes.md"
        f.write_text(text, encoding="utf-8")
        try:
            doc = load_document(f)
        except IngestError as exc:  # only headings: refused by name, never indexed silently empty
            assert "no paragraphs" in str(exc)
            return
    kept = [p.text for p in doc.paragraphs] + [p.section or "" for p in doc.paragraphs] + [doc.title]
    kept.append(str(doc.meta.get("front_matter_text", "")))
    kept += list(doc.meta.get("headings", ()))
    for line in _non_blank_lines(text):
        bare = line.lstrip("#").strip().rstrip("#").strip()
        assert any(line in k or bare in k for k in kept), (line, kept)
