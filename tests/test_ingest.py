"""Ingestion: the bundled article, .txt/.md/.html/.pdf files, and every way a file can be refused."""

from __future__ import annotations

import pytest

from rag.errors import IngestError
from rag.ingest.formats import decode, load_bundled, load_document, parse_plain

CHROME = ("You are here", "Subscribe to our Newsletter", "Support Rusi Research", "read more", "Associate Fellow")


@pytest.fixture(scope="module")
def article():
    return load_bundled()


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal hand-built PDF: one page per list of text lines (Helvetica, real text layer)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        ops += [f"({line}) Tj T*" for line in lines]
        stream = "\n".join(ops + ["ET"]).encode("latin-1")
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode())
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


# -- the bundled article ----------------------------------------------------------------------------

def test_article_title(article):
    assert article.title == "US–Russia Relations: Is the Prospect of a Trump–Putin Reset Over?"


def test_article_author_and_date(article):
    assert (article.author, article.date) == ("Sarah Lain", "22 February 2017")


def test_article_tags_include_nato(article):
    assert "NATO" in article.tags
    assert "United States" in article.tags


def test_article_has_28_paragraphs_numbered_from_1(article):
    assert [p.number for p in article.paragraphs] == list(range(1, 29))


def test_article_first_paragraph(article):
    assert article.paragraph(1).text.startswith("After the resignation")


def test_article_paragraph_25_mentions_sanctions_list(article):
    assert "EU sanctions list" in article.paragraph(25).text


@pytest.mark.parametrize("chrome", CHROME)
def test_article_paragraphs_have_no_chrome(article, chrome):
    assert not [p.number for p in article.paragraphs if chrome.lower() in p.text.lower()]


def test_article_paragraphs_have_no_byline_or_tags(article):
    for p in article.paragraphs:
        assert "Sarah Lain" not in p.text
        assert "Commentary, 22 February 2017" not in p.text
        assert "US Defence Policy" not in p.text
        assert p.text != article.title


def test_article_spans_map_back_exactly(article):
    for p in article.paragraphs:
        assert article.text[p.start : p.end] == p.text


def test_article_doc_id_is_file_stem(article):
    assert article.doc_id == "rusi-2017-02-22-us-russia-reset"


def test_paragraph_out_of_range_raises_keyerror(article):
    with pytest.raises(KeyError, match="has no paragraph 29"):
        article.paragraph(29)


# -- .txt and .md -----------------------------------------------------------------------------------

