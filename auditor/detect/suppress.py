"""Approved CI, backup, mirroring and migration traffic: matched in logic, kept visible as suppressed."""

from __future__ import annotations

from datetime import UTC, datetime

from auditor.config.models import ApprovedAutomation
from auditor.patterns import any_match


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def approval_for(
    rules: list[ApprovedAutomation],
    platform: str,
    actor: str,
    repos: list[str],
    first_seen: datetime,
    last_seen: datetime,
) -> ApprovedAutomation | None:
    """The approval covering this activity, if any: actor, platform, time window and repos must all fit."""
    for rule in rules:
        if platform not in rule.platforms:
            continue
        if not any_match(actor, rule.actors):
            continue
        not_before, not_after = _naive_utc(rule.not_before), _naive_utc(rule.not_after)
        if not_before is not None and first_seen < not_before:
            continue
        if not_after is not None and last_seen > not_after:
            continue
        if rule.repos and not all(any_match(r, rule.repos) for r in repos):
            continue
        return rule
    return None
