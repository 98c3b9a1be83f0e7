"""Load one Entra collection into the workspace in one transaction: pages kept, rows set-based."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import duckdb

from auditor import __version__
from auditor.connectors.entra.collect import Collected
from auditor.connectors.entra.graph import Page
from auditor.connectors.gaps import Gap, replace_gaps
from auditor.connectors.kit.evidence import store_pages
from auditor.connectors.kit.provenance import import_staged, stage_records
from auditor.connectors.kit.state import write_mark
from auditor.connectors.kit.summary import CollectSummary as KitSummary
from auditor.importers.formats.entra import ENTRA_SIGNIN_GRAPH, USERS_SPEC
from auditor.importers.sources import sql_str
from auditor.workspace.store import Workspace, utcnow

SOURCE_PREFIX = "entra:"


def signins_key(tenant: str) -> str:
    """The collect_state key of this tenant's sign-in high-water mark."""
    return f"{SOURCE_PREFIX}{tenant}:signins"


def audits_key(tenant: str) -> str:
    """The collect_state key of this tenant's directory-audit high-water mark."""
    return f"{SOURCE_PREFIX}{tenant}:directory_audits"


@dataclass
class CollectSummary(KitSummary):
    """What `auditor collect entra` printed: counts per resource and the gaps."""

    tenant: str = ""
    signins_imported: int = 0
    departures_seen: int = 0

    platform: ClassVar[str] = "entra"
    label: ClassVar[str] = "Entra"

    def head(self) -> dict[str, object]:
        return {"tenant": self.tenant}

    def tail(self) -> dict[str, object]:
        return {"signins_imported": self.signins_imported}

    def notes(self) -> list[str]:
        out = [f"{self.signins_imported} new sign-ins imported."]
        if "deleted_users" in self.counts or "directory_audits" in self.counts:
            out.append(
                f"{self.departures_seen} deleted users, disablements and group removals recorded (Entra keeps "
                "deleted users 30 days and directory audits 7 days, or 30 with P1/P2: collect at least that often)."
            )
        return out


def _store(ws: Workspace, pages: list[Page]) -> list[Path]:
    """Keep the bodies as received (read-only, named by SHA-256, same store as imports); their blob paths."""
    stored = store_pages(ws, pages)
    return [stored[p.sha256][1] for p in pages]


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(sql_str(str(p)) for p in paths) + "]"


def _rows(paths: list[Path], spec: dict[str, str]) -> str:
    """SQL yielding one row per element of the pages' `value` arrays, with `spec`'s columns."""
    structure = json.dumps([spec])
    return (
        f"SELECT r.* FROM (SELECT unnest(from_json(json_extract(content, '$.value'), {sql_str(structure)})) AS r "
        f"FROM read_text({_files(paths)}))"
    )


def load_collected(ws: Workspace, tenant: str, collected: Collected, since: datetime) -> CollectSummary:
    """Write pages, directory rows, sign-ins (through the importer), gaps and the high-water mark."""
    snap = "collect-" + uuid.uuid4().hex[:12]
    summary = CollectSummary(snap, gaps=list(collected.gaps), tenant=tenant)
    con = ws.con
    work = Path(tempfile.mkdtemp(prefix="entra-", dir=ws.root))
    try:
        with ws.transaction():
            con.execute(
                "INSERT INTO snapshots VALUES (?, 'collect', 'entra', ?, ?, ?)", [snap, tenant, utcnow(), __version__]
            )
            stored = {k: _store(ws, pages) for k, pages in collected.pages.items()}
            for key in stored:
                summary.counts[key] = collected.count(key)
            _identities(con, stored.get("users", []))
            _leave_dates(con, stored.get("users_lifecycle", []))
            _roles(con, snap, stored)
            _groups(ws, snap, collected)
            _apps(ws, snap, stored, collected)
            _risk(con, snap, stored)
            summary.signins_imported = _signins(ws, collected, work, tenant)
            summary.departures_seen = _directory_changes(ws, collected, tenant)
            _coverage(con, snap, tenant, collected)
            _high_water(con, tenant, since)
            _audits_high_water(con, tenant, collected)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def _identities(con: duckdb.DuckDBPyConnection, pages: list[Path]) -> None:
    if not pages:
        return
    spec = {
        **USERS_SPEC,
        "signInActivity": "STRUCT(lastSignInDateTime VARCHAR, lastNonInteractiveSignInDateTime VARCHAR)",
        "manager": "STRUCT(id VARCHAR)",
    }
    con.execute(
        "INSERT OR REPLACE INTO identities (identity_id, upn, mail, display_name, department, job_title, "
        "employee_type, user_type, account_enabled, created_at, source_sha256, line_no, manager_id, last_sign_in, "
        "last_non_interactive_sign_in, leave_at) "
        "SELECT id, userPrincipalName, mail, displayName, department, jobTitle, employeeType, userType, "
        "try_cast(accountEnabled AS BOOLEAN), auditor_ts(createdDateTime), 'graph', NULL, manager.id, "
        "auditor_ts(signInActivity.lastSignInDateTime), auditor_ts(signInActivity.lastNonInteractiveSignInDateTime), "
        "auditor_ts(employeeLeaveDateTime) "
        f"FROM ({_rows(pages, spec)}) WHERE id IS NOT NULL"
    )


