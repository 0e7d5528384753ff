"""Language-model backends against real llama.cpp (SmolLM2-135M) and real misbehaving servers."""

import json
import subprocess
import sys
import time

import pytest

from rag.answer.llm import LocalLLM, OpenAIChat, smollm2_path, start_server
from rag.errors import GeneratorError, MissingDependencyError
from tests.servers import SilentServer, StaticHTTPServer, closed_port

HELLO = [{"role": "user", "content": "Say hello in one short sentence."}]


def test_import_is_light():
    code = "import sys, rag.answer.llm; print(sorted({'xllamacpp', 'httpx'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_smollm2_path_points_at_gguf():
    assert smollm2_path().endswith("SmolLM2-135M-Instruct.Q4_1.gguf")


@pytest.fixture(scope="module")
def local_llm():
    llm = LocalLLM(n_threads=2, n_ctx=512)
    yield llm
    llm.close()


def test_local_llm_answers(local_llm):
    answer = local_llm.complete(HELLO, max_tokens=16)
    assert isinstance(answer, str) and answer.strip()
    assert "<|im_" not in answer  # chat template applied, stop token not leaked


def test_local_llm_prompt_too_long(local_llm):
    with pytest.raises(GeneratorError, match="context"):
        local_llm.complete([{"role": "user", "content": "word " * 1000}], max_tokens=4)


@pytest.mark.parametrize("bad", [0, -1])
def test_local_llm_rejects_bad_thread_count(bad):
    with pytest.raises(ValueError, match="n_threads"):
        LocalLLM(n_threads=bad)


def test_missing_model_file_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError):
        LocalLLM(str(tmp_path / "nope.gguf"))
    assert issubclass(MissingDependencyError, ImportError)


@pytest.fixture(scope="module")
def llm_server():
    with start_server(host="127.0.0.1", port=0, n_threads=2) as server:
        yield server


def test_server_handle(llm_server):
    assert llm_server.base_url.startswith("http://127.0.0.1:")
    assert llm_server.base_url.endswith("/v1")
    assert llm_server.model == "SmolLM2-135M-Instruct.Q4_1"


def test_openai_chat_against_real_server(llm_server):
    chat = OpenAIChat(llm_server.base_url, llm_server.model, timeout=60)
    answer = chat.complete(HELLO, max_tokens=16)
    assert isinstance(answer, str) and answer.strip()


def test_connection_refused():
    chat = OpenAIChat(f"http://127.0.0.1:{closed_port()}/v1", "m", timeout=5)
    with pytest.raises(GeneratorError, match="refused|connect"):
        chat.complete(HELLO)


def test_silent_server_times_out():
    with SilentServer() as server:
        chat = OpenAIChat(server.base_url, "m", timeout=1)
        start = time.monotonic()
        with pytest.raises(GeneratorError, match="timed out"):
            chat.complete(HELLO)
        assert time.monotonic() - start < 5


def test_non_json_body():
    with StaticHTTPServer(200, b"not json", "text/plain") as server:
        with pytest.raises(GeneratorError, match="malformed|JSON"):
            OpenAIChat(server.base_url, "m", timeout=5).complete(HELLO)


def test_json_without_content():
    with StaticHTTPServer(200, json.dumps({"choices": []}).encode()) as server:
        with pytest.raises(GeneratorError, match="malformed"):
            OpenAIChat(server.base_url, "m", timeout=5).complete(HELLO)


def test_http_500():
    body = json.dumps({"error": {"message": "model exploded"}}).encode()
    with StaticHTTPServer(500, body) as server:
        with pytest.raises(GeneratorError, match="HTTP 500.*model exploded"):
            OpenAIChat(server.base_url, "m", timeout=5).complete(HELLO)


# -- streaming and cancelling (issue 15, item 6) ---------------------------------------------------

STORY = [{"role": "user", "content": "Write a long story about a cat who travels the world."}]


def _stream(model, **kw):
    """Run ``model.complete`` streaming; returns (pieces with arrival times, result, finish time)."""
    pieces = []
    start = time.monotonic()
    text = model.complete(STORY, on_text=lambda p: pieces.append((time.monotonic() - start, p)), **kw)
    return pieces, text, time.monotonic() - start


def test_local_llm_streams_real_tokens(local_llm):
    pieces, text, end = _stream(local_llm, max_tokens=24)
    assert len(pieces) >= 10  # token by token, not one blob
    assert "".join(p for _, p in pieces) == text and text.strip()
    assert pieces[0][0] < pieces[-1][0] <= end  # the first piece arrived before the last was written


def _cancel_after(n: int):
    """(cancel event, pieces seen, on_text callback that sets ``cancel`` at the ``n``-th piece)."""
    import threading

    cancel, seen = threading.Event(), []

    def on_text(piece):
        seen.append(piece)
        if len(seen) == n:
            cancel.set()

    return cancel, seen, on_text


