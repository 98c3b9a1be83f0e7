"""Rule metadata shared by the SARIF and OCSF outputs: one rule per governance check (from the check registry
and the framework mappings) and one for the AN0732 detection analytic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditor.checks.controls import ANALYTIC_PREFIX

AN0732_HELP = "https://attack.mitre.org/techniques/T1213/003/"


@dataclass(frozen=True)
class Rule:
    """What a consumer needs to know about one analytic or check."""

    id: str  # "AN0732" or a check id such as "access.org_owners_max"
    name: str
    title: str
    rationale: str
    remediation: str
    severity: str
    help_uri: str
    frameworks: tuple[str, ...]  # labels such as "SOC2:CC6.1"
    is_check: bool


def rule_id(analytic: str) -> str:
    """The rule id of a finding's analytic: the check id for `check:ID`, else the analytic itself."""
    return analytic.removeprefix(ANALYTIC_PREFIX)


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace(".", "_").split("_") if part)


def detection_rule(analytic: str) -> Rule:
    """The rule of a detection analytic (AN0732 and any later analytic ids)."""
    return Rule(
        id=analytic,
        name="BulkRestrictedRepositoryExtraction" if analytic == "AN0732" else _camel(analytic),
        title="Bulk download of restricted source code (MITRE ATT&CK AN0732, T1213.003)",
        rationale="An account, token or app pulled many restricted repositories in a short time or kept pulling "
        "repositories it never touched before, often after an unusual sign-in or a new token.",
        remediation="Confirm with the account owner; if unexplained, revoke the credentials involved, end the "
        "sessions and follow the incident response pack in the analyst report.",
        severity="high",
        help_uri=AN0732_HELP,
        frameworks=(),
        is_check=False,
    )


def check_rules(frameworks_dir: Path | None) -> dict[str, Rule]:
    """check id -> Rule for every registered check, with its framework labels."""
    from auditor.checks.frameworks import labels_by_check, load_frameworks
    from auditor.checks.registry import registry

    labels = labels_by_check(load_frameworks(frameworks_dir))
    return {
        cid: Rule(
            id=cid,
            name=_camel(cid),
            title=c.meta.title,
            rationale=c.meta.rationale,
            remediation=c.meta.remediation,
            severity=c.meta.severity,
            help_uri=c.meta.references[0],
            frameworks=tuple(labels.get(cid, [])),
            is_check=True,
        )
        for cid, c in registry().items()
    }


def rule_for(analytic: str, checks: dict[str, Rule]) -> Rule:
    """The rule of a finding's analytic: a registered check, else a detection rule."""
    rid = rule_id(analytic)
    if analytic.startswith(ANALYTIC_PREFIX) and rid in checks:
        return checks[rid]
    return detection_rule(analytic)
