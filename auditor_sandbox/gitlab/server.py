"""A sandbox GitLab API server on 127.0.0.1 serving the acme instance to the real python-gitlab client.

`/api/v4` REST with `PRIVATE-TOKEN` or `Authorization: Bearer` auth (401 otherwise), GitLab's offset
and keyset pagination built from the request's Host, tier gates (audit events need Premium, streaming
destinations Ultimate), `/api/graphql` for streaming destinations, and switchable faults: 429 with
Retry-After, 502/503, 403 on chosen path prefixes, malformed JSON. Stdlib `ThreadingHTTPServer`.

    with serve_gitlab(Path("acme")) as server:
        print(server.url)  # the root URL python-gitlab takes (it adds /api/v4)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from auditor_sandbox.gitlab.data import Instance, load_instance
from auditor_sandbox.gitlab.graphql import answer_graphql
from auditor_sandbox.gitlab.paging import ApiError, Req
from auditor_sandbox.gitlab.routes import Endpoints
from auditor_sandbox.inventory_gitlab import HOST
from auditor_sandbox.loopback import LoopbackServer, Reply

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


class GitLabServer(LoopbackServer):
    """A running sandbox: `url` (root), `requests` seen as (method, target, status), `stop()`.

    `token` authenticates as `as_user` (default: the instance administrator). `tier` is
    free | premium | ultimate.
    """

    thread_name = "gitlab-sandbox"
    server_version = "nginx"

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
        admin = next(u for u in inst.inv["users"] if u["is_admin"])
        self.user = inst.users_by_name[as_user] if as_user else admin
        self._count = 0
        super().__init__(host=host, port=port, on_request=on_request)

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        return self.respond(method, target, headers, body)

    def content_type(self, body: bytes) -> str:
        return "application/json" if body[:1] in (b"{", b"[") else "text/plain"

    def _authenticated(self, headers: dict[str, str]) -> bool:
        given = headers.get("private-token") or headers.get("authorization", "").removeprefix("Bearer ")
        return bool(given) and given == self.token

    def respond(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
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
            if any(sub.startswith(prefix) or path.startswith(prefix) for prefix in f.forbid):
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
