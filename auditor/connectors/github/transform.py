"""Pure functions: the pages one GitHub collection received -> workspace rows.

Effective access per non-public repo: org owners (admin, `org_owner`), the org base permission for
every member (`org_base`), each team's repo permission for everyone GitHub lists in the team (its
members include child teams' members: `team:SLUG`), and direct collaborators from GraphQL
(`direct`, or `outside_collaborator` for accounts outside the org). One row per account and repo;
role = the highest any path gives.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditor.connectors.github.collect import Collected

ROLES = ("read", "triage", "write", "maintain", "admin")
_BASE_ROLE = {"read": "read", "write": "write", "admin": "admin"}  # org default_repository_permission values
_VIA_ORDER = ("org_owner", "org_base", "team", "direct", "outside_collaborator")


def role_rank(role: str) -> int:
    """GitHub's role order; a custom repository role ranks between triage and write."""
    return ROLES.index(role) if role in ROLES else 1


def _via_key(v: str) -> tuple[int, str]:
    kind = v.split(":")[0]
    return (_VIA_ORDER.index(kind) if kind in _VIA_ORDER else 9, v)


def sort_via(via: set[str], cache: dict[frozenset[str], list[str]] | None = None) -> list[str]:
    """Paths in a fixed order: owner, base, teams (by slug), direct, outside collaborator."""
    if cache is None:
        return sorted(via, key=_via_key)
    key = frozenset(via)
    found = cache.get(key)
    if found is None:
        found = cache[key] = sorted(via, key=_via_key)
    return found


