"""Load one Entra collection into the workspace in one transaction: pages kept, rows set-based."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from auditor import __version__
from auditor.connectors.entra.collect import Collected
from auditor.connectors.entra.graph import Page
from auditor.connectors.gaps import Gap, replace_gaps
from auditor.importers.formats.entra import ENTRA_SIGNIN_GRAPH, USERS_SPEC
from auditor.importers.pipeline import import_files
from auditor.importers.sources import sql_str
from auditor.workspace.evidence import blob_path
from auditor.workspace.store import Workspace, utcnow

SOURCE_PREFIX = "entra:"


@dataclass
class CollectSummary:
    """What `auditor collect entra` printed: counts per resource and the gaps."""

    snapshot_id: str
    tenant: str
    counts: dict[str, int] = field(default_factory=dict)
    signins_imported: int = 0
    gaps: list[Gap] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "snapshot_id": self.snapshot_id,
            "platform": "entra",
            "tenant": self.tenant,
            "counts": self.counts,
            "signins_imported": self.signins_imported,
            "coverage_gaps": [g.to_json() for g in self.gaps],
        }


def _store(ws: Workspace, page: Page) -> Path:
    """Keep the body as received, named by its SHA-256 (same store as imports)."""
    import hashlib

    sha = hashlib.sha256(page.body).hexdigest()
    path = blob_path(ws.evidence_dir, sha)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".partial")
        tmp.write_bytes(page.body)
        tmp.replace(path)
    ws.con.execute(
        "INSERT OR IGNORE INTO evidence VALUES (?, 'collect', ?, ?, ?, ?)",
        [sha, page.url, str(path), len(page.body), utcnow()],
    )
    return path


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
    summary = CollectSummary(snap, tenant, gaps=list(collected.gaps))
    con = ws.con
    work = Path(tempfile.mkdtemp(prefix="entra-", dir=ws.root))
    try:
        with ws.transaction():
            con.execute(
                "INSERT INTO snapshots VALUES (?, 'collect', 'entra', ?, ?, ?)", [snap, tenant, utcnow(), __version__]
            )
            stored = {k: [_store(ws, p) for p in pages] for k, pages in collected.pages.items()}
            for key in stored:
                summary.counts[key] = collected.count(key)
            _identities(con, stored.get("users", []))
            _leave_dates(con, stored.get("users_lifecycle", []))
            _roles(con, snap, stored)
            _groups(ws, snap, collected)
            _apps(ws, snap, stored, collected)
            _risk(con, snap, stored)
            summary.signins_imported = _signins(ws, stored, work)
            _coverage(con, snap, tenant, collected)
            _high_water(con, tenant, since)
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
        paths = [_store(ws, p) for p in pages]
        if paths:
            ws.con.execute(
                f"INSERT INTO identity_groups SELECT ?, id, ?, ? FROM ({_rows(paths, {'id': 'VARCHAR'})})",
                [snap, pages[0].url.split("/groups/")[1].split("/")[0], name],
            )


def _apps(ws: Workspace, snap: str, stored: dict[str, list[Path]], collected: Collected) -> None:
    now = utcnow()
    con = ws.con
    if stored.get("service_principals"):
        spec = {
            "id": "VARCHAR",
            "appId": "VARCHAR",
            "displayName": "VARCHAR",
            "servicePrincipalType": "VARCHAR",
            "appOwnerOrganizationId": "VARCHAR",
        }
        con.execute(
            "INSERT INTO apps (snapshot_id, platform, app_id, name, kind, permissions, reach, first_seen, source) "
            "SELECT ?, 'entra', id, displayName, "
            "'service_principal:' || coalesce(servicePrincipalType, '?'), NULL, appOwnerOrganizationId, ?, "
            "'graph:/servicePrincipals' "
            f"FROM ({_rows(stored['service_principals'], spec)})",
            [snap, now],
        )
    if stored.get("oauth2_grants"):
        spec = {
            "clientId": "VARCHAR",
            "consentType": "VARCHAR",
            "principalId": "VARCHAR",
            "resourceId": "VARCHAR",
            "scope": "VARCHAR",
        }
        con.execute(
            "INSERT INTO apps (snapshot_id, platform, app_id, name, kind, permissions, reach, first_seen, source) "
            "SELECT ?, 'entra', clientId, NULL, 'oauth2_grant', trim(scope), "
            "consentType || coalesce(':' || principalId, ''), ?, 'graph:/oauth2PermissionGrants' "
            f"FROM ({_rows(stored['oauth2_grants'], spec)})",
            [snap, now],
        )
    paths = [_store(ws, p) for p in collected.assignment_pages]
    if paths:
        spec = {
            "appRoleId": "VARCHAR",
            "principalId": "VARCHAR",
            "principalType": "VARCHAR",
            "principalDisplayName": "VARCHAR",
            "resourceId": "VARCHAR",
        }
        con.execute(
            "INSERT INTO apps (snapshot_id, platform, app_id, name, kind, permissions, reach, first_seen, source) "
            "SELECT ?, 'entra', principalId, principalDisplayName, 'app_role_assignment', appRoleId, "
            "resourceId, ?, 'graph:/servicePrincipals/appRoleAssignedTo' "
            f"FROM ({_rows(paths, spec)})",
            [snap, now],
        )


def _risk(con: duckdb.DuckDBPyConnection, snap: str, stored: dict[str, list[Path]]) -> None:
    if stored.get("risky_users"):
        spec = {
            "id": "VARCHAR",
            "userPrincipalName": "VARCHAR",
            "riskLevel": "VARCHAR",
            "riskState": "VARCHAR",
            "riskLastUpdatedDateTime": "VARCHAR",
        }
        con.execute(
            "INSERT INTO identity_risk SELECT ?, id, userPrincipalName, 'risky_user', riskLevel, riskState, NULL, "
            f"auditor_ts(riskLastUpdatedDateTime), NULL, NULL FROM ({_rows(stored['risky_users'], spec)})",
            [snap],
        )
    if stored.get("risk_detections"):
        spec = {
            "userId": "VARCHAR",
            "userPrincipalName": "VARCHAR",
            "riskLevel": "VARCHAR",
            "riskState": "VARCHAR",
            "riskEventType": "VARCHAR",
            "detectedDateTime": "VARCHAR",
            "ipAddress": "VARCHAR",
            "location": "STRUCT(countryOrRegion VARCHAR)",
        }
        con.execute(
            "INSERT INTO identity_risk SELECT ?, userId, userPrincipalName, 'detection', riskLevel, riskState, "
            "riskEventType, auditor_ts(detectedDateTime), ipAddress, location.countryOrRegion "
            f"FROM ({_rows(stored['risk_detections'], spec)})",
            [snap],
        )


def _signins(ws: Workspace, stored: dict[str, list[Path]], work: Path) -> int:
    """Sign-in pages become one NDJSON file (one record per line, in DuckDB) for the importer's fast path."""
    pages = stored.get("signins", []) + stored.get("signins_non_interactive", [])
    if not pages:
        return 0
    combined = work / "entra-signins.ndjson"
    ws.con.execute(
        "COPY (SELECT CAST(elem AS VARCHAR) FROM (SELECT unnest(json_extract(content, '$.value[*]')) AS elem "
        f"FROM read_text({_files(pages)}))) TO {sql_str(str(combined))} "
        "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01')"
    )
    if combined.stat().st_size == 0:
        return 0
    summary = import_files(ws, [combined], forced=ENTRA_SIGNIN_GRAPH, own_transaction=False)
    return summary.imported


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
    con.execute(
        "INSERT OR REPLACE INTO collect_state VALUES (?, ?, ?)", [f"{SOURCE_PREFIX}{tenant}:signins", mark, utcnow()]
    )
