"""Load one GitLab collection in one transaction: pages kept as evidence, inventory rows, effective grants
computed set-based in SQL (project, group:PATH and shared_group:PATH paths), audit events through the
importer, coverage gaps and the audit high-water mark."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import duckdb

from auditor import __version__
from auditor.connectors.gaps import Gap, replace_gaps
from auditor.connectors.gitlab.collect import Collected
from auditor.connectors.kit.evidence import store_pages
from auditor.connectors.kit.provenance import import_staged, stage_records
from auditor.connectors.kit.sql import run_sql_files
from auditor.connectors.kit.state import write_mark
from auditor.connectors.kit.summary import CollectSummary as KitSummary
from auditor.importers.formats.gitlab import GITLAB_AUDIT
from auditor.workspace.store import Workspace, json_rows, utcnow

SOURCE_PREFIX = "gitlab:"
# Memberships and effective grants, computed in SQL (sql/*.sql, run in this order).
GRANT_SQL = ("role.sql", "ancestors.sql", "paths.sql", "memberships.sql", "grants.sql", "grant_paths.sql")
INSTANCE_SETTINGS = (
    "signup_enabled",
    "require_two_factor_authentication",
    "default_project_visibility",
    "default_group_visibility",
    "restricted_visibility_levels",
    "password_authentication_enabled_for_git",
    "max_personal_access_token_lifetime",
    "deploy_token_expiration_enforced",
    "personal_access_token_prefix",
)
GROUP_SETTINGS = (
    "visibility",
    "require_two_factor_authentication",
    "share_with_group_lock",
    "project_creation_level",
    "subgroup_creation_level",
)


def state_key(base_url: str, scope: str) -> str:
    """The collect_state key of this source's audit-event high-water mark."""
    return f"{SOURCE_PREFIX}{base_url.rstrip('/')}:{scope}:audit"


@dataclass
class CollectSummary(KitSummary):
    """What `auditor collect gitlab` prints: counts per resource and the gaps."""

    base_url: str = ""
    scope: str = ""
    audit_events_imported: int = 0
    requests: int = 0

    platform: ClassVar[str] = "gitlab"
    label: ClassVar[str] = "GitLab"

    def head(self) -> dict[str, object]:
        return {"base_url": self.base_url, "scope": self.scope}

    def tail(self) -> dict[str, object]:
        return {"audit_events_imported": self.audit_events_imported, "requests": self.requests}

    def title(self) -> str:
        return f"GitLab {self.base_url} ({self.scope})"

    def notes(self) -> list[str]:
        return [f"{self.audit_events_imported} new audit events imported; {self.requests} requests."]


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], rows: list[tuple[Any, ...]]) -> None:
    if rows:
        sql, params = json_rows(columns, rows)
        con.execute(f"INSERT INTO {table} SELECT * FROM ({sql})", params)


def _ts(value: object) -> str | None:
    """GitLab dates ('2026-01-31') and times as ISO text for from_json TIMESTAMP; None stays None."""
    if not value:
        return None
    text = str(value).replace("Z", "")
    return text if "T" in text else text + "T00:00:00"


