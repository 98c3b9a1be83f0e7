"""A sandbox GitLab API server on 127.0.0.1 serving the acme instance to the real python-gitlab client.

`/api/v4` REST with `PRIVATE-TOKEN` or `Authorization: Bearer` auth (401 otherwise), GitLab's offset
and keyset pagination built from the request's Host, tier gates (audit events need Premium, streaming
destinations Ultimate), `/api/graphql` for streaming destinations, and switchable faults: 429 with
Retry-After, 502/503, 403 on chosen path prefixes, malformed JSON. Stdlib `ThreadingHTTPServer`.

    with serve_gitlab(Path("acme")) as server:
        print(server.url)  # the root URL python-gitlab takes (it adds /api/v4)
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from auditor.sandbox.gitlab.data import Instance, load_instance
from auditor.sandbox.gitlab.graphql import answer_graphql
from auditor.sandbox.gitlab.paging import ApiError, Req
from auditor.sandbox.gitlab.routes import Endpoints
from auditor.sandbox.inventory_gitlab import HOST

API = "/api/v4"


class Faults:
    """Switchable faults, each counted over all requests: every Nth answers 429, 502/503 or broken JSON."""

    def __init__(
        self,
        every_429: int = 0,
        every_5xx: int = 0,
        every_malformed: int = 0,
        forbid: tuple[str, ...] = (),
        malformed: tuple[str, ...] = (),
    ) -> None:
        for name, n in (("429", every_429), ("5xx", every_5xx), ("malformed", every_malformed)):
            if n < 0 or n == 1:
                raise ValueError(f"fault every-{name} must be 0 (off) or at least 2, so that a retry can succeed")
        self.every_429 = every_429
        self.every_5xx = every_5xx
        self.every_malformed = every_malformed
        self.forbid = tuple(forbid)  # path prefixes under /api/v4 answered 403 (a missing scope or role)
        self.malformed = tuple(malformed)  # path prefixes always answered with a truncated JSON body


class GitLabServer:
    """A running sandbox: `url` (root), `requests` seen as (method, target, status), `stop()`.

    `token` authenticates as `as_user` (default: the instance administrator). `tier` is
    free | premium | ultimate.
    """

    def __init__(
        self,
        inst: Instance,
        *,
        host: str,
        port: int,
        token: str,
        as_user: str | None,
        tier: str,
        faults: Faults,
        max_per_page: int = 100,
        on_request: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.inst = inst
        self.endpoints = Endpoints(inst, tier)
        self.tier = tier
        self.token = token
        self.faults = faults
        self.max_per_page = max_per_page
        self.on_request = on_request
        admin = next(u for u in inst.inv["users"] if u["is_admin"])
        self.user = inst.users_by_name[as_user] if as_user else admin
        self.requests: list[tuple[str, str, int]] = []
        self._count = 0
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        bound_host, bound_port = self._httpd.server_address[:2]
        self.url = f"http://{bound_host!s}:{bound_port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="gitlab-sandbox", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> GitLabServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _authenticated(self, headers: dict[str, str]) -> bool:
        given = headers.get("private-token") or headers.get("authorization", "").removeprefix("Bearer ")
        return bool(given) and given == self.token

    def respond(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(target)
        path = split.path
        with self._lock:
            self._count += 1
            n = self._count
        f = self.faults
        try:
            if not self._authenticated(headers):
                raise ApiError(401, {"message": "401 Unauthorized"})
            if f.every_429 and n % f.every_429 == 0:
                raise ApiError(429, "Retry later", {"Retry-After": "1"})
            if f.every_5xx and n % f.every_5xx == 0:
                status = 502 if (n // f.every_5xx) % 2 else 503
                raise ApiError(status, "<html><body><h1>GitLab is not responding</h1></body></html>")
            if path.startswith("/api/graphql"):
                if method != "POST":
                    raise ApiError(405, {"message": "405 Method Not Allowed"})
                return 200, {}, json.dumps(answer_graphql(self.inst, self.tier, self.user, body)).encode()
            if not path.startswith(API + "/"):
                raise ApiError(404, {"message": "404 Not Found"})
            sub = path[len(API) :]
            if any(sub.startswith(prefix) for prefix in f.forbid):
                raise ApiError(403, {"message": "403 Forbidden - insufficient_scope"})
            if method != "GET":
                raise ApiError(405, {"message": "405 Method Not Allowed"})
            host = headers.get("host") or self.url.removeprefix("http://")
            req = Req(
                sub,
                dict(parse_qsl(split.query, keep_blank_values=True)),
                f"http://{host}",
                self.user,
                self.max_per_page,
            )
            data, extra = self.endpoints.route(req)
            # Absolute URLs in bodies name the host the client used, as GitLab's external_url would.
            payload = json.dumps(data).replace(f"https://{HOST}", f"http://{host}").encode()
            if (f.every_malformed and n % f.every_malformed == 0) or any(sub.startswith(p) for p in f.malformed):
                payload = payload[: max(1, len(payload) // 2)]
            return 200, extra, payload
        except ApiError as exc:
            out = exc.body if isinstance(exc.body, str) else json.dumps(exc.body)
            return exc.status, exc.headers, out.encode()
        except Exception as exc:  # a sandbox bug: answer 500 as GitLab does rather than drop the connection
            return 500, {}, json.dumps({"message": f"500 Internal Server Error ({type(exc).__name__}: {exc})"}).encode()

    def _log(self, method: str, target: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, target, status))
        if self.on_request is not None:
            self.on_request(method, target, status)


def serve_gitlab(
    sandbox_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str = "sandbox-token",  # noqa: S107 - a fixed test token for a loopback sandbox
    as_user: str | None = None,
    tier: str = "premium",
    faults: Faults | None = None,
    inventory: dict[str, Any] | None = None,
    max_per_page: int = 100,
    on_request: Callable[[str, str, int], None] | None = None,
) -> GitLabServer:
    """Load the inventory and stored audit events, start serving in a daemon thread, return when listening."""
    inst = load_instance(Path(sandbox_dir), inventory)
    return GitLabServer(
        inst,
        host=host,
        port=port,
        token=token,
        as_user=as_user,
        tier=tier,
        faults=faults or Faults(),
        max_per_page=max_per_page,
        on_request=on_request,
    )


def _handler_for(app: GitLabServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """Reads one request, asks the app, writes the answer with Content-Length (keep-alive)."""

        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        timeout = 60

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as separate writes; without NODELAY, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every response.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with app._lock:
                app._connections.add(self.connection)

        def finish(self) -> None:
            with app._lock:
                app._connections.discard(self.connection)
            super().finish()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = app.respond(self.command, self.path, headers, body)
            app._log(self.command, self.path, status)
            self.send_response(status)
            is_json = payload[:1] in (b"{", b"[")
            self.send_header("Content-Type", "application/json" if is_json else "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: requests go to `GitLabServer.requests` (and `on_request`)."""

    return Handler
