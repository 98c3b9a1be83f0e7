"""The campaign vocabulary shared by start, import, status and close: columns, decisions, row identity."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from auditor.errors import AuditorError

# keep / revoke / modify, or accept: take the row's recommendation (keep or revoke) as the decision.
DECISIONS = ("keep", "revoke", "modify", "accept")
RECOMMENDATIONS = ("keep", "revoke", "review")
# What a reviewer reads first, then what they fill in, then the context; ids and hashes last.
READ_COLUMNS = (
    "account", "name", "department", "manager", "entitlement", "reach", "last_use", "recommendation",
    "recommendation_reason",
)  # fmt: skip
EDIT_COLUMNS = ("decision", "new_role", "justification")
CONTEXT_COLUMNS = (
    "platform", "kind", "scope", "role", "account_class", "identity", "change", "previous_role", "routed",
    "reviewer", "campaign", "row_id", "entitlement_id", "row_hash",
)  # fmt: skip
COLUMNS = READ_COLUMNS + EDIT_COLUMNS + CONTEXT_COLUMNS
# Columns a reviewer must not change (checked against the stored row).
FIXED_COLUMNS = READ_COLUMNS + CONTEXT_COLUMNS
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ReviewError(AuditorError):
    """A campaign command cannot proceed (unknown campaign, closed, nothing to review, pending rows)."""


@dataclass(frozen=True)
class Row:
    """One entitlement to review, as frozen in a campaign, with its reach as context."""

    row_id: str
    entitlement_id: str
    reviewer: str
    reviewer_rule: str
    worksheet: str
    platform: str
    kind: str
    scope: str
    account: str | None
    team: str | None
    role: str | None
    identity: str | None
    display_name: str | None
    department: str | None
    manager: str | None
    account_class: str | None
    reach: str  # JSON: {repos, by_tier, max_role, accounts}
    reach_text: str
    last_used: datetime | None
    recommendation: str
    recommendation_reason: str
    change: str
    previous_role: str | None
    row_hash: str
    label: str = ""

    def cells(self, campaign: str) -> dict[str, str]:
        """The worksheet row (every value as text, the form compared on import)."""
        return {
            "account": self.account or "",
            "name": self.display_name or "",
            "department": self.department or "",
            "manager": self.manager or "",
            "entitlement": self.label,
            "reach": self.reach_text,
            "last_use": iso(self.last_used) or "never",
            "recommendation": self.recommendation,
            "recommendation_reason": self.recommendation_reason,
            "decision": "",
            "new_role": "",
            "justification": "",
            "platform": self.platform,
            "kind": self.kind,
            "scope": self.scope,
            "role": self.role or "",
            "account_class": self.account_class or "",
            "identity": self.identity or "",
            "change": self.change,
            "previous_role": self.previous_role or "",
            "routed": self.reviewer_rule,
            "reviewer": self.reviewer,
            "campaign": campaign,
            "row_id": self.row_id,
            "entitlement_id": self.entitlement_id,
            "row_hash": self.row_hash,
        }


def iso(value: datetime | None) -> str:
    return "" if value is None else value.replace(microsecond=0).isoformat() + "Z"


def row_id(entitlement_id: str) -> str:
    """Stable across campaigns for the same entitlement, so quarter-over-quarter diffs match rows."""
    return "R" + hashlib.sha256(entitlement_id.encode()).hexdigest()[:11]


def row_hash(campaign_id: str, cells: dict[str, str]) -> str:
    """Digest of the fixed cells (except the hash itself) and the campaign: any edit to them shows."""
    text = "\x1f".join([campaign_id, *(cells[c] for c in FIXED_COLUMNS if c != "row_hash")])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def safe_file_name(reviewer: str) -> str:
    """A file-system-safe stem for a reviewer (the caller makes it unique)."""
    return re.sub(r"[^A-Za-z0-9_@-]", "_", reviewer).strip("_") or "reviewer"


def worksheet_names(reviewers: list[str]) -> dict[str, str]:
    """reviewer -> unique file stem. Stems that would collide (also case-insensitively, as on macOS and
    Windows) get a short hash of the reviewer, so one worksheet never overwrites another."""
    stems = {r: safe_file_name(r) for r in reviewers}
    counts: dict[str, int] = {}
    for stem in stems.values():
        counts[stem.lower()] = counts.get(stem.lower(), 0) + 1
    out = {}
    for reviewer, stem in stems.items():
        if counts[stem.lower()] > 1 or stem != reviewer:
            stem = f"{stem}-{hashlib.sha256(reviewer.encode()).hexdigest()[:6]}"
        out[reviewer] = stem
    return out
