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
