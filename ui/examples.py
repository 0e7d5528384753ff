"""Example questions drawn from the loaded documents, each checked by asking it.

Candidates come from the documents themselves: headings ("What does it say about parental
leave?"), defining sentences ("Who is Leonid Slutsky?"), requirements ("What do tomatoes need?"),
quoted speakers ("What did Sean Spicer say?") and each document's most frequent names. Every
candidate is asked through the assistant; only those answered with a valid citation are shown. The
bundled article keeps its curated set (also checked).

>>> checked_examples(assistant, Labels.build(assistant.documents))  # doctest: +SKIP
['What do tomatoes need?', 'What does “Vacation policy” say about carry-over?', ...]
"""

from __future__ import annotations

import re
import time
from collections import Counter

CURATED = (
    "Why might Antonov's appointment matter?",
    "Who is the Russian ambassador with whom Flynn discussed sanctions?",
    "What did Sean Spicer say Trump expects of the Russian government?",
    "Who is Leonid Slutsky?",
)
SHOWN = 4  # example buttons
BUDGET_S = 20.0  # stop asking candidates after this long (a large index has thousands of sentences)
PER_DOC = 8  # candidates taken from each document before moving on
MAX_DOCS = 50  # documents questions are drawn from (a large index needs only a few examples)

_NOT_SUBJECT = {"it", "this", "that", "there", "he", "she", "they", "we", "you", "i", "these", "those", "here",
                "what", "which", "who", "one", "its", "his", "her", "their", "our", "my", "your", "some", "all",
                "each", "every", "many", "most", "such", "another", "other", "both", "and", "but", "or", "if",
                "when", "while", "although", "however", "thus", "still", "instead", "similarly", "even", "in",
                "on", "at", "for", "as", "after", "before", "since", "to", "of", "by", "with"}
_NAME = r"[A-Z][a-z][\w’'-]*(?:\s+[A-Z][a-z][\w’'-]*){1,2}"
_DEFINE = re.compile(r"^(?P<subj>[A-Z][\w’'-]*(?:\s+[\w’'-]+){0,3}?),?\s+"
                     r"(?P<verb>is|was|are|were)\s+(?:a|an|the|one of)\s")
_APPOSITION = re.compile(rf"(?P<name>{_NAME}),\s+(?:the|a|an)\s+[a-z]")
_NEED = re.compile(r"^(?P<subj>(?:[A-Z]?[a-z][\w’'-]*)(?:\s+[a-z][\w’'-]*){0,2})\s+"
                   r"(?P<verb>need|needs|require|requires|must|should)\s")
_SAID = re.compile(rf"(?P<name>{_NAME})\s+(?:said|says|stated|argued|wrote|tweeted|told)\b")
_ADVERBS = {"still", "also", "only", "just", "really", "often", "usually", "always", "never", "now", "then",
            "even", "already", "therefore", "thus", "not"}
_HEADING = re.compile(r"^#{1,6}\s+(?P<h>[^\n]{3,60})$", re.M)


def about_question(labels, topic: str) -> str:
    """A question about ``topic``: "What does the article say about X?" for one document, "What is
    said about X?" across several (a long document title in the question only adds noise)."""
    if labels is not None and labels.count > 1:
        return f"What is said about {topic}?"
    ref = "the article" if labels is not None and labels.name == "the article" else "the document"
    return f"What does {ref} say about {topic}?"


def _lower_first(text: str, common=None) -> str:
    """Lower-case a leading word the document also uses in lower case (so names keep their
    capital): ``_lower_first("Parental leave", {"parental"}) == "parental leave"``."""
    words = text.split()
    if words and len(words[0]) > 1 and words[0][1:].islower() and (common is None or words[0].lower() in common):
        words[0] = words[0].lower()
    return " ".join(words)


_GENERIC = {"summary", "introduction", "installation", "overview", "conclusion", "conclusions", "contents",
            "examples", "example", "notes", "references", "background", "usage", "appendix", "abstract",
            "table of contents", "example & usage", "see also", "faq"}
_QUESTION_WORDS = {"what", "why", "how", "when", "who", "where", "which"}


def _topic(heading: str, common, names) -> str | None:
    """A heading as the topic of a question, in sentence case (words the document writes in lower
    case are lowered, names keep their capital); None for generic or overlong headings."""
    h = " ".join(heading.strip(" #").split()).rstrip(":.")
    if not h or len(h.split()) > 7 or not re.search(r"[a-z]", h) or h.lower() in _GENERIC:
        return None
    words = h.split()
    return " ".join(w.lower() if w[1:].islower() and w not in names and (i == 0 or w.lower() in common) else w
                    for i, w in enumerate(words))


