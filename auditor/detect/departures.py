"""Departing and departed people: the `departures` table (Entra leave dates and disabled accounts, the
deleted users and leaving activities the Entra connector collected into `directory_changes`, and an
optional departures CSV), and what it says about an AN0732 episode: downloads in the days before a leave
date, or after an account was disabled, deleted or removed from a leaver group, raise the score and say
so with the date."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import duckdb

from auditor.config.models import DepartureSettings
from auditor.detect.episode import Episode
from auditor.errors import InputError

KINDS = ("leave_date", "disabled", "deleted", "group_removal")
DATED_WEIGHT = 20  # activity inside the window before a leave date, or after leaving, disablement, deletion or removal
UNDATED_WEIGHT = 10  # the IdP says disabled, but not since when

_FROM_IDENTITIES = """
INSERT INTO departures (platform, login, upn, identity_id, kind, "at", detail, source)
SELECT NULL, NULL, lower(upn), identity_id, 'leave_date', leave_at, 'employeeLeaveDateTime', 'entra'
FROM identities WHERE leave_at IS NOT NULL
UNION ALL
SELECT NULL, NULL, lower(upn), identity_id, 'disabled', NULL, 'accountEnabled is false', 'entra'
FROM identities i WHERE account_enabled = false
  AND NOT EXISTS (SELECT 1 FROM directory_changes c WHERE c.identity_id = i.identity_id
                  AND c.kind IN ('disabled', 'deleted') AND c."at" IS NOT NULL)
"""

# Collected deletions, disablements and group removals: a removal only from a configured leaver group;
# the UPN the directory knows (a deleted user's was read back without Entra's prefix).
_FROM_CHANGES = """
INSERT INTO departures (platform, login, upn, identity_id, kind, "at", detail, source)
SELECT NULL, NULL, lower(coalesce(i.upn, c.upn)), c.identity_id, c.kind, c."at",
       CASE WHEN c.kind = 'group_removal' THEN c.group_name ELSE c.activity END, 'entra'
FROM directory_changes c LEFT JOIN identities i ON i.identity_id = c.identity_id
WHERE c.kind <> 'group_removal' OR lower(c.group_name) IN (SELECT lower(unnest($groups::VARCHAR[])))
"""

_FROM_FILE = """
INSERT INTO departures (platform, login, upn, identity_id, kind, "at", detail, source)
SELECT f.platform, f.login, lower(f.upn), i.identity_id, f.kind, f."at", f.detail, f.source
FROM departures_file f LEFT JOIN identities i ON lower(i.upn) = lower(f.upn)
"""


@dataclass(frozen=True)
class Departure:
    """One departure fact about an account (platform/login) or an identity (upn)."""

    platform: str | None
    login: str | None
    upn: str | None
    kind: str
    at: datetime | None
    source: str
    detail: str | None = None  # for a group removal: the group's name


def _date(text: str, where: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text[:10]), time())
    except ValueError as exc:
        raise InputError(f"date {text!r} is not YYYY-MM-DD", where) from exc


def read_departures_file(path: Path) -> list[tuple[object, ...]]:
    """Rows of a departures CSV: `date` and `login` or `upn`, optional `platform`, `kind` (default
    leave_date) and `detail`. A bad row names the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read the departures file: {exc.strerror}", str(path)) from exc
    reader = csv.DictReader(text.splitlines())
    fields = reader.fieldnames or []
    if "date" not in fields or not ({"login", "upn"} & set(fields)):
        raise InputError("the departures file needs a date column and a login or upn column", f"{path}:1")
    rows: list[tuple[object, ...]] = []
    for row in reader:
        where = f"{path}:{reader.line_num}"
        login, upn = (row.get("login") or "").strip() or None, (row.get("upn") or "").strip() or None
        kind = (row.get("kind") or "").strip() or "leave_date"
        platform = (row.get("platform") or "").strip().lower() or None
        if not (login or upn) or kind not in KINDS or platform not in (None, "github", "gitlab"):
            raise InputError(f"each row needs a login or upn, and a kind among {', '.join(KINDS)}", where)
        at = _date((row.get("date") or "").strip(), where)
        rows.append((platform, login, upn, kind, at, (row.get("detail") or "").strip() or None, f"file:{where}"))
    return rows


