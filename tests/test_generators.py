"""All three generators for real: extractive on the bundled article, SmolLM2-135M in-process
(xllamacpp), the same model behind a real OpenAI-compatible server, and the extractive fallback
when that server misbehaves (real sockets from tests/servers.py).

Whatever a tiny model says, an ``Answer`` must be well-formed: an abstention is exactly ABSTAIN
with no citations; otherwise every citation points at a retrieved paragraph and quotes it verbatim.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from rag import Assistant
from rag.answer.citations import MARKER
from rag.answer.generators import (
    MAX_SENTENCES,
    Draft,
    ExtractiveGenerator,
    LLMGenerator,
)
from rag.answer.llm import LocalLLM, OpenAIChat, start_server
from rag.config import Config
from rag.ingest.sentences import split
from rag.types import ABSTAIN, Answer
from tests.contracts import assert_well_formed
from tests.servers import SilentServer, StaticHTTPServer, TrickleServer, closed_port

pytestmark = pytest.mark.slow

ANTONOV = "Why might Antonov's appointment matter?"
SPICER = "What did Sean Spicer say Trump expects of the Russian government?"
KISLYAK = "Who is the Russian ambassador with whom Flynn discussed sanctions?"
# Both pass the evidence gate, so the LLM is really asked. At temperature 0 SmolLM2 declines the
# first ("The article does not provide ...": abstention) and answers the second with a citation, so
# both branches of the contract run on real model output.
LLM_QUESTIONS = [ANTONOV, KISLYAK]
NO_SUPPORT = re.compile(r"^the (local|openai) model's answer had no claim supported by the retrieved paragraphs$")
GOLD_ANSWERABLE = [
    ANTONOV,
    KISLYAK,
    SPICER,
    "Which tabloid said Trump's press conference demonstrated his impotence to change the Russia-US relationship?",
    "What did Aleksey Pushkov tweet about Flynn's resignation?",
    "What was detected off the coast of Connecticut?",
    "Which treaty is Russia alleged to have violated?",
]


def without_markers(text: str) -> str:
    """``"He left [¶2]."`` -> ``"He left."`` (only the markers and the space before them go)."""
    return re.sub(r"\s*" + MARKER.pattern, "", text)


def timed_ask(assistant: Assistant, question: str, **kw) -> tuple[Answer, float]:
    start = time.monotonic()
    ans = assistant.ask(question, **kw)
    return ans, time.monotonic() - start


def report_latency(generator: str, question: str, seconds: float, ans: Answer) -> None:
    state = "abstained" if ans.abstained else f"{len(ans.citations)} citation(s)"
    parts = " ".join(f"{k}={v:.2f}" for k, v in ans.timings.items())
    print(f"\nLATENCY {generator:10s} {seconds:7.2f} s ({parts})  {state}  notice={ans.notice!r}  "
          f"q={question[:50]!r}")


# -- extractive ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def article(bundled_assistant):
    (doc,) = bundled_assistant.documents.values()
    return doc


def test_extractive_antonov_cites_the_sanctions_paragraph(bundled_assistant):
    bundled_assistant.ask(ANTONOV)  # first call loads MiniLM and embeds the sentences
    ans, seconds = timed_ask(bundled_assistant, ANTONOV)
    report_latency("extractive", ANTONOV, seconds, ans)
    assert ans.generator == "extractive" and ans.notice is None
    assert not ans.abstained
    assert_well_formed(ans)
    sanctions = [c for c in ans.citations if "EU sanctions list" in c.paragraph_text]
    assert sanctions, [c.paragraph for c in ans.citations]
    assert f"[¶{sanctions[0].paragraph}]" in ans.text
    assert "EU sanctions list" in ans.text
    assert seconds < 20


@pytest.mark.parametrize("question", GOLD_ANSWERABLE)
def test_extractive_answer_is_verbatim_article_sentences(bundled_assistant, article, question):
    ans = bundled_assistant.ask(question)
    assert_well_formed(ans)
    if ans.abstained:
        pytest.skip("abstained; nothing to check")  # not expected for these, but not this test's point
    sentences = split(without_markers(ans.text))
    assert 1 <= len(sentences) <= MAX_SENTENCES
    assert len(set(sentences)) == len(sentences), f"duplicate sentences: {sentences}"
    for s in sentences:
        assert s in article.text, f"not verbatim from the article: {s!r}"
    quotes = {c.quote for c in ans.citations}
    assert set(sentences) <= quotes, "each sentence is the quote of its own citation"


def test_extractive_generator_is_deterministic(bundled_assistant):
    passages = bundled_assistant.retriever.search(ANTONOV)
    gen = ExtractiveGenerator(bundled_assistant.retriever.embedder)
    first = gen.generate(ANTONOV, passages, bundled_assistant.documents)
    second = gen.generate(ANTONOV, passages, bundled_assistant.documents)
    assert first == second
    assert isinstance(first, Draft) and 0 < first.evidence <= 1.0
    assert MARKER.search(first.text)


# -- local: SmolLM2-135M in this process -------------------------------------------------------

class TestLocal:
    @pytest.fixture(scope="class")
    def local_assistant(self):
        assistant = Assistant.load(generator="local")
        yield assistant
        assistant.generator.model.close()

    def test_backend_is_in_process_llama_cpp(self, local_assistant):
        assert local_assistant.generator_name == "local"
        assert isinstance(local_assistant.generator, LLMGenerator)
        assert isinstance(local_assistant.generator.model, LocalLLM)

    @pytest.mark.parametrize("question", LLM_QUESTIONS)
    def test_answer_is_well_formed(self, local_assistant, question):
        local_assistant.retriever.search(question)  # keep MiniLM loading out of the measurement
        ans, seconds = timed_ask(local_assistant, question)
        report_latency("local", question, seconds, ans)
        assert ans.generator == "local"
        assert_well_formed(ans)
        # llama.cpp worked, so no fallback; the only notice allowed is "nothing it said was supported".
        assert ans.notice is None or NO_SUPPORT.match(ans.notice), ans.notice

    def test_llm_generator_returns_a_draft(self, local_assistant):
        passages = local_assistant.retriever.search(ANTONOV)
        gen = LLMGenerator("local", local_assistant.generator.model, max_tokens=32)
        start = time.monotonic()
        draft = gen.generate(ANTONOV, passages, local_assistant.documents)
        print(f"\nLATENCY local-draft {time.monotonic() - start:.2f} s (32 tokens max): {draft.text[:80]!r}")
        assert isinstance(draft, Draft)
        assert isinstance(draft.text, str) and draft.text.strip() == draft.text and draft.text
        assert "<|im_" not in draft.text
        assert draft.evidence == 1.0


# -- openai: the same model behind a real OpenAI-compatible HTTP server -----------------------------

@pytest.fixture(scope="module")
def llm_server():
    handle = start_server(host="127.0.0.1", port=0, n_threads=2)
    yield handle
    handle.close()


class TestOpenAI:
    @pytest.fixture(scope="class")
    def openai_assistant(self, llm_server):
        # A generous timeout: this CI box has 2 cores and is shared; a fallback here would be a failure.
        config = Config(generator="openai", openai_base_url=llm_server.base_url,
                        openai_model=llm_server.model, timeout=600)
        return Assistant.load(config=config)

    def test_server_is_local(self, llm_server):
        assert llm_server.base_url.startswith("http://127.0.0.1:") and llm_server.base_url.endswith("/v1")
        assert llm_server.process.poll() is None

    @pytest.mark.parametrize("question", LLM_QUESTIONS)
    def test_answer_is_well_formed(self, openai_assistant, question):
        openai_assistant.retriever.search(question)
        ans, seconds = timed_ask(openai_assistant, question)
        report_latency("openai", question, seconds, ans)
        assert ans.generator == "openai"
        assert_well_formed(ans)
        # The server works, so no "unavailable ... answered extractively" notice.
        assert ans.notice is None or NO_SUPPORT.match(ans.notice), ans.notice
        if ans.notice:
            assert ans.abstained  # "no supported claim" always ends in an abstention

    def test_llm_generator_over_http_returns_a_draft(self, llm_server, openai_assistant):
        passages = openai_assistant.retriever.search(ANTONOV)
        gen = LLMGenerator("openai", OpenAIChat(llm_server.base_url, llm_server.model, timeout=600),
                           max_tokens=32)
        draft = gen.generate(ANTONOV, passages, openai_assistant.documents)
        assert isinstance(draft, Draft) and draft.text and draft.text == draft.text.strip()


# -- fallbacks: a broken openai endpoint still gets the extractive answer --------------------------

TIMEOUT = 1.0
SLACK = 5.0  # retrieval + extractive generation on a warm, shared 2-core machine


def _fallback_assistant(bundled_assistant, base_url: str) -> Assistant:
    """An openai Assistant on the bundled retriever (warm MiniLM) with warm sentence vectors,
    so the time measured is the failure handling, not cold caches."""
    config = bundled_assistant.config.replace(generator="openai", openai_base_url=base_url, timeout=TIMEOUT)
    assistant = Assistant(bundled_assistant.retriever, "openai", config)
    passages = bundled_assistant.retriever.search(ANTONOV)
    assistant.extractive.generate(ANTONOV, passages, assistant.documents)
    return assistant


def _check_fallback(bundled_assistant, base_url: str, failure: str) -> None:
    expected = bundled_assistant.ask(ANTONOV)  # warm-up, and the answer the fallback must give
    assistant = _fallback_assistant(bundled_assistant, base_url)
    ans, seconds = timed_ask(assistant, ANTONOV)
    report_latency("fallback", ANTONOV, seconds, ans)
    assert seconds < TIMEOUT + SLACK, f"fallback took {seconds:.1f} s"
    assert not ans.abstained and ans.citations
    assert_well_formed(ans)
    assert ans.text == expected.text and ans.citations == expected.citations
    assert ans.notice and "extractively" in ans.notice
    assert re.search(failure, ans.notice), ans.notice
    assert ans.generator == "openai"  # the generator asked for; the notice says what happened


def test_fallback_when_connection_refused(bundled_assistant):
    _check_fallback(bundled_assistant, f"http://127.0.0.1:{closed_port()}/v1", r"refused|cannot connect")


def test_fallback_when_server_hangs(bundled_assistant):
    with SilentServer() as server:
        _check_fallback(bundled_assistant, server.base_url, r"timed out after 1 s")


def test_fallback_when_response_is_malformed_json(bundled_assistant):
    with StaticHTTPServer(200, b'{"choices": [{"message": {"content": "Antonov') as server:
        _check_fallback(bundled_assistant, server.base_url, r"malformed JSON")


@pytest.mark.parametrize("status, body, failure", [
    (200, json.dumps({"choices": []}).encode(), r"malformed response"),
    (200, json.dumps({"choices": [{"message": {"content": "  \n"}}]}).encode(), r"empty answer"),
    (500, json.dumps({"error": {"message": "model exploded"}}).encode(), r"HTTP 500.*model exploded"),
    (404, b"<html>Not Found</html>", r"HTTP 404"),
], ids=["no-content", "empty-content", "http-500", "http-404-html"])
def test_fallback_when_server_answers_nonsense(bundled_assistant, status, body, failure):
    with StaticHTTPServer(status, body) as server:
        _check_fallback(bundled_assistant, server.base_url, failure)


@pytest.mark.parametrize("url", ["localhost:8080/v1", "ftp://127.0.0.1/v1"])
def test_fallback_when_base_url_is_misconfigured(bundled_assistant, url):
    _check_fallback(bundled_assistant, url, r"protocol")


def test_unsupported_llm_claims_abstain_with_notice(bundled_assistant):
    """A server that answers with a claim the paragraphs don't support, citing a real paragraph."""
    body = json.dumps({"choices": [{"message": {"content": "Antonov was born on the Moon [¶25]."}}]}).encode()
    with StaticHTTPServer(200, body) as server:
        ans = _fallback_assistant(bundled_assistant, server.base_url).ask(ANTONOV)
    assert ans.abstained and ans.text == ABSTAIN and ans.citations == ()
    assert NO_SUPPORT.match(ans.notice)
    assert ans.abstain_reason == "model_unsupported"
    assert ans.removed_claims == ("Antonov was born on the Moon.",)


