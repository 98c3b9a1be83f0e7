"""A sandbox GitHub API server on 127.0.0.1 serving the acme org the way api.github.com (and GHES)
does: REST at `/` and `/api/v3`, GraphQL at `/graphql` and `/api/graphql`, `token`/`Bearer` auth
with classic-token scopes (`X-OAuth-Scopes`, `X-Accepted-OAuth-Scopes`), GitHub App JWTs exchanged
for installation tokens, rate-limit headers, `Link` paging from the request's own host, and
switchable faults (primary and secondary rate limits, 502, missing scope, malformed JSON).

    with serve_github(Path("acme"), tokens={"t0k": FULL_SCOPES}) as server:
        print(server.url)  # http://127.0.0.1:PORT; GHES style: server.url + "/api/v3"
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from auditor_sandbox.github.data import GitHubData, load_data
from auditor_sandbox.github.graphql import execute
from auditor_sandbox.github.http import ApiError, Request, Response, json_response
from auditor_sandbox.github.rest import RestApi
from auditor_sandbox.github.schema import build_root
from auditor_sandbox.loopback import LoopbackServer, Reply

FULL_SCOPES = ("repo", "read:org", "admin:org", "read:audit_log", "admin:enterprise")
FAULTS = ("primary", "primary429", "secondary", "throttle", "bad_gateway", "malformed", "missing_scope")
# Path fragment -> the classic-token scope GitHub asks for (first match wins).
_SCOPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/audit-log/streams", ("admin:enterprise",)),
    ("/audit-log", ("read:audit_log", "admin:enterprise")),
    ("/credential-authorizations", ("read:org", "admin:org")),
    ("/installations", ("admin:org", "read:org")),
    ("/organization-roles", ("read:org", "admin:org")),
    ("/repos", ("repo",)),
    ("/orgs/", ("read:org", "admin:org", "write:org")),
)
_ORG_IMPLIED = {"admin:org": {"write:org", "read:org"}, "write:org": {"read:org"}}


@dataclass
class Fault:
    """Answer the next `times` requests whose path contains `path` (any when empty) with `kind`."""

    kind: str
    times: int = 1
    path: str = ""
    scope: str = "read:audit_log"


class GitHubServer(LoopbackServer):
    """A running sandbox GitHub API: `url`, `requests` seen, `inject(Fault)`, `stop()`."""

    thread_name = "github-sandbox"
    server_version = "acme-github-sandbox/1"

    def __init__(
        self,
        data: GitHubData,
        *,
        host: str,
        port: int,
        tokens: dict[str, tuple[str, ...]],
        apps: dict[int, str],
        installations: dict[int, int],
        rate_limit: int,
        reset_seconds: int,
        on_request: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.data = data
        self.rest = RestApi(data)
        self.tokens = dict(tokens)
        self.apps = dict(apps)  # app id -> PEM public key (RS256)
        self.installations = dict(installations)  # installation id -> app id
        self.installation_tokens: dict[str, int] = {}
        self.rate_limit = rate_limit
        self.reset_seconds = reset_seconds
        self.faults: list[Fault] = []
        self.every_429 = self.every_5xx = 0  # periodic faults (set_periodic), counted over all requests
        self.forbid: tuple[str, ...] = ()
        self._count = 0
        self._used: dict[tuple[str, str], int] = {}
        self._window = int(time.time()) + 3600
        super().__init__(host=host, port=port, on_request=on_request)

    # ---------------------------------------------------------------- control

    def inject(self, fault: Fault) -> None:
        if fault.kind not in FAULTS:
            raise ValueError(f"fault must be one of {', '.join(FAULTS)}, not {fault.kind!r}")
        with self._lock:
            self.faults.append(fault)

    def set_periodic(self, every_429: int = 0, every_5xx: int = 0, forbid: tuple[str, ...] = ()) -> None:
        """Every Nth request answers 429 (Retry-After: 1) or 502; paths under a `forbid` prefix answer 403 for a
        missing scope: the fault flags all three sandbox servers share."""
        for name, every in (("every_429", every_429), ("every_5xx", every_5xx)):
            if every < 0 or every == 1:
                raise ValueError(f"{name} must be 0 (off) or at least 2, so that a retry can succeed")
        with self._lock:
            self.every_429, self.every_5xx, self.forbid = every_429, every_5xx, tuple(forbid)

    def _periodic(self, path: str) -> Fault | None:
        with self._lock:
            self._count += 1
            n, every_429, every_5xx = self._count, self.every_429, self.every_5xx
        if every_429 and n % every_429 == 0:
            return Fault("throttle")
        if every_5xx and n % every_5xx == 0:
            return Fault("bad_gateway")
        if any(path.startswith(prefix) or path.removeprefix("/api/v3").startswith(prefix) for prefix in self.forbid):
            scope = next((scopes[0] for fragment, scopes in _SCOPES if fragment in path), "read:org")
            return Fault("missing_scope", scope=scope)
        return None

    # --------------------------------------------------------------- answering

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        response = self.respond(method, target, headers, body)
        return response.status, response.headers, response.body

    def content_type(self, body: bytes) -> str:
        return "application/json; charset=utf-8"

    def stamp(self, headers: dict[str, str]) -> dict[str, str]:
        return {"X-GitHub-Request-Id": secrets.token_hex(8).upper()}

    def respond(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Response:
        split = urlsplit(target)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        prefix = "/api/v3" if path.startswith("/api/v3/") or path == "/api/v3" else ""
        graphql = path in ("/graphql", "/api/graphql")
        resource = "graphql" if graphql else "audit_log" if "/audit-log" in path else "core"
        host = headers.get("host") or self.url.removeprefix("http://")
        try:
            caller, scopes, who = self._authenticate(headers.get("authorization", ""), path)
            extra = self._rate_headers(who, resource)
            if scopes is not None:
                extra["X-OAuth-Scopes"] = ", ".join(scopes)
            fault = self._periodic(path) or self._fault(path)
            if fault is not None:
                return self._fault_response(fault, extra)
            if int(extra["X-RateLimit-Remaining"]) < 0:
                extra["X-RateLimit-Remaining"] = "0"
                raise ApiError(403, f"API rate limit exceeded for {who}.", extra,
                               "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")  # fmt: skip
            body = json.loads(raw) if raw else None
            if graphql:
                if method != "POST" or not isinstance(body, dict) or not isinstance(body.get("query"), str):
                    raise ApiError(400, "Problems parsing JSON", extra)
                root = build_root(self.data, frozenset(scopes) if scopes is not None else None)
                return json_response(execute(body["query"], body.get("variables"), root), extra)
            sub = path[len(prefix) :] or "/"
            if method == "POST" and sub.startswith("/app/installations/"):
                return self._access_token(sub, caller, extra)
            if caller == "jwt":
                raise ApiError(401, "A JSON web token could not be decoded", extra)
            self._check_scopes(sub, scopes, extra)
            req = Request(method, sub, query, f"http://{host}{prefix}", caller, body, headers)
            response = self.rest.dispatch(req)
            response.headers = extra | response.headers
            return response
        except ApiError as exc:
            return Response(exc.status, exc.body(), exc.headers)
        except json.JSONDecodeError:
            return Response(400, ApiError(400, "Problems parsing JSON").body())
        except Exception as exc:  # a sandbox bug: GitHub's 500 shape instead of a dropped connection
            return Response(500, ApiError(500, f"Server Error ({type(exc).__name__}: {exc})").body())

    def _authenticate(self, header: str, path: str) -> tuple[str, tuple[str, ...] | None, str]:
        """(caller kind, classic scopes or None, rate-limit key); 401 in GitHub's words otherwise."""
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not value:
            raise ApiError(401, "Requires authentication")
        if value in self.tokens:
            return "token", self.tokens[value], f"token:{value[-4:]}"
        with self._lock:
            installation = self.installation_tokens.get(value)
        if installation is not None:
            return "installation", None, f"installation:{installation}"
        if value.count(".") == 2 and path.rstrip("/").endswith(("/access_tokens", "/app")):
            app_id = self._verify_jwt(value)
            return "jwt", None, f"app:{app_id}"
        raise ApiError(401, "Bad credentials")

    def _verify_jwt(self, token: str) -> int:
        """An RS256 JWT signed with a registered app's key, `iss` = app id, not expired."""
        import jwt

        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            app_id = int(claims["iss"])
            key = self.apps[app_id]
            jwt.decode(token, key, algorithms=["RS256"], leeway=60)
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            raise ApiError(401, "A JSON web token could not be decoded") from None
        return app_id

    def _access_token(self, sub: str, caller: str, extra: dict[str, str]) -> Response:
        parts = sub.strip("/").split("/")
        if caller != "jwt" or len(parts) != 4 or parts[3] != "access_tokens" or not parts[2].isdigit():
            raise ApiError(401, "A JSON web token could not be decoded", extra)
        installation = int(parts[2])
        if installation not in self.installations:
            raise ApiError(404, "Not Found", extra)
        token = "ghs_" + secrets.token_urlsafe(27)
        with self._lock:
            self.installation_tokens[token] = installation
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        body = {
            "token": token,
            "expires_at": expires,
            "permissions": {"organization_personal_access_tokens": "read", "members": "read",
                            "organization_administration": "read", "metadata": "read"},
            "repository_selection": "all",
        }  # fmt: skip
        return json_response(body, extra, status=201)

    def _check_scopes(self, sub: str, scopes: tuple[str, ...] | None, extra: dict[str, str]) -> None:
        if scopes is None:
            return
        granted = set(scopes)
        for scope in list(granted):
            granted |= _ORG_IMPLIED.get(scope, set())
        for fragment, accepted in _SCOPES:
            if fragment in sub:
                if not granted & set(accepted):
                    raise _scope_error(accepted, extra)
                return

    def _rate_headers(self, who: str, resource: str) -> dict[str, str]:
        now = int(time.time())
        with self._lock:
            if now >= self._window:
                self._window = now + 3600
                self._used.clear()
            used = self._used.get((who, resource), 0) + 1
            self._used[(who, resource)] = used
            window = self._window
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(self.rate_limit - used),
            "X-RateLimit-Reset": str(window),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Resource": resource,
        }

    def _fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times != 0 and fault.path in path:
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

    def _fault_response(self, fault: Fault, extra: dict[str, str]) -> Response:
        if fault.kind in ("primary", "primary429"):
            headers = extra | {"X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset": str(int(time.time()) + self.reset_seconds)}  # fmt: skip
            error = ApiError(
                429 if fault.kind == "primary429" else 403,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include "
                "the request ID.",
                headers,
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            )
            return Response(error.status, error.body(), error.headers)
        if fault.kind == "secondary":
            error = ApiError(
                403,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you "
                "reach out to GitHub Support for help, please include the request ID.",
                extra | {"Retry-After": str(self.reset_seconds)},
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            )
            return Response(error.status, error.body(), error.headers)
        if fault.kind == "throttle":
            error = ApiError(
                429,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                extra | {"Retry-After": "1"},
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            )
            return Response(error.status, error.body(), error.headers)
        if fault.kind == "bad_gateway":
            return Response(502, b'{"message":"Server Error"}', extra)
        if fault.kind == "malformed":
            return Response(200, b'[{"login": "truncated', extra)
        error = _scope_error((fault.scope,), extra)
        return Response(error.status, error.body(), error.headers)


