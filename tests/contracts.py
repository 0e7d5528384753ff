"""The one contract every Answer meets, whatever generated it (shared by several test files)."""

from rag.types import ABSTAIN, Answer


def assert_well_formed(ans: Answer) -> None:
    """An abstention is exactly ABSTAIN with no citations; otherwise every citation points at a
    retrieved paragraph, quotes it verbatim and has its marker in the text."""
    assert isinstance(ans, Answer)
    if ans.abstained:
        assert ans.text == ABSTAIN
        assert ans.citations == ()
        return
    assert ans.citations, "a non-abstained answer must cite something"
    retrieved = {(p.doc_id, n) for p in ans.passages for n in p.paragraphs}
    for c in ans.citations:
        assert (c.doc_id, c.paragraph) in retrieved, f"¶{c.paragraph} was cited but not retrieved"
        assert c.quote and c.quote in c.paragraph_text, "a quote must be verbatim from its paragraph"
        assert f"¶{c.paragraph}]" in ans.text, "every citation has its marker in the text"
