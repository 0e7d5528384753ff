"""Small real servers on 127.0.0.1 for tests: misbehaving HTTP endpoints and a closed port.

>>> with StaticHTTPServer(500, b"boom") as srv: OpenAIChat(srv.base_url, "m")  # doctest: +SKIP
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def closed_port() -> int:
    """A localhost port nothing listens on (bound, then released): ``closed_port() > 0``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SilentServer:
    """Accepts TCP connections and never answers: ``with SilentServer() as s: s.base_url``."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        self._conns.append(conn)  # keep it open, read nothing, say nothing

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        for t in self._threads:
            t.join()
        for conn in self._conns:
            conn.close()
        self._sock.close()


class TrickleServer(SilentServer):
    """Sends an HTTP status line, then one header line every ``delay`` seconds, forever: each read
    finishes well inside a per-read timeout, but the response never completes."""

    def __init__(self, delay: float = 0.3) -> None:
        super().__init__()
        self.delay = delay

    def _handle(self, conn: socket.socket) -> None:
        t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
        t.start()
        self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(0.5)
                try:
                    conn.recv(65536)
                except OSError:
                    pass
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                i = 0
                while not self._stop.is_set():
                    conn.sendall(b"X-Pad-%d: x\r\n" % i)
                    i += 1
                    self._stop.wait(self.delay)
            except OSError:
                pass


class _LoopbackHTTP:
    """An HTTP server on a free loopback port, serving ``handler`` in a thread while in ``with``."""

    def _serve(self, handler) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class StaticHTTPServer(_LoopbackHTTP):
    """Answers every request with one fixed status and body: ``StaticHTTPServer(200, b"not json")``."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _reply

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self._serve(Handler)


class StreamingChatServer(_LoopbackHTTP):
    """An OpenAI-compatible ``/chat/completions`` that streams ``reply`` word by word, ``delay``
    seconds apart (``"stream": true``), or returns it whole. It records each request and whether
    the client hung up before the stream ended (``hung_up``): what Stop must cause.

    >>> with StreamingChatServer("He left [¶2].", 0.2) as srv: OpenAIChat(srv.base_url, "m")  # doctest: +SKIP
    """

    def __init__(self, reply: str, delay: float = 0.2) -> None:
        import json
        import time

        server = self
        self.reply, self.delay = reply, delay
        self.requests: list[dict] = []
        self.hung_up = threading.Event()
        self.finished = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                server.requests.append(body)
                words = server.reply.split(" ")
                if not body.get("stream"):
                    data = json.dumps({"choices": [{"message": {"role": "assistant", "content": server.reply}}]})
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data.encode())))
                    self.end_headers()
                    self.wfile.write(data.encode())
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for i, w in enumerate(words):
                        piece = w if i == 0 else " " + w
                        chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(server.delay)
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    server.finished.set()
                except (BrokenPipeError, ConnectionResetError):
                    server.hung_up.set()
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self._serve(Handler)