def load_collected(
    ws: Workspace, collected: Collected, restricted: Callable[[dict[str, Any]], tuple[bool, int | None, str]]
) -> CollectSummary:
    """Write everything from one run, or nothing (one transaction)."""
    snap = "collect-" + uuid.uuid4().hex[:12]
    c = collected
    summary = CollectSummary(snap, gaps=list(c.gaps), base_url=c.base_url, scope=c.scope, requests=c.recorder.requests)
    con = ws.con
    work = Path(tempfile.mkdtemp(prefix="gitlab-", dir=ws.root))
    source = f"{SOURCE_PREFIX}{c.base_url}"
    try:
        with ws.transaction():
            con.execute(
                "INSERT INTO snapshots VALUES (?, 'collect', 'gitlab', ?, ?, ?)",
                [snap, f"{c.base_url} {c.scope}", utcnow(), __version__],
            )
            stored = store_pages(ws, c.recorder.pages)
            _repos(con, c, restricted)
            _staging(con, c, restricted)
            summary.counts.update(_memberships_and_grants(con, snap, source))
            summary.counts.update(_users(con, snap, source, c))
            summary.counts.update(_credentials(con, snap, source, c))
            summary.counts.update(_apps_and_settings(con, snap, source, c))
            audit = [(sha, path) for sha, (page, path) in stored.items() if page.path.endswith("/audit_events")]
            summary.audit_events_imported = _audit(ws, audit, work, f"{source} {c.scope} audit-event pages")
            _coverage(con, snap, c, summary)
            if c.audit_endpoints and c.audit_until is not None:
                write_mark(con, state_key(c.base_url, c.scope), c.audit_until)
            for table in ("gl_groups", "gl_projects", "gl_members", "gl_shares", "gl_paths", "gl_anc"):
                con.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def _repos(
    con: duckdb.DuckDBPyConnection, c: Collected, restricted: Callable[[dict[str, Any]], tuple[bool, int | None, str]]
) -> None:
    now = utcnow()
    rows = []
    for p in c.projects:
        is_restricted, tier, reason = restricted(p)
        rows.append(
            (
                p["path_with_namespace"],
                str(p["id"]),
                p.get("visibility"),
                bool(p.get("archived")),
                list(p.get("topics") or []),
                is_restricted,
                tier,
                reason,
                now,
            )
        )
    if rows:
        cols = {
            "full_name": "VARCHAR",
            "repo_id": "VARCHAR",
            "visibility": "VARCHAR",
            "archived": "BOOLEAN",
            "topics": '["VARCHAR"]',
            "restricted": "BOOLEAN",
            "tier": "INTEGER",
            "reason": "VARCHAR",
            "now": "TIMESTAMP",
        }
        sql, params = json_rows(cols, rows)
        con.execute(
            "INSERT OR REPLACE INTO repos SELECT 'gitlab', n.full_name, n.repo_id, n.visibility, n.archived, n.topics, "
            "n.restricted, n.tier, n.reason, coalesce(r.first_seen, n.now), greatest(r.last_seen, n.now) "
            f"FROM ({sql}) n LEFT JOIN repos r ON r.platform = 'gitlab' AND r.full_name = n.full_name",
            params,
        )


def _staging(
    con: duckdb.DuckDBPyConnection, c: Collected, restricted: Callable[[dict[str, Any]], tuple[bool, int | None, str]]
) -> None:
    """Temporary tables of what GitLab said: groups, projects, direct members and shares."""
    con.execute("CREATE OR REPLACE TEMP TABLE gl_groups (id BIGINT, full_path VARCHAR, parent_id BIGINT)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gl_projects (id BIGINT, path VARCHAR, namespace_id BIGINT, restricted BOOLEAN)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gl_members (kind VARCHAR, target_id BIGINT, user_id BIGINT, "
        "username VARCHAR, level INTEGER)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gl_shares (kind VARCHAR, target_id BIGINT, shared_id BIGINT, "
        "shared_path VARCHAR, level INTEGER)"
    )
    _insert(
        con,
        "gl_groups",
        {"id": "BIGINT", "full_path": "VARCHAR", "parent_id": "BIGINT"},
        [(g["id"], g["full_path"], g.get("parent_id")) for g in c.groups],
    )
    _insert(
        con,
        "gl_projects",
        {"id": "BIGINT", "path": "VARCHAR", "ns": "BIGINT", "restricted": "BOOLEAN"},
        [(p["id"], p["path_with_namespace"], p["namespace"]["id"], restricted(p)[0]) for p in c.projects],
    )
    members: list[tuple[Any, ...]] = []
    for kind, table in (("group", c.group_members), ("project", c.project_members), ("shared", c.shared_members)):
        for target, rows in table.items():
            members.extend((kind, target, m["id"], m["username"], m["access_level"]) for m in rows)
    _insert(
        con,
        "gl_members",
        {"kind": "VARCHAR", "target": "BIGINT", "uid": "BIGINT", "username": "VARCHAR", "level": "INTEGER"},
        members,
    )
    shares: list[tuple[Any, ...]] = []
    for kind, items in (("group", c.groups), ("project", c.projects)):
        for x in items:
            shares.extend(
                (kind, x["id"], s["group_id"], s["group_full_path"], s["group_access_level"])
                for s in x.get("shared_with_groups") or []
            )
    _insert(
        con,
        "gl_shares",
        {"kind": "VARCHAR", "target": "BIGINT", "sid": "BIGINT", "spath": "VARCHAR", "level": "INTEGER"},
        shares,
    )