def _leave_dates(con: duckdb.DuckDBPyConnection, pages: list[Path]) -> None:
    """employeeLeaveDateTime (a separate request: it needs User-LifeCycleInfo.Read.All) onto identities."""
    if pages:
        spec = {"id": "VARCHAR", "employeeLeaveDateTime": "VARCHAR"}
        con.execute(
            "UPDATE identities SET leave_at = u.leave_at FROM (SELECT id, auditor_ts(employeeLeaveDateTime) "
            f"AS leave_at FROM ({_rows(pages, spec)}) WHERE id IS NOT NULL) u WHERE identities.identity_id = u.id"
        )


def _roles(con: duckdb.DuckDBPyConnection, snap: str, stored: dict[str, list[Path]]) -> None:
    spec = {
        "principalId": "VARCHAR",
        "directoryScopeId": "VARCHAR",
        "roleDefinition": "STRUCT(displayName VARCHAR, templateId VARCHAR)",
    }
    for key, kind in (("role_assignments", "active"), ("role_eligibility", "eligible")):
        if stored.get(key):
            con.execute(
                "INSERT INTO identity_roles SELECT ?, principalId, roleDefinition.displayName, "
                f"roleDefinition.templateId, '{kind}', directoryScopeId FROM ({_rows(stored[key], spec)}) "
                "WHERE principalId IS NOT NULL",
                [snap],
            )


def _groups(ws: Workspace, snap: str, collected: Collected) -> None:
    for name, pages in collected.group_pages.items():
        paths = _store(ws, pages)
        if paths:
            ws.con.execute(
                f"INSERT INTO identity_groups SELECT ?, id, ?, ? FROM ({_rows(paths, {'id': 'VARCHAR'})})",
                [snap, pages[0].url.split("/groups/")[1].split("/")[0], name],
            )


_APP_COLUMNS = "snapshot_id, platform, app_id, name, kind, permissions, reach, first_seen, source"
# (pages key, fields read from each record, the apps row selected from them)
_APPS = (
    (
        "service_principals",
        ("id", "appId", "displayName", "servicePrincipalType", "appOwnerOrganizationId"),
        "id, displayName, 'service_principal:' || coalesce(servicePrincipalType, '?'), NULL, appOwnerOrganizationId, "
        "?, 'graph:/servicePrincipals'",
    ),
    (
        "oauth2_grants",
        ("clientId", "consentType", "principalId", "resourceId", "scope"),
        "clientId, NULL, 'oauth2_grant', trim(scope), consentType || coalesce(':' || principalId, ''), ?, "
        "'graph:/oauth2PermissionGrants'",
    ),
    (
        "app_role_assignments",
        ("appRoleId", "principalId", "principalType", "principalDisplayName", "resourceId"),
        "principalId, principalDisplayName, 'app_role_assignment', appRoleId, resourceId, ?, "
        "'graph:/servicePrincipals/appRoleAssignedTo'",
    ),
)


def _apps(ws: Workspace, snap: str, stored: dict[str, list[Path]], collected: Collected) -> None:
    """Service principals, delegated consents and app-role assignments as `apps` rows."""
    pages = {**stored, "app_role_assignments": _store(ws, collected.assignment_pages)}
    now = utcnow()
    for key, fields, select in _APPS:
        if pages.get(key):
            ws.con.execute(
                f"INSERT INTO apps ({_APP_COLUMNS}) SELECT ?, 'entra', {select} "
                f"FROM ({_rows(pages[key], dict.fromkeys(fields, 'VARCHAR'))})",
                [snap, now],
            )


_RISK = (
    (
        "risky_users",
        dict.fromkeys(("id", "userPrincipalName", "riskLevel", "riskState", "riskLastUpdatedDateTime"), "VARCHAR"),
        "id, userPrincipalName, 'risky_user', riskLevel, riskState, NULL, auditor_ts(riskLastUpdatedDateTime), "
        "NULL, NULL",
    ),
    (
        "risk_detections",
        {
            **dict.fromkeys(
                ("userId", "userPrincipalName", "riskLevel", "riskState", "riskEventType", "detectedDateTime"),
                "VARCHAR",
            ),
            "ipAddress": "VARCHAR",
            "location": "STRUCT(countryOrRegion VARCHAR)",
        },
        "userId, userPrincipalName, 'detection', riskLevel, riskState, riskEventType, auditor_ts(detectedDateTime), "
        "ipAddress, location.countryOrRegion",
    ),
)


