"""Sentence splitting with character spans (regex, no model): used by chunking and answering."""

from __future__ import annotations

import re

# A sentence ends at . ! ? or … (optionally followed by closing quotes/brackets), then whitespace,
# then something that can start a sentence. Cheap and predictable; abbreviations are guarded below.
_BOUNDARY = re.compile(r"""[.!?…]+[’'"”)\]]*(?=\s+[‘'"“(\[A-Z0-9À-ÖØ-Þ])""")
_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "u.s", "u.k",
    "no", "vol", "fig", "gen", "sen", "rep", "gov", "lt", "col", "inc", "ltd", "co", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx", "cf", "al",
}


def _inside_quote(fragment: str) -> bool:
    """True when ``fragment`` opens a quotation it does not close. ``_inside_quote("‘Hi. ") is True``"""
    # ’ doubles as an apostrophe (Trump’s): only one not followed by a letter closes a quote.
    closes = len(re.findall(r"’(?![^\W\d_])", fragment))
    return fragment.count("‘") > closes or fragment.count("“") > fragment.count("”")


def split_spans(text: str) -> list[tuple[int, int]]:
    """Split ``text`` into sentence spans (start, end), whitespace trimmed, covering all non-space text.

    >>> split_spans("It rained. We left.")
    [(0, 10), (11, 19)]
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        word = re.search(r"([\w.]+)[.]+$", text[start : m.start() + 1])
        if text[m.start()] == "." and word and word.group(1).lower() in _ABBREV:
            continue
        if word and len(word.group(1)) == 1 and word.group(1).isupper():  # initials: "J. Smith"
            continue
        if _inside_quote(text[start : m.start()]):  # keep a quoted passage in one sentence
            continue
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def split(text: str) -> list[str]:
    """Split ``text`` into sentences. ``split("A b. C d.") == ["A b.", "C d."]``"""
    return [text[s:e] for s, e in split_spans(text)]
