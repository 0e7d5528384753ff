"""Gradio event handlers: adapt chat events to ``rag.Assistant`` (no retrieval or answering here).

Per session, ``turns`` (a ``gr.State`` list) keeps one dict per question asked, aligned with the
chat's user messages: the question, its status ("queued", "running", "done", "stopped"), the
answer text with its markers, the citations, and the Markdown that Copy and Export give. Finished
turns are the conversation history passed to ``Assistant.ask``.

Asking is two events: ``start`` (instant, no queue) shows the question and a progress line;
``answer`` (queued, an async generator) runs ``Assistant.ask`` in a worker thread and streams
progress: elapsed time, then the LLM's draft as it arrives, then the checked answer. Stop sets the
session's stop flag, which the worker's ``cancel`` event passes on to the model; closing the tab
makes Gradio close the generator, which cancels the worker the same way.

>>> Chat(Live(assistant), FeedbackLog(path)).ask_api("Why might Antonov's appointment matter?")  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
import traceback
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr  # noqa: E402  (this module is only imported to serve the app; EventData hints need it)

from . import export, render, why  # noqa: E402
from .feedback import FeedbackLog, record  # noqa: E402

TICK = 0.1  # seconds between checks of the worker
REFRESH = 0.5  # seconds between progress updates (the elapsed time) while nothing else changes
DRAFT_REFRESH = 0.15  # at most this often while a draft streams in


def _user_turns(history, index: int) -> int:
    """How many user messages come before message ``index``."""
    return sum(1 for m in history[:index] if _role(m) == "user")


def _role(message) -> str:
    return message.get("role") if isinstance(message, dict) else getattr(message, "role", "")


def _answer_slot(history, n: int) -> int | None:
    """Index in ``history`` of the assistant message answering the ``n``-th question."""
    seen = -1
    for i, m in enumerate(history):
        if _role(m) == "user":
            seen += 1
            if seen == n:
                return i + 1 if i + 1 < len(history) and _role(history[i + 1]) == "assistant" else None
    return None


def long_question_notice(question: str) -> str | None:
    """The notice shown when a question is longer than the retriever reads."""
    from rag.retrieve.query import MAX_QUERY_CHARS

    n = len(" ".join(str(question).split()))
    if n <= MAX_QUERY_CHARS:
        return None
    return f"Your question is {n:,} characters long; only its first {MAX_QUERY_CHARS:,} characters were used."


def _session(request) -> str:
    return getattr(request, "session_hash", None) or "default"


class Chat:
    def __init__(self, live, feedback: FeedbackLog, indexer=None, auth: bool = False):
        self.live = live
        self.feedback = feedback
        self.indexer = indexer
        self.auth = auth
        self._stops: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._export_dir = Path(tempfile.mkdtemp(prefix="ragqa-export-"))

    @property
    def assistant(self):
        return self.live.snapshot()[0]

    # -- starting a turn (instant) -----------------------------------------------------------------
    def start(self, message: str, history, turns, request: gr.Request = None):
        """Show the question and a progress line; the ``answer`` event that follows answers it."""
        question = (message or "").strip()
        if not question:
            return gr.skip(), gr.skip()
        history, turns = list(history or []), list(turns or [])
        with self._lock:
            self._stops[_session(request)] = threading.Event()  # a fresh flag per question
        n = len(turns)
        _, labels, _ = self.live.snapshot()
        history.append({"role": "user", "content": render.question_html(question)})
        history.append({"role": "assistant", "content": render.progress_html(n, f"Searching {labels.name}…", 0)})
        return history, turns + [{"question": question, "status": "queued"}]

    def start_retry(self, data: gr.RetryData, history, turns, request: gr.Request = None):
        """Ask the retried question again, dropping it and everything after it."""
        n = _user_turns(history, data.index)
        question = turns[n]["question"] if n < len(turns) else ""
        return self.start(question, list(history)[: data.index], list(turns)[:n], request)

    def start_suggestion(self, payload: str, history, turns, request: gr.Request = None):
        """Ask the rephrasing suggested under turn T (``payload`` is ``rq-suggest-T``)."""
        try:
            t = int(str(payload).rsplit("-", 1)[-1])
            question = (turns or [])[t].get("suggestion") or ""
        except (ValueError, IndexError, AttributeError):
            question = ""
        return self.start(question, history, turns, request)

    def stop(self, request: gr.Request = None) -> None:
        """Stop this session's running answer (the worker is cancelled, the model stops)."""
        with self._lock:
            flag = self._stops.get(_session(request))
        if flag is not None:
            flag.set()

    def forget(self, request: gr.Request = None) -> None:
        """The tab closed: stop its answer and drop its stop flag."""
        self.stop(request)
        with self._lock:
            self._stops.pop(_session(request), None)

    # -- answering (queued, streams) ----------------------------------------------------------------
    async def answer(self, history, turns, k=None, generator=None, request: gr.Request = None):
        """Answer the queued question: yields (chat history, turns) as the answer progresses."""
        history, turns = list(history or []), [dict(t) for t in (turns or [])]
        n = next((i for i, t in enumerate(turns) if t.get("status") == "queued"), None)
        slot = _answer_slot(history, n) if n is not None else None
        if n is None or slot is None:
            yield gr.skip(), gr.skip()
            return
        assistant, labels, _ = self.live.snapshot()
        turn = turns[n]
        turn["status"] = "running"
        question = turn["question"]
        with self._lock:
            stop = self._stops.setdefault(_session(request), threading.Event())
        cancel = threading.Event()
        state: dict = {"draft": None, "done": False}
        past = [(t["question"], t["answer"]) for t in turns[:n] if t.get("status") == "done" and not t.get("error")]

        def work() -> None:
            from rag.config import parse_k
            from rag.errors import AnswerCancelled, RagError

            try:
                ans = assistant.ask(question, history=past or None, k=parse_k(k),
                                    generator=generator or None, cancel=cancel,
                                    on_token=lambda draft: state.__setitem__("draft", draft))
                state["answer"] = ans
                if ans.abstained and not cancel.is_set():  # find a rephrasing that does answer
                    state["names"] = why.unknown_names(assistant, question)
                    state["suggested"] = why.suggestion(assistant, ans, labels)
            except AnswerCancelled:
                state["cancelled"] = True
            except (RagError, ValueError) as exc:
                state["error"] = str(exc)
            except Exception as exc:  # a bug must not leave the chat spinning
                traceback.print_exc()
                state["error"] = f"unexpected error: {exc!r}"
            finally:
                state["done"] = True

        threading.Thread(target=work, daemon=True, name="ragqa-answer").start()
        t0 = time.monotonic()
        last, shown = 0.0, None
        notices = [long_question_notice(question)]
        gen_name = generator or getattr(assistant, "generator_name", "extractive")
        try:
            while not state["done"]:
                if stop.is_set():
                    cancel.set()
                await asyncio.sleep(TICK)
                now = time.monotonic()
                draft = state["draft"]
                if now - last >= REFRESH or (draft != shown and now - last >= DRAFT_REFRESH):
                    status = ("Stopping…" if cancel.is_set() else f"Writing with {gen_name}…" if draft
                              else f"Searching {labels.name}…" if now - t0 < 1 or gen_name == "extractive"
                              else f"Waiting for the {gen_name} model…")
                    history[slot] = {"role": "assistant",
                                     "content": render.progress_html(n, status, now - t0, draft, notices)}
                    last, shown = now, draft
                    yield list(history), turns
        finally:
            cancel.set()  # closed tab or cancelled event: the worker (and the model) stop too
        seconds = time.monotonic() - t0
        if state.get("cancelled") or (stop.is_set() and "answer" not in state):
            turn.update(status="stopped", answer="", seconds=round(seconds, 2))
            history[slot] = {"role": "assistant", "content": render.stopped_html(n, seconds, state["draft"])}
        elif "error" in state:
            turn.update(status="done", answer="", error=state["error"], citations=[])
            history[slot] = {"role": "assistant", "content": render.error_html(state["error"], n)}
        else:
            ans = state["answer"]
            suggested = state.get("suggested")
            cites = [asdict(c) for c in ans.citations]
            markdown = (labels.abstain if ans.abstained else export.answer_markdown(ans.text, cites, labels.short))
            turn.update(status="done", answer=ans.text, abstained=ans.abstained, citations=cites,
                        answerability=ans.answerability, generator=ans.generator, markdown=markdown,
                        shown=labels.abstain if ans.abstained else None,
                        suggestion=suggested[0] if suggested else None, seconds=round(seconds, 2))
            html = render.answer_html(ans, labels, assistant.documents, n,
                                      why.why_html(ans, labels, n, suggested, state.get("names", ()),
                                                   getattr(assistant, "abstain_threshold", None)),
                                      markdown, notices)
            history[slot] = {"role": "assistant", "content": html}
        yield history, turns

    def undo(self, data: gr.UndoData, history, turns):
        """Drop the undone question and everything after it; put the question back in the box."""
        n = _user_turns(history, data.index)
        question = turns[n]["question"] if n < len(turns) else ""
        return question, list(history)[: data.index], list(turns)[:n]

    # -- feedback, export, document view --------------------------------------------------------------
    def like(self, data: gr.LikeData, history, turns) -> None:
        """Append the liked/disliked answer to the feedback file."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        n = _user_turns(history, index) - 1
        if not 0 <= n < len(turns) or turns[n].get("status") != "done":
            return
        t = turns[n]
        self.feedback.append(record(t["question"], t.get("answer", ""), t.get("citations", []), data.liked,
                                    abstained=t.get("abstained"), generator=t.get("generator")))

    def export_file(self, turns, request: gr.Request = None) -> str | None:
        """The conversation as a Markdown file, for the Export button (None before any answer)."""
        done = [t for t in (turns or []) if t.get("status") in ("done", "stopped")]
        if not done:
            return None
        _, labels, _ = self.live.snapshot()
        path = self._export_dir / _session(request)[:16] / "conversation.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(export.conversation_markdown(done, f"Conversation with {labels.name}", labels.short),
                        encoding="utf-8")
        return str(path)

    def document(self, doc_id: str) -> str:
        """The document view's HTML for ``doc_id``."""
        assistant, labels, _ = self.live.snapshot()
        docs = assistant.documents
        doc = docs.get(doc_id) or (docs[next(iter(docs))] if len(docs) else None)
        return render.document_html(doc, labels, source=self.source_url(doc)) if doc else \
            "<p>The index holds no documents.</p>"

    def open_citation(self, payload: str, turns):
        """A citation was clicked (``payload`` is ``rq-cite-T-I``): the document view at that
        paragraph, its quoted sentences highlighted. Returns (tabs, picker, document HTML)."""
        assistant, labels, _ = self.live.snapshot()
        try:
            t, i = (int(x) for x in str(payload).split("-")[-2:])
            c = (turns or [])[t]["citations"][i]
        except (ValueError, IndexError, KeyError, TypeError):
            return gr.skip(), gr.skip(), gr.skip()
        doc = assistant.documents.get(c["doc_id"])
        if doc is None:  # the index changed since this answer
            return gr.Tabs(selected="doc"), gr.skip(), f"<p>{render.escape(c['doc_id'])} is no longer in the index.</p>"
        quotes = [x["quote"] for x in turns[t]["citations"]
                  if x["doc_id"] == c["doc_id"] and x["paragraph"] == c["paragraph"]]
        html = render.document_html(doc, labels, c["paragraph"], quotes, self.source_url(doc))
        return gr.Tabs(selected="doc"), gr.update(value=doc.doc_id), html

    def source_url(self, doc) -> str | None:
        """A link to the document's original file, when the server may serve it (an uploaded file)."""
        path = getattr(doc, "source_path", None)
        root = getattr(self.indexer, "target", None)
        if not path or root is None:
            return None
        try:
            Path(path).resolve().relative_to((Path(root) / "uploads").resolve())
        except ValueError:
            return None
        from urllib.parse import quote

        return f"/gradio_api/file={quote(str(Path(path).resolve()))}"

    # -- API -----------------------------------------------------------------------------------------
    def ask_api(self, question: str, k: int | None = None) -> dict:
        """Answer ``question`` with ``k`` passages (a positive integer; default 5). Returns
        ``answer`` (text with [¶N] markers, or the index's "doesn't say" line), ``abstained``,
        ``notice`` (e.g. a generator fell back), ``citations`` (doc_id, paragraph, quote, ...),
        ``generator`` and ``answerability`` (the answerability model's P(answerable), or null)."""
        from rag.config import parse_k
        from rag.errors import RagError

        assistant, labels, _ = self.live.snapshot()
        try:
            ans = assistant.ask(question, k=parse_k(k))
        except (RagError, ValueError) as exc:
            raise gr.Error(str(exc)) from None
        return {"answer": labels.abstain if ans.abstained else ans.text, "abstained": ans.abstained,
                "notice": ans.notice, "citations": [asdict(c) for c in ans.citations], "generator": ans.generator,
                "answerability": ans.answerability}

    # -- page state ------------------------------------------------------------------------------------
    def page(self):
        """(assistant, labels, examples) for rendering the page now."""
        return self.live.snapshot()

    def check_upload_allowed(self, request) -> None:
        if self.indexer is None:
            raise gr.Error("adding documents is turned off on this server")
        if self.auth and not getattr(request, "username", None):
            raise gr.Error("log in to add documents")

    def add_files_api(self, files, request: gr.Request = None) -> str:
        """Add uploaded files to the index; returns one line per file (added / refused and why)."""
        self.check_upload_allowed(request)
        paths = _paths(files)
        if not paths:
            raise gr.Error("no files were sent")
        job = self.indexer.submit(paths)
        job.finished.wait()
        if not job.added:
            raise gr.Error(job.summary().replace("\n", "; "))
        return job.summary()


def _paths(files) -> list[tuple[str, str]]:
    """(path on disk, name the user gave it) of uploaded files, whatever shape Gradio passes."""
    out = []
    for f in files or []:
        path = getattr(f, "name", None) or getattr(f, "path", None) or (f.get("path") if isinstance(f, dict) else f)
        orig = getattr(f, "orig_name", None) or (f.get("orig_name") if isinstance(f, dict) else None)
        if path:
            out.append((str(path), orig or Path(str(path)).name))
    return out
