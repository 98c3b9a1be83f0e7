"""A recommendation (keep, revoke or review) with its reason for every campaign row, from evidence already
in the workspace: use in the audit log, the IdP account's state, the holder's class and open findings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from auditor.entitlements.build import ROLE_ORDER, WRITE_RANK
from auditor.entitlements.listing import ago

IDP_KINDS = ("idp_group_membership", "directory_role")
KEEP_CLASSES = ("developer", "privileged")


@dataclass(frozen=True)
class Evidence:
    """What the recommendation weighs, for one entitlement."""

    kind: str
    role: str | None
    max_role: str | None
    repos: int
    account: str | None
    account_class: str | None
    last_used: datetime | None
    identity_enabled: bool | None
    identity_deleted: bool
    finding: str | None  # "critical finding AN0732-…" when the holder has one open
    non_developers: int
    logs_seen: bool  # the platform's audit log is in the workspace at all
    revoked_before: str | None  # the campaign that revoked it, when it is still present


def _rank(role: str | None) -> int:
    return ROLE_ORDER.index(role) + 1 if role in ROLE_ORDER else 0


def recommend(e: Evidence, now: datetime, unused_days: int) -> tuple[str, str]:
    """(keep | revoke | review, reason)."""
    held = e.account is not None
    if e.revoked_before:
        return "revoke", f"revoked in campaign {e.revoked_before} but still present"
    if held and e.finding:
        return "revoke", f"the account has an open {e.finding}"
    if held and e.identity_deleted:
        return "revoke", "the account's Entra identity is deleted"
    if held and e.identity_enabled is False:
        return "revoke", "the account's Entra identity is disabled"
    if e.kind in IDP_KINDS:
        return "review", "no use is recorded for Entra groups and roles; confirm the need"
    if held and e.account_class == "non_developer" and _rank(e.max_role or e.role) >= WRITE_RANK:
        return "revoke", f"a non-developer holds {e.max_role or e.role}"
    if e.kind == "base_permission" and e.non_developers:
        return "revoke", (
            f"gives {e.non_developers} non-developer(s) {e.role} on {e.repos} restricted repos; "
            "set it to none and grant through teams"
        )
    if e.repos and e.last_used is None and not e.logs_seen and e.kind != "credential":
        return "review", "no audit log in the workspace to judge use"
    if e.repos and (e.last_used is None or (now - e.last_used).days > unused_days):
        since = "never used" if e.last_used is None else f"last used {(now - e.last_used).days} days ago"
        return "revoke", f"unused for {unused_days} days ({since})"
    if e.last_used is not None and (not held or e.account_class in KEEP_CLASSES):
        who = f"by a {e.account_class} account" if held and e.account_class else "by its holders"
        return "keep", f"used {ago(e.last_used, now)} {who}"
    return "review", "no evidence either way"
