"""Fast tests of the chat window's pieces: HTML rendering, the feedback file, event handlers
(with a stand-in assistant), and the ``chat`` command's safety checks."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import threading
import time
from types import SimpleNamespace

import pytest

from rag.ingest.document import Document, Paragraph
from rag.retrieve.retriever import Passage
from rag.types import ABSTAIN, Answer, Citation
from ui import render
from ui.feedback import FeedbackLog, default_path, record

ANS = "He left, and then he left again [¶2]."
XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>'


def _doc(texts, doc_id="d1", title="T <b>", author="A & B", date="1 May 2020"):
    text, paras, pos = "", [], 0
    for i, t in enumerate(texts, 1):
        paras.append(Paragraph(i, t, pos, pos + len(t)))
        text += t + "\n\n"
        pos = len(text)
    return Document(doc_id, title, text, tuple(paras), author=author, date=date)


def _passage(text, paras, score=0.5, doc_id="d1"):
    return Passage(text, score, doc_id, "T", tuple(paras), 0, len(text))


def _answer(text=ANS, quote="He left.", para="Intro. He left. Then more.", abstained=False, notice=None):
    cites = () if abstained else (Citation("d1", 2, para, quote, "T"),)
    passages = (_passage(para, [2], 0.8), _passage("Other <i>text</i>.", [5], 0.3))
    return Answer("Q?", ABSTAIN if abstained else text, cites, passages, abstained, "extractive", notice)


def _no_raw_tags(html: str) -> None:
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<i>" not in html


# -- render ---------------------------------------------------------------------------------------
def test_escape_script_and_img_onerror():
    out = render.escape(XSS)
    _no_raw_tags(out)
    assert out == "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;"


def test_escape_keeps_one_html_block():
    out = render.escape("a\n\nb $$x$$ `c`")
    assert "\n" not in out and "$" not in out and "`" not in out


def test_question_and_answer_from_untrusted_sources_are_escaped():
    _no_raw_tags(render.question_html(XSS))
    para = f"Intro {XSS}. He left."
    a = Answer(XSS, f"{XSS} He left [¶2].", (Citation("d1", 2, para, "He left.", XSS),),
               (_passage(para, [2]), _passage(XSS, [3])), False, "extractive", notice=XSS)
    html = render.answer_html(a)
    _no_raw_tags(html)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert render.answer_html(a).count("<mark>") == 1
    _no_raw_tags(render.error_html(XSS))


def test_document_html_escapes_and_numbers_paragraphs():
    doc = _doc(["First <script>x</script>.", "Second."], title=XSS)
    html = render.document_html(doc)
    _no_raw_tags(html)
    assert 'id="p-1"' in html and 'id="p-2"' in html and "¶2" in html
    assert "A &amp; B · 1 May 2020" in html


def test_answer_html_marks_quote_and_collapses_other_passages():
    html = render.answer_html(_answer(), turn=0)
    assert '<a class="rq-cite" href="#rq-cite-0-0"' in html and ">[¶2]</a>" in html
    assert "Intro. <mark>He left.</mark> Then more." in html
    other = re.search(r'<details class="rq-other">(.*?)</details>', html).group(1)
    assert "¶5" in other and "&lt;i&gt;" in other
    assert "¶2" not in other  # the cited paragraph is shown in full above, not repeated
    assert "score" not in html  # raw retrieval scores are not shown


def test_other_passages_list_each_paragraph_once_and_never_a_cited_one():
    """A chunk spanning ¶1-¶2 where ¶2 is cited, and a second chunk overlapping ¶2-¶3: the
    collapsed list shows ¶1 and ¶3 once each, never ¶2 again."""
    doc = _doc(["First para.", "Intro. He left. Then more.", "Third para."])
    passages = (Passage(doc.text[:40], 0.9, "d1", "T", (1, 2), 0, 40), Passage("x", 0.5, "d1", "T", (2, 3), 0, 1))
    a = Answer("Q?", ANS, (Citation("d1", 2, doc.paragraph(2).text, "He left.", "T"),), passages, False)
    html = render.answer_html(a, documents={"d1": doc}, turn=0)
    other = re.search(r'<details class="rq-other">(.*?)</details>', html).group(1)
    assert other.count("¶1") == 1 and other.count("¶3") == 1 and "¶2" not in other
    assert "First para." in other and "Third para." in other


def test_multi_document_markers_and_labels_use_one_short_title_with_id_on_hover():
    from ui.labels import Labels

    d1 = _doc(["Intro. He left. Then more."], doc_id="vacation-policy", title="Vacation policy")
    d2 = _doc(["Other."], doc_id="beans", title="Beans")
    labels = Labels.build({d1.doc_id: d1, d2.doc_id: d2})
    cite = Citation("vacation-policy", 1, d1.paragraph(1).text, "He left.", "Vacation policy")
    a = Answer("Q?", "He left [vacation-policy ¶1].", (cite,),
               (_passage(d1.paragraph(1).text, [1], doc_id="vacation-policy"),), False)
    html = render.answer_html(a, labels, {d1.doc_id: d1, d2.doc_id: d2}, turn=3)
    assert ">[Vacation policy ¶1]</a>" in html and 'title="vacation-policy ¶1' in html
    assert "[vacation-policy ¶1]" not in html
    assert '<a class="rq-label rq-src" href="#rq-cite-3-0" title="vacation-policy' in html
    assert "Vacation policy · ¶1" in html


def test_highlight_merges_overlapping_quotes_and_ignores_missing():
    assert render.highlight("One. Two. Three.", ["Two.", "Two. Three.", "absent"]) == "One. <mark>Two. Three.</mark>"


def test_abstention_shows_the_index_phrase_and_open_closest_passages():
    from ui.labels import Labels

    html = render.answer_html(_answer(abstained=True))
    assert "The article doesn&#x27;t say." in html and 'class="rq-abstain"' in html
    assert '<details class="rq-closest" open>' in html and "¶5" in html and "¶2" in html
    labels = Labels.build({"a": _doc(["x"], "a", "A"), "b": _doc(["y"], "b", "B")})
    assert "Your documents don&#x27;t say." in render.answer_html(_answer(abstained=True), labels)


def test_notice_is_visible():
    html = render.answer_html(_answer(notice="local generator unavailable; answered extractively"))
    assert 'class="rq-notice"' in html and "answered extractively" in html


def test_progress_shows_elapsed_time_and_draft_with_cursor():
    html = render.progress_html(2, "Writing with local…", 12.4, "He <b>left</b> [¶2")
    assert 'id="rq-a-2"' in html and "rq-running" in html and "12 s" in html and "rq-cursor" in html
    assert "&lt;b&gt;" in html and "checked when it finishes" in html
    assert "rq-running" not in render.stopped_html(2, 3.0, "draft")
    assert "Stopped after 3.0 s" in render.stopped_html(2, 3.0)


def test_copy_markdown_is_kept_verbatim_in_one_html_block():
    md = "He left[^1].\n\n[^1]: “He <left>.” — T, ¶2 $x$"
    html = render.answer_html(_answer(), turn=0, markdown=md)
    assert "\n" not in html  # one CommonMark HTML block
    pre = re.search(r'<pre class="rq-md" hidden>(.*?)</pre>', html).group(1)
    import html as html_lib

    assert html_lib.unescape(pre) == md and "<left>" not in pre
    assert '<button class="rq-copy"' in html


def test_document_view_marks_target_paragraph_and_quote():
    doc = _doc(["First.", "Intro. He left <b>. Then more."])
    html = render.document_html(doc, target=2, quotes=["He left <b>."])
    assert 'class="rq-article-p rq-target" id="p-2"' in html and "<mark>He left &lt;b&gt;.</mark>" in html
    assert html.count("rq-target") == 1


# -- labels, export, why, examples ------------------------------------------------------------------
def test_labels_from_the_index():
    from ui.labels import Labels, short_title

    one = {"v": _doc(["x"], "v", "Vacation policy")}
    two = {**one, "t": _doc(["y"], "t", "Growing tomatoes")}
    lab = Labels.build(one)
    assert (lab.header, lab.placeholder, lab.abstain, lab.tab) == (
        "Ask “Vacation policy”", "Ask a question about “Vacation policy”…", "“Vacation policy” doesn't say.",
        "Document")
    lab = Labels.build(two)
    assert (lab.header, lab.placeholder, lab.abstain, lab.tab) == (
        "Ask your documents (2)", "Ask a question about your documents…", "Your documents don't say.", "Documents")
    lab = Labels.build(two, name="the HR handbook")
    assert (lab.header, lab.abstain) == ("Ask the HR handbook", "The HR handbook doesn't say.")
    lab = Labels.build({"a": _doc(["x"], "a", "US–Russia Relations")}, bundled=True)
    assert (lab.header, lab.abstain, lab.tab) == ("Ask the article", "The article doesn't say.", "Article")
    assert short_title("A very long title about many different things", "x", 20) == "A very long title…"
    same = Labels.build({"a": _doc(["x"], "a", "Notes"), "b": _doc(["y"], "b", "Notes")})
    assert len(set(same.short.values())) == 2


def test_answer_markdown_has_numbered_footnotes_with_verbatim_quotes():
    from ui.export import answer_markdown, conversation_markdown

    cites = [{"doc_id": "d", "paragraph": 2, "quote": "He left.", "title": "T", "page": None},
             {"doc_id": "d", "paragraph": 5, "quote": "She stayed.", "title": "T", "page": 3},
             {"doc_id": "d", "paragraph": 2, "quote": "Then more.", "title": "T", "page": None}]
    md = answer_markdown("He left [¶2]. She stayed [¶5]. Then more [¶2].", cites)
    assert md == ("He left[^1]. She stayed[^2]. Then more[^1].\n\n"
                  "[^1]: “He left.” … “Then more.” — T, ¶2\n[^2]: “She stayed.” — T, ¶5, p.3")
    multi = answer_markdown("A [x ¶1][y ¶1].", [{"doc_id": "x", "paragraph": 1, "quote": "A.", "title": "X"},
                                               {"doc_id": "y", "paragraph": 1, "quote": "A!", "title": "Y"}],
                            {"x": "Ex"})
    assert multi == "A[^1][^2].\n\n[^1]: “A.” — Ex, ¶1\n[^2]: “A!” — Y, ¶1"
    turns = [{"question": "Q1?", "status": "done", "answer": "He left [¶2].", "citations": cites[:1]},
             {"question": "Q2?", "status": "done", "answer": "She stayed [¶5].", "citations": cites[1:2]},
             {"question": "Q3?", "status": "done", "abstained": True, "answer": ABSTAIN, "shown": "No."}]
    conv = conversation_markdown(turns, "Conversation with T")
    assert conv.startswith("# Conversation with T\n\n**Q: Q1?**\n\nHe left[^1].")
    assert "She stayed[^2]." in conv and "[^2]: “She stayed.” — T, ¶5, p.3" in conv and "**Q: Q3?**\n\nNo." in conv


def test_why_words_and_reasons():
    from ui import why

    assert [why.support_word(s) for s in (1.0, 0.8, 0.79, 0.5)] == ["strong", "strong", "partial", "partial"]
    html = why.why_html(_answer(), _labels())
    assert "Why this answer" in html and "strong" in html and "removed nothing" in html
    a = Answer("Who is Rex Tillerson?", ABSTAIN, (), (), True, abstain_reason="unknown_name",
               removed_claims=("Rex <b>is</b> here.",))
    html = why.why_html(a, _labels(), 4, ("Who is Leonid Slutsky?", _answer()), ["Rex Tillerson"])
    assert "Why no answer" in html and "“Rex Tillerson”, which the article never mentions" in html
    assert "Rex &lt;b&gt;is&lt;/b&gt; here." in html and '<a class="rq-suggest" href="#rq-suggest-4">' in html
    assert "answered from ¶2" in html
    assert "never mentions" not in why.reason_text("no_relevant_passage", "x") and why.reason_text(None, "x")
    # the model's score beside the threshold the assistant answers from; none when it did not score
    assert "answerability" not in why.why_html(_answer(), _labels(), threshold=0.25)
    scored = dataclasses.replace(_answer(abstained=True), abstain_reason="low_support", answerability=0.123)
    assert "answerability 0.12 (answers from 0.25)" in why.why_html(scored, _labels(), threshold=0.25)


def test_examples_from_sentence_shapes():
    from ui.examples import candidates, questions_from_sentence

    assert questions_from_sentence("The Minsk agreement is a ceasefire deal.", {"agreement"}) == [
        "What is the Minsk agreement?"]
    assert questions_from_sentence("Employees must submit requests early.", {"employees"}) == [
        "What must employees do?"]
    assert questions_from_sentence("It is a good day.") == []
    docs = {"v": Document("v", "Vacation policy", "# Vacation policy\n\n## Carry-over\n\nFive days carry over.",
                          (Paragraph(1, "## Carry-over\n\nFive days carry over.", 19, 55),))}
    from ui.labels import Labels

    assert candidates(docs, Labels.build(docs)) == ["What does the document say about carry-over?"]


def _labels():
    from ui.labels import Labels

    return Labels.build({"d1": _doc(["Intro. He left. Then more."])}, bundled=True)


def test_upload_checks_name_the_problem(tmp_path):
    from ui.upload import _unique, refusal, safe_name

    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    assert refusal(f, "run.exe", 25) == ".exe files are not accepted (use .txt, .md, .html, .pdf or .docx)"
    assert refusal(f, "README", 25).startswith("files without an extension are not accepted")
    assert refusal(f, "notes.md", 25) is None
    assert refusal(f, "notes.md", 2e-6) == "the file is 0.0 MB, over the 2e-06 MB limit"
    (tmp_path / "empty.txt").write_bytes(b"")
    assert refusal(tmp_path / "empty.txt", "empty.txt", 25) == "the file is empty"
    assert safe_name("../../etc/pass wd?.MD") == "pass wd_.md" and safe_name("..") == "upload"
    (tmp_path / "notes.md").write_text("x")
    assert _unique(tmp_path, "notes.md", set()).name == "notes-2.md"
    assert _unique(tmp_path, "beans.txt", {"beans"}).name == "beans-2.txt"


# -- feedback -------------------------------------------------------------------------------------
def test_feedback_concurrent_appends_never_interleave(tmp_path):
    log = FeedbackLog(tmp_path / "sub" / "feedback.jsonl")
    long_answer = "x" * 5000 + " [¶1]"  # lines longer than a pipe buffer would expose interleaving

    def worker(t):
        for i in range(20):
            log.append(record(f"q{t}-{i}", long_answer, [{"doc_id": "d", "paragraph": 1, "quote": "q"}], i % 2 == 0))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(50)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lines = (tmp_path / "sub" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1000
    recs = [json.loads(line) for line in lines]  # every line parses
    assert {r["question"] for r in recs} == {f"q{t}-{i}" for t in range(50) for i in range(20)}
    assert all(set(r) >= {"timestamp", "question", "answer", "citations", "liked"} for r in recs)


def test_feedback_default_path(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RAGQA_FEEDBACK_PATH", raising=False)
    assert default_path() == tmp_path / "feedback.jsonl"
    monkeypatch.setenv("RAGQA_FEEDBACK_PATH", str(tmp_path / "env.jsonl"))
    assert default_path() == tmp_path / "env.jsonl"
    assert default_path(SimpleNamespace(feedback_path=tmp_path / "cfg.jsonl")) == tmp_path / "cfg.jsonl"


# -- handlers with a stand-in assistant ----------------------------------------------------------
class FakeAssistant:
    """Records calls; answers ANS or abstains for questions about Australia. ``stream`` makes it
    write a draft token by token until ``cancel`` is set (like an LLM generator)."""

    def __init__(self, stream: bool = False):
        self.calls = []
        self.stream = stream
        self.cancelled = threading.Event()
        self.documents = {"d1": _doc(["Intro.", "Intro. He left. Then more."])}
        self.config = SimpleNamespace(k=5, generator="extractive", openai_base_url=None, feedback_path=None,
                                      is_bundled=True, resolved_index_dir="/nonexistent", model_path=None)
        self.generator_name = "extractive"

    def ask(self, question, history=None, k=None, generator=None, on_token=None, cancel=None):
        from rag.errors import AnswerCancelled

        self.calls.append((question, history, k, generator))
        if self.stream and on_token is not None:
            for i in range(200):
                if cancel is not None and cancel.is_set():
                    self.cancelled.set()
                    raise AnswerCancelled("the answer was cancelled")
                on_token(f"word {i}")
                time.sleep(0.02)
        if "Australia" in question:
            return _answer(abstained=True)
        return _answer()


@pytest.fixture
def chat(tmp_path):
    from ui.chat import Chat
    from ui.live import Live

    return Chat(Live(FakeAssistant(), examples=[]), FeedbackLog(tmp_path / "fb.jsonl"))


def _collect(agen):
    async def run():
        return [step async for step in agen]

    return asyncio.run(run())


def _run(chat, question, history, turns, k=3, generator="extractive", request=None):
    history, turns = chat.start(question, history, turns, request)
    steps = _collect(chat.answer(history, turns, k, generator, request))
    return steps, steps[-1][0], steps[-1][1]


def test_respond_shows_answer_then_passes_history(chat):
    history, turns = chat.start("Why did he leave? <b>", [], [])
    assert "&lt;b&gt;" in history[0]["content"] and "<b>" not in history[0]["content"]
    assert "rq-running" in history[1]["content"]
    assert turns == [{"question": "Why did he leave? <b>", "status": "queued"}]
    steps = _collect(chat.answer(history, turns, 3, "extractive"))
    history, turns = steps[-1]
    assert "<mark>" in history[-1]["content"] and "rq-running" not in history[-1]["content"]
    assert 'id="rq-a-0"' in history[-1]["content"] and "Why this answer" in history[-1]["content"]
    t = turns[0]
    assert (t["question"], t["status"], t["answer"], t["abstained"], t["generator"]) == (
        "Why did he leave? <b>", "done", ANS, False, "extractive")
    assert t["markdown"] == "He left, and then he left again[^1].\n\n[^1]: “He left.” — T <b>, ¶2"  # the short title
    _, history, turns = _run(chat, "And then?", history, turns)
    assert chat.assistant.calls[-1] == ("And then?", [("Why did he leave? <b>", ANS)], 3, "extractive")
    assert len(history) == 4 and len(turns) == 2


def test_long_question_gets_a_notice(chat):
    from rag.retrieve.query import MAX_QUERY_CHARS

    _, history, _ = _run(chat, "word " * 1500, [], [])
    assert f"only its first {MAX_QUERY_CHARS:,} characters were used" in history[-1]["content"]
    assert "7,499 characters long" in history[-1]["content"]


def test_stop_cancels_the_worker_and_keeps_turns_aligned(tmp_path):
    from ui.chat import Chat
    from ui.live import Live

    fake = FakeAssistant(stream=True)
    chat = Chat(Live(fake, examples=[]), FeedbackLog(tmp_path / "fb.jsonl"))
    request = SimpleNamespace(session_hash="s1")
    history, turns = chat.start("Why did he leave?", [], [], request)

    async def run():
        steps = []
        async for step in chat.answer(history, turns, 3, "local", request):
            steps.append(step)
            if len(steps) == 3:
                chat.stop(request)
        return steps

    steps = asyncio.run(run())
    assert fake.cancelled.is_set()  # the worker (the "model") saw the cancel
    assert any("word" in s[0][-1]["content"] and "rq-draft" in s[0][-1]["content"] for s in steps[:-1])
    history, turns = steps[-1]
    assert "Stopped after" in history[-1]["content"] and turns[-1]["status"] == "stopped"
    _, history, turns = _run(chat, "Why did he leave?", history, turns, request=request)
    assert turns[-1]["status"] == "done" and len(turns) == 2
    assert chat.assistant.calls[-1][1] is None  # a stopped turn is not conversation history


def test_closing_the_generator_cancels_the_worker(tmp_path):
    """What Gradio does when the tab closes: the answer generator is closed mid-way."""
    from ui.chat import Chat
    from ui.live import Live

    fake = FakeAssistant(stream=True)
    chat = Chat(Live(fake, examples=[]), FeedbackLog(tmp_path / "fb.jsonl"))
    history, turns = chat.start("Why did he leave?", [], [])

    async def run():
        agen = chat.answer(history, turns, 3, "local")
        await agen.__anext__()
        await agen.aclose()

    asyncio.run(run())
    assert fake.cancelled.wait(5)


def test_like_appends_question_answer_citations(chat):
    _, history, turns = _run(chat, "Why did he leave?", [], [])
    _, history, turns = _run(chat, "What is the capital of Australia?", history, turns)
    chat.like(SimpleNamespace(index=3, liked=False, value=None), history, turns)
    chat.like(SimpleNamespace(index=1, liked=True, value=None), history, turns)
    recs = chat.feedback.read()
    assert [(r["question"], r["liked"]) for r in recs] == [("What is the capital of Australia?", False),
                                                          ("Why did he leave?", True)]
    assert recs[1]["answer"] == ANS and recs[1]["citations"][0]["paragraph"] == 2
    assert recs[0]["abstained"] is True


def test_retry_and_undo_truncate_turns(chat):
    _, history, turns = _run(chat, "one", [], [])
    _, history, turns = _run(chat, "two", history, turns)
    h, t = chat.start_retry(SimpleNamespace(index=0), history, turns)
    steps = _collect(chat.answer(h, t, 3, None))
    assert len(steps[-1][0]) == 2 and [x["question"] for x in steps[-1][1]] == ["one"]
    box, h, t = chat.undo(SimpleNamespace(index=2), history, turns)
    assert box == "two" and len(h) == 2 and [x["question"] for x in t] == ["one"]


def test_errors_show_in_chat_not_crash(chat):
    from rag.errors import GeneratorError

    def boom(*a, **kw):
        raise GeneratorError("model <missing>")

    chat.live.assistant.ask = boom
    _, history, turns = _run(chat, "q", [], [])
    assert "rq-error" in history[-1]["content"] and "&lt;missing&gt;" in history[-1]["content"]
    assert turns[0]["error"]


def test_blank_question_is_ignored(chat):
    import gradio as gr

    h, t = chat.start("   ", [], [])
    assert isinstance(h, type(gr.skip())) and chat.assistant.calls == []
    steps = _collect(chat.answer([], [], 3, None))
    assert len(steps) == 1 and chat.assistant.calls == []


def test_citation_opens_document_view_with_highlight_and_export(chat):
    _, history, turns = _run(chat, "Why did he leave?", [], [])
    tabs, picker, html = chat.open_citation("rq-cite-0-0", turns)
    assert tabs.selected == "doc" and picker["value"] == "d1"
    assert 'rq-target" id="p-2"' in html and "<mark>He left.</mark>" in html
    assert chat.open_citation("rq-cite-9-9", turns)[2] is not None  # unknown: nothing happens, no crash
    path = chat.export_file(turns, SimpleNamespace(session_hash="abc"))
    md = open(path, encoding="utf-8").read()
    assert md.startswith("# Conversation with the article") and "**Q: Why did he leave?**" in md and "[^1]:" in md


def test_suggestion_link_asks_the_checked_rephrasing(chat):
    _, history, turns = _run(chat, "What is the capital of Australia?", [], [])
    turns[0]["suggestion"] = "Why did he leave?"
    history, turns = chat.start_suggestion("rq-suggest-0", history, turns)
    assert turns[-1] == {"question": "Why did he leave?", "status": "queued"}


def test_generator_choices_offer_openai_only_with_base_url():
    from ui.app import generator_choices, generator_help

    assert generator_choices(SimpleNamespace(openai_base_url=None)) == ["extractive", "local"]
    assert generator_choices(SimpleNamespace(openai_base_url="http://127.0.0.1:1/v1"))[-1] == "openai"
    help_html = generator_help(SimpleNamespace(openai_base_url="http://h/v1", model_path=None), _labels())
    assert help_html.count("<li>") == 3 and "SmolLM2-135M" in help_html and "http://h/v1" in help_html


# -- command line -------------------------------------------------------------------------------
def test_loopback_and_auth_parsing():
    from ui.cli import is_loopback, parse_auth

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org") and not is_loopback("192.168.1.5")
    assert parse_auth("ann:pa:ss") == ("ann", "pa:ss") and parse_auth(None) is None
    with pytest.raises(ValueError):
        parse_auth("nopassword")


def test_chat_refuses_remote_host_without_flag(capsys):
    from ui.cli import main

    assert main(["chat", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_add_parser_registers_chat():
    import argparse

    from ui.cli import add_parser, cmd_chat

    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers())
    a = p.parse_args(["chat", "--port", "7999", "-k", "3", "--auth", "u:p", "--share", "--allow-remote"])
    assert (a.func, a.port, a.k, a.auth, a.share, a.allow_remote, a.host) == (cmd_chat, 7999, 3, "u:p", True, True,
                                                                            "127.0.0.1")


def test_app_with_basic_auth(tmp_path):
    """The real Blocks around a stand-in assistant, served in-process with a login."""
    from gradio_client import Client

    from tests.servers import closed_port
    from ui.app import build, launch

    demo = build(FakeAssistant(), feedback_path=tmp_path / "fb.jsonl", upload_note="read-only here")
    port = closed_port()
    launch(demo, port=port, auth=("ann", "s3cret"), prevent_thread_lock=True, quiet=True)
    try:
        import httpx

        assert httpx.get(f"http://127.0.0.1:{port}/config").status_code in (401, 403)
        client = Client(f"http://127.0.0.1:{port}/", auth=("ann", "s3cret"), verbose=False)
        assert client.predict("Why did he leave?", api_name="/ask")["answer"] == ANS
        result = client.predict("What is the capital of Australia?", 2, api_name="/ask")
        assert (result["answer"], result["abstained"], result["citations"]) == (ABSTAIN, True, [])
        assert "/add_files" not in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    finally:
        demo.close()


def _notes_index(tmp_path, fake_embedder):
    from rag import Assistant, Retriever, build_index
    from rag.config import Config

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tomatoes.md").write_text("# Growing tomatoes\n\nTomatoes need six hours of direct sun a day.\n\n"
                                      "Water tomatoes deeply twice a week.\n", encoding="utf-8")
    (docs / "beans.txt").write_text("Runner beans climb poles.\n\nBroad beans are sown in autumn.\n", encoding="utf-8")
    config = Config(model="fake", index_dir=tmp_path / "index")
    build_index([docs], config.index_dir, config, embedder=fake_embedder)
    return Assistant(Retriever.load(config.index_dir, config, embedder=fake_embedder), "extractive", config)


def test_chat_over_a_multi_document_index(tmp_path, fake_embedder):
    """`ragqa chat --index DIR` on the user's own documents: real Assistant, several documents,
    citations name the document, the document view serves each document, labels and examples
    come from the documents."""
    from ui.chat import Chat
    from ui.feedback import FeedbackLog
    from ui.live import Live

    live = Live(_notes_index(tmp_path, fake_embedder))
    chat = Chat(live, FeedbackLog(tmp_path / "feedback.jsonl"))
    text = chat.ask_api("How much direct sun do tomatoes need?")["answer"]
    assert "[tomatoes ¶1]" in text
    assert "Growing tomatoes" in chat.document("tomatoes")
    assert "Broad beans" in chat.document("beans")
    assert live.labels.header == "Ask your documents (2)" and live.labels.abstain == "Your documents don't say."
    assert chat.ask_api("What is the capital of Australia?")["answer"] == "Your documents don't say."
    assert live.examples and "What do tomatoes need?" in live.examples
    for q in live.examples:  # every example shown answers, with a citation
        assert "[" in chat.ask_api(q)["answer"] and "¶" in chat.ask_api(q)["answer"], q


def test_upload_api_requires_login_and_adds_documents(tmp_path, fake_embedder):
    """In-process server with a login and uploads into the index: gradio_client must log in; the
    uploaded file is indexed and answered from; a refused file is named with its reason."""
    from gradio_client import Client, handle_file

    from tests.servers import closed_port
    from ui.app import build, launch

    assistant = _notes_index(tmp_path, fake_embedder)
    demo = build(assistant, feedback_path=tmp_path / "fb.jsonl", uploads_to=assistant.config.index_dir, auth=True)
    port = closed_port()
    launch(demo, port=port, auth=("ann", "s3cret"), prevent_thread_lock=True, quiet=True)
    try:
        import httpx

        up = tmp_path / "up"
        up.mkdir()
        (up / "bees.txt").write_text("Honey bees communicate with a waggle dance.\n", encoding="utf-8")
        (up / "tool.exe").write_bytes(b"MZ\x00\x00")
        anon = httpx.post(f"http://127.0.0.1:{port}/gradio_api/upload", files={"files": open(up / "bees.txt", "rb")})
        assert anon.status_code in (401, 403)
        client = Client(f"http://127.0.0.1:{port}/", auth=("ann", "s3cret"), verbose=False)
        out = client.predict([handle_file(str(up / "bees.txt")), handle_file(str(up / "tool.exe"))],
                             api_name="/add_files")
        assert "added bees.txt as “bees”" in out
        assert "refused tool.exe: .exe files are not accepted" in out
        assert "[bees ¶1]" in client.predict("How do honey bees communicate?", api_name="/ask")["answer"]
        assert (assistant.config.index_dir / "uploads" / "bees.txt").read_text().startswith("Honey bees")
        with pytest.raises(Exception, match="refused tool.exe"):
            client.predict([handle_file(str(up / "tool.exe"))], api_name="/add_files")
    finally:
        demo.close()


def test_where_uploads_go(tmp_path, monkeypatch):
    """--read-only: nowhere; a remote host without a login: nowhere; --index DIR: into DIR; the
    bundled article: into a separate upload index (never ragqa's own copy of the article)."""
    import argparse

    from rag.config import Config
    from ui.cli import add_parser, upload_target

    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers())
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    bundled, own = Config(), Config(index_dir=tmp_path / "mine")
    target, note = upload_target(p.parse_args(["chat", "--read-only"]), own, None)
    assert target is None and "read-only" in note
    args = p.parse_args(["chat", "--host", "0.0.0.0", "--allow-remote"])
    assert upload_target(args, own, None)[0] is None and upload_target(args, own, ("a", "b"))[0] == tmp_path / "mine"
    assert upload_target(p.parse_args(["chat"]), own, None) == (tmp_path / "mine", "")
    target, note = upload_target(p.parse_args(["chat"]), bundled, None)
    assert target == tmp_path / "data" / "ragqa" / "uploads-index" and str(target) in note
    assert upload_target(p.parse_args(["chat", "--upload-index", str(tmp_path / "u")]), bundled, None)[0] == \
        tmp_path / "u"


def test_labels_and_picker_read_titles_not_documents(tmp_path, fake_embedder):
    """A real index of several files: the chat's labels come from the titles alone (no document is
    parsed from the text store), and name every document."""
    from rag import Retriever, build_index
    from rag.config import Config
    from rag.store.textstore import titles
    from ui.labels import Labels

    for i in range(3):
        (tmp_path / f"note{i}.md").write_text(f"# Note number {i}\n\nBody of note {i}.", encoding="utf-8")
    cfg = Config(model="fake", min_tokens=0)
    build_index(sorted(tmp_path.glob("*.md")), tmp_path / "idx", cfg, embedder=fake_embedder)
    docs = Retriever.load(tmp_path / "idx", config=cfg, embedder=fake_embedder).documents
    labels = Labels.build(docs)
    assert not docs._cache.items  # nothing parsed
    assert labels.count == 3 and labels.header == "Ask your documents (3)"
    assert set(labels.short.values()) == {"Note number 0", "Note number 1", "Note number 2"}
    assert titles(docs) == {d: docs[d].title for d in docs}
