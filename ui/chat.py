"""Gradio event handlers: adapt chat events to ``rag.Assistant`` (no retrieval or answering here).

Per session, ``turns`` (a ``gr.State`` list) keeps one dict per question asked, aligned with the
chat's user messages: the raw question, the answer text with its markers, and the citations. It
is the conversation history passed to ``Assistant.ask`` and what feedback records describe.

>>> Chat(assistant, FeedbackLog(path)).ask_api("Why might Antonov's appointment matter?")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr  # noqa: E402  (this module is only imported to serve the app; EventData hints need it)

from . import render  # noqa: E402
from .feedback import FeedbackLog, record  # noqa: E402

WORDS_PER_CHUNK = 3  # streaming granularity
STREAM_DELAY = 0.015  # seconds between chunks: visibly streams, adds ~0.1 s to a 20-word answer


def stream_prefixes(text: str, n: int = WORDS_PER_CHUNK):
    """Progressively longer prefixes of ``text``, ``n`` words more each time, ending with ``text``."""
    words = text.split(" ")
    for i in range(n, len(words), n):
        yield " ".join(words[:i])
    yield text


def _user_turns(history, index: int) -> int:
    """How many user messages come before message ``index``."""
    return sum(1 for m in history[:index] if _role(m) == "user")


def _role(message) -> str:
    return message.get("role") if isinstance(message, dict) else getattr(message, "role", "")


@dataclass(frozen=True)
class Chat:
    assistant: object  # rag.Assistant
    feedback: FeedbackLog

    # -- asking ----------------------------------------------------------------------------------
    def _ask(self, question: str, turns, k, generator):
        """(Answer, None) or (None, error message)."""
        from rag.config import parse_k
        from rag.errors import RagError

        past = [(t["question"], t["answer"]) for t in turns if not t.get("error")]
        try:
            return self.assistant.ask(question, history=past or None, k=parse_k(k),
                                      generator=generator or None), None
        except (RagError, ValueError) as exc:
            return None, str(exc)

    def respond(self, message: str, history, turns, k=None, generator=None):
        """Submit handler: yields (textbox, chat history, turns) as the answer streams in."""
        question = (message or "").strip()
        history, turns = list(history or []), list(turns or [])
        if not question:
            yield message, history, turns
            return
        history.append({"role": "user", "content": render.question_html(question)})
        history.append({"role": "assistant", "content": render.pending_html()})
        yield "", list(history), turns
        answer, error = self._ask(question, turns, k, generator)
        if error:
            history[-1] = {"role": "assistant", "content": render.error_html(error)}
            yield "", history, turns + [{"question": question, "answer": "", "citations": [], "error": error}]
            return
        for shown in stream_prefixes(answer.text):
            history[-1] = {"role": "assistant", "content": render.answer_html(answer, shown)}
            yield "", list(history), turns
            if shown != answer.text:
                time.sleep(STREAM_DELAY)
        turn = {"question": question, "answer": answer.text, "abstained": answer.abstained,
                "citations": [asdict(c) for c in answer.citations], "generator": answer.generator}
        yield "", history, turns + [turn]

    def retry(self, data: gr.RetryData, history, turns, k=None, generator=None):
        """Ask the retried question again, dropping it and everything after it."""
        n = _user_turns(history, data.index)
        question = turns[n]["question"] if n < len(turns) else ""
        yield from self.respond(question, list(history)[: data.index], list(turns)[:n], k, generator)

    def undo(self, data: gr.UndoData, history, turns):
        """Drop the undone question and everything after it; put the question back in the box."""
        n = _user_turns(history, data.index)
        question = turns[n]["question"] if n < len(turns) else ""
        return question, list(history)[: data.index], list(turns)[:n]

    # -- feedback --------------------------------------------------------------------------------
    def like(self, data: gr.LikeData, history, turns) -> None:
        """Append the liked/disliked answer to the feedback file."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        n = _user_turns(history, index) - 1
        if not 0 <= n < len(turns):
            return
        t = turns[n]
        self.feedback.append(record(t["question"], t["answer"], t["citations"], data.liked,
                                    abstained=t.get("abstained"), generator=t.get("generator")))

    # -- API -------------------------------------------------------------------------------------
    def ask_api(self, question: str, k: int | None = None) -> dict:
        """Answer ``question`` with ``k`` passages (a positive integer; default 5). Returns
        ``answer`` (text with [¶N] markers), ``abstained``, ``notice`` (e.g. a generator fell back),
        ``citations`` (doc_id, paragraph, quote, ...) and ``generator``."""
        from rag.config import parse_k
        from rag.errors import RagError

        try:
            ans = self.assistant.ask(question, k=parse_k(k))
        except (RagError, ValueError) as exc:
            raise gr.Error(str(exc)) from None
        return {"answer": ans.text, "abstained": ans.abstained, "notice": ans.notice,
                "citations": [asdict(c) for c in ans.citations], "generator": ans.generator}

    def document(self, doc_id: str) -> str:
        """The Article tab's HTML for ``doc_id``."""
        docs = self.assistant.documents
        doc = docs.get(doc_id) or next(iter(docs.values()), None)
        return render.document_html(doc) if doc else "<p>The index holds no documents.</p>"
