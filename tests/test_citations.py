"""Citation markers and validation: pure logic over a small hand-made document."""

from __future__ import annotations

import pytest

from rag.answer.citations import MARKER, best_sentence, strip_markers, support, validate
from rag.ingest.formats import parse_plain
from rag.retrieve.retriever import Passage

DOC = parse_plain("The cat sat on the mat. It was warm there.\n\n"
                  "Dogs bark loudly at night.\n\n"
                  "Birds fly south in winter.", "pets")
DOCS = {"pets": DOC}


def passage(doc, *numbers):
    first, last = doc.paragraph(numbers[0]), doc.paragraph(numbers[-1])
    return Passage(doc.text[first.start : last.end], 1.0, doc.doc_id, doc.title, numbers, first.start, last.end)


RETRIEVED = [passage(DOC, 1), passage(DOC, 2)]  # ¶3 exists but was not retrieved


def check(answer, passages=RETRIEVED, docs=DOCS, **kw):
    return validate(answer, passages, docs, **kw)


# -- MARKER and strip_markers ---------------------------------------------------------------------

def test_marker_parses_plain_paragraph():
    m = MARKER.search("He is on the list [¶26].")
    assert (m.group("doc"), m.group("num")) == (None, "26")


def test_marker_parses_doc_paragraph():
    m = MARKER.search("See [doc ¶3].")
    assert (m.group("doc"), m.group("num")) == ("doc", "3")


def test_marker_parses_every_marker_in_text():
    found = [(m.group("doc"), int(m.group("num"))) for m in MARKER.finditer("a [¶1] b [¶ 2] c [notes-a ¶30]")]
    assert found == [(None, 1), (None, 2), ("notes-a", 30)]


@pytest.mark.parametrize("text", ["[26]", "¶26", "[¶]", "[¶x]", "[p 3]"])
def test_marker_ignores_non_markers(text):
    assert MARKER.search(text) is None


def test_strip_markers_removes_markers_and_space_before_punctuation():
    assert strip_markers("Yes [¶2]. No [doc ¶3], maybe [¶4][¶5].") == "Yes. No, maybe."


def test_strip_markers_leaves_plain_text_alone():
    assert strip_markers("No markers here.") == "No markers here."


def test_strip_markers_mid_sentence_leaves_single_space():
    assert strip_markers("The cat sat [¶1] on the mat.") == "The cat sat on the mat."


# -- support --------------------------------------------------------------------------------------

def test_support_full_overlap():
    assert support("EU sanctions", "he is on the EU sanctions list") == 1.0


def test_support_no_overlap():
    assert support("elephants dance", "Dogs bark loudly at night.") == 0.0


def test_support_of_stopwords_only_claim_is_zero():
    assert support("it was the", "It was the best") == 0.0


def test_best_sentence_picks_supporting_sentence():
    assert best_sentence("it was warm", DOC.paragraph(1).text) == ("It was warm there.", 1.0)


# -- validate -------------------------------------------------------------------------------------

def test_supported_claim_kept_with_verbatim_quote():
    checked = check("The cat sat on the mat [¶1].")
    assert checked.text == "The cat sat on the mat [¶1]."
    [c] = checked.citations
    assert (c.doc_id, c.paragraph, c.quote) == ("pets", 1, "The cat sat on the mat.")
    assert c.quote in c.paragraph_text and c.paragraph_text == DOC.paragraph(1).text


def test_hallucinated_paragraph_dropped():
    checked = check("The cat sat on the mat [¶99].")
    assert (checked.text, checked.citations) == ("", ())
    assert any("¶99 was not retrieved" in d for d in checked.dropped)


def test_existing_but_unretrieved_paragraph_dropped():
    checked = check("Birds fly south in winter [¶3].")
    assert (checked.text, checked.citations) == ("", ())
    assert any("¶3 was not retrieved" in d for d in checked.dropped)


