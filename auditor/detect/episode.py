"""The AN0732 episode as a typed record: what episode_summary.sql yields for one episode, plus the context
the Python layer attaches (history, sign-ins, grants, departures, app, score), so every use is checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from auditor.detect.engine import Row


class Precursor(NamedTuple):
    """One signal before or during an episode (precursors.sql): its kind, a sentence, and when."""

    kind: str
    detail: str
    at: datetime


@dataclass(slots=True)
class AppContext:
    """An app episode's own context (app_history.sql): its name, token owners with their restricted
    repositories, prior days of the same breadth from the same network, and repositories new to the app."""

    name: str | None = None
    owners: list[tuple[str, int]] = field(default_factory=list)
    prior_days: int = 0
    first_time_repos: int = 0


def _list(row: Row, name: str) -> list[Any]:
    """A list column of episode_summary.sql: NULL when no download carried the value, an empty list here."""
    return list(row[name] or [])


@dataclass(slots=True)
class Episode:
    """One episode of one actor: the summary columns first (from_row), then the context attached later."""

    kind: str
    platform: str
    actor: str
    first_seen: datetime
    last_seen: datetime
    downloads: int
    peak_repos: int | None  # most distinct repositories in one window (bursts and apps only)
    distinct_repos: int
    event_identity: str | None  # an identity the events themselves named
    repos: list[str]
    tier1_repos: list[str]
    credential_types: list[str]
    ips: list[str]
    countries: list[str]
    app_ids: list[str]
    credential_ids: list[str]
    user_agents: list[str]
    evidence: list[str]
    # Attached by build_findings and the attach_* functions, in that order.
    key: str = ""
    upn: str | None = None
    departure: list[tuple[str, int]] = field(default_factory=list)  # (reason, weight), departures.py
    precursors: list[Precursor] = field(default_factory=list)
    baseline: Row = field(default_factory=dict)  # a row of baselines.sql (apps.py overrides two features)
    owner_signins: Row | None = None  # a row of owner_signins.sql
    replay: bool = False
    broad_grant_repos: list[tuple[str, str]] = field(default_factory=list)  # (repo, broad path)
    identity_unknown: bool = False
    routine: bool = False
    routine_days: int = 0
    app: AppContext | None = None
    score: int = 0

    @classmethod
    def from_row(cls, row: Row, kind: str) -> Episode:
        """An episode from one episode_summary.sql row; a missing column raises KeyError (fail loudly)."""
        return cls(
            kind=kind,
            platform=row["platform"],
            actor=row["actor"],
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            downloads=row["downloads"],
            peak_repos=row["peak_repos"],
            distinct_repos=row["distinct_repos"],
            event_identity=row["event_identity"],
            repos=_list(row, "repos"),
            tier1_repos=_list(row, "tier1_repos"),
            credential_types=_list(row, "credential_types"),
            ips=_list(row, "ips"),
            countries=_list(row, "countries"),
            app_ids=_list(row, "app_ids"),
            credential_ids=_list(row, "credential_ids"),
            user_agents=_list(row, "user_agents"),
            evidence=_list(row, "evidence"),
        )
