"""Load one GitHub collection into the workspace in one transaction: every page kept as evidence,
inventory rows as one snapshot, audit events through the file importer's GitHub normaliser."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import duckdb

from auditor import __version__
from auditor.connectors.gaps import Gap, replace_gaps
from auditor.connectors.github.client import Page
from auditor.connectors.github.collect import Collected
from auditor.connectors.github.transform import Rows, transform
from auditor.connectors.kit.evidence import store_pages
from auditor.connectors.kit.provenance import import_staged, stage_records
from auditor.connectors.kit.state import write_mark
from auditor.connectors.kit.summary import CollectSummary as KitSummary
from auditor.importers.formats.github import GITHUB_AUDIT
from auditor.workspace.store import Workspace, json_rows, utcnow
from auditor.workspace.tables import row_types

SOURCE_PREFIX = "github:"
AUDIT_RETENTION_DAYS = 180  # GitHub Enterprise Cloud: web/API events (UI, REST, export)
GIT_RETENTION_DAYS = 7  # GitHub Enterprise Cloud: Git events, REST/export only


@dataclass
class CollectSummary(KitSummary):
    """What `auditor collect github` prints: counts per resource, new audit events, gaps."""

    scope: str = ""
    audit_imported: int = 0
    audit_duplicates: int = 0
    requests: int = 0

    platform: ClassVar[str] = "github"
    label: ClassVar[str] = "GitHub"

    def head(self) -> dict[str, object]:
        return {"scope": self.scope}

    def tail(self) -> dict[str, object]:
        return {
            "audit_events_imported": self.audit_imported,
            "audit_events_duplicates": self.audit_duplicates,
            "requests": self.requests,
        }

    def notes(self) -> list[str]:
        return [f"{self.audit_imported} new audit events imported ({self.audit_duplicates} already held); "
                f"{self.requests} requests."]  # fmt: skip


def scope_of(collected: Collected) -> str:
    return collected.org or f"enterprise:{collected.enterprise}"


def state_key(collected: Collected) -> str:
    return audit_state_key(collected.org, collected.enterprise)


def audit_state_key(org: str | None, enterprise: str | None) -> str:
    """The collect_state key of an org's (else the enterprise's) audit-log high-water mark."""
    return f"{SOURCE_PREFIX}{org or f'enterprise:{enterprise}'}:audit-log"


def _all_pages(c: Collected) -> list[Page]:
    pages = [p for ps in c.pages.values() for p in ps]
    pages += [p for team in c.team_pages.values() for ps in team.values() for p in ps]
    pages += [p for role in c.role_pages.values() for ps in role.values() for p in ps]
    return pages + c.graphql_pages


def load_collected(ws: Workspace, base_url: str, collected: Collected, since: datetime, ghes: bool) -> CollectSummary:
    """Write pages, inventory rows, audit events, gaps, log sources and the high-water mark."""
    snap = "collect-" + uuid.uuid4().hex[:12]
    scope = scope_of(collected)
    summary = CollectSummary(snap, gaps=list(collected.gaps), scope=scope, requests=collected.requests)
    rows = transform(collected, base_url.rstrip("/"))
    con = ws.con
    work = Path(tempfile.mkdtemp(prefix="github-", dir=ws.root))
    try:
        with ws.transaction():
            con.execute("INSERT INTO snapshots VALUES (?, 'collect', 'github', ?, ?, ?)",
                        [snap, scope, utcnow(), __version__])  # fmt: skip
            store_pages(ws, _all_pages(collected))
            _inventory(con, snap, rows)
            summary.counts = {
                "repos": len(rows.repos),
                "grants": len(rows.grants),
                "memberships": len(rows.memberships),
                "credentials": len(rows.credentials),
                "apps": len(rows.apps),
                "external_identities": len(rows.identities),
                "audit_pages": len(collected.audit_pages),
            }
            audit = [(sha, path) for sha, (_, path) in store_pages(ws, collected.audit_pages).items()]
            summary.audit_imported, summary.audit_duplicates, newest = _audit(ws, audit, work, scope)
            if collected.org is not None:
                _oauth_restrictions(con, snap, collected)
            _coverage(con, snap, scope, collected, rows, ghes)
            _high_water(con, collected, newest, since)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary.gaps = list(collected.gaps)
    return summary


def _insert(con: duckdb.DuckDBPyConnection, table: str, snap: str, columns: dict[str, str], rows: list[Any]) -> None:
    if not rows:
        return
    sql, params = json_rows(columns, rows)
    names = ", ".join(columns)
    con.execute(f"INSERT INTO {table} (snapshot_id, platform, {names}) SELECT ?, 'github', {names} FROM ({sql})",
                [snap, *params])  # fmt: skip


def _inventory(con: duckdb.DuckDBPyConnection, snap: str, rows: Rows) -> None:
    v, t = "VARCHAR", "TIMESTAMP"
    if rows.repos:
        cols = {"full_name": v, "repo_id": v, "visibility": v, "archived": "BOOLEAN", "topics": '["VARCHAR"]'}
        sql, params = json_rows(cols, rows.repos)
        con.execute(
            "INSERT OR REPLACE INTO repos (platform, full_name, repo_id, visibility, archived, topics, restricted, "
            "tier, restriction_reason, first_seen, last_seen) "
            "SELECT 'github', u.full_name, u.repo_id, u.visibility, u.archived, u.topics, r.restricted, r.tier, "
            f"r.restriction_reason, r.first_seen, r.last_seen FROM ({sql}) u "
            "LEFT JOIN repos r ON r.platform = 'github' AND r.full_name = u.full_name",
            params,
        )
    _insert(con, "repo_properties", snap, {"repo": v, "name": v, "value": v, "source": v}, rows.properties)
    _insert(con, "platform_settings", snap, {"scope": v, "key": v, "value": v, "source": v}, rows.settings)
    member_cols = row_types("memberships", ("kind", "scope", "account", "role", "via", "source"))
    _insert(con, "memberships", snap, member_cols, rows.memberships)
    _insert(con, "grants", snap, row_types("grants", ("account", "repo", "role", "via")), rows.grants)
    path_cols = {"account": v, "repo": v, "path": v, "role": v, "target": v}
    _insert(con, "grant_paths", snap, path_cols, rows.grant_paths)
    cred_cols = {"kind": v, "credential_id": v, "owner": v, "scopes": '["VARCHAR"]', "created_at": t,
                 "last_used_at": t, "expires_at": t, "source": v, "name": v, "hint": v}  # fmt: skip
    _insert(con, "credentials", snap, cred_cols, rows.credentials)
    app_cols = {"app_id": v, "name": v, "kind": v, "permissions": v, "reach": v, "first_seen": t, "source": v,
                "owner": v}  # fmt: skip
    _insert(con, "apps", snap, app_cols, rows.apps)
    _insert(con, "external_identities", snap, {"login": v, "provider": v, "name_id": v, "source": v}, rows.identities)


def _audit(ws: Workspace, pages: list[tuple[str, Path]], work: Path, scope: str) -> tuple[int, int, datetime | None]:
    """Audit-log pages (JSON arrays) through the importer's GitHub normaliser, each event citing its page
    and position; returns (imported, duplicates, newest event time received)."""
    stage_records(ws, pages)
    row = ws.con.execute(
        "SELECT max(auditor_ts(coalesce(json_extract_string(elem, '$.\"@timestamp\"'), "
        "json_extract_string(elem, '$.created_at')))) FROM collected_records"
    ).fetchone()
    newest = row[0] if row else None
    imported, duplicates = import_staged(ws, GITHUB_AUDIT, work, f"{SOURCE_PREFIX}{scope} audit-log pages")
    return imported, duplicates, newest


def _oauth_restrictions(con: duckdb.DuckDBPyConnection, snap: str, c: Collected) -> None:
    """GitHub has no endpoint for OAuth app access restrictions: the latest enable/disable audit event
    in the workspace decides; with none, a coverage gap says the state is unknown."""
    row = con.execute(
        "SELECT arg_max(action, ts), max(ts) FROM events WHERE platform = 'github' AND org = ? "
        "AND action IN ('org.enable_oauth_app_restrictions', 'org.disable_oauth_app_restrictions')",
        [c.org],
    ).fetchone()
    if row is None or row[0] is None:
        c.gaps.append(
            Gap(
                "OAuth app access restrictions",
                "an org.enable_oauth_app_restrictions or org.disable_oauth_app_restrictions event in the audit log "
                "(GitHub has no endpoint for this setting)",
                "whether OAuth apps need approval before reaching org data is unknown",
            )
        )
        return
    value = "true" if row[0] == "org.enable_oauth_app_restrictions" else "false"
    source = f"audit-log {row[0]} at {row[1]:%Y-%m-%dT%H:%M:%SZ}"
    con.execute(
        "INSERT INTO platform_settings VALUES (?, 'github', ?, 'oauth_app_restrictions_enabled', ?, ?)",
        [snap, c.org, value, source],
    )


def _coverage(con: duckdb.DuckDBPyConnection, snap: str, scope: str, c: Collected, rows: Rows, ghes: bool) -> None:
    """Replace this scope's connector gaps; record the retention and streaming actually in force."""
    prefix = f"{SOURCE_PREFIX}{scope}"
    gaps = list(c.gaps)
    if not ghes and rows.streaming is None:
        if rows.streaming_known:
            needs = "audit-log streaming to a SIEM or storage (enterprise settings: Log streaming)"
            consequence = "no stream configured: GitHub keeps Git events only 7 days and never shows api.request"
        else:
            needs = "an enterprise slug and admin:enterprise to read the audit-log streaming configuration"
            consequence = "streaming unknown: Git events may be kept only 7 days"
        gaps.append(Gap("audit-log streaming", needs, consequence))
    replace_gaps(con, "github", f"{prefix} ", gaps, snap)
    web_retention = None if ghes else AUDIT_RETENTION_DAYS
    git_retention = None if ghes or rows.streaming else GIT_RETENTION_DAYS
    org_filter = "" if c.org is None else " AND org = ?"
    org_args = [] if c.org is None else [c.org]
    for source, retention, condition in (
        (f"{prefix} audit-log (web and API events)", web_retention, "NOT starts_with(action, 'git.')"),
        (f"{prefix} audit-log (Git events)", git_retention, "starts_with(action, 'git.')"),
    ):
        con.execute(
            "INSERT OR REPLACE INTO log_sources SELECT 'github', ?, ?, ?, min(ts), max(ts), count(*) FROM events "
            f"WHERE platform = 'github' AND {condition}{org_filter}",
            [source, retention, rows.streaming, *org_args],
        )


def _high_water(con: duckdb.DuckDBPyConnection, c: Collected, newest: datetime | None, since: datetime) -> None:
    """The newest audit event received (or the window start): the next run asks from there."""
    mark = newest if newest is not None and newest > since else since
    write_mark(con, state_key(c), mark)
