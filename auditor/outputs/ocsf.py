"""OCSF 1.3.0 as JSON Lines, one event per line, written as produced: AN0732 findings as Detection Findings
(class 2004, `auditor.evidence.ocsf`), failed governance controls as Compliance Findings (class 2003) with the
check as the control and its framework labels as standards and requirements."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.evidence.ocsf import OCSF_VERSION, SEVERITY_IDS, SEVERITY_NAMES, epoch_ms, finding_status
from auditor.outputs.rules import Rule, rule_for

if TYPE_CHECKING:
    from auditor.checks.controls import Control
    from auditor.findings import Finding
    from auditor.workspace.store import Workspace

COMPLIANCE_UID, FINDINGS_CATEGORY, ACTIVITY_CREATE = 2003, 2, 1
COMPLIANCE_STATUS = {"pass": (1, "Pass"), "not_evaluated": (2, "Warning"), "fail": (3, "Fail")}
SCOPE_TYPES = {"github": "Organization", "gitlab": "Group", "entra": "Tenant"}
BATCH = 500  # findings whose evidence is fetched at once (the output streams batch by batch)


def _compliance(rule: Rule, status: str, detail: str | None) -> dict[str, Any]:
    """The OCSF compliance object: the check is the control; frameworks are the standards, labels the
    requirements (a check mapped to no framework names repo-auditor's own catalogue)."""
    status_id, caption = COMPLIANCE_STATUS.get(status, (99, status))
    standards = sorted({label.split(":", 1)[0] for label in rule.frameworks}) or ["repo-auditor checks"]
    data: dict[str, Any] = {
        "control": rule.id,
        "standards": standards,
        "requirements": list(rule.frameworks),
        "status_id": status_id,
        "status": caption,
    }
    if detail:
        data["status_detail"] = detail
    return data


def _event(rule: Rule, severity: str, time: datetime, info: dict[str, Any], **fields: Any) -> dict[str, Any]:
    severity_id = SEVERITY_IDS.get(severity, 0)
    return {
        "class_uid": COMPLIANCE_UID,
        "class_name": "Compliance Finding",
        "category_uid": FINDINGS_CATEGORY,
        "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": COMPLIANCE_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Compliance Finding: Create",
        "time": epoch_ms(time),
        "severity_id": severity_id,
        "severity": SEVERITY_NAMES[severity_id],
        "finding_info": {
            "analytic": {"uid": rule.id, "name": rule.title, "type_id": 1, "type": "Rule"},
            "types": ["Governance check"],
            "product_uid": "repo-auditor",
            **info,
        },
        "remediation": {"desc": rule.remediation, "references": [rule.help_uri]},
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "repo-auditor", "vendor_name": "repo-auditor", "version": __version__},
        },
        **fields,
    }


def _scope_resource(scope: str, platform: str | None) -> dict[str, Any]:
    return {"name": scope, "type": SCOPE_TYPES.get(platform or "", "Scope"), "uid": f"{platform}:{scope}"}


def finding_compliance(finding: Finding, rule: Rule) -> dict[str, Any]:
    """A failed control's finding (analytic check:ID) as an OCSF Compliance Finding."""
    status_id, status, detail = finding_status(finding)
    info = {
        "uid": finding.id,
        "title": f"{rule.title}: failed in {finding.actor or 'its scope'}",
        "desc": " ".join(finding.reasons),
        "first_seen_time": epoch_ms(finding.first_seen),
        "last_seen_time": epoch_ms(finding.last_seen),
    }
    resources = [_scope_resource(finding.actor or "", finding.platform)] if finding.actor else []
    resources += [{"name": r, "type": "Repository", "uid": f"{finding.platform}:{r}"} for r in finding.repos]
    event = _event(
        rule, finding.severity, finding.last_seen, info,
        compliance=_compliance(rule, "fail", None), status_id=status_id, status=status, risk_score=finding.score,
        message=finding.reasons[0] if finding.reasons else rule.title, resources=resources,
        unmapped={"platform": finding.platform, "frameworks": list(rule.frameworks), "reasons": finding.reasons},
    )  # fmt: skip
    if detail:
        event["status_detail"] = detail
    return event


def control_compliance(control: Control, rule: Rule, evaluated_at: datetime) -> dict[str, Any]:
    """One control (a check on one scope) of a check run as an OCSF Compliance Finding, pass or not."""
    uid = (
        control.finding_id
        or "CTL-" + hashlib.sha256(f"{control.check_id}|{control.platform}|{control.scope}".encode()).hexdigest()[:12]
    )
    detail = None
    if control.status == "not_evaluated":
        detail = "a coverage gap or a missing source hides the input"
    elif control.failing:
        detail = f"{control.failing} failing" + (f", e.g. {control.example}" if control.example else "")
    info = {"uid": uid, "title": f"{rule.title}: {control.status.replace('_', ' ')} in {control.scope}",
            "desc": rule.rationale}  # fmt: skip
    return _event(
        rule, control.severity, evaluated_at, info,
        compliance=_compliance(rule, control.status, detail), status_id=1, status="New",
        message=info["title"], resources=[_scope_resource(control.scope, control.platform)],
        unmapped={"platform": control.platform, "frameworks": list(rule.frameworks), "failing": control.failing,
                  "passing": control.passing, "not_evaluated": control.not_evaluated, "sample": control.sample},
    )  # fmt: skip


def findings_ocsf(ws: Workspace, findings: list[Finding], checks: dict[str, Rule]) -> Iterator[dict[str, Any]]:
    """Each finding as an OCSF event, in the order given, fetched and yielded batch by batch."""
    from auditor.checks.controls import ANALYTIC_PREFIX
    from auditor.evidence.ocsf import findings_to_ocsf

    for start in range(0, len(findings), BATCH):
        batch = findings[start : start + BATCH]
        detections = iter(findings_to_ocsf(ws, [f for f in batch if not f.analytic.startswith(ANALYTIC_PREFIX)]))
        for f in batch:
            if f.analytic.startswith(ANALYTIC_PREFIX):
                yield finding_compliance(f, rule_for(f.analytic, checks))
            else:
                yield next(detections)


def controls_ocsf(
    controls: Iterable[Control], rules: dict[str, Rule], evaluated_at: datetime
) -> Iterator[dict[str, Any]]:
    """Every control of a check run as an OCSF Compliance Finding."""
    for c in controls:
        yield control_compliance(c, rules[c.check_id], evaluated_at)
