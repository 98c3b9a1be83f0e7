"""The incident domain's data: an incident pack and what it is made of (timeline, credentials, apps, steps)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TimelineEvent:
    ts: str
    platform: str
    category: str
    action: str
    actor: str | None
    repo: str | None
    ip: str | None
    country: str | None
    city: str | None
    user_agent: str | None
    credential_type: str | None
    credential_id: str | None
    app: str | None
    outcome: str | None
    risk_level: str | None
    event_uid: str
    evidence: str  # sha256:line of the raw record


@dataclass(frozen=True)
class CredentialInvolved:
    platform: str
    kind: str  # from the inventory when collected, else the type the log reports
    credential_id: str | None
    name: str | None
    scopes: tuple[str, ...]
    expires_at: str | None
    events: int  # events in the timeline made with it (0: held by the account, not seen in use)
    first_used: str | None
    last_used: str | None
    in_inventory: bool


@dataclass(frozen=True)
class AppInvolved:
    platform: str
    app_id: str
    name: str | None
    kind: str | None
    reach: str | None
    events: int


@dataclass(frozen=True)
class ContainmentStep:
    platform: str
    action: str  # what to do, in words
    target: str  # whom or what it applies to
    how: str  # the exact API call or console path
    why: str


@dataclass(frozen=True)
class RawFile:
    sha256: str
    source: str | None
    stored_path: str | None
    bytes: int | None


@dataclass(frozen=True)
class IncidentPack:
    finding_id: str
    severity: str
    score: int
    platform: str | None
    actor: str | None
    identity: str | None
    account_class: str | None
    repos: tuple[str, ...]
    first_seen: str
    last_seen: str
    reasons: tuple[str, ...]
    timeline: tuple[TimelineEvent, ...]
    timeline_total: int  # events in the window; the timeline keeps the first TIMELINE_PER_KIND per kind
    credentials: tuple[CredentialInvolved, ...]
    apps: tuple[AppInvolved, ...]
    containment: tuple[ContainmentStep, ...]
    event_uids: tuple[str, ...]  # every event the finding cites plus those in the timeline
    raw_files: tuple[RawFile, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["recommendation_only"] = True
        return data
