"""SARIF 2.1.0 logs: one rule per check or analytic, one result per finding or control, the repositories (or a
control's scope) as locations. GitHub code scanning reads `security-severity` and `partialFingerprints`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from auditor import __version__
from auditor.outputs.rules import Rule, rule_for

if TYPE_CHECKING:
    from auditor.checks.controls import Control
    from auditor.findings import Finding

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://attack.mitre.org/analytics/AN0732/"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning maps these to critical (>= 9.0), high (>= 7.0), medium (>= 4.0) and low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
CONTROL_KINDS = {"fail": "fail", "pass": "pass", "not_evaluated": "open"}  # open: could not be decided
LOCATIONS_PER_RESULT = 20
PLATFORM_ROOT = "The code platform's web root (github.com, a GHES or GitLab host)"


def _text(value: str) -> dict[str, str]:
    return {"text": value}


def _rule(rule: Rule) -> dict[str, Any]:
    tags = ["security", "governance" if rule.is_check else "detection", *rule.frameworks]
    if not rule.is_check:
        tags.append("external/mitre-attack/T1213.003")
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": _text(rule.title),
        "fullDescription": _text(rule.rationale),
        "help": _text(rule.remediation),
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": LEVELS.get(rule.severity, "warning")},
        "properties": {
            "tags": tags,
            "security-severity": SECURITY_SEVERITY.get(rule.severity, "5.5"),
            "frameworks": list(rule.frameworks),
        },
    }


def _location(name: str, platform: str | None, kind: str) -> dict[str, Any]:
    """A repository (or an org, group or tenant) as a SARIF location: a relative URI of its full name and a
    logical location naming the platform."""
    return {
        "physicalLocation": {"artifactLocation": {"uri": quote(name, safe="/@:+"), "uriBaseId": "PLATFORM"}},
        "logicalLocations": [{"name": name, "fullyQualifiedName": f"{platform or 'unknown'}:{name}", "kind": kind}],
    }


def _log(rules: list[Rule], results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "repo-auditor",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(r) for r in rules],
                    }
                },
                "originalUriBaseIds": {"PLATFORM": {"description": _text(PLATFORM_ROOT)}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def findings_sarif(findings: Iterable[Finding], checks: dict[str, Rule]) -> dict[str, Any]:
    """A SARIF log of findings: a detection's locations are the repositories pulled, a failed control's the
    scope (org, group, tenant) it failed in. Suppressed and closed findings carry a suppression."""
    from auditor.findings import is_open, iso_utc

    used: dict[str, Rule] = {}
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for f in findings:
        if f.analytic not in used:
            used[f.analytic] = rule_for(f.analytic, checks)
            index[f.analytic] = len(index)
        rule = used[f.analytic]
        places = f.repos[:LOCATIONS_PER_RESULT] if f.repos else [f.actor or f.platform or "unknown"]
        kind = "module" if f.repos else "namespace"
        result: dict[str, Any] = {
            "ruleId": rule.id,
            "ruleIndex": index[f.analytic],
            "kind": "fail",
            "level": LEVELS.get(f.severity, "warning"),
            "message": _text(" ".join(f.reasons) or rule.title),
            "locations": [_location(p, f.platform, kind) for p in places],
            "partialFingerprints": {"findingId/v1": f.id},
            "properties": {
                "id": f.id, "analytic": f.analytic, "severity": f.severity, "score": f.score, "actor": f.actor,
                "identity": f.identity, "platform": f.platform, "repos": len(f.repos), "status": f.status,
                "first_seen": iso_utc(f.first_seen), "last_seen": iso_utc(f.last_seen),
            },
        }  # fmt: skip
        if not is_open(f):
            reason = f.suppression_reason or f.status_note or f.status
            result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": reason}]
        results.append(result)
    return _log(list(used.values()), results)


def controls_sarif(controls: Iterable[Control], rules: dict[str, Rule]) -> dict[str, Any]:
    """A SARIF log of a check run: every registered check is a rule; each control (check and scope) is a result,
    `fail` at the check's level, `pass`, or `open` where a coverage gap left it not evaluated."""
    order = {rid: i for i, rid in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for c in controls:
        rule = rules[c.check_id]
        kind = CONTROL_KINDS.get(c.status, "review")
        message = f"{rule.title}: {c.status.replace('_', ' ')} in {c.scope}"
        if c.failing:
            message += f" ({c.failing:,} failing"
            message += f", e.g. {c.example})" if c.example else ")"
        result: dict[str, Any] = {
            "ruleId": rule.id,
            "ruleIndex": order[rule.id],
            "kind": kind,
            "level": LEVELS.get(c.severity, "warning") if kind == "fail" else "none",
            "message": _text(message),
            "locations": [_location(c.scope, c.platform, "namespace")],
            "properties": {
                "scope": c.scope, "platform": c.platform, "status": c.status, "failing": c.failing,
                "passing": c.passing, "not_evaluated": c.not_evaluated, "accepted": c.accepted,
                "sample": c.sample, "frameworks": list(rule.frameworks),
            },
        }  # fmt: skip
        if c.finding_id:
            result["partialFingerprints"] = {"findingId/v1": c.finding_id}
        results.append(result)
    return _log(list(rules.values()), results)