def _risk(con: duckdb.DuckDBPyConnection, snap: str, stored: dict[str, list[Path]]) -> None:
    """Risky users (P2) and risk detections as `identity_risk` rows."""
    for key, spec, select in _RISK:
        if stored.get(key):
            con.execute(f"INSERT INTO identity_risk SELECT ?, {select} FROM ({_rows(stored[key], spec)})", [snap])


def _signins(ws: Workspace, collected: Collected, work: Path, tenant: str) -> int:
    """Sign-in pages through the importer's fast path, each sign-in citing its page and position."""
    pages = collected.pages.get("signins", []) + collected.pages.get("signins_non_interactive", [])
    stored = store_pages(ws, pages)
    stage_records(ws, [(sha, path) for sha, (_, path) in stored.items()], "$.value[*]")
    what = f"{SOURCE_PREFIX}{tenant} sign-in pages"
    return import_staged(ws, ENTRA_SIGNIN_GRAPH, work, what)[0]


def _directory_changes(ws: Workspace, collected: Collected, tenant: str) -> int:
    """Deleted users and leaving activities into `directory_changes` (kept across runs: `departures` is
    derived from them with the configured leaver groups); the pages are already in the evidence store. A
    deleted user's listing wins over the 'Delete user' audit record of the same person. Returns how many
    rows this run wrote."""
    from auditor.connectors.entra.changes import transform_deleted_users, transform_directory_audits

    audits = collected.pages.get("directory_audits", [])
    deleted = collected.pages.get("deleted_users", [])
    rows = {c.change_id: c for p in audits for c in transform_directory_audits(p)}
    rows.update({c.change_id: c for p in deleted for c in transform_deleted_users(p)})
    if rows:
        ws.con.executemany(
            'INSERT OR REPLACE INTO directory_changes (change_id, tenant, identity_id, upn, kind, "at", group_id, '
            "group_name, activity, evidence_sha256, line_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (c.change_id, tenant, c.identity_id, c.upn, c.kind, c.at, c.group_id, c.group_name, c.activity,
                 c.sha256, c.position)
                for c in rows.values()
            ],
        )  # fmt: skip
    return len(rows)


def _audits_high_water(con: duckdb.DuckDBPyConnection, tenant: str, collected: Collected) -> None:
    """The newest directory-audit record held for this tenant (or where the query started), when the
    audits were collected at all: a refused query leaves the mark where it was."""
    since = collected.audits_since
    if since is None:
        return
    row = con.execute(
        "SELECT max(\"at\") FROM directory_changes WHERE tenant = ? AND activity <> 'deletedItems'", [tenant]
    ).fetchone()
    mark = row[0] if row and row[0] is not None and row[0] > since else since
    write_mark(con, audits_key(tenant), mark)


def _coverage(con: duckdb.DuckDBPyConnection, snap: str, tenant: str, collected: Collected) -> None:
    """Replace this tenant's connector gaps; state the sign-in retention actually in force."""
    gaps = list(collected.gaps)
    retention, streaming = _retention(collected)
    if streaming is None:
        gaps.append(
            Gap(
                "sign-in logs",
                "a diagnostic setting exporting SignInLogs and NonInteractiveUserSignInLogs (Log Analytics, storage or "
                "Event Hub)",
                f"Entra keeps sign-ins only {retention} days; older logins cannot be joined to downloads",
            )
        )
    replace_gaps(con, "entra", f"{SOURCE_PREFIX}{tenant} ", gaps, snap)
    con.execute(
        "INSERT OR REPLACE INTO log_sources SELECT 'entra', 'graph-signins', ?, ?, min(ts), max(ts), count(*) "
        "FROM events WHERE platform = 'entra'",
        [retention, streaming],
    )


def _retention(collected: Collected) -> tuple[int, str | None]:
    """(days Entra itself keeps sign-ins, where a diagnostic setting streams them or None)."""
    retention = 30 if collected.signins_licensed else 7
    if collected.diagnostic is None:
        return retention, None
    for setting in json.loads(collected.diagnostic.body).get("value", []):
        props = setting.get("properties", {})
        logs = {log.get("category"): log.get("enabled") for log in props.get("logs", [])}
        if logs.get("SignInLogs"):
            target = next(
                (k for k in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId") if props.get(k)),
                "export",
            )
            return retention, f"diagnostic setting {setting.get('name', '?')} -> {target}"
    return retention, None


def _high_water(con: duckdb.DuckDBPyConnection, tenant: str, since: datetime) -> None:
    """The newest sign-in now held (or the window start): the next run asks from there."""
    row = con.execute("SELECT max(ts) FROM events WHERE platform = 'entra'").fetchone()
    mark = row[0] if row and row[0] is not None and row[0] > since else since
    write_mark(con, signins_key(tenant), mark)