def _scope_error(accepted: tuple[str, ...], extra: dict[str, str]) -> ApiError:
    return ApiError(
        403,
        "Resource not accessible by personal access token",
        extra | {"X-Accepted-OAuth-Scopes": ", ".join(accepted)},
        "https://docs.github.com/rest/overview/permissions-required-for-fine-grained-personal-access-tokens",
    )


def serve_github(
    sandbox_dir: Path | None = None,
    *,
    data: GitHubData | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    tokens: dict[str, tuple[str, ...]] | None = None,
    apps: dict[int, str] | None = None,
    installations: dict[int, int] | None = None,
    rate_limit: int = 5000,
    reset_seconds: int = 1,
    on_request: Callable[[str, str, int], None] | None = None,
) -> GitHubServer:
    """Serve a generated sandbox (or `data`) in a daemon thread; returns once listening."""
    if data is None:
        if sandbox_dir is None:
            raise ValueError("give sandbox_dir or data")
        data = load_data(Path(sandbox_dir))
    return GitHubServer(
        data,
        host=host,
        port=port,
        tokens=tokens if tokens is not None else {"sandbox-token": FULL_SCOPES},
        apps=apps or {},
        installations=installations or {},
        rate_limit=rate_limit,
        reset_seconds=reset_seconds,
        on_request=on_request,
    )