def test_fallback_when_server_trickles_headers(bundled_assistant):
    bundled_assistant.ask(ANTONOV)  # warm
    result: dict = {}

    def ask() -> None:
        result["answer"] = assistant.ask(ANTONOV)

    with TrickleServer() as server:
        assistant = _fallback_assistant(bundled_assistant, server.base_url)
        worker = threading.Thread(target=ask, daemon=True)
        worker.start()
        worker.join(TIMEOUT + SLACK)
        finished = not worker.is_alive()
    worker.join(30)  # the server is closed now: the request errors out and the thread ends
    assert finished, f"Assistant.ask with timeout={TIMEOUT:g} s was still waiting after {TIMEOUT + SLACK:g} s"
    assert result["answer"].notice and "timed out" in result["answer"].notice


# -- streaming, cancelling, and why an answer abstained --------------------------------------------

def test_streamed_openai_draft_goes_through_the_same_validation(bundled_assistant):
    """A streamed draft with one supported and one unsupported claim: the tokens arrive one by one,
    then validation keeps the supported claim and reports the removed one."""
    from tests.servers import StreamingChatServer

    reply = ("Antonov is on the EU sanctions list [¶25]. Antonov was born on the Moon [¶25].")
    with StreamingChatServer(reply, delay=0.02) as server:
        assistant = _fallback_assistant(bundled_assistant, server.base_url)
        drafts = []
        ans = assistant.ask(ANTONOV, on_token=drafts.append)
    assert len(drafts) >= 10 and drafts[-1] == reply
    assert all(b.startswith(a) for a, b in zip(drafts, drafts[1:]))  # each draft extends the previous one
    assert not ans.abstained and ans.notice is None
    assert_well_formed(ans)
    assert ans.text == "Antonov is on the EU sanctions list [¶25]."
    assert ans.removed_claims == ("Antonov was born on the Moon.",)