def test_local_llm_cancel_stops_generation(local_llm):
    from rag.errors import AnswerCancelled

    cancel, seen, on_text = _cancel_after(3)
    with pytest.raises(AnswerCancelled):
        local_llm.complete(STORY, max_tokens=200, on_text=on_text, cancel=cancel)
    assert 3 <= len(seen) <= 5  # llama.cpp stopped at the next token, not after 200


def test_openai_chat_streams_from_real_server(llm_server):
    chat = OpenAIChat(llm_server.base_url, llm_server.model, timeout=60)
    pieces, text, end = _stream(chat, max_tokens=24)
    assert len(pieces) >= 10 and "".join(p for _, p in pieces) == text and text.strip()
    assert pieces[0][0] < pieces[-1][0] <= end


def test_openai_cancel_hangs_up_so_the_server_stops():
    from rag.errors import AnswerCancelled
    from tests.servers import StreamingChatServer

    with StreamingChatServer("one two three four five six seven eight nine ten " * 5, delay=0.1) as server:
        cancel, seen, on_text = _cancel_after(3)
        with pytest.raises(AnswerCancelled):
            OpenAIChat(server.base_url, "m", timeout=10).complete(HELLO, on_text=on_text, cancel=cancel)
        assert server.hung_up.wait(10), "the server kept streaming after the client cancelled"
        assert not server.finished.is_set() and server.requests[0]["stream"] is True


def test_openai_stream_errors_are_one_line():
    with StaticHTTPServer(500, json.dumps({"error": {"message": "model exploded"}}).encode()) as server:
        with pytest.raises(GeneratorError, match="HTTP 500.*model exploded"):
            OpenAIChat(server.base_url, "m", timeout=5).complete(HELLO, on_text=lambda p: None)
    body = b'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\ndata: {not json\n\n'
    with StaticHTTPServer(200, body, "text/event-stream") as server:
        with pytest.raises(GeneratorError, match="malformed JSON"):
            OpenAIChat(server.base_url, "m", timeout=5).complete(HELLO, on_text=lambda p: None)
    # a server that ignores "stream" and answers in one piece still works
    whole = json.dumps({"choices": [{"message": {"content": "Hello there."}}]}).encode()
    with StaticHTTPServer(200, whole) as server:
        got = []
        assert OpenAIChat(server.base_url, "m", timeout=5).complete(HELLO, on_text=got.append) == "Hello there."
        assert got == ["Hello there."]


def test_openai_stream_that_never_starts_times_out():
    from tests.servers import TrickleServer

    with TrickleServer() as server:
        start = time.monotonic()
        with pytest.raises(GeneratorError, match="timed out after 1 s"):
            OpenAIChat(server.base_url, "m", timeout=1).complete(HELLO, on_text=lambda p: None)
        assert time.monotonic() - start < 5


# -- any GGUF the user names -------------------------------------------------------------------------

def test_local_runs_the_gguf_named_by_model_path(tmp_path):
    import shutil

    copy = tmp_path / "my-model.gguf"
    shutil.copyfile(smollm2_path(), copy)
    llm = LocalLLM(str(copy), n_threads=2, n_ctx=512)
    try:
        assert llm.model_path == str(copy)
        assert llm.complete(HELLO, max_tokens=8).strip()
    finally:
        llm.close()


def test_model_path_errors_name_the_file(tmp_path):
    from rag.answer.llm import ModelFileError

    with pytest.raises(ModelFileError, match="model file not found: .*nope.gguf") as info:
        LocalLLM(str(tmp_path / "nope.gguf"))
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, GeneratorError)
    bad = tmp_path / "notes.gguf"
    bad.write_text("not a model")
    with pytest.raises(GeneratorError, match="notes.gguf is not a GGUF model file"):
        LocalLLM(str(bad))


def test_model_path_from_environment_and_cli(tmp_path, monkeypatch):
    from rag.answer.registry import GENERATORS
    from rag.config import Config

    monkeypatch.setenv("RAGQA_MODEL_PATH", smollm2_path())
    config = Config.from_env()
    assert str(config.model_path) == smollm2_path()
    assert GENERATORS.create("local", config, None).model.model_path == smollm2_path()
    bad = tmp_path / "bad.gguf"
    bad.write_text("x")
    out = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "Who is Leonid Slutsky?", "--generator", "local",
                          "--model-path", str(bad)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [f"ragqa: error: {bad} is not a GGUF model file "
                                                "(llama.cpp reads .gguf files only)"]


def test_local_models_with_the_same_file_share_one_load():
    a, b = LocalLLM(n_threads=2, n_ctx=512), LocalLLM(n_threads=2, n_ctx=512)
    try:
        a.complete(HELLO, max_tokens=4)
        assert a._slot()["server"] is not None and a._slot() is b._slot()
    finally:
        a.close()