def questions_from_sentence(sentence: str, common=None) -> list[str]:
    """Questions the sentence answers, from its shape.

    >>> questions_from_sentence("Leonid Slutsky, the chairman of the committee, disagreed.")
    ['Who is Leonid Slutsky?']
    >>> questions_from_sentence("Tomatoes need six hours of direct sun a day.", {"tomatoes"})
    ['What do tomatoes need?']
    """
    s = " ".join(sentence.split())
    out = []
    m = _DEFINE.match(s)
    if m and m.group("subj").split()[0].lower() not in _NOT_SUBJECT:
        subj = m.group("subj")
        person = re.fullmatch(_NAME, subj) is not None
        if not person:
            subj = _lower_first(subj[4:] if subj.startswith("The ") else subj, common)
            subj = "the " + subj if m.group("subj").startswith("The ") else subj
        out.append(f"{'Who' if person else 'What'} {m.group('verb')} {subj}?")
    for m in _APPOSITION.finditer(s):
        out.append(f"Who is {m.group('name')}?")
    m = _NEED.match(s)
    if (m and m.group("subj").split()[0].lower() not in _NOT_SUBJECT
            and not set(m.group("subj").lower().split()) & _ADVERBS):
        subj, verb = _lower_first(m.group("subj"), common), m.group("verb")
        plural = verb in ("need", "require") or (verb in ("must", "should") and subj.endswith("s"))
        if verb in ("must", "should"):
            out.append(f"What {verb} {subj} do?")
        else:
            out.append(f"What {'do' if plural else 'does'} {subj} {'need' if verb.startswith('need') else 'require'}?")
    for m in _SAID.finditer(s):
        if m.group("name").split()[0].lower() not in _NOT_SUBJECT:
            out.append(f"What did {m.group('name')} say?")
    return list(dict.fromkeys(out))


def _names(text: str) -> list[str]:
    """Multi-word capitalised names used at least twice, most frequent first."""
    counts = Counter(m.group(0) for m in re.finditer(_NAME, text)
                     if m.group(0).split()[0].lower() not in _NOT_SUBJECT)
    return [n for n, c in counts.most_common(6) if c >= 2]


def candidates(documents, labels=None) -> list[str]:
    """Candidate questions from every document, interleaved so each document gets a turn."""
    from rag.ingest.sentences import split

    per_doc = []
    for doc in (documents[d] for d in list(documents)[:MAX_DOCS]):  # reads only these documents
        common = set(re.findall(r"\b[a-z][a-z’'-]+\b", doc.text))
        found: list[str] = []
        prose = _HEADING.sub("", doc.text)
        names = set(re.findall(r"(?<=[a-z,] )[A-Z][a-z]+", prose))  # capitalised mid-sentence: names
        for m in _HEADING.finditer(doc.text):
            h = " ".join(m.group("h").strip(" #").split())
            if h.lower() == (doc.title or "").lower():
                continue
            if h.split()[0].lower() in _QUESTION_WORDS:  # a heading that asks a question: ask it
                asked = _topic(h.rstrip("?"), common, names)
                if asked:
                    found.append(asked[0].upper() + asked[1:] + "?")
                continue
            topic = _topic(h, common, names)
            if topic:
                found.append(about_question(labels, topic))
        for p in doc.paragraphs:
            for sentence in split(p.text):
                found += questions_from_sentence(sentence, common)
            if len(found) >= 3 * PER_DOC:
                break
        found += [about_question(labels, n) for n in _names(doc.text)[:2]]
        per_doc.append(list(dict.fromkeys(found))[:PER_DOC])
    out: list[str] = []
    for i in range(PER_DOC):
        out += [qs[i] for qs in per_doc if i < len(qs)]
    return list(dict.fromkeys(out))


def answers(assistant, question: str):
    """The extractive answer to ``question`` when it is answered with a citation, else None."""
    from rag.errors import RagError

    try:
        ans = assistant.ask(question, generator="extractive")
    except (RagError, ValueError):
        return None
    return ans if not ans.abstained and ans.citations else None


def checked(assistant, questions, n: int = SHOWN, budget_s: float = BUDGET_S) -> list[str]:
    """The first ``n`` of ``questions`` the assistant answers with a citation, preferring ones that
    cite different paragraphs."""
    t0 = time.monotonic()
    kept, spare, used = [], [], set()
    for q in questions:
        if len(kept) >= n or time.monotonic() - t0 > budget_s:
            break
        ans = answers(assistant, q)
        if ans is None:
            continue
        where = (ans.citations[0].doc_id, ans.citations[0].paragraph)
        (spare if where in used else kept).append(q)
        used.add(where)
    return (kept + spare)[:n]


def checked_examples(assistant, labels, bundled: bool = False) -> list[str]:
    """The example questions to show for ``assistant``'s documents."""
    if bundled and labels.count == 1:
        return checked(assistant, CURATED)
    return checked(assistant, candidates(assistant.documents, labels))