def test_txt_splits_on_blank_lines(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("First line\nstill first.\n\n  \nSecond paragraph.\n\n\nThird.\n", encoding="utf-8")
    doc = load_document(f)
    assert [p.text for p in doc.paragraphs] == ["First line\nstill first.", "Second paragraph.", "Third."]


def test_txt_doc_id_and_title_are_stem(tmp_path):
    f = tmp_path / "my-notes.txt"
    f.write_text("Hello world.", encoding="utf-8")
    doc = load_document(f)
    assert (doc.doc_id, doc.title) == ("my-notes", "my-notes")


def test_txt_spans_map_back(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("\n\n  Alpha beta.\n\nGamma\tdelta.  \n\n", encoding="utf-8")
    doc = load_document(f)
    assert all(doc.text[p.start : p.end] == p.text for p in doc.paragraphs)
    assert [p.text for p in doc.paragraphs] == ["Alpha beta.", "Gamma\tdelta."]


def test_md_title_from_first_heading(tmp_path):
    f = tmp_path / "guide.md"
    f.write_text("# The Guide\n\nIntro text.\n", encoding="utf-8")
    doc = load_document(f)
    assert doc.title == "The Guide"
    assert [p.text for p in doc.paragraphs] == ["Intro text."]


def test_md_heading_merged_with_following_paragraph(tmp_path):
    f = tmp_path / "guide.md"
    f.write_text("# The Guide\n\nIntro.\n\n## Setup\n\nRun the script.\n\nThen wait.\n", encoding="utf-8")
    doc = load_document(f)
    assert [p.text for p in doc.paragraphs] == ["Intro.", "## Setup\n\nRun the script.", "Then wait."]
    assert all(doc.text[p.start : p.end] == p.text for p in doc.paragraphs)


def test_md_without_title_heading_uses_stem(tmp_path):
    f = tmp_path / "plain.md"
    f.write_text("Just text.\n\nMore text.\n", encoding="utf-8")
    assert load_document(f).title == "plain"


def test_crlf_line_endings_normalised(tmp_path):
    f = tmp_path / "win.txt"
    f.write_bytes(b"One.\r\n\r\nTwo.\r\n")
    assert [p.text for p in load_document(f).paragraphs] == ["One.", "Two."]


LATIN1_BUG = ("BUG: rag/ingest.py decode(): for non-UTF-8 bytes charset-normalizer's best() guess is taken as is; "
              "it reads latin-1/cp1252 text as cp1006/cp1250 ('café résumé' -> 'cafﻠ rﻠsumﻠ', 'très' -> 'trčs')")


@pytest.mark.parametrize("text", ["café résumé", "Le café était très bon.\n\nÀ bientôt, garçon."])
def test_latin1_text_decoded(tmp_path, text):
    f = tmp_path / "latin.txt"
    f.write_bytes(text.encode("latin-1"))
    assert [p.text for p in load_document(f).paragraphs] == text.split("\n\n")


def test_cp1251_text_decoded(tmp_path):
    text = "Ежедневно мы публикуем новости о политике, экономике и культуре России и мира."
    f = tmp_path / "ru.txt"
    f.write_bytes(text.encode("cp1251"))
    assert load_document(f).paragraphs[0].text == text


def test_utf16_text_with_bom_decoded(tmp_path):
    f = tmp_path / "wide.txt"
    f.write_bytes("Hello wide world.\n\nSecond.".encode("utf-16"))
    assert [p.text for p in load_document(f).paragraphs] == ["Hello wide world.", "Second."]


def test_utf8_bom_stripped(tmp_path):
    f = tmp_path / "bom.txt"
    f.write_bytes("\ufeffHello.".encode("utf-8"))
    assert load_document(f).paragraphs[0].text == "Hello."


# -- refusals ---------------------------------------------------------------------------------------

def test_empty_file_refused(tmp_path):
    f = tmp_path / "empty.txt"
    f.write_bytes(b"")
    with pytest.raises(IngestError, match=r"empty\.txt: file is empty"):
        load_document(f)


def test_whitespace_only_file_refused(tmp_path):
    f = tmp_path / "blank.txt"
    f.write_bytes(b"  \n\n\t \n")
    with pytest.raises(IngestError, match=r"blank\.txt: .*empty"):
        load_document(f)


def test_binary_file_renamed_txt_refused(tmp_path):
    f = tmp_path / "image.txt"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" * 20)
    with pytest.raises(IngestError, match=r"image\.txt: looks like a binary file"):
        load_document(f)


def test_control_character_file_refused():
    with pytest.raises(IngestError, match=r"ctl\.txt: looks like a binary file \(control characters\)"):
        decode(bytes(range(1, 9)) * 50, "ctl.txt")


def test_unsupported_suffix_refused(tmp_path):
    f = tmp_path / "report.docx"
    f.write_bytes(b"PK\x03\x04")
    with pytest.raises(IngestError, match=r"report\.docx: unsupported file type \.docx"):
        load_document(f)


def test_missing_file_refused(tmp_path):
    with pytest.raises(IngestError, match=r"ghost\.txt: no such file"):
        load_document(tmp_path / "ghost.txt")


def test_directory_is_not_a_file(tmp_path):
    d = tmp_path / "folder.txt"
    d.mkdir()
    with pytest.raises(IngestError, match=r"folder\.txt: no such file"):
        load_document(d)


def test_file_over_max_bytes_refused_naming_limit(tmp_path):
    f = tmp_path / "big.txt"
    f.write_text("word " * 500_000, encoding="utf-8")  # ~2.4 MB
    with pytest.raises(IngestError, match=r"big\.txt: file is 2\.4 MB, over the 2 MB limit \(max_file_mb\)"):
        load_document(f, max_bytes=2 * 2**20)


def test_file_over_fractional_limit_names_limit(tmp_path):
    f = tmp_path / "big.txt"
    f.write_text("word " * 200_000, encoding="utf-8")  # ~0.95 MB
    with pytest.raises(IngestError, match=r"0\.5 MB limit"):
        load_document(f, max_bytes=2**19)


def test_file_at_max_bytes_accepted(tmp_path):
    f = tmp_path / "edge.txt"
    f.write_bytes(b"x" * 100)
    assert load_document(f, max_bytes=100).paragraphs[0].text == "x" * 100


def test_parse_plain_without_paragraphs_raises():
    with pytest.raises(IngestError, match="no paragraphs found"):
        parse_plain("   \n\n  ", "empty")


# -- HTML -------------------------------------------------------------------------------------------

HTML = """<html><head><title>Page title</title><script>var secret = 1;</script>
<style>p { color: red }</style></head>
<body><nav>Home | About | Contact</nav><header>Site header</header>
<h1>Main Heading</h1>
<p>First <b>bold</b>
   paragraph.</p>
<div><p>Second paragraph.</p></div>
<ul><li>A list item.</li></ul>
<footer>Copyright footer</footer></body></html>"""


@pytest.fixture
def html_doc(tmp_path):
    f = tmp_path / "page.html"
    f.write_text(HTML, encoding="utf-8")
    return load_document(f)


def test_html_paragraphs_from_block_elements(html_doc):
    assert [p.text for p in html_doc.paragraphs] == ["First bold paragraph.", "Second paragraph.", "A list item."]


def test_html_title_from_h1(html_doc):
    assert html_doc.title == "Main Heading"


def test_html_script_nav_footer_removed(html_doc):
    for junk in ("secret", "Home | About", "Site header", "Copyright footer", "color: red"):
        assert junk not in html_doc.text


def test_html_spans_map_back(html_doc):
    assert all(html_doc.text[p.start : p.end] == p.text for p in html_doc.paragraphs)


def test_html_without_paragraphs_refused(tmp_path):
    f = tmp_path / "nav.html"
    f.write_text("<html><body><nav><p>Menu</p></nav><script>x()</script></body></html>", encoding="utf-8")
    with pytest.raises(IngestError, match=r"nav\.html: HTML has no text paragraphs"):
        load_document(f)


def test_empty_html_refused(tmp_path):
    f = tmp_path / "empty.html"
    f.write_bytes(b"")
    with pytest.raises(IngestError, match=r"empty\.html: file is empty"):
        load_document(f)


# -- PDF --------------------------------------------------------------------------------------------

def test_pdf_paragraphs_with_page_numbers(tmp_path):
    f = tmp_path / "paper.pdf"
    f.write_bytes(make_pdf([["First paragraph on page one.", "Second paragraph here."],
                            ["Third paragraph on page two,", "continued on a line."]]))
    doc = load_document(f)
    assert [(p.text, p.page) for p in doc.paragraphs] == [
        ("First paragraph on page one.", 1), ("Second paragraph here.", 1),
        ("Third paragraph on page two, continued on a line.", 2)]
    assert doc.doc_id == "paper"
    assert all(doc.text[p.start : p.end] == p.text for p in doc.paragraphs)


def test_pdf_without_text_layer_refused(tmp_path):
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(width=200, height=200)
    f = tmp_path / "scan.pdf"
    with open(f, "wb") as fh:
        w.write(fh)
    with pytest.raises(IngestError, match=r"scan\.pdf: PDF has no text layer"):
        load_document(f)


def test_non_pdf_bytes_refused(tmp_path):
    f = tmp_path / "fake.pdf"
    f.write_bytes(b"this is not a pdf at all")
    with pytest.raises(IngestError, match=r"fake\.pdf: not a readable PDF"):
        load_document(f)


def _text_pdf(path, pages):
    """A minimal valid PDF with one text line per page, written by hand (no PDF library writes text)."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {len(objs)} 0 R "
                    "/Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(f"{len(objs)} 0 R")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)


def test_pdf_paragraphs_keep_page_numbers(tmp_path):
    from rag.ingest.formats import load_document

    pdf = tmp_path / "report.pdf"
    _text_pdf(pdf, ["Tomatoes need six hours of sun.", "Beans climb poles in summer."])
    doc = load_document(pdf)
    assert doc.doc_id == "report"
    assert [(p.text, p.page) for p in doc.paragraphs] == [
        ("Tomatoes need six hours of sun.", 1), ("Beans climb poles in summer.", 2)]


def test_one_character_block_is_its_own_paragraph():
    from rag.ingest.formats import blocks

    assert blocks("a\n\nb") == [(0, 1), (3, 4)]
    assert blocks("*\n\nFirst.\n\nSecond.") == [(0, 1), (3, 9), (11, 18)]
