"""Collect one GitLab instance or set of top-level groups: API calls only, results kept as GitLab said them.

403/404 on an endpoint becomes a coverage gap naming it and the role, token or tier it needs; 401
stops the run before anything is written. Per-project calls run on a small thread pool.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from auditor.config.models import GitLabSource
from auditor.connectors.gaps import Gap
from auditor.connectors.gitlab import endpoints as ep
from auditor.connectors.gitlab.client import GitLabError, Recorder, call
from auditor.connectors.gitlab.endpoints import ADMIN_SELF_MANAGED
from auditor.connectors.kit.endpoints import Endpoint, optional, refusal_gap
from auditor.connectors.kit.errors import ApiError, TransportError

if TYPE_CHECKING:
    import gitlab

WINDOW = timedelta(days=30)  # GitLab answers audit-event queries of at most 30 days
GAP_STATUSES = (403, 404)
PREMIUM = "GitLab Premium or Ultimate (audit events API)"
STREAMING_QUERY_GROUP = (
    'query { group(fullPath: "%s") { fullPath externalAuditEventStreamingDestinations '
    "{ nodes { id name category active } } } }"
)
STREAMING_QUERY_INSTANCE = "query { auditEventsInstanceStreamingDestinations { nodes { id name category active } } }"


@dataclass
class Collected:
    """What one run received (as GitLab's JSON objects) and the gaps; `recorder` holds the raw pages."""

    base_url: str
    scope: str  # "instance" or the configured top-level group paths
    me: dict[str, Any]
    recorder: Recorder
    version: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    groups: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    group_members: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    project_members: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    shared_members: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # members/all of shared groups
    users: list[dict[str, Any]] = field(default_factory=list)
    users_complete: bool = False  # the admin view (/users) rather than what member lists show
    personal_access_tokens: list[dict[str, Any]] = field(default_factory=list)
    group_tokens: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    project_tokens: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    deploy_tokens: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (owner path, token)
    deploy_keys: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (project path, key with can_push)
    applications: list[dict[str, Any]] | None = None
    streaming: list[dict[str, Any]] | None = None  # None: unknown (tier or permission)
    audit_endpoints: list[str] = field(default_factory=list)
    audit_until: datetime | None = None
    gaps: list[Gap] = field(default_factory=list)

    @property
    def admin(self) -> bool:
        return bool(self.me.get("is_admin"))


def _attrs(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [dict(i.attributes) for i in items]


class GitLabCollector:
    """Runs the collection; `since` is the audit-event high-water mark (UTC, naive); `restricted` says which
    projects get per-project audit events in group mode."""

    def __init__(
        self,
        source: GitLabSource,
        client: gitlab.Gitlab,
        recorder: Recorder,
        since: datetime,
        until: datetime,
        restricted: Callable[[dict[str, Any]], bool],
    ) -> None:
        self.source = source
        self.gl = client
        self.since = since
        self.until = until
        self.restricted = restricted
        scope = "instance" if source.instance else ",".join(source.groups)
        me = call("GET /api/v4/user", lambda: self._me())  # first: a 401 stops the run here
        self.out = Collected(source.base_url.rstrip("/"), scope, me, recorder)

    def _me(self) -> dict[str, Any]:
        self.gl.auth()
        assert self.gl.user is not None
        return dict(self.gl.user.attributes)

    # ---- helpers ----------------------------------------------------------------------------------
    def _optional(self, endpoint: Endpoint, fn: Callable[[], Any]) -> Any:
        """`fn()`, or None and a gap when GitLab answers 403 or 404 or cannot be reached."""
        return optional(endpoint, lambda: call(endpoint.path, fn), self.out.gaps, statuses=GAP_STATUSES, gap=_gap)

    def _list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of a list endpoint, following Link rel=next (python-gitlab's iterator)."""
        return list(self.gl.http_list(path, iterator=True, query_data={"per_page": 100, **params}))

    def _descendants(self, top: Any) -> list[dict[str, Any]]:
        return _attrs(top.descendant_groups.list(iterator=True, per_page=100))

    def _pool(self, fn: Callable[[Any], None], items: Iterable[Any]) -> None:
        with ThreadPoolExecutor(max_workers=self.source.max_concurrency, thread_name_prefix="gitlab") as pool:
            for _ in pool.map(fn, items):
                pass

    # ---- the run ---------------------------------------------------------------------------------------
    def run(self) -> Collected:
        out = self.out
        out.version = self._optional(ep.VERSION, lambda: self.gl.http_get("/version"))
        if out.admin:
            out.settings = self._optional(ep.SETTINGS, lambda: self.gl.http_get("/application/settings"))
        self._groups_and_projects()
        self._members()
        self._users()
        self._credentials()
        self._applications()
        self._streaming()
        self._audit_events()
        return out

    def _groups_and_projects(self) -> None:
        out = self.out
        if self.source.instance:
            tops = call("GET /api/v4/groups", lambda: self._list("/groups", top_level_only=True, all_available=True))
            paths = [g["full_path"] for g in tops]
        else:
            paths = list(self.source.groups)
        seen: set[int] = set()
        for path in paths:
            top = call(f"GET /api/v4/groups/{path}", partial(self.gl.groups.get, path, with_projects=False))
            subs = call(f"GET /api/v4/groups/{path}/descendant_groups", partial(self._descendants, top))
            for g in [dict(top.attributes), *subs]:
                if g["id"] not in seen:
                    seen.add(g["id"])
                    out.groups.append(g)
        # Detail view per subgroup: shared_with_groups is not in list entries.
        details: dict[int, dict[str, Any]] = {}

        def detail(g: dict[str, Any]) -> None:
            if "shared_with_groups" in g:
                details[g["id"]] = g
                return
            got = call(f"GET /api/v4/groups/{g['full_path']}", lambda: self.gl.groups.get(g["id"], with_projects=False))
            details[g["id"]] = dict(got.attributes)

        self._pool(detail, out.groups)
        out.groups = [details[g["id"]] for g in out.groups]
        if self.source.instance:
            out.projects = call(
                "GET /api/v4/projects",
                lambda: _attrs(
                    self.gl.projects.list(
                        pagination="keyset", order_by="id", sort="asc", per_page=100, iterator=True, statistics=False
                    )
                ),
            )
            return
        found: dict[int, dict[str, Any]] = {}
        for path in paths:
            projects = call(
                f"GET /api/v4/groups/{path}/projects",
                partial(
                    self._list, f"/groups/{quote(path, safe='')}/projects", include_subgroups=True, with_shared=False
                ),
            )
            for p in projects:
                found[p["id"]] = p
        out.projects = sorted(found.values(), key=lambda p: p["id"])

    def _members(self) -> None:
        out = self.out

        def group(g: dict[str, Any]) -> None:
            out.group_members[g["id"]] = call(
                f"GET /api/v4/groups/{g['full_path']}/members", lambda: self._list(f"/groups/{g['id']}/members")
            )

        def project(p: dict[str, Any]) -> None:
            out.project_members[p["id"]] = call(
                f"GET /api/v4/projects/{p['path_with_namespace']}/members",
                lambda: self._list(f"/projects/{p['id']}/members"),
            )

        self._pool(group, out.groups)
        self._pool(project, out.projects)
        shares = {
            s["group_id"]: s["group_full_path"]
            for x in out.groups + out.projects
            for s in x.get("shared_with_groups") or []
        }
        for gid, path in sorted(shares.items()):
            members = self._optional(ep.SHARED_MEMBERS.at(path=path), partial(self._list, f"/groups/{gid}/members/all"))
            if members is not None:
                out.shared_members[gid] = members

    def _users(self) -> None:
        out = self.out
        if out.admin:
            out.users = call(
                "GET /api/v4/users",
                lambda: _attrs(
                    self.gl.users.list(pagination="keyset", order_by="id", sort="asc", per_page=100, iterator=True)
                ),
            )
            out.users_complete = True
            return
        seen: dict[int, dict[str, Any]] = {}
        for rows in (*out.group_members.values(), *out.project_members.values(), *out.shared_members.values()):
            for m in rows:
                seen.setdefault(m["id"], {k: m.get(k) for k in ("id", "username", "name", "state", "bot")})
        out.users = sorted(seen.values(), key=lambda u: u["id"])
        out.gaps.append(Gap(ep.USERS.path, ep.USERS.needs, ep.USERS.consequence))

    def _credentials(self) -> None:
        out = self.out
        out.personal_access_tokens = call(
            "GET /api/v4/personal_access_tokens", lambda: self._list("/personal_access_tokens")
        )
        if not out.admin:
            pats = ep.PERSONAL_ACCESS_TOKENS
            out.gaps.append(Gap(pats.path, pats.needs, pats.consequence))
        paths = {g["id"]: g["full_path"] for g in out.groups}
        ppaths = {p["id"]: p["path_with_namespace"] for p in out.projects}

        def group(g: dict[str, Any]) -> None:
            tokens = self._optional(
                ep.GROUP_ACCESS_TOKENS.at(path=g["full_path"]), lambda: self._list(f"/groups/{g['id']}/access_tokens")
            )
            if tokens is not None:
                out.group_tokens[g["id"]] = tokens

        def project(p: dict[str, Any]) -> None:
            tokens = self._optional(
                ep.PROJECT_ACCESS_TOKENS.at(path=p["path_with_namespace"]),
                lambda: self._list(f"/projects/{p['id']}/access_tokens"),
            )
            if tokens is not None:
                out.project_tokens[p["id"]] = tokens

        self._pool(group, out.groups)
        self._pool(project, out.projects)
        self._deploy_credentials(paths, ppaths)

    def _deploy_credentials(self, paths: dict[int, str], ppaths: dict[int, str]) -> None:
        out = self.out
        keys = None
        if out.admin:
            keys = self._optional(ep.DEPLOY_KEYS, lambda: self._list("/deploy_keys"))
        if keys is not None:
            for key in keys:
                for flag, name in ((True, "projects_with_write_access"), (False, "projects_with_readonly_access")):
                    for ref in key.get(name) or []:
                        if ref["id"] in ppaths:
                            out.deploy_keys.append((ppaths[ref["id"]], {**key, "can_push": flag}))
        lock_free: list[tuple[str, dict[str, Any]]] = []

        def project(p: dict[str, Any]) -> None:
            path = p["path_with_namespace"]
            if keys is None:
                found = self._optional(
                    ep.PROJECT_DEPLOY_KEYS.at(path=path), lambda: self._list(f"/projects/{p['id']}/deploy_keys")
                )
                lock_free.extend((path, k) for k in found or [])
            tokens = self._optional(
                ep.PROJECT_DEPLOY_TOKENS.at(path=path), lambda: self._list(f"/projects/{p['id']}/deploy_tokens")
            )
            lock_free.extend((path, {**t, "_kind": "project"}) for t in tokens or [])

        def group(g: dict[str, Any]) -> None:
            path = g["full_path"]
            tokens = self._optional(
                ep.GROUP_DEPLOY_TOKENS.at(path=path), lambda: self._list(f"/groups/{g['id']}/deploy_tokens")
            )
            lock_free.extend((path, {**t, "_kind": "group"}) for t in tokens or [])

        self._pool(project, out.projects)
        self._pool(group, out.groups)
        for owner, item in lock_free:
            (out.deploy_tokens if "_kind" in item else out.deploy_keys).append((owner, item))

    def _applications(self) -> None:
        if not self.out.admin:
            self.out.gaps.append(Gap(ep.APPLICATIONS.path, ADMIN_SELF_MANAGED, ep.APPLICATIONS.consequence))
            return
        self.out.applications = self._optional(ep.APPLICATIONS, lambda: self._list("/applications"))

    def _streaming(self) -> None:
        """Audit-event streaming destinations (GraphQL, Ultimate). Errors in the answer mean unknown."""
        out = self.out
        url = f"{out.base_url}/api/graphql"
        found: list[dict[str, Any]] = []
        queries = [("auditEventsInstanceStreamingDestinations", STREAMING_QUERY_INSTANCE)] if out.admin else []
        queries += [("group", STREAMING_QUERY_GROUP % g["full_path"]) for g in out.groups if g["parent_id"] is None]
        for name, query in queries:
            answer = self._optional(ep.STREAMING, partial(self.gl.http_post, url, post_data={"query": query}))
            data = (answer or {}).get("data") or {}
            node = data.get(name)
            if name == "group" and isinstance(node, dict):
                node = node.get("externalAuditEventStreamingDestinations")
            if not isinstance(node, dict) or (answer or {}).get("errors"):
                out.gaps.append(
                    Gap(
                        f"POST /api/graphql {name}" + (f" {query.split(chr(34))[1]}" if name == "group" else ""),
                        "GitLab Ultimate (audit event streaming destinations) and Owner or administrator",
                        "whether git clone/pull events (repository_git_operation) are streamed anywhere is unknown",
                    )
                )
                continue
            found.extend(n for n in node.get("nodes") or [] if n.get("id") not in {f.get("id") for f in found})
            out.streaming = found

    def _audit_events(self) -> None:
        """Stored audit events in windows of at most 30 days, keyset-paged newest first."""
        out = self.out
        windows: list[tuple[datetime, datetime]] = []
        lo = self.since
        while lo < self.until:
            hi = min(lo + WINDOW, self.until)
            windows.append((lo, hi))
            lo = hi
        out.audit_until = self.until
        targets: list[tuple[str, str]] = []
        if out.admin and self.source.instance:
            targets.append(("/audit_events", "/audit_events"))
        else:
            targets += [
                (f"/groups/{g['id']}/audit_events", f"/groups/{g['full_path']}/audit_events") for g in out.groups
            ]
            targets += [
                (f"/projects/{p['id']}/audit_events", f"/projects/{p['path_with_namespace']}/audit_events")
                for p in out.projects
                if self.restricted(p)
            ]
        refused: list[int] = []

        def one(target: tuple[str, str]) -> None:
            path, shown = target
            for a, b in windows:
                params = {
                    "created_after": _iso(a),
                    "created_before": _iso(b),
                    "pagination": "keyset",
                    "order_by": "id",
                    "sort": "desc",
                }
                try:
                    call(f"GET /api/v4{shown}", partial(self._list, path, **params))
                except GitLabError as exc:
                    if exc.status not in GAP_STATUSES:
                        raise
                    refused.append(exc.status)
                    return
            out.audit_endpoints.append(path)

        self._pool(one, targets)
        if refused:
            where = "instance" if out.admin and self.source.instance else f"{len(refused)} group(s)/project(s)"
            out.gaps.append(
                Gap(
                    f"GET /api/v4/.../audit_events ({where})",
                    f"{PREMIUM} with Owner (group), Maintainer (project) or administrator (instance) "
                    f"(HTTP {sorted(set(refused))})",
                    "stored audit events (archive and export downloads, token creation, member and "
                    "visibility changes) not collected",
                )
            )


def _gap(endpoint: Endpoint, exc: ApiError) -> Gap:
    if isinstance(exc, TransportError):
        return refusal_gap(endpoint, exc)
    return Gap(endpoint.path, f"{endpoint.needs} (HTTP {exc.status})", endpoint.consequence)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def collect(
    source: GitLabSource,
    token: str,
    since: datetime,
    until: datetime,
    restricted: Callable[[dict[str, Any]], bool],
) -> Collected:
    """Connect, check the token (401 raises GitLabAuthError before anything else), collect everything."""
    from auditor.connectors.gitlab.client import connect

    client, recorder = connect(source, token)
    try:
        return GitLabCollector(source, client, recorder, since, until, restricted).run()
    finally:
        client.session.close()


def page_items(body: bytes) -> int:
    doc = json.loads(body)
    return len(doc) if isinstance(doc, list) else 1
