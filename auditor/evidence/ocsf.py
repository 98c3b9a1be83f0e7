"""Findings as OCSF Detection Finding objects (class_uid 2004, schema 1.3.0), for SIEMs and data lakes.

Times are epoch milliseconds as OCSF requires. Evidence artifacts carry the cited events (bounded per
finding) with their raw-record reference (`sha256:line`), so a consumer can trace each back to the
evidence pack's raw files.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from auditor import __version__

if TYPE_CHECKING:
    from auditor.findings import Finding
    from auditor.workspace.store import Workspace

OCSF_VERSION = "1.3.0"
CLASS_UID, CATEGORY_UID, ACTIVITY_CREATE = 2004, 2, 1
SEVERITY_IDS = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAMES = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 0: "Unknown"}
EVIDENCES_PER_FINDING = 50
ATTACK = {
    "technique": {"uid": "T1213.003", "name": "Data from Information Repositories: Code Repositories"},
    "tactic": {"uid": "TA0009", "name": "Collection"},
    "version": "v17",
}


def epoch_ms(value: datetime) -> int:
    """A naive-UTC timestamp as OCSF epoch milliseconds."""
    return int(value.replace(tzinfo=UTC).timestamp() * 1000)


def finding_status(finding: Finding) -> tuple[int, str, str | None]:
    """(OCSF finding status_id, status caption, status_detail) of a finding's triage state."""
    if finding.suppressed:
        return 3, "Suppressed", finding.suppression_reason
    if finding.status == "false_positive":
        return 4, "Resolved", "false positive"
    if finding.status in ("triaged", "confirmed"):
        return 2, "In Progress", finding.status
    return 1, "New", None


def _evidences(ws: Workspace, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Cited events per finding (first EVIDENCES_PER_FINDING in time order), as OCSF evidence artifacts."""
    rows = ws.con.execute(
        "WITH refs AS (SELECT id, unnest(evidence) AS ref FROM findings WHERE list_contains(?, id)), "
        "hits AS (SELECT r.id, e.*, row_number() OVER (PARTITION BY r.id ORDER BY e.ts, e.event_uid) AS rn "
        "  FROM refs r JOIN events e ON e.evidence_sha256 = split_part(r.ref, ':', 1) "
        "  AND e.line_no = TRY_CAST(split_part(r.ref, ':', 2) AS BIGINT)) "
        "SELECT id, event_uid, ts, action, actor, repo, ip, country, user_agent, credential_type, credential_id, "
        "evidence_sha256, line_no FROM hits WHERE rn <= ? ORDER BY id, ts, event_uid",
        [ids, EVIDENCES_PER_FINDING],
    ).fetchall()
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for fid, uid, ts, action, actor, repo, ip, country, ua, ctype, cid, sha, line in rows:
        artifact: dict[str, Any] = {
            "data": {
                "event_uid": uid, "time": epoch_ms(ts), "action": action, "repository": repo,
                "credential_type": ctype, "credential_id": cid, "raw_record": f"{sha}:{line}",
            },
        }  # fmt: skip
        if actor:
            artifact["actor"] = {"user": {"name": actor}}
        if ip:
            endpoint: dict[str, Any] = {"ip": ip}
            if country:
                endpoint["location"] = {"country": country}
            artifact["src_endpoint"] = endpoint
        if ua:
            artifact["http_request"] = {"user_agent": ua}
        out[fid].append(artifact)
    return out


def detection_finding(
    finding: Finding, evidences: list[dict[str, Any]], detected_at: datetime | None
) -> dict[str, Any]:
    """One finding as an OCSF Detection Finding (activity Create)."""
    severity_id = SEVERITY_IDS.get(finding.severity, 0)
    status_id, status, detail = finding_status(finding)
    is_an0732 = finding.analytic.startswith("AN0732")
    info: dict[str, Any] = {
        "uid": finding.id,
        "title": (
            f"Bulk extraction of restricted source code by {finding.actor or 'an unknown actor'}"
            if is_an0732
            else f"{finding.analytic} failed"
        ),
        "desc": " ".join(finding.reasons),
        "types": ["AN0732 bulk repository extraction" if is_an0732 else "Governance check"],
        "first_seen_time": epoch_ms(finding.first_seen),
        "last_seen_time": epoch_ms(finding.last_seen),
        "analytic": {"uid": finding.analytic, "name": finding.analytic, "type_id": 1, "type": "Rule"},
        "product_uid": "repo-auditor",
    }
    if detected_at is not None:
        info["created_time"] = epoch_ms(detected_at)
    if is_an0732:
        info["attacks"] = [ATTACK]
    actor: dict[str, Any] = {"user": {"name": finding.actor}}
    if finding.identity:
        actor["user"]["email_addr" if "@" in finding.identity else "uid"] = finding.identity
    data: dict[str, Any] = {
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Detection Finding: Create",
        "time": epoch_ms(finding.last_seen),
        "severity_id": severity_id,
        "severity": SEVERITY_NAMES[severity_id],
        "status_id": status_id,
        "status": status,
        "risk_score": finding.score,
        "message": finding.reasons[0] if finding.reasons else finding.analytic,
        "finding_info": info,
        "actor": actor,
        "resources": [
            {"name": repo, "type": "Repository", "uid": f"{finding.platform}:{repo}"} for repo in finding.repos
        ],
        "evidences": evidences,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "repo-auditor", "vendor_name": "repo-auditor", "version": __version__},
        },
        "unmapped": {"platform": finding.platform, "reasons": finding.reasons, "evidence_refs": finding.evidence},
    }
    if detail:
        data["status_detail"] = detail
    return data


def findings_to_ocsf(ws: Workspace, findings: list[Finding]) -> list[dict[str, Any]]:
    """Every finding as an OCSF Detection Finding, in the order given."""
    ids = [f.id for f in findings]
    evidences = _evidences(ws, ids) if ids else {}
    detected = dict(ws.con.execute("SELECT id, detected_at FROM findings WHERE list_contains(?, id)", [ids]).fetchall())
    return [detection_finding(f, evidences.get(f.id, []), detected.get(f.id)) for f in findings]
