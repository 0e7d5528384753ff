"""What the chat window calls the documents it answers from, derived from the index.

One document: its title ("Ask “Vacation policy”"); several: "your documents (N)" or the name
given with ``ragqa chat --name``; the bundled article keeps "the article". Every document gets one
short title, used both in inline citation markers and in source labels (its id shows on hover).

>>> Labels.build({"a": doc_a, "b": doc_b}).header  # doctest: +SKIP
'Ask your documents (2)'
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHORT_TITLE = 40  # characters; longer titles are cut at a word boundary


def short_title(title: str | None, doc_id: str, limit: int = SHORT_TITLE) -> str:
    """``short_title("A very long title about many things", "x", 20) == "A very long title…"``"""
    text = " ".join((title or doc_id or "").split()) or doc_id
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:–—-")
    return (cut or text[: limit - 1]) + "…"


def _cap(text: str) -> str:
    """Upper-case the first letter (after an opening quote): ``_cap("“x” y") == "“X” y"``."""
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1:]
    return text


@dataclass(frozen=True)
class Labels:
    name: str  # how sentences refer to the documents: "the article", "“Vacation policy”", "your documents (3)"
    header: str  # the page's h1
    subtitle: str
    placeholder: str  # of the question box
    abstain: str  # shown when the documents don't answer
    tab: str  # the document view's tab
    short: dict = field(default_factory=dict)  # doc_id -> short title
    count: int = 0

    @classmethod
    def build(cls, documents: dict, bundled: bool = False, name: str | None = None) -> "Labels":
        """Labels for ``documents`` (doc_id -> Document); only their titles are read."""
        from rag.store.textstore import titles

        named = titles(documents)
        short: dict[str, str] = {}
        taken: set[str] = set()
        for d, title in named.items():
            s = short_title(title, d)
            if s in taken:  # two documents with the same title stay distinguishable
                s = short_title(f"{s} ({d})", d, SHORT_TITLE + len(d) + 3)
            short[d] = s
            taken.add(s)
        ids = list(named)
        n = len(ids)
        if name:
            ref, verb, tab = name, "doesn't", "Documents" if n > 1 else "Document"
        elif bundled and n == 1:
            ref, verb, tab = "the article", "doesn't", "Article"
        elif n == 1:
            ref, verb, tab = f"“{short[ids[0]]}”", "doesn't", "Document"
        else:
            ref, verb, tab = f"your documents ({n})", "don't", "Documents"
        plain_ref = ref.split(" (")[0] if not name and n > 1 else ref  # "your documents" in sentences
        if bundled and n == 1 and not name:
            subtitle = (f"{named[ids[0]]} — every answer cites its paragraphs [¶N]; "
                        "if the article doesn't say, neither do we.")
        elif n == 1:
            subtitle = f"{named[ids[0]]} — every answer cites its paragraphs [¶N]."
        else:
            listed = ", ".join(short[d] for d in ids[:4]) + (f" and {n - 4} more" if n > 4 else "")
            subtitle = f"{n} documents: {listed} — every answer cites its paragraphs."
        return cls(name=ref, header=f"Ask {ref}", subtitle=subtitle,
                   placeholder=f"Ask a question about {plain_ref}…", abstain=_cap(f"{plain_ref} {verb} say."),
                   tab=tab, short=short, count=n)

    def doc(self, doc_id: str) -> str:
        """The short title of ``doc_id`` (the id itself for an unknown document)."""
        return self.short.get(doc_id, doc_id)
