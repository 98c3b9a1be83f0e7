"""The loopback HTTP lifecycle the sandbox API servers (GitHub, GitLab, Graph) share.

A `LoopbackServer` subclass sets up its own state, then calls `super().__init__(host=..., port=...)`
last: that binds the socket (`url`), and starts `ThreadingHTTPServer.serve_forever` in a daemon thread.
Each request is read whole, answered by the subclass's `answer()`, logged into `requests` (and passed
to `on_request`) and written back with Content-Length over HTTP/1.1 keep-alive. `stop()` also ends idle
keep-alive connections so that the port is free when it returns. Stdlib only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self

Reply = tuple[int, dict[str, str], bytes]  # status, response headers, body


class LoopbackServer:
    """A running sandbox API server: `url`, `requests` seen as (method, target, status), `stop()`."""

    thread_name: ClassVar[str] = "loopback-sandbox"
    server_version: ClassVar[str] = "loopback-sandbox/1"  # the Server header
    # Headers and body go out as two writes: without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK add ~40 ms to every response.
    nodelay: ClassVar[bool] = True

    def __init__(self, *, host: str, port: int, on_request: Callable[[str, str, int], None] | None = None) -> None:
        """Bind and start serving; call it last from a subclass, since requests may arrive once it returns."""
        self.on_request = on_request
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        bound_host, bound_port = self._httpd.server_address[:2]
        self.url = f"http://{bound_host!s}:{bound_port}"
        self._thread = threading.Thread(  # a short poll interval makes stop() quick
            target=self._httpd.serve_forever, args=(0.05,), name=self.thread_name, daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------- the hooks

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """(status, headers, body) for one request; `headers` are keyed in lower case."""
        raise NotImplementedError

    def content_type(self, body: bytes) -> str:
        """The Content-Type of an answer."""
        return "application/json"

    def stamp(self, headers: dict[str, str]) -> dict[str, str]:
        """Headers every answer carries besides its own (request ids), sent after Content-Length."""
        return {}

    # ------------------------------------------------------------- lifecycle

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections and free the port."""
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _log(self, method: str, target: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, target, status))
        if self.on_request is not None:
            self.on_request(method, target, status)


def _handler_for(app: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """Reads one request, asks the app for the answer, writes it with Content-Length (keep-alive)."""

        protocol_version = "HTTP/1.1"
        server_version = app.server_version
        timeout = 60  # idle keep-alive connections end on their own
        disable_nagle_algorithm = app.nodelay

        def setup(self) -> None:
            super().setup()
            with app._lock:
                app._connections.add(self.connection)

        def finish(self) -> None:
            with app._lock:
                app._connections.discard(self.connection)
            super().finish()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""  # read even if unused: keeps the stream aligned
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, body = app.answer(self.command, self.path, headers, raw)
            app._log(self.command, self.path, status)  # before replying, so a client never outruns the log
            self.send_response(status)
            self.send_header("Content-Type", app.content_type(body))
            self.send_header("Content-Length", str(len(body)))
            for name, value in (*app.stamp(headers).items(), *extra.items()):
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: requests go to the server's `requests` (and `on_request`), not stderr."""

    return Handler
