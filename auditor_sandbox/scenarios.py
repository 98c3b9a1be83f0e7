"""Labelled scenarios: the timeline, the toolkit that builds scenario records and ground-truth rows.

The incidents live in `incidents*.py` (`incidents_tokens.py`: the stolen-token ones of issue #15), the
benign workflows in `benign.py` and their look-alikes of those incidents in `benign_lookalikes.py`.
Scenario records are few, so they are built eagerly with each scenario's own RNG and handed to the
writer as one burst per day; they do not change when `events=N` scales normal activity.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from auditor_sandbox.catalog import City
from auditor_sandbox.plan import DAY_MS, ENTRA, GITHUB, GITLAB_AUDIT, HOUR_MS, Burst, Context, Event
from auditor_sandbox.records_gitlab import gitlab_event, project_entity
from auditor_sandbox.tenant import Credential, Person, Repo, hashed_token
from auditor_sandbox.writers import iso_ms

TECHNIQUE = "T1213.003"
EXTRA_INCIDENTS = (
    "owner-archive-classic-pat",
    "travel-out-of-team-clones",
    "api-token-content-scraping",
    "contractor-low-and-slow",
    "gitlab-guest-project-export",
)
INCIDENTS = (
    "finance-pat-bulk-clone",
    "contractor-zip-download",
    "admin-impossible-travel-clone",
    "oauth-app-bulk-api",
    "gitlab-departing-export",
    "gitlab-guest-pat-api",
)


@dataclass(frozen=True)
class Timeline:
    """Which day of the window each scenario happens on (incidents after the history period)."""

    days: int
    incident_days: dict[str, int]
    low_slow: tuple[int, int]  # first day, number of days
    migration: int
    new_laptop: int
    onboarding: int
    extra_days: dict[str, int] = field(default_factory=dict)

    @property
    def leave_day(self) -> int:
        return self.incident_days["gitlab-departing-export"] + 2


def plan_timeline(seed: int, days: int) -> Timeline:
    """Spread incidents over the part of the window after min(20, days/3) days of history."""
    if days < 14:
        raise ValueError("the sandbox window needs at least 14 days")
    rng = random.Random(f"acme:{seed}:timeline")
    history = min(20, days // 3)
    first, last = history + 3, days - 2
    span = last - first
    names = list(INCIDENTS)
    rng.shuffle(names)
    fractions = (0.04, 0.2, 0.36, 0.52, 0.68, 0.86)
    incident_days = {name: min(last, first + round(span * f)) for name, f in zip(names, fractions, strict=True)}
    low_len = min(10, max(3, span // 2))
    # Scenarios added later draw from their own RNG so the original days stay put.
    extra_rng = random.Random(f"acme:{seed}:timeline-extra")
    extra_names = list(EXTRA_INCIDENTS)
    extra_rng.shuffle(extra_names)
    extra_days = {
        name: min(last - 5 if name == "contractor-low-and-slow" else last, first + round(span * f))
        for name, f in zip(extra_names, (0.12, 0.28, 0.44, 0.6, 0.76), strict=True)
    }
    guest = "gitlab-guest-project-export"
    if extra_days[guest] == incident_days["gitlab-guest-pat-api"]:
        extra_days[guest] += 1 if extra_days[guest] < last else -1
    return Timeline(
        days=days,
        incident_days=incident_days,
        low_slow=(first + rng.randrange(0, span - low_len + 1), low_len),
        migration=min(days - 3, max(3, round(days * 0.42))),
        new_laptop=max(2, round(days * 0.3)),
        onboarding=max(2, round(days * 0.62)),
        extra_days=extra_days,
    )


@dataclass
class ScenarioSet:
    """Scenario records grouped by day, and the ground-truth rows."""

    events: dict[int, list[Event]] = field(default_factory=dict)
    truth: list[dict[str, Any]] = field(default_factory=list)

    def bursts(self, day: int) -> list[Burst]:
        evs = self.events.get(day)
        if not evs:
            return []
        ordered = sorted(evs, key=lambda e: e[1])
        return [Burst(ordered[0][1], len(ordered), partial(_replay, tuple(ordered)))]

    def count(self) -> int:
        return sum(len(v) for v in self.events.values())


def _replay(events: tuple[Event, ...], _rng: random.Random) -> list[Event]:
    return list(events)


class Kit:
    """Builds scenario records for one tenant and files them by day; also writes ground-truth rows."""

    def __init__(self, ctx: Context, out: ScenarioSet) -> None:
        self.ctx = ctx
        self.gh = ctx.gh
        self.out = out
        self.seed = ctx.tenant.seed
        self.taken: set[int] = set()  # people later scenarios picked for themselves (see `pick`)

    def pick(self, rng: random.Random, role: str, *fits: Callable[[Person], bool]) -> Person:
        """A person for a scenario added after the cast: the first of `fits` (best fit first) that anyone
        outside the cast, not picked by another scenario, not unlinked and active all window passes; people
        who never travel are preferred, so the history is their usual one. A tenant too small for that
        lends a cast member or an already picked person."""
        cast = set(self.ctx.tenant.cast.values())
        settled = [
            p for p in self.ctx.tenant.people if not p.gitlab_unlinked and p.active_until is None and p.active_from <= 0
        ]
        free = [p for p in settled if p.index not in cast and p.index not in self.taken]
        for people in (free, settled):
            for ok in fits:
                fitting = [p for p in people if ok(p)]
                pool = [p for p in fitting if not self.ctx.travels(p)] or fitting
                if pool:
                    chosen = rng.choice(pool)
                    self.taken.add(chosen.index)
                    return chosen
        raise ValueError(f"tenant too small: no candidate for scenario role {role!r}")

    def late_day(self, rng: random.Random, weekday: int | None = None) -> int:
        """A day after the history period (min(20, days/3) days), on `weekday` (0 = Monday) when given."""
        history = min(20, self.ctx.days // 3)
        days = list(range(history + 3, self.ctx.days - 1))
        if weekday is not None:
            days = [d for d in days if (self.ctx.start + timedelta(days=d)).weekday() == weekday] or days
        return rng.choice(days)

    def add(self, events: Sequence[Event]) -> None:
        for ev in events:
            day = (ev[1] - self.ctx.start_ms) // DAY_MS
            self.out.events.setdefault(day, []).append(ev)

    def truth(
        self,
        name: str,
        label: str,
        platform: str,
        actor: str,
        identity: str | None,
        repos: Sequence[Repo],
        start: int,
        end: int,
        description: str,
    ) -> None:
        self.out.truth.append(
            {
                "name": name,
                "label": label,
                "platform": platform,
                "actor": actor,
                "identity": identity,
                "repos": sorted(r.full_name for r in repos),
                "start": iso_ms(start),
                "end": iso_ms(end),
                "technique": TECHNIQUE if label == "incident" else None,
                "description": description,
            }
        )

    def person_truth(
        self,
        name: str,
        label: str,
        p: Person,
        repos: Sequence[Repo],
        start: int,
        end: int,
        description: str,
        platform: str = "github",
    ) -> None:
        """`truth` for a person's scenario: the actor is their account on `platform`, the identity their UPN."""
        account = p.github if platform == "github" else p.gitlab
        assert account is not None
        self.truth(name, label, platform, account.login, p.upn, repos, start, end, description)

    def window_truth(self, name: str, platform: str, login: str, repos: Sequence[Repo], description: str) -> None:
        """`truth` for benign automation that runs all window: no IdP identity, first to last millisecond."""
        self.truth(name, "benign", platform, login, None, repos, self.ctx.start_ms, self.ctx.end_ms - 1, description)

    def credential_grant(self, ts: int, actor: str, pat: Credential) -> Event:
        """A classic PAT authorised for the organisation's SAML SSO (`org_credential_authorization.grant`)."""
        return (
            GITHUB,
            ts,
            self.gh.other(
                "org_credential_authorization.grant",
                ts,
                actor,
                token_id=pat.token_id,
                token_scopes=pat.scopes,
                credential_type="personal access token",
            ),
        )

    def pat_granted(self, ts: int, actor: str, pat: Credential, login: str) -> Event:
        """A fine-grained PAT granted access to the organisation (`personal_access_token.access_granted`)."""
        return (
            GITHUB,
            ts,
            self.gh.other("personal_access_token.access_granted", ts, actor, token_id=pat.token_id, user=login),
        )

    def oauth_consent(self, ts: int, actor: str, app: tuple[str, int]) -> Event:
        """A person consents to an OAuth app (`oauth_authorization.create`); `app` is (name, id)."""
        return (
            GITHUB,
            ts,
            self.gh.other(
                "oauth_authorization.create", ts, actor, oauth_application_id=app[1], oauth_application_name=app[0]
            ),
        )

    def at(self, day: int, hours: float) -> int:
        return self.ctx.day_ms(day) + int(hours * HOUR_MS)

    def token(self, kind: str, token_id: int, scopes: str = "", app: tuple[str, int] | None = None) -> Credential:
        return Credential(
            kind, token_id, hashed_token(self.seed, token_id), scopes, app[1] if app else None, app[0] if app else None
        )

    def signin(self, rng: random.Random, p: Person, ts: int, app: str, city: City, ip: str, **kw: Any) -> Event:
        return (ENTRA, ts, self.ctx.entra.signin(rng, p, ts, app, city, ip, **kw))

    def gh_actor(self, p: Person, city: City, ip: str | None, agent: str) -> str:
        assert p.github is not None
        return self.gh.actor(p.github.login, p.github.account_id, ip, city.country, agent, nameid=p.upn)

    def gl_event(self, p: Person, event_type: str, ts: int, ip: str, repo: Repo, message: object) -> Event:
        assert p.gitlab is not None
        return (
            GITLAB_AUDIT,
            ts,
            gitlab_event(
                event_type,
                ts,
                author_id=p.gitlab.account_id,
                author_name=p.display_name,
                author_email=p.gitlab_email,
                ip=ip,
                entity=project_entity(repo),
                target=project_entity(repo),
                message=message,
            ),
        )

    def git_run(
        self,
        start: int,
        repos: Sequence[Repo],
        gap: tuple[int, int],
        rng: random.Random,
        actor: str,
        cred: Credential,
        action: str = "git.clone",
    ) -> tuple[list[Event], int]:
        """One GitHub git event per repo (a clone by default) at increasing times; events and the last time."""
        return self.clones(
            start, repos, gap, rng, lambda ts, r: [(GITHUB, ts, self.gh.git(action, ts, actor, r, cred))]
        )

    def clones(
        self,
        start: int,
        repos: Sequence[Repo],
        gap: tuple[int, int],
        rng: random.Random,
        make: Callable[[int, Repo], list[Event]],
    ) -> tuple[list[Event], int]:
        """Call `make(ts, repo)` for each repo at increasing times; returns events and the last time."""
        out: list[Event] = []
        ts = start
        last = start
        for repo in repos:
            out.extend(make(ts, repo))
            last = ts
            ts += rng.randrange(*gap)
        return out, last

    def daily_clones(
        self, p: Person, days: range, pool: list[Repo], cred: Credential, rng: random.Random
    ) -> tuple[list[Repo], list[int]]:
        """Low and slow: on each day, clone three or four repos popped from `pool` at office hours in the
        person's home city; returns the repos taken and their times."""
        assert p.github is not None
        actor = self.gh_actor(p, p.home, p.home_ip, p.github.git_agent)
        taken: list[Repo] = []
        times: list[int] = []
        for day in days:
            for _ in range(rng.randrange(3, 5)):
                if not pool:
                    break
                repo = pool.pop()
                ts = self.ctx.local_ms(day, p.home, rng.uniform(9.5, 17.5))
                self.add([(GITHUB, ts, self.gh.git("git.clone", ts, actor, repo, cred))])
                taken.append(repo)
                times.append(ts)
        if not times:
            raise ValueError(f"tenant too small: no restricted repositories outside {p.upn}'s team to pull")
        return taken, times


def restricted(ctx: Context, platform: str, exclude_team: str | None = None) -> list[Repo]:
    return [
        r
        for r in ctx.tenant.repos
        if r.platform == platform
        and r.restricted
        and r.team != exclude_team
        and r.team not in ("hr", "sales", "finance")
    ]


def seed_offset(ctx: Context) -> int:
    """Spreads scenario token ids per seed so they never collide with the tenant's own."""
    return (ctx.tenant.seed % 997) * 100
