"""The findings contract: the stable JSON shape other tools parse, and reading findings back."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from auditor.csvsafe import neutralise

if TYPE_CHECKING:
    from auditor.workspace.store import Workspace

SEVERITIES = ("info", "low", "medium", "high", "critical")
STATUSES = ("new", "triaged", "confirmed", "false_positive", "resolved", "accepted_risk")
OPEN_STATUSES = ("new", "triaged", "confirmed")


def open_sql(today: str = "current_date", prefix: str = "") -> str:
    """The one definition of an open finding, as a SQL boolean over findings columns (`prefix`: a table alias
    with its dot, e.g. 'f.'; `today`: a SQL date expression, e.g. 'current_date', '?' or '$today'):
    not suppressed, and new/triaged/confirmed, or an accepted risk whose expiry has passed (an accepted risk
    without an expiry date counts as open: accepting a risk needs one)."""
    status = f"coalesce({prefix}status, 'new')"
    return (
        f"(NOT {prefix}suppressed AND ({status} IN ('new', 'triaged', 'confirmed') OR "
        f"({status} = 'accepted_risk' AND coalesce({prefix}status_expires < {today}, true))))"
    )


# Parameterless form (current_date, in the DuckDB session's time zone: UTC on the machines we run on).
OPEN_SQL = open_sql()


class _Triaged(Protocol):
    @property
    def suppressed(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def status_expires(self) -> date | None: ...


def is_open(finding: _Triaged, today: date | None = None) -> bool:
    """Python twin of OPEN_SQL for a loaded finding (`today`: UTC date by default)."""
    if finding.suppressed:
        return False
    if finding.status in OPEN_STATUSES:
        return True
    if finding.status == "accepted_risk":
        day = today or datetime.now(UTC).date()
        return finding.status_expires is None or finding.status_expires < day
    return False


def iso_utc(value: datetime) -> str:
    """ISO 8601 UTC with a Z, seconds precision (TIMESTAMP columns are naive UTC)."""
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


@dataclass(frozen=True)
class Finding:
    """One finding of a check or the detector. Field names are a public contract: add, never rename."""

    id: str
    analytic: str
    severity: str
    score: int
    platform: str | None
    actor: str | None
    identity: str | None
    repos: list[str]
    first_seen: datetime
    last_seen: datetime
    reasons: list[str]
    evidence: list[str]
    suppressed: bool
    suppression_reason: str | None
    status: str = "new"
    status_note: str | None = None
    status_expires: date | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)  # {at, status, note, expires, author}, oldest first

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_seen"] = iso_utc(self.first_seen)
        data["last_seen"] = iso_utc(self.last_seen)
        data["status_expires"] = self.status_expires.isoformat() if self.status_expires else None
        data["open"] = is_open(self)
        return data


@dataclass(frozen=True)
class FindingFilter:
    """What `auditor findings` selects. `min_severity`: that severity and above; `statuses`: any of them, with
    'open' as a pseudo-status (OPEN_SQL); `analytic`: a prefix of the analytic, or of the check id after
    'check:' (AN0732, check:access, access.stale); `include_info`: False leaves out info findings."""

    min_severity: str | None = None
    statuses: tuple[str, ...] = ()
    analytic: str | None = None
    platform: str | None = None
    include_suppressed: bool = True
    include_info: bool = True
    limit: int | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if not self.include_suppressed:
            clauses.append("NOT suppressed")
        if self.min_severity:
            clauses.append("list_position(?::VARCHAR[], severity) >= ?")
            params += [list(SEVERITIES), SEVERITIES.index(self.min_severity) + 1]
        if not self.include_info:
            clauses.append("severity <> 'info'")
        if self.statuses:
            alternatives = ["list_contains(?::VARCHAR[], coalesce(status, 'new'))"]
            params.append([s for s in self.statuses if s != "open"])
            if "open" in self.statuses:
                alternatives.append(OPEN_SQL)
            clauses.append("(" + " OR ".join(alternatives) + ")")
        if self.analytic:
            clauses.append("(starts_with(lower(analytic), ?) OR starts_with(lower(analytic), 'check:' || ?))")
            params += [self.analytic.lower(), self.analytic.lower()]
        if self.platform:
            clauses.append("platform = ?")
            params.append(self.platform)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


COLUMNS = (
    "id, analytic, severity, score, platform, actor, identity, repos, first_seen, last_seen, "
    "reasons, evidence, suppressed, suppression_reason, coalesce(status, 'new'), status_note, status_expires"
)


def load_findings(
    ws: Workspace, include_suppressed: bool = True, selection: FindingFilter | None = None
) -> list[Finding]:
    """Findings (all, or those `selection` picks), most severe and highest score first, with their notes."""
    chosen = selection or FindingFilter(include_suppressed=include_suppressed)
    if not include_suppressed:
        chosen = replace(chosen, include_suppressed=False)
    where, params = chosen.where()
    limit = f" LIMIT {int(chosen.limit)}" if chosen.limit is not None else ""
    rows = ws.con.execute(
        f"WITH f AS (SELECT {COLUMNS} FROM findings{where} "
        "ORDER BY suppressed, list_position(['critical','high','medium','low','info'], severity), "
        f"score DESC, first_seen, id{limit}), "
        "n AS (SELECT finding_id, list({'at': noted_at, 'status': status, 'note': note, 'expires': expires, "
        "'author': author} ORDER BY noted_at) AS notes FROM finding_notes "
        "WHERE finding_id IN (SELECT id FROM f) GROUP BY finding_id) "
        "SELECT f.*, n.notes FROM f LEFT JOIN n ON n.finding_id = f.id "
        "ORDER BY f.suppressed, list_position(['critical','high','medium','low','info'], f.severity), "
        "f.score DESC, f.first_seen, f.id",
        params,
    ).fetchall()
    return [
        Finding(
            id=r[0],
            analytic=r[1],
            severity=r[2],
            score=int(r[3]),
            platform=r[4],
            actor=r[5],
            identity=r[6],
            repos=list(r[7] or []),
            first_seen=r[8],
            last_seen=r[9],
            reasons=list(r[10] or []),
            evidence=list(r[11] or []),
            suppressed=bool(r[12]),
            suppression_reason=r[13],
            status=r[14],
            status_note=r[15],
            status_expires=r[16],
            notes=[_note(n) for n in (r[17] or [])],
        )
        for r in rows
    ]


def _note(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": iso_utc(raw["at"]),
        "status": raw["status"],
        "note": raw["note"],
        "expires": raw["expires"].isoformat() if raw["expires"] else None,
        "author": raw["author"],
    }


def set_status(
    ws: Workspace,
    finding_id: str,
    status: str,
    note: str | None,
    expires: date | None = None,
    author: str | None = None,
    now: datetime | None = None,
) -> None:
    """Set a finding's triage status and append the change to its notes (finding_notes), in one transaction.
    accepted_risk needs an expiry date (today or later); other statuses take none."""
    from auditor.errors import InputError
    from auditor.workspace.store import utcnow

    if status not in STATUSES:
        raise InputError(f"unknown status {status!r}; known: {', '.join(STATUSES)}")
    at = now or utcnow()
    if status == "accepted_risk":
        if expires is None:
            raise InputError("accepted_risk needs --expires YYYY-MM-DD (when the acceptance is reviewed again)")
        if expires < at.date():
            raise InputError(f"--expires {expires.isoformat()} is in the past")
    elif expires is not None:
        raise InputError("--expires is only for accepted_risk")
    with ws.transaction() as con:
        row = con.execute(
            "UPDATE findings SET status = ?, status_note = ?, status_changed_at = ?, status_expires = ? "
            "WHERE id = ? RETURNING id",
            [status, note, at, expires, finding_id],
        ).fetchall()
        if not row:
            raise InputError(f"no finding with id {finding_id!r}")
        con.execute(
            "INSERT INTO finding_notes (finding_id, noted_at, author, status, note, expires) VALUES (?, ?, ?, ?, ?, ?)",
            [finding_id, at, author, status, note, expires],
        )


def findings_json(findings: list[Finding]) -> str:
    return json.dumps([f.to_json() for f in findings], indent=2, ensure_ascii=False)


def findings_csv(findings: list[Finding]) -> str:
    """CSV with list fields joined by '; '. Formula-like cells are neutralised (auditor.csvsafe)."""
    out = io.StringIO()
    fields = list(Finding.__dataclass_fields__)
    writer = csv.writer(out)
    writer.writerow(fields)
    for finding in findings:
        data = finding.to_json()
        row = []
        for name in fields:
            value = data[name]
            if name == "notes":
                value = [f"{n['at']} {n['status']}: {n['note'] or ''}" for n in value]
            text = "; ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
            row.append(neutralise(text))
        writer.writerow(row)
    return out.getvalue()