def test_cancel_stops_the_stream_and_the_server(bundled_assistant):
    from rag.errors import AnswerCancelled
    from tests.servers import StreamingChatServer

    cancel = threading.Event()
    with StreamingChatServer("Antonov is on the EU sanctions list [¶25]. " * 20, delay=0.05) as server:
        assistant = _fallback_assistant(bundled_assistant, server.base_url)

        def on_token(draft):
            if len(draft.split()) >= 5:
                cancel.set()

        with pytest.raises(AnswerCancelled):
            assistant.ask(ANTONOV, on_token=on_token, cancel=cancel)
        assert server.hung_up.wait(10) and not server.finished.is_set()


@pytest.mark.parametrize("question, reason", [
    ("What did Rex Tillerson say about Russia?", "unknown_name"),
    ("What is the capital of Australia?", "no_relevant_passage"),
], ids=["unknown-name", "nothing-relevant"])
def test_abstentions_say_why(bundled_assistant, question, reason):
    ans = bundled_assistant.ask(question)
    assert ans.abstained and ans.abstain_reason == reason, (ans.abstain_reason, ans.text)


def test_answers_have_no_abstain_reason(bundled_assistant):
    ans = bundled_assistant.ask(ANTONOV)
    assert not ans.abstained and ans.abstain_reason is None and ans.removed_claims == ()