def ts(value: Any) -> str | None:
    """ISO 8601 (with Z or offset) -> naive UTC 'YYYY-MM-DD HH:MM:SS', the workspace convention."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        from datetime import UTC

        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def _repo_role(item: dict[str, Any]) -> str:
    """Role from REST `role_name`, else from the `permissions` booleans."""
    name = item.get("role_name")
    if name:
        return "read" if name == "pull" else "write" if name == "push" else str(name)
    perms = item.get("permissions") or {}
    for key, role in (("admin", "admin"), ("maintain", "maintain"), ("push", "write"), ("triage", "triage")):
        if perms.get(key):
            return role
    return "read"


@dataclass
class Rows:
    """Everything to insert for one snapshot (tuples in table column order, minus snapshot/platform)."""

    repos: list[tuple[Any, ...]] = field(default_factory=list)
    properties: list[tuple[Any, ...]] = field(default_factory=list)
    settings: list[tuple[Any, ...]] = field(default_factory=list)
    memberships: list[tuple[Any, ...]] = field(default_factory=list)
    grants: list[tuple[Any, ...]] = field(default_factory=list)
    # The role a path gives where the grant does not tell it: (account or None for a team, repo, path, role, target)
    grant_paths: list[tuple[Any, ...]] = field(default_factory=list)
    credentials: list[tuple[Any, ...]] = field(default_factory=list)
    apps: list[tuple[Any, ...]] = field(default_factory=list)
    identities: list[tuple[Any, ...]] = field(default_factory=list)
    streaming: str | None = None
    streaming_known: bool = False


def transform(c: Collected, base: str) -> Rows:
    """All rows for one collection; `base` prefixes evidence sources (the REST root)."""
    rows = Rows()
    if c.org is not None and "org" in c.pages:
        _org(c, base, rows)
    if "audit_log_streams" in c.pages:
        streams = c.pages["audit_log_streams"][0].json()
        active = (
            [s for s in streams if s.get("enabled") and not s.get("paused_at")] if isinstance(streams, list) else []
        )
        rows.streaming = ", ".join(sorted(str(s.get("stream_type", "?")) for s in active)) or None
        rows.streaming_known = True
        rows.settings.append(
            (
                c.enterprise,
                "audit_log_streaming",
                rows.streaming or "none",
                f"{base}/enterprises/{c.enterprise}/audit-log/streams",
            )
        )
    return rows


def _org(c: Collected, base: str, rows: Rows) -> None:
    org = c.org
    assert org is not None
    src = f"{base}/orgs/{org}"
    settings = c.pages["org"][0].json()
    for key in ("default_repository_permission", "members_can_create_repositories", "two_factor_requirement_enabled"):
        if key in settings and settings[key] is not None:
            value = settings[key]
            rows.settings.append((org, key, json.dumps(value) if isinstance(value, bool) else str(value), src))
    base_perm = _BASE_ROLE.get(str(settings.get("default_repository_permission", "none")))

    owners = [u["login"] for u in c.items("admins")]
    members = [u["login"] for u in c.items("members")]
    outside = [u["login"] for u in c.items("outside_collaborators")]
    outside_set = set(outside)
    for login in owners:
        rows.memberships.append(("org", org, login, "owner", None, f"{src}/members?role=admin"))
    for login in members:
        rows.memberships.append(("org", org, login, "member", None, f"{src}/members?role=member"))
    for login in outside:
        rows.memberships.append(("org", org, login, "outside_collaborator", None, f"{src}/outside_collaborators"))

    repos = c.items("repos")
    props = {p["repository_full_name"]: p["properties"] for p in c.items("properties")}
    for r in repos:
        rows.repos.append(
            (r["full_name"], str(r["id"]), r.get("visibility"), bool(r.get("archived")), r.get("topics") or [])
        )
        listed = props.get(r["full_name"])
        if listed is None:
            listed = [{"property_name": k, "value": v} for k, v in (r.get("custom_properties") or {}).items()]
        for prop in listed:
            value = prop.get("value")
            shown = json.dumps(value) if isinstance(value, list) else value
            rows.properties.append((r["full_name"], prop["property_name"], shown, f"{src}/properties/values"))
    restricted = {r["full_name"] for r in repos if r.get("visibility", "private") != "public"}

    acc: dict[tuple[str, str], tuple[str, set[str]]] = {}

    def grant(login: str, repo: str, role: str, via: str) -> None:
        current = acc.get((login, repo))
        if current is None:
            acc[(login, repo)] = (role, {via})
        else:
            best = role if role_rank(role) > role_rank(current[0]) else current[0]
            current[1].add(via)
            acc[(login, repo)] = (best, current[1])

    for repo in restricted:
        for login in owners:
            grant(login, repo, "admin", "org_owner")
        if base_perm is not None:
            for login in owners + members:
                grant(login, repo, base_perm, "org_base")
    _teams(c, org, src, rows, restricted, grant)
    _direct(c, outside_set, rows, grant, restricted)
    cache: dict[frozenset[str], list[str]] = {}
    rows.grants = [
        (login, repo, role, sort_via(via, cache))
        for (login, repo), (role, via) in sorted(acc.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]
    _credentials(c, src, rows)
    _apps(c, org, src, rows)
    _roles(c, org, src, rows)
    for page in c.pages.get("external_identities", []):
        provider = ((page.json().get("data") or {}).get("organization") or {}).get("samlIdentityProvider") or {}
        for edge in (provider.get("externalIdentities") or {}).get("edges", []):
            node = edge["node"]
            login = (node.get("user") or {}).get("login")
            name_id = (node.get("samlIdentity") or {}).get("nameId") or (node.get("scimIdentity") or {}).get("username")
            if login and name_id:
                rows.identities.append(
                    (login, "saml", name_id, "graphql organization.samlIdentityProvider.externalIdentities")
                )


def _teams(c: Collected, org: str, src: str, rows: Rows, restricted: set[str], grant: Any) -> None:
    teams = c.items("teams")
    children: dict[str, list[str]] = {}
    for t in teams:
        parent = (t.get("parent") or {}).get("slug")
        if parent:
            children.setdefault(parent, []).append(t["slug"])
    listed: dict[str, list[str]] = {}
    for slug, pages in c.team_pages.items():
        listed[slug] = [u["login"] for p in pages["members"] for u in p.json()]
    # GitHub lists a team's members with its child teams' members; add them anyway for servers that do not.
    for slug in list(listed):
        seen = set(listed[slug])
        stack = list(children.get(slug, []))
        while stack:
            child = stack.pop()
            for login in listed.get(child, []):
                if login not in seen:
                    seen.add(login)
                    listed[slug].append(login)
            stack.extend(children.get(child, []))
    for slug, pages in c.team_pages.items():
        maintainers = {u["login"] for p in pages["maintainers"] for u in p.json()}
        via_child: dict[str, str] = {}
        for child in sorted(children.get(slug, [])):
            for login in listed.get(child, []):
                via_child.setdefault(login, child)
        for login in listed[slug]:
            inherited = via_child.get(login) if login not in maintainers else None
            role = "maintainer" if login in maintainers else "member"
            rows.memberships.append(("team", slug, login, role, inherited, f"{src}/teams/{slug}/members"))
        for p in pages["repos"]:
            for repo in p.json():
                if repo["full_name"] not in restricted:
                    continue
                role = _repo_role(repo)
                rows.grant_paths.append((None, repo["full_name"], f"team:{slug}", role, None))
                for login in listed[slug]:
                    grant(login, repo["full_name"], role, f"team:{slug}")


def _direct(c: Collected, outside: set[str], rows: Rows, grant: Any, restricted: set[str]) -> None:
    seen: set[tuple[str, str]] = set()
    for page in c.graphql_pages:
        for repo in (page.json().get("data") or {}).values():
            if not repo:
                continue
            name = repo["nameWithOwner"]
            for edge in repo["collaborators"]["edges"]:
                login = edge["node"]["login"]
                if name in restricted:
                    path = "outside_collaborator" if login in outside else "direct"
                    rows.grant_paths.append((login, name, path, str(edge["permission"]).lower(), None))
                    grant(login, name, str(edge["permission"]).lower(), path)
            for key in (repo.get("deployKeys") or {}).get("nodes", []):
                if (name, key["id"]) in seen:
                    continue
                seen.add((name, key["id"]))
                rows.credentials.append(
                    ("deploy_key", str(key["id"]), name, ["read"] if key.get("readOnly") else ["write"],
                     ts(key.get("createdAt")), None, None, f"graphql repository({name}).deployKeys", key.get("title"),
                     _fingerprint(str(key.get("key", ""))))
                )  # fmt: skip


def _fingerprint(key: str) -> str:
    """OpenSSH's SHA256 fingerprint of a public key line; the key's tail if it is not base64."""
    parts = key.split()
    try:
        blob = base64.b64decode(parts[1] + "=" * (-len(parts[1]) % 4), validate=True)
    except (IndexError, ValueError):
        return key[-8:]
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _credentials(c: Collected, src: str, rows: Rows) -> None:
    for a in c.items("credential_authorizations"):
        kind = "classic_pat" if a.get("credential_type") == "personal access token" else "ssh_key"
        name = a.get("authorized_credential_note") or a.get("authorized_credential_title")
        rows.credentials.append(
            (kind, str(a["credential_id"]), a.get("login"), list(a.get("scopes") or []),
             ts(a.get("credential_authorized_at")), ts(a.get("credential_accessed_at")),
             ts(a.get("authorized_credential_expires_at")), f"{src}/credential-authorizations", name,
             a.get("token_last_eight") or a.get("fingerprint"))
        )  # fmt: skip
    for key, kind, created in (
        ("fine_grained_pats", "fine_grained_pat", "access_granted_at"),
        ("pat_requests", "fine_grained_pat_request", "created_at"),
    ):
        for t in c.items(key):
            perms = t.get("permissions") or {}
            scopes = sorted(f"{name}:{level}" for group in perms.values() if isinstance(group, dict)
                            for name, level in group.items())  # fmt: skip
            token_id = t.get("token_id") if kind == "fine_grained_pat_request" else t.get("id")
            path = "personal-access-tokens" if kind == "fine_grained_pat" else "personal-access-token-requests"
            rows.credentials.append(
                (kind, str(token_id if token_id is not None else t["id"]), (t.get("owner") or {}).get("login"), scopes,
                 ts(t.get(created)), ts(t.get("token_last_used_at")), ts(t.get("token_expires_at")),
                 f"{src}/{path}",
                 t.get("reason"), f"repository_selection={t.get('repository_selection')}")
            )  # fmt: skip


def _apps(c: Collected, org: str, src: str, rows: Rows) -> None:
    for inst in c.items("installations", "installations"):
        selection = inst.get("repository_selection")
        reach = "all" if selection == "all" else "selected"
        rows.apps.append(
            (str(inst["app_id"]), inst.get("app_slug"), "github_app_installation",
             json.dumps(inst.get("permissions") or {}, sort_keys=True), reach, ts(inst.get("created_at")),
             f"{src}/installations", (inst.get("account") or {}).get("login") or org)
        )  # fmt: skip


def _roles(c: Collected, org: str, src: str, rows: Rows) -> None:
    roles = {str(r["id"]): r for r in c.items("organization_roles", "roles")}
    for role_id, pages in c.role_pages.items():
        name = roles[role_id]["name"]
        for p in pages["users"]:
            for u in p.json():
                rows.memberships.append(
                    ("org_role", name, u["login"], name, None, f"{src}/organization-roles/{role_id}/users")
                )
        for p in pages["teams"]:
            for t in p.json():
                rows.memberships.append(("org_role", name, f"team:{t['slug']}", name, None,
                                         f"{src}/organization-roles/{role_id}/teams"))  # fmt: skip
