"""The HTTP /ask endpoint (issue #12, item 8): ``k`` validated as in Python, and the result carries
the answer, the notice, the citations and ``abstained`` as structured fields. Also the CLI's
``--timeout``/``-k`` checks: one line, exit 2."""

from __future__ import annotations

import pytest

from rag.cli import main
from rag.config import parse_k
from rag.types import ABSTAIN, Answer, Citation

CITE = Citation("d1", 2, "Intro. He left. Then more.", "He left.", "Doc one")


class Assistant:
    def __init__(self):
        self.calls = []
        self.documents = {}

    def ask(self, question, history=None, k=None, generator=None):
        self.calls.append(k)
        if "Australia" in question:
            return Answer(question, ABSTAIN, (), (), True, "extractive", None)
        return Answer(question, "He left [¶2].", (CITE,), (), False, "openai",
                      "openai backend timed out; answered extractively")


@pytest.fixture
def chat(tmp_path):
    from ui.chat import Chat
    from ui.feedback import FeedbackLog
    from ui.live import Live

    return Chat(Live(Assistant(), bundled=True, examples=()), FeedbackLog(tmp_path / "fb.jsonl"))


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), (3, 3), (3.0, 3), ("4", 4)])
def test_parse_k_accepts_positive_integers(value, expected):
    assert parse_k(value) == expected


@pytest.mark.parametrize("value", [0, -1, 2.5, "abc", True, float("nan"), float("inf"), [3]])
def test_parse_k_refuses_everything_else(value):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        parse_k(value)


def test_ask_api_returns_structured_fields(chat):
    result = chat.ask_api("Why did he leave?", 2)
    assert result["answer"] == "He left [¶2]."
    assert result["notice"] == "openai backend timed out; answered extractively"
    assert result["abstained"] is False and result["generator"] == "openai"
    assert result["answerability"] is None  # this fake answer was not scored by the model
    assert result["citations"] == [{"doc_id": "d1", "paragraph": 2, "title": "Doc one", "page": None,
                                    "quote": "He left.", "paragraph_text": "Intro. He left. Then more.",
                                    "support": 1.0}]
    assert chat.assistant.calls == [2]


def test_ask_api_abstention(chat):
    result = chat.ask_api("What is the capital of Australia?")
    assert (result["answer"], result["abstained"], result["citations"], result["notice"]) == (
        chat.live.labels.abstain, True, [], None)


@pytest.mark.parametrize("k", [0, -3, 2.5, "many"])
def test_ask_api_refuses_a_bad_k(chat, k):
    import gradio as gr

    with pytest.raises(gr.Error, match="k must be a positive integer"):
        chat.ask_api("Why did he leave?", k)
    assert chat.assistant.calls == []


@pytest.mark.parametrize("flags", [["--timeout", "nan"], ["--timeout", "inf"], ["--timeout", "0"], ["-k", "0"]])
def test_bad_numbers_on_the_command_line_are_one_line(flags, capsys):
    assert main(["ask", "Why?", *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("timeout must be" in err or "k must be" in err)
