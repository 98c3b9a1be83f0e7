"""A sandbox Microsoft Graph (and Azure Resource Manager) server on 127.0.0.1 for the acme tenant.

The real Entra connector (msgraph-sdk) is pointed at it in tests and in `auditor demo`, so it speaks
HTTP the way Graph does: bearer auth, Graph's error shape, `@odata.nextLink` paging from the
request's own host, licence-gated endpoints, and injectable faults (429 with Retry-After, 403 on
chosen path prefixes). Stdlib only: `ThreadingHTTPServer` with HTTP/1.1 keep-alive.

    with serve_graph(Path("acme")) as server:
        print(server.url)  # http://127.0.0.1:PORT, the Graph root (add /v1.0 or /beta)
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from auditor_sandbox.graph.arm import ARM_PREFIX, arm_forbidden, default_diagnostic_settings, diagnostic_settings
from auditor_sandbox.graph.directory import Directory, load_directory
from auditor_sandbox.graph.odata import GraphError, Query
from auditor_sandbox.graph.routes import Endpoints, Request
from auditor_sandbox.loopback import LoopbackServer, Reply

LICENCES = ("none", "p1", "p2")
_VERSION = r"/(v1\.0|beta)"
_ID = r"([^/]+)"
_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(f"^{pattern}/?$", re.IGNORECASE), name)
    for pattern, name in (
        (f"{_VERSION}/users", "users"),
        (f"{_VERSION}/users/{_ID}", "user"),
        (f"{_VERSION}/users/{_ID}/manager", "manager"),
        (f"{_VERSION}/groups", "groups"),
        (f"{_VERSION}/groups/{_ID}", "group"),
        (f"{_VERSION}/groups/{_ID}/(?:transitiveM|m)embers", "group_members"),
        (f"{_VERSION}/roleManagement/directory/roleAssignments", "role_assignments"),
        (f"{_VERSION}/roleManagement/directory/roleEligibilitySchedules", "role_eligibility"),
        (f"{_VERSION}/roleManagement/directory/roleDefinitions", "role_definitions"),
        (f"{_VERSION}/auditLogs/signIns", "signins"),
        (f"{_VERSION}/auditLogs/directoryAudits", "directory_audits"),
        (f"{_VERSION}/directory/deletedItems/microsoft\\.graph\\.user", "deleted_users"),
        (f"{_VERSION}/oauth2PermissionGrants", "grants"),
        (f"{_VERSION}/servicePrincipals", "service_principals"),
        (f"{_VERSION}/servicePrincipals/{_ID}", "service_principal"),
        (f"{_VERSION}/servicePrincipals/{_ID}/appRoleAssignedTo", "assigned_to"),
        (f"{_VERSION}/servicePrincipals/{_ID}/appRoleAssignments", "assignments"),
        (f"{_VERSION}/identityProtection/riskyUsers", "risky_users"),
        (f"{_VERSION}/identityProtection/riskDetections", "risk_detections"),
    )
)
# First path fragment that matches names the permission a 403 from `forbid` says is missing.
_PERMISSIONS = (
    ("/auditlogs", "AuditLog.Read.All"),
    ("/identityprotection/riskyusers", "IdentityRiskyUser.Read.All"),
    ("/identityprotection", "IdentityRiskEvent.Read.All"),
    ("/rolemanagement/directory/roleeligibility", "RoleEligibilitySchedule.Read.Directory"),
    ("/rolemanagement", "RoleManagement.Read.Directory"),
    ("/oauth2permissiongrants", "DelegatedPermissionGrant.Read.All"),
    ("/serviceprincipals", "Application.Read.All"),
    ("/groups", "GroupMember.Read.All"),
    ("/directory/deleteditems", "User.Read.All"),
    ("/users", "User.Read.All"),
)


class GraphServer(LoopbackServer):
    """A running sandbox Graph server: `url` (the Graph root), `requests` seen, `stop()`.

    `diagnostic_settings` is what ARM's `/providers/microsoft.aadiam/diagnosticSettings` lists;
    replace it (e.g. with `[]`) to simulate a tenant that exports nothing.
    """

    thread_name = "graph-sandbox"
    server_version = "acme-graph-sandbox/1"
    nodelay = False

    def __init__(
        self,
        directory: Directory,
        *,
        host: str,
        port: int,
        token: str,
        licence: str,
        fault_429_every: int,
        forbid: tuple[str, ...],
        page_size_cap: int,
        on_request: Callable[[str, str, int], None] | None = None,
        fault_5xx_every: int = 0,
    ) -> None:
        if licence not in LICENCES:
            raise ValueError(f"licence must be one of {', '.join(LICENCES)}, not {licence!r}")
        for name, every in (("fault_429_every", fault_429_every), ("fault_5xx_every", fault_5xx_every)):
            if every < 0 or every == 1:
                raise ValueError(f"{name} must be 0 (off) or at least 2, so that a retry can succeed")
        if page_size_cap < 1:
            raise ValueError("page_size_cap must be at least 1")
        self.directory = directory
        self.endpoints = Endpoints(directory, licence, page_size_cap)
        self.token = token
        self.fault_429_every = fault_429_every
        self.fault_5xx_every = fault_5xx_every
        self.forbid = tuple(prefix.lower() for prefix in forbid)
        self.diagnostic_settings = default_diagnostic_settings(directory.tenant_id)
        self._count = 0
        super().__init__(host=host, port=port, on_request=on_request)

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        return self.respond(method, target, headers)  # the sandbox serves GET only: a body is read and dropped

    def stamp(self, headers: dict[str, str]) -> dict[str, str]:
        """A fresh `request-id`, and the caller's `client-request-id` echoed, as Graph does."""
        ids = {"request-id": str(uuid.uuid4())}
        if "client-request-id" in headers:
            ids["client-request-id"] = headers["client-request-id"]
        return ids

    def respond(self, method: str, target: str, headers: dict[str, str]) -> Reply:
        """Answer one request: auth, injected faults, forbidden prefixes, then the endpoint."""
        split = urlsplit(target)
        path = unquote(split.path)
        arm = path.lower().startswith(ARM_PREFIX)
        with self._lock:
            self._count += 1
            throttle = self.fault_429_every > 0 and self._count % self.fault_429_every == 0
            unavailable = self.fault_5xx_every > 0 and self._count % self.fault_5xx_every == 0
        try:
            if headers.get("authorization", "") != f"Bearer {self.token}":
                raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
            if throttle:
                raise GraphError(429, "TooManyRequests", "Too many requests.", {"Retry-After": "1"})
            if unavailable:
                raise GraphError(503, "serviceNotAvailable", "The service is temporarily unavailable.",
                                 {"Retry-After": "1"})  # fmt: skip
            if method != "GET":
                raise GraphError(405, "Request_BadRequest", f"The sandbox serves GET only, not {method}.")
            if any(path.lower().startswith(prefix) for prefix in self.forbid):
                raise _forbidden(path, arm)
            body = self._route(path, split.query, headers, arm)
        except GraphError as exc:
            return exc.status, exc.headers, _error_body(exc, arm, headers)
        except Exception as exc:  # a sandbox bug: answer 500 in Graph's shape rather than drop the connection
            error = GraphError(500, "generalException", f"{type(exc).__name__}: {exc}")
            return 500, {}, _error_body(error, arm, headers)
        return 200, {}, body

    def _route(self, path: str, query: str, headers: dict[str, str], arm: bool) -> bytes:
        if arm:
            return diagnostic_settings(path, Query.parse(query), self.diagnostic_settings)
        for pattern, name in _ROUTES:
            match = pattern.match(path)
            if match is not None:
                version, *ids = match.groups()
                host = headers.get("host") or self.url.removeprefix("http://")
                request = Request(version.lower(), path, Query.parse(query), f"http://{host}", tuple(ids))
                handler: Callable[[Request], bytes] = getattr(self.endpoints, name)
                return handler(request)
        raise GraphError(404, "Request_ResourceNotFound", f"Resource not found for the segment '{path}'.")


