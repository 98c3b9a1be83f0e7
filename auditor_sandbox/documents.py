"""The small whole-file outputs: Graph `/users` page, ground truth, and an auditor.yaml for the tenant."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from auditor_sandbox.tenant import GITHUB_ORG, GITLAB_GROUP, Tenant
from auditor_sandbox.writers import iso_utc


def write_users(path: Path, tenant: Tenant, start: datetime | None = None) -> int:
    """entra/users.json as a Microsoft Graph `/users` response with the fields the tool selects; a person
    who leaves (active_until, a day of the window from `start`) has an employeeLeaveDateTime."""
    value = [
        {
            "id": p.object_id,
            "userPrincipalName": p.upn,
            "mail": p.mail,
            "displayName": p.display_name,
            "givenName": p.given_name,
            "surname": p.surname,
            "department": p.department,
            "jobTitle": p.job_title,
            "employeeType": p.employee_type,
            "userType": p.user_type,
            "accountEnabled": p.active_until is None,
            "createdDateTime": iso_utc(p.created),
        }
        | (
            {"employeeLeaveDateTime": iso_utc(start + timedelta(days=p.active_until))}
            if start is not None and p.active_until is not None
            else {}
        )
        for p in tenant.people
    ]
    doc = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": value}
    _write_json(path, doc)
    return len(value)


def write_ground_truth(path: Path, seed: int, start: datetime, end: datetime, scenarios: list[dict[str, Any]]) -> int:
    doc = {"tenant": "acme", "seed": seed, "start": iso_utc(start), "end": iso_utc(end), "scenarios": scenarios}
    _write_json(path, doc)
    return len(scenarios)


def write_config(path: Path, automation: list[tuple[str, str, str, str, tuple[str, str] | None]]) -> int:
    """auditor.yaml matching the tenant: restriction tiers and the approved automation.

    `automation` rows are (name, actor, platform, purpose, (not_before, not_after) or None).
    """
    q = json.dumps  # JSON strings are valid YAML scalars, and quoting avoids YAML surprises
    lines = [
        "# Config for the acme sandbox tenant (written by `auditor sandbox generate`).",
        "version: 1",
        'company: {name: "Acme Corp"}',
        "restriction:",
        "  visibilities: [private, internal]",
        "  tiers:",
        f"    - {{tier: 1, name_patterns: [{q(GITHUB_ORG + '/payments-*')}, {q(GITHUB_ORG + '/auth-*')}, "
        f"{q(GITHUB_ORG + '/crypto-*')}, {q(GITLAB_GROUP + '/core/*')}]}}",
        "departures:",
        '  leaver_groups: ["GitHub Users", "GitLab Users"]  # removal from these Entra groups means a person left',
        "approved_automation:",
    ]
    for name, actor, platform, purpose, window in automation:
        lines += [
            f"  - name: {name}",
            f"    actors: [{q(actor)}]",
            f"    platforms: [{platform}]",
            f"    purpose: {purpose}",
        ]
        if window is not None:
            lines += [f"    not_before: {q(window[0])}", f"    not_after: {q(window[1])}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 1


def _write_json(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