def refresh_departures(con: duckdb.DuckDBPyConnection, settings: DepartureSettings) -> None:
    """Rebuild `departures` inside the caller's transaction from identities, the collected directory changes
    (group removals only from `leaver_groups`) and the configured file."""
    con.execute("DELETE FROM departures")
    con.execute(_FROM_IDENTITIES)
    con.execute(_FROM_CHANGES, {"groups": list(settings.leaver_groups)})
    if settings.departures_file is not None:
        rows = read_departures_file(settings.departures_file)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE departures_file (platform VARCHAR, login VARCHAR, upn VARCHAR, "
            'kind VARCHAR, "at" TIMESTAMP, detail VARCHAR, source VARCHAR)'
        )
        if rows:
            con.executemany("INSERT INTO departures_file VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute(_FROM_FILE)
        con.execute("DROP TABLE departures_file")


def load_departures(con: duckdb.DuckDBPyConnection) -> list[Departure]:
    rows = con.execute('SELECT platform, login, upn, kind, "at", source, detail FROM departures').fetchall()
    return [Departure(*r) for r in rows]


class DepartureIndex:
    """Departures by login and by UPN, matched to episodes in Python (a few rows per person)."""

    def __init__(self, departures: Iterable[Departure]) -> None:
        self.by_login: dict[str, list[Departure]] = {}
        self.by_upn: dict[str, list[Departure]] = {}
        for d in departures:
            if d.login:
                self.by_login.setdefault(d.login.lower(), []).append(d)
            if d.upn:
                self.by_upn.setdefault(d.upn.lower(), []).append(d)

    def of(self, platform: str, actor: str, upn: str | None) -> list[Departure]:
        found = [d for d in self.by_login.get(actor.lower(), []) if d.platform in (None, platform)]
        found += self.by_upn.get((upn or "").lower(), [])
        return sorted(set(found), key=lambda d: (d.at or datetime.max, d.kind, d.source))


def _signal(d: Departure, start: datetime, window_days: int) -> tuple[str, int] | None:
    """What one departure fact says about activity starting at `start`, or None when it does not bear on it."""
    if d.at is None:
        if d.kind == "disabled":
            return "the IdP account is disabled (accountEnabled false), since an unknown date", UNDATED_WEIGHT
        return None
    on, days = d.at.date().isoformat(), abs((start.date() - d.at.date()).days)
    if d.kind == "leave_date" and start <= d.at:
        return (f"leaves on {on}, {days} days after this activity", DATED_WEIGHT) if days <= window_days else None
    if start < d.at:
        return None  # disabled, deleted or removed only after the activity
    if d.kind == "leave_date":
        return f"left on {on}, {days} days before this activity", DATED_WEIGHT
    if d.kind == "group_removal":
        group = f"group {d.detail!r}" if d.detail else "a leaver group"
        return f"removed from {group} on {on}, {days} days before this activity", DATED_WEIGHT
    return f"account {d.kind} on {on}, {days} days before this activity", DATED_WEIGHT


def departure_signals(e: Episode, found: list[Departure], window_days: int) -> list[tuple[str, int]]:
    """(reason, weight) for each departure fact that bears on the episode's start, citing its source."""
    out = []
    for d in found:
        signal = _signal(d, e.first_seen, window_days)
        if signal is not None:
            out.append((f"{signal[0]} ({d.source})", signal[1]))
    return out


def departure_coverage(con: duckdb.DuckDBPyConnection, settings: DepartureSettings) -> list[tuple[str, str, str]]:
    """(source, needs, consequence) for `auditor coverage`: with no leaver groups configured, the group
    removals collected from Entra are not departure signals."""
    if settings.leaver_groups:
        return []
    row = con.execute("SELECT count(*) FROM directory_changes WHERE kind = 'group_removal'").fetchone()
    held = int(row[0]) if row else 0
    entra = con.execute("SELECT count(*) FROM snapshots WHERE kind = 'collect' AND platform = 'entra'").fetchone()
    if not held and not (entra and entra[0]):
        return []
    return [
        (
            "departures.leaver_groups",
            'the Entra groups whose removal means a person left (e.g. "All Employees", "GitHub Users")',
            f"no group removal is a departure signal ({held} collected from the directory audit log are ignored)",
        )
    ]