def serve_graph(
    sandbox_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str = "sandbox-token",  # noqa: S107 - a fixed test token for a loopback sandbox
    licence: str = "p2",
    fault_429_every: int = 0,
    forbid: tuple[str, ...] = (),
    page_size_cap: int = 1000,
    on_request: Callable[[str, str, int], None] | None = None,
    fault_5xx_every: int = 0,
) -> GraphServer:
    """Load the sandbox's directory and sign-ins, start serving in a daemon thread, return when listening."""
    return GraphServer(
        load_directory(Path(sandbox_dir)),
        host=host,
        port=port,
        token=token,
        licence=licence,
        fault_429_every=fault_429_every,
        forbid=tuple(forbid),
        page_size_cap=page_size_cap,
        on_request=on_request,
        fault_5xx_every=fault_5xx_every,
    )


def _forbidden(path: str, arm: bool) -> GraphError:
    if arm:
        return arm_forbidden()
    lowered = path.lower()
    permission = next((p for fragment, p in _PERMISSIONS if fragment in lowered), "Directory.Read.All")
    return GraphError(
        403,
        "Authorization_RequestDenied",
        f"Insufficient privileges to complete the operation. Missing application permission: {permission}.",
    )


def _error_body(exc: GraphError, arm: bool, headers: dict[str, str]) -> bytes:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if not arm:
        error["innerError"] = {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": str(uuid.uuid4()),
            "client-request-id": headers.get("client-request-id") or str(uuid.uuid4()),
        }
    return json.dumps({"error": error}).encode()
