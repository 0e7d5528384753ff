"""Fast tests of the chat window's pieces: HTML rendering, the feedback file, event handlers
(with a stand-in assistant), and the ``chat`` command's safety checks."""

from __future__ import annotations

import json
import re
import threading
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
    html = render.answer_html(_answer())
    assert '<span class="rq-cite">[¶2]</span>' in html
    assert "Intro. <mark>He left.</mark> Then more." in html
    other = re.search(r'<details class="rq-other">(.*)</details>', html).group(1)
    assert "¶5" in other and "score 0.300" in other and "&lt;i&gt;" in other
    assert "¶2" not in other  # the cited passage is shown in full above, not repeated


def test_highlight_merges_overlapping_quotes_and_ignores_missing():
    assert render.highlight("One. Two. Three.", ["Two.", "Two. Three.", "absent"]) == "One. <mark>Two. Three.</mark>"


def test_abstention_shows_phrase_and_open_closest_passages():
    html = render.answer_html(_answer(abstained=True))
    assert "The article doesn&#x27;t say." in html and 'class="rq-abstain"' in html
    assert '<details class="rq-closest" open>' in html and "¶5" in html and "¶2" in html


def test_notice_is_visible():
    html = render.answer_html(_answer(notice="local generator unavailable; answered extractively"))
    assert 'class="rq-notice"' in html and "answered extractively" in html


def test_streaming_prefix_shows_cursor_until_complete():
    a = _answer()
    assert "rq-cursor" in render.answer_html(a, "He") and "rq-cursor" not in render.answer_html(a, a.text)


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
    """Records calls; answers ANS or abstains for questions about Australia."""

    def __init__(self):
        self.calls = []
        self.documents = {"d1": _doc(["Intro.", "Intro. He left. Then more."])}
        self.config = SimpleNamespace(k=5, generator="extractive", openai_base_url=None, feedback_path=None)

    def ask(self, question, history=None, k=None, generator=None):
        self.calls.append((question, history, k, generator))
        if "Australia" in question:
            return _answer(abstained=True)
        return _answer()


@pytest.fixture
def chat(tmp_path):
    from ui.chat import Chat

    return Chat(FakeAssistant(), FeedbackLog(tmp_path / "fb.jsonl"))


def _run(chat, question, history, turns, k=3):
    steps = list(chat.respond(question, history, turns, k, "extractive"))
    return steps, steps[-1][1], steps[-1][2]


def test_respond_streams_then_passes_history(chat):
    steps, history, turns = _run(chat, "Why did he leave? <b>", [], [])
    assert len(steps) >= 3 and steps[0][0] == ""
    assert "&lt;b&gt;" in history[0]["content"] and "<b>" not in history[0]["content"]
    assert "rq-cursor" in steps[1][1][-1]["content"] and "<mark>" in history[-1]["content"]
    assert turns == [{"question": "Why did he leave? <b>", "answer": ANS, "abstained": False,
                      "citations": turns[0]["citations"], "generator": "extractive"}]
    _, history, turns = _run(chat, "And then?", history, turns)
    assert chat.assistant.calls[-1] == ("And then?", [("Why did he leave? <b>", ANS)], 3, "extractive")
    assert len(history) == 4 and len(turns) == 2


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
    steps = list(chat.retry(SimpleNamespace(index=0), history, turns, 3, None))
    assert len(steps[-1][1]) == 2 and [t["question"] for t in steps[-1][2]] == ["one"]
    box, h, t = chat.undo(SimpleNamespace(index=2), history, turns)
    assert box == "two" and len(h) == 2 and [x["question"] for x in t] == ["one"]


def test_errors_show_in_chat_not_crash(chat):
    from rag.errors import GeneratorError

    def boom(*a, **kw):
        raise GeneratorError("model <missing>")

    chat.assistant.ask = boom
    _, history, turns = _run(chat, "q", [], [])
    assert "rq-error" in history[-1]["content"] and "&lt;missing&gt;" in history[-1]["content"]
    assert turns[0]["error"]


def test_blank_question_is_ignored(chat):
    steps = list(chat.respond("   ", [], [], 3, None))
    assert steps == [("   ", [], [])] and chat.assistant.calls == []


def test_generator_choices_offer_openai_only_with_base_url():
    from ui.app import generator_choices

    assert generator_choices(SimpleNamespace(openai_base_url=None)) == ["extractive", "local"]
    assert generator_choices(SimpleNamespace(openai_base_url="http://127.0.0.1:1/v1"))[-1] == "openai"


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

    demo = build(FakeAssistant(), feedback_path=tmp_path / "fb.jsonl")
    port = closed_port()
    launch(demo, port=port, auth=("ann", "s3cret"), prevent_thread_lock=True, quiet=True)
    try:
        import httpx

        assert httpx.get(f"http://127.0.0.1:{port}/config").status_code in (401, 403)
        client = Client(f"http://127.0.0.1:{port}/", auth=("ann", "s3cret"), verbose=False)
        assert client.predict("Why did he leave?", api_name="/ask")["answer"] == ANS
        result = client.predict("What is the capital of Australia?", 2, api_name="/ask")
        assert (result["answer"], result["abstained"], result["citations"]) == (ABSTAIN, True, [])
    finally:
        demo.close()


def test_chat_over_a_multi_document_index(tmp_path, fake_embedder):
    """`ragqa chat --index DIR` on the user's own documents: real Assistant, several documents,
    citations name the document, the Article view serves each document."""
    from rag import Assistant, Retriever, build_index
    from rag.config import Config
    from ui.chat import Chat
    from ui.feedback import FeedbackLog

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tomatoes.md").write_text("# Growing tomatoes\n\nTomatoes need six hours of direct sun a day.\n\n"
                                      "Water tomatoes deeply twice a week.\n", encoding="utf-8")
    (docs / "beans.txt").write_text("Runner beans climb poles.\n\nBroad beans are sown in autumn.\n", encoding="utf-8")
    config = Config(model="fake", index_dir=tmp_path / "index")
    build_index([docs], config.index_dir, config, embedder=fake_embedder)
    assistant = Assistant(Retriever.load(config.index_dir, config, embedder=fake_embedder), "extractive", config)
    chat = Chat(assistant, FeedbackLog(tmp_path / "feedback.jsonl"))
    text = chat.ask_api("How much direct sun do tomatoes need?")["answer"]
    assert "[tomatoes ¶1]" in text
    assert "Growing tomatoes" in chat.document("tomatoes")
    assert "Broad beans" in chat.document("beans")