def _memberships_and_grants(con: duckdb.DuckDBPyConnection, snap: str, source: str) -> dict[str, int]:
    """Memberships, effective grants and the role of each path, set-based from the staging tables."""
    run_sql_files(con, __package__ or "auditor.connectors.gitlab", GRANT_SQL, {"snap": snap, "source": source})
    row = con.execute(
        "SELECT (SELECT count(*) FROM memberships WHERE snapshot_id = $s), "
        "(SELECT count(*) FROM grants WHERE snapshot_id = $s)",
        {"s": snap},
    ).fetchone()
    assert row is not None
    return {"memberships": int(row[0]), "grants": int(row[1])}


def _users(con: duckdb.DuckDBPyConnection, snap: str, source: str, c: Collected) -> dict[str, int]:
    rows = [
        (
            snap,
            "gitlab",
            u["username"],
            str(u["id"]),
            u.get("name"),
            u.get("email"),
            u.get("state"),
            bool(u.get("bot")) if "bot" in u else None,
            u.get("is_admin"),
            u.get("external"),
            _ts(u.get("created_at")),
            _ts(u.get("last_activity_on")),
            f"{source}/api/v4/users",
        )
        for u in c.users
    ]
    cols = {k: "VARCHAR" for k in ("snap", "platform", "login", "account_id", "name", "email", "state")}
    cols |= {
        "bot": "BOOLEAN",
        "admin": "BOOLEAN",
        "external": "BOOLEAN",
        "created": "TIMESTAMP",
        "active": "TIMESTAMP",
        "source": "VARCHAR",
    }
    _insert(con, "platform_users", cols, rows)
    identities = [
        (snap, "gitlab", u["username"], i.get("provider") or "?", i["extern_uid"], f"{source}/api/v4/users")
        for u in c.users
        for i in u.get("identities") or []
        if i.get("extern_uid")
    ]
    for table in (*c.group_members.values(), *c.project_members.values()):
        for m in table:
            saml = m.get("group_saml_identity") or {}
            if saml.get("extern_uid"):
                identities.append(
                    (
                        snap,
                        "gitlab",
                        m["username"],
                        saml.get("provider") or "group_saml",
                        saml["extern_uid"],
                        f"{source} members",
                    )
                )
    identities = sorted(set(identities))
    cols = {k: "VARCHAR" for k in ("snap", "platform", "login", "provider", "name_id", "source")}
    _insert(con, "external_identities", cols, identities)
    return {"users": len(rows), "external_identities": len(identities)}


_CRED_COLS = {
    "snap": "VARCHAR",
    "platform": "VARCHAR",
    "kind": "VARCHAR",
    "id": "VARCHAR",
    "owner": "VARCHAR",
    "scopes": '["VARCHAR"]',
    "created": "TIMESTAMP",
    "used": "TIMESTAMP",
    "expires": "TIMESTAMP",
    "source": "VARCHAR",
    "name": "VARCHAR",
    "hint": "VARCHAR",
}


def _credentials(con: duckdb.DuckDBPyConnection, snap: str, source: str, c: Collected) -> dict[str, int]:
    logins = {u["id"]: u["username"] for u in c.users}
    rows: list[tuple[Any, ...]] = []

    def token(kind: str, t: dict[str, Any], owner: str | None, where: str, hint: str | None = None) -> None:
        if t.get("revoked"):
            return
        rows.append(
            (
                snap,
                "gitlab",
                kind,
                str(t["id"]),
                owner,
                list(t.get("scopes") or []),
                _ts(t.get("created_at")),
                _ts(t.get("last_used_at")),
                _ts(t.get("expires_at")),
                where,
                t.get("name"),
                hint,
            )
        )

    for t in c.personal_access_tokens:
        token(
            "personal_access_token",
            t,
            logins.get(t["user_id"], str(t["user_id"])),
            f"{source}/api/v4/personal_access_tokens",
        )
    paths = {g["id"]: g["full_path"] for g in c.groups}
    ppaths = {p["id"]: p["path_with_namespace"] for p in c.projects}
    for kind, owned, where, names in (
        ("group_access_token", c.group_tokens, "groups", paths),
        ("project_access_token", c.project_tokens, "projects", ppaths),
    ):
        for owner_id, tokens in owned.items():
            for t in tokens:
                name = names[owner_id]
                token(kind, t, logins.get(t.get("user_id"), name), f"{source}/api/v4/{where}/{name}/access_tokens")
    for owner, t in c.deploy_tokens:
        token("deploy_token", t, owner, f"{source} deploy_tokens of {owner}", t.get("username"))
    seen: set[tuple[str, int]] = set()
    for project, k in c.deploy_keys:
        if (project, k["id"]) in seen:
            continue
        seen.add((project, k["id"]))
        rows.append(
            (
                snap,
                "gitlab",
                "deploy_key",
                str(k["id"]),
                project,
                ["write" if k.get("can_push") else "read"],
                _ts(k.get("created_at")),
                None,
                _ts(k.get("expires_at")),
                f"{source} deploy_keys",
                k.get("title"),
                k.get("fingerprint_sha256") or k.get("fingerprint"),
            )
        )
    _insert(con, "credentials", _CRED_COLS, rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[2]] = counts.get(r[2], 0) + 1
    return {f"credentials:{k}": v for k, v in sorted(counts.items())}