class TestStreamingLocal:
    def test_local_streams_into_the_answer(self, bundled_assistant):
        """SmolLM2 in-process: ``on_token`` sees the draft grow token by token; the answer that
        comes out is validated like any other."""
        config = bundled_assistant.config.replace(generator="local")
        assistant = Assistant(bundled_assistant.retriever, "local", config)
        drafts = []
        try:
            ans = assistant.ask(KISLYAK, on_token=drafts.append)
        finally:
            assistant.generator.model.close()
        assert len(drafts) >= 3 and all(b.startswith(a) for a, b in zip(drafts, drafts[1:]))
        assert_well_formed(ans)
        assert ans.generator == "local"


def test_openai_streams_from_real_llama_server(llm_server, bundled_assistant):
    config = bundled_assistant.config.replace(generator="openai", openai_base_url=llm_server.base_url,
                                              openai_model=llm_server.model, timeout=600)
    assistant = Assistant(bundled_assistant.retriever, "openai", config)
    drafts = []
    ans = assistant.ask(KISLYAK, on_token=drafts.append)
    assert len(drafts) >= 3 and all(b.startswith(a) for a, b in zip(drafts, drafts[1:]))
    assert_well_formed(ans)
    assert ans.notice is None or NO_SUPPORT.match(ans.notice), ans.notice