def test_unsupported_sentence_citing_retrieved_paragraph_removed():
    checked = check("The cat sat on the mat [¶1]. Elephants dance the tango [¶2].")
    assert checked.text == "The cat sat on the mat [¶1]."
    assert [c.paragraph for c in checked.citations] == [1]
    assert any("¶2 does not support" in d for d in checked.dropped)


def test_sentence_without_marker_removed():
    checked = check("Dogs bark loudly at night. The cat sat on the mat [¶1].")
    assert checked.text == "The cat sat on the mat [¶1]."


def test_valid_marker_kept_when_neighbour_marker_invalid():
    checked = check("Dogs bark loudly at night [¶2][¶99].")
    assert checked.text == "Dogs bark loudly at night [¶2]."
    assert [c.paragraph for c in checked.citations] == [2]


def test_marker_after_full_stop_moved_before_it():
    assert check("The cat sat on the mat. [¶1]").text == "The cat sat on the mat [¶1]."


def test_mid_sentence_marker_moved_to_sentence_end():
    assert check("The cat sat [¶1] on the mat.").text.rstrip(".").endswith("[¶1]")


def test_every_kept_sentence_ends_with_marker_then_punctuation():
    text = check("The cat sat on the mat [¶1]. Dogs bark loudly [¶2].").text
    assert text == "The cat sat on the mat [¶1]. Dogs bark loudly [¶2]."


def test_every_quote_is_verbatim_substring():
    checked = check("It was warm there [¶1]. Dogs bark at night [¶2].")
    assert len(checked.citations) == 2
    assert all(c.quote in c.paragraph_text for c in checked.citations)


def test_paragraph_in_multi_paragraph_passage_counts_as_retrieved():
    checked = check("Birds fly south in winter [¶3].", passages=[passage(DOC, 2, 3)])
    assert [c.paragraph for c in checked.citations] == [3]


def test_auto_cite_attributes_unmarked_supported_sentence():
    checked = check("Dogs bark loudly at night.", auto_cite=True)
    assert [c.paragraph for c in checked.citations] == [2]
    assert checked.text == "Dogs bark loudly at night [¶2]."


def test_auto_cite_does_not_attribute_unsupported_sentence():
    assert check("Elephants dance the tango.", auto_cite=True).citations == ()


def test_empty_answer_gives_nothing():
    assert check("") == check("   ")
    assert check("").citations == ()


# -- several documents ----------------------------------------------------------------------------

OTHER = parse_plain("Ships dock in the harbour.\n\nFerries leave at dawn.", "ships")
BOTH = {"pets": DOC, "ships": OTHER}


def test_doc_marker_resolves_to_named_document():
    checked = validate("Ferries leave at dawn [ships ¶2].", [passage(DOC, 2), passage(OTHER, 2)], BOTH)
    [c] = checked.citations
    assert (c.doc_id, c.paragraph) == ("ships", 2)
    assert checked.text == "Ferries leave at dawn [ships ¶2]."


def test_ambiguous_bare_marker_dropped_with_two_documents():
    checked = validate("Ferries leave at dawn [¶2].", [passage(DOC, 2), passage(OTHER, 2)], BOTH)
    assert checked.citations == ()


def test_unknown_doc_in_marker_dropped():
    checked = validate("Ferries leave at dawn [planes ¶2].", [passage(OTHER, 2)], BOTH)
    assert checked.citations == ()


def test_claim_naming_someone_the_paragraph_never_mentions_is_dropped():
    out = check("Dogs owned by Rex Tillerson bark loudly at night [¶2].")
    assert out.citations == () and any("does not mention" in r for r in out.dropped)


def test_marker_after_full_stop_belongs_to_the_sentence_before_it():
    out = check("The cat sat on the mat. [¶1] Dogs bark loudly at night. [¶2]")
    assert [c.paragraph for c in out.citations] == [1, 2]
    assert out.text == "The cat sat on the mat [¶1]. Dogs bark loudly at night [¶2]."
