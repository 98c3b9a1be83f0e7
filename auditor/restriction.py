"""Decide which repositories are restricted, and their sensitivity tier, from the config's rules."""

from __future__ import annotations

from auditor.config.models import Restriction
from auditor.patterns import any_match
from auditor.workspace.store import Workspace, json_rows


def classify_repo(
    rules: Restriction, full_name: str, visibility: str | None, topics: list[str]
) -> tuple[bool, int | None, str]:
    """(restricted, tier, reason) for one repository; explicit rules win over visibility."""
    if any_match(full_name, rules.exclude_patterns):
        return False, None, "excluded by restriction.exclude_patterns"
    explicit = full_name in rules.repos or any_match(full_name, rules.name_patterns)
    by_topic = bool(set(topics) & set(rules.topics))
    tier_rule = next(
        (
            t
            for t in rules.tiers
            if full_name in t.repos or any_match(full_name, t.name_patterns) or set(topics) & set(t.topics)
        ),
        None,
    )
    if tier_rule is not None:
        return True, tier_rule.tier, f"tier {tier_rule.tier} rule"
    if explicit:
        return True, rules.default_tier, "named in restriction rules"
    if by_topic:
        return True, rules.default_tier, "topic in restriction.topics"
    if visibility is None:
        if rules.unknown_visibility_is_restricted:
            return True, rules.default_tier, "visibility unknown (treated as restricted)"
        return False, None, "visibility unknown"
    if visibility == "non_public":
        hit = {"private", "internal"} & set(rules.visibilities)
        if hit:
            return True, rules.default_tier, "not public (private or internal)"
        return False, None, "not public, but private/internal are not restricted by config"
    if visibility in rules.visibilities:
        return True, rules.default_tier, f"{visibility} repository"
    return False, None, f"{visibility} repository"


def apply_restriction(ws: Workspace, rules: Restriction) -> int:
    """Recompute repos.restricted/tier/reason for every repository; returns how many are restricted."""
    rows = ws.con.execute("SELECT platform, full_name, visibility, topics FROM repos").fetchall()
    updates: list[tuple[object, ...]] = []
    for platform, name, visibility, topics in rows:
        restricted, tier, reason = classify_repo(rules, name, visibility, list(topics or []))
        updates.append((restricted, tier, reason, platform, name))
    if updates:
        cols = {"restricted": "BOOLEAN", "tier": "INTEGER", "reason": "VARCHAR", "platform": "VARCHAR"}
        sql, params = json_rows({**cols, "name": "VARCHAR"}, updates)
        ws.con.execute(
            "UPDATE repos SET restricted = u.restricted, tier = u.tier, restriction_reason = u.reason "
            f"FROM ({sql}) u WHERE repos.platform = u.platform AND repos.full_name = u.name",
            params,
        )
    return sum(1 for u in updates if u[0])
