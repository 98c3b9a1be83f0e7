"""Shared planning vocabulary: bursts of events, the generation context, and where people are each day.

A *burst* is a short run of related records (one person's sign-ins, one git session, one backup
run) whose record count is fixed when it is planned and whose records are only built when the
writer reaches its start time. That split lets the generator count and scale a tenant cheaply and
stream it in bounded memory.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from auditor_sandbox import catalog
from auditor_sandbox.catalog import City
from auditor_sandbox.records import GitHubRecords
from auditor_sandbox.records_entra import EntraRecords
from auditor_sandbox.tenant import Person, Tenant, city_ip
from auditor_sandbox.writers import to_ms

# Stream keys (one per NDJSON output file).
GITHUB = "github"
GITLAB_AUDIT = "gitlab_audit"
GITLAB_API = "gitlab_api"
ENTRA = "entra"

HOUR_MS = 3_600_000
MIN_MS = 60_000
DAY_MS = 86_400_000

Event = tuple[str, int, str]  # (stream key, epoch ms, record body)


@dataclass(frozen=True, slots=True)
class Burst:
    """Records planned to start at `start` (epoch ms); `expand` builds exactly `count` of them, none earlier."""

    start: int
    count: int
    expand: Callable[[random.Random], list[Event]]
    scaled: bool = False
    stream: str | None = None  # set when every record goes to this one stream (a faster path)


@dataclass(frozen=True, slots=True)
class Where:
    """Where a person works from on one day."""

    city: City
    ip: str


class Context:
    """Everything planners share: the tenant, record builders, the window and each person's whereabouts."""

    def __init__(self, tenant: Tenant, start: datetime, days: int) -> None:
        self.tenant = tenant
        self.start = start
        self.days = days
        self.start_ms = to_ms(start)
        self.end_ms = self.start_ms + days * DAY_MS
        self.gh = GitHubRecords(tenant)
        self.entra = EntraRecords(tenant)
        self._trips = _plan_trips(tenant, days)

    def day_ms(self, day: int) -> int:
        return self.start_ms + day * DAY_MS

    def is_workday(self, day: int) -> bool:
        return (self.start + timedelta(days=day)).weekday() < 5

    def local_ms(self, day: int, city: City, local_hours: float) -> int:
        """UTC epoch ms of `local_hours` on `day` in `city`, never before that UTC day starts."""
        return max(self.day_ms(day), self.day_ms(day) + int((local_hours - city.utc_offset) * HOUR_MS))

    def travels(self, person: Person) -> bool:
        """Whether the person takes a work trip in the window (scenarios that need a settled history avoid them)."""
        return person.index in self._trips

    def trip(self, person: Person) -> tuple[int, int, City, str] | None:
        """The person's work trip (first day, last day, city, IP there), if they take one."""
        trips = self._trips.get(person.index)
        return trips[0] if trips else None

    def where(self, person: Person, day: int, rng: random.Random) -> Where | None:
        """Home (office or home IP), a trip city, or None on a travel day."""
        for first, last, city, ip in self._trips.get(person.index, ()):
            if day in (first - 1, last + 1):
                return None
            if first <= day <= last:
                return Where(city, ip)
        if rng.random() < 0.45:
            return Where(person.home, person.office_ip)
        return Where(person.home, person.home_ip)


def _plan_trips(tenant: Tenant, days: int) -> dict[int, list[tuple[int, int, City, str]]]:
    """About a quarter of people take one 2-4 day work trip with a travel day on either side."""
    rng = random.Random(f"acme:{tenant.seed}:trips")
    trips: dict[int, list[tuple[int, int, City, str]]] = {}
    protected = set(tenant.cast.values())
    for person in tenant.people:
        if rng.random() >= 0.25 or days < 14 or person.index in protected or person.account_class == "external":
            continue
        length = rng.randrange(2, 5)
        first = rng.randrange(2, days - length - 2)
        options = [c for c in catalog.TRAVEL_CITIES + catalog.HOME_CITIES if c != person.home]
        city = rng.choice(options)
        trips[person.index] = [(first, first + length - 1, city, city_ip(rng, city))]
    return trips
