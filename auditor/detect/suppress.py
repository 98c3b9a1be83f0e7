"""Approved workflows matched in logic (not analyst notes) and kept visible as suppressed findings."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from auditor.config.models import ApprovedAutomation
from auditor.patterns import any_match


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Activity:
    """What an episode did, as the approval rules see it."""

    platform: str
    actor: str
    repos: Sequence[str]
    first_seen: datetime
    last_seen: datetime
    credential_ids: Sequence[str] = ()
    app_ids: Sequence[str] = ()
    ips: Sequence[str] = ()
    user_agents: Sequence[str] = ()


def _in_cidrs(ip: str, cidrs: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(c, strict=False) for c in cidrs)


def _fits(rule: ApprovedAutomation, a: Activity, today: date) -> bool:
    not_before, not_after = _naive_utc(rule.not_before), _naive_utc(rule.not_after)
    checks = [
        a.platform in rule.platforms,
        not rule.actors or any_match(a.actor, rule.actors),
        not rule.credential_ids or (bool(a.credential_ids) and set(a.credential_ids) <= set(rule.credential_ids)),
        not rule.app_ids or (bool(a.app_ids) and set(a.app_ids) <= set(rule.app_ids)),
        not rule.ip_cidrs or (bool(a.ips) and all(_in_cidrs(ip, rule.ip_cidrs) for ip in a.ips)),
        not rule.user_agent_patterns
        or (bool(a.user_agents) and all(any_match(ua, rule.user_agent_patterns) for ua in a.user_agents)),
        not rule.repos or all(any_match(r, rule.repos) for r in a.repos),
        not_before is None or a.first_seen >= not_before,
        not_after is None or a.last_seen <= not_after,
        rule.expires is None or today <= rule.expires,
    ]
    return all(checks)


def approval_for(
    rules: list[ApprovedAutomation], activity: Activity, today: date | None = None
) -> ApprovedAutomation | None:
    """The first approval every criterion of which this activity fits, if any (expired ones never do)."""
    day = today or datetime.now(UTC).date()
    return next((rule for rule in rules if _fits(rule, activity, day)), None)


def suppression_reason(rule: ApprovedAutomation) -> str:
    ticket = f", ticket {rule.ticket}" if rule.ticket else ""
    return f"approved automation '{rule.name}' ({rule.purpose}{ticket})"