def _apps_and_settings(con: duckdb.DuckDBPyConnection, snap: str, source: str, c: Collected) -> dict[str, int]:
    now = utcnow()
    apps = [
        (
            snap,
            "gitlab",
            a["application_id"],
            a.get("application_name"),
            "oauth_application",
            json.dumps({"confidential": a.get("confidential"), "callback_url": a.get("callback_url")}),
            "all",
            now,
            f"{source}/api/v4/applications",
            None,
        )
        for a in c.applications or []
    ]
    cols = {
        "snap": "VARCHAR",
        "platform": "VARCHAR",
        "id": "VARCHAR",
        "name": "VARCHAR",
        "kind": "VARCHAR",
        "permissions": "VARCHAR",
        "reach": "VARCHAR",
        "first": "TIMESTAMP",
        "source": "VARCHAR",
        "owner": "VARCHAR",
    }
    _insert(con, "apps", cols, apps)
    settings: list[tuple[Any, ...]] = []
    for key in INSTANCE_SETTINGS:
        if c.settings is not None and key in c.settings:
            settings.append(
                (snap, "gitlab", "instance", key, json.dumps(c.settings[key]), f"{source}/api/v4/application/settings")
            )
    for g in c.groups:
        for key in GROUP_SETTINGS:
            if key in g:
                settings.append(
                    (
                        snap,
                        "gitlab",
                        g["full_path"],
                        key,
                        json.dumps(g[key]),
                        f"{source}/api/v4/groups/{g['full_path']}",
                    )
                )
    streaming = "unknown" if c.streaming is None else ", ".join(d.get("name") or d["id"] for d in c.streaming) or "none"
    scope = "instance" if c.scope == "instance" else c.scope
    settings.append((snap, "gitlab", scope, "audit_event_streaming", streaming, f"{source}/api/graphql"))
    cols = {k: "VARCHAR" for k in ("snap", "platform", "scope", "key", "value", "source")}
    _insert(con, "platform_settings", cols, settings)
    return {"apps": len(apps), "settings": len(settings)}


def _audit(ws: Workspace, pages: list[tuple[str, Path]], work: Path, what: str) -> int:
    """Audit-event pages (JSON arrays) through the importer (same rows as file imports), each event citing
    its page and position."""
    stage_records(ws, pages)
    return import_staged(ws, GITLAB_AUDIT, work, what)[0]


def _coverage(con: duckdb.DuckDBPyConnection, snap: str, c: Collected, summary: CollectSummary) -> None:
    """Replace this source's connector gaps; say whether clone/pull events can be seen at all."""
    if c.streaming == []:
        gap = Gap(
            "audit event streaming",
            "an audit event streaming destination (GitLab Ultimate)",
            "git clone/pull (repository_git_operation) is never stored by GitLab and no stream receives it",
        )
        summary.gaps.append(gap)
    replace_gaps(con, "gitlab", f"{SOURCE_PREFIX}{c.base_url} ", summary.gaps, snap)
    streaming = None if not c.streaming else ", ".join(d.get("name") or d["id"] for d in c.streaming)
    con.execute(
        "INSERT OR REPLACE INTO log_sources SELECT 'gitlab', 'gitlab-audit-api', NULL, ?, min(ts), max(ts), count(*) "
        "FROM events WHERE platform = 'gitlab' AND source_format = 'gitlab-audit'",
        [streaming],
    )
