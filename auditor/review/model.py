"""The campaign vocabulary shared by start, import, status and close: columns, decisions, row identity."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from auditor.errors import AuditorError

DECISIONS = ("keep", "revoke", "modify")
# Columns a reviewer must not change (checked against the stored row) and the ones they fill in.
FIXED_COLUMNS = (
    "campaign",
    "reviewer",
    "row_id",
    "platform",
    "repo",
    "account",
    "identity",
    "account_class",
    "role",
    "via",
    "last_activity_repo",
    "last_activity_any",
    "flags",
    "change",
    "previous_role",
    "row_hash",
)
EDIT_COLUMNS = ("decision", "new_role", "justification")
COLUMNS = FIXED_COLUMNS + EDIT_COLUMNS
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ReviewError(AuditorError):
    """A campaign command cannot proceed (unknown campaign, closed, nothing to review, pending rows)."""


@dataclass(frozen=True)
class Item:
    """One grant on a restricted repository, as frozen in a campaign."""

    row_id: str
    reviewer: str
    reviewer_rule: str
    platform: str
    repo: str
    account: str
    identity: str | None
    account_class: str | None
    role: str
    via: tuple[str, ...]
    last_activity: datetime | None
    last_activity_any: datetime | None
    flags: tuple[str, ...]
    change: str
    previous_role: str | None
    row_hash: str

    def cells(self, campaign: str) -> dict[str, str]:
        """The worksheet row (every value as text, the form compared on import)."""
        return {
            "campaign": campaign,
            "reviewer": self.reviewer,
            "row_id": self.row_id,
            "platform": self.platform,
            "repo": self.repo,
            "account": self.account,
            "identity": self.identity or "",
            "account_class": self.account_class or "",
            "role": self.role,
            "via": "; ".join(self.via),
            "last_activity_repo": iso(self.last_activity),
            "last_activity_any": iso(self.last_activity_any),
            "flags": "; ".join(self.flags),
            "change": self.change,
            "previous_role": self.previous_role or "",
            "row_hash": self.row_hash,
            "decision": "",
            "new_role": "",
            "justification": "",
        }


def iso(value: datetime | None) -> str:
    return "" if value is None else value.replace(microsecond=0).isoformat() + "Z"


def row_id(platform: str, repo: str, account: str) -> str:
    """Stable across campaigns for the same grant, so quarter-over-quarter diffs match rows."""
    return "R" + hashlib.sha256(f"{platform}|{repo}|{account}".encode()).hexdigest()[:11]


def row_hash(campaign_id: str, cells: dict[str, str]) -> str:
    """Digest of the fixed cells (except the hash itself) and the campaign: any edit to them shows."""
    text = "\x1f".join([campaign_id, *(cells[c] for c in FIXED_COLUMNS if c != "row_hash")])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def safe_file_name(reviewer: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]", "_", reviewer) or "_"
