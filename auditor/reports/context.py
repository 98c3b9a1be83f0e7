"""Everything a report shows, read from the workspace with SQL into plain, typed, immutable data.

Templates only lay this data out; they never query or compute. Keeping the numbers here makes them
testable without rendering, and keeps the HTML page and the PDF telling exactly the same story.
Strings from events (actors, repos, reasons) are kept as they are: escaping is the template's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.finding_status import open_sql
from auditor.findings import SEVERITIES
from auditor.workspace.store import utcnow

if TYPE_CHECKING:
    from auditor.config.models import AuditorConfig
    from auditor.workspace.store import Workspace

TITLE = "Restricted source code: access and exfiltration (AN0732)"
SEVERITY_ORDER = tuple(reversed(SEVERITIES))  # critical first
KNOWN_PLATFORMS = ("github", "gitlab", "entra")
REPOS_SHOWN = 5
DETECTIONS = "analytic NOT LIKE 'check:%'"  # check findings are shown as control results (reports.controls)
MAX_FILLED_DAYS = 400  # beyond this the per-day chart only shows days that have events


def fmt_ts(value: datetime | None) -> str:
    """Display form of a naive-UTC timestamp; "unknown" rather than an empty cell."""
    return "unknown" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class PlatformEvents:
    platform: str
    events: int
    first: str
    last: str


@dataclass(frozen=True)
class ImportsSummary:
    files: int
    formats: tuple[tuple[str, int], ...]
    records: int
    events: int
    duplicates: int
    rejected: int


@dataclass(frozen=True)
class LogSourceView:
    platform: str
    source: str
    retention_days: int | None
    streaming: str | None
    first: str
    last: str
    events: int | None


@dataclass(frozen=True)
class GapView:
    platform: str
    source: str
    needs: str
    consequence: str


@dataclass(frozen=True)
class FindingView:
    """A finding ready for display: repos pre-truncated, times formatted (ISO kept for sorting)."""

    id: str
    analytic: str
    severity: str
    severity_rank: int  # 0 = critical; used to sort the HTML table
    score: int
    platform: str | None
    actor: str | None
    identity: str | None
    repos: tuple[str, ...]
    repos_shown: tuple[str, ...]
    repos_more: int
    first_seen: str
    last_seen: str
    first_seen_iso: str
    last_seen_iso: str
    reasons: tuple[str, ...]
    suppression_reason: str | None


@dataclass(frozen=True)
class SuppressionRule:
    """Suppressed detections of one approval rule, aggregated (one row per rule, never one per finding)."""

    reason: str
    findings: int
    actors: int
    repos: int
    worst: str
    first_seen: str
    last_seen: str
    sample_actors: tuple[str, ...]


@dataclass(frozen=True)
class ReportContext:
    """The whole content of the demo report. `top_limit` bounds the findings printed in the PDF."""

    title: str
    company: str
    generated_at: str
    tool_version: str
    span_first: str | None
    span_last: str | None
    events_total: int
    events_by_platform: tuple[PlatformEvents, ...]
    events_per_day: tuple[tuple[str, int], ...]
    imports: ImportsSummary
    rejected_lines: int
    rejected_reasons: tuple[tuple[str, int], ...]
    repos_total: int
    repos_restricted: int
    accounts: int
    linked_accounts: int
    inventory: tuple[tuple[str, int], ...]
    open_by_severity: tuple[tuple[str, int], ...]
    open_total: int
    suppressed_total: int
    posture: str
    open_findings: tuple[FindingView, ...]
    suppressed_findings: tuple[FindingView, ...]
    suppressed_rules: tuple[SuppressionRule, ...]
    log_sources: tuple[LogSourceView, ...]
    coverage_gaps: tuple[GapView, ...]
    platforms_without_events: tuple[str, ...]
    logo_data_uri: str | None
    top_limit: int = 10

    @property
    def top_findings(self) -> tuple[FindingView, ...]:
        return self.open_findings[: self.top_limit]

    @property
    def more_open(self) -> int:
        return max(len(self.open_findings) - self.top_limit, 0)

    @property
    def inventory_collected(self) -> bool:
        return any(count for _, count in self.inventory)


def _rows(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    return ws.con.execute(sql).fetchall()


def _int(ws: Workspace, sql: str) -> int:
    row = ws.con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _per_day(ws: Workspace) -> tuple[tuple[str, int], ...]:
    """Events per UTC day; missing days inside the span are filled with zeros (gaps stay visible)."""
    counts: dict[date, int] = {
        row[0]: int(row[1]) for row in _rows(ws, "SELECT CAST(ts AS DATE), count(*) FROM events GROUP BY 1")
    }
    if not counts:
        return ()
    first, last = min(counts), max(counts)
    if (last - first).days >= MAX_FILLED_DAYS:
        days = sorted(counts)
    else:
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return tuple((day.isoformat(), counts.get(day, 0)) for day in days)


def _imports(ws: Workspace) -> ImportsSummary:
    """Totals over every imported file, so rejected and duplicate lines are shown, not hidden."""
    files, records, events, duplicates, rejected = _rows(
        ws, "SELECT count(*), sum(records), sum(events), sum(duplicates), sum(rejected) FROM imports"
    )[0]
    formats = _pairs(ws, "SELECT format, count(*) FROM imports GROUP BY format ORDER BY 2 DESC, 1")
    return ImportsSummary(
        files=int(files), formats=formats, records=int(records or 0), events=int(events or 0),
        duplicates=int(duplicates or 0), rejected=int(rejected or 0),
    )  # fmt: skip


def _log_sources(ws: Workspace) -> tuple[LogSourceView, ...]:
    rows = _rows(
        ws,
        "SELECT platform, source, retention_days, streaming, first_event_at, last_event_at, events "
        "FROM log_sources ORDER BY platform, source",
    )
    return tuple(
        LogSourceView(p, s, days, streaming, fmt_ts(first), fmt_ts(last), None if n is None else int(n))
        for p, s, days, streaming, first, last, n in rows
    )


def _pairs(ws: Workspace, sql: str) -> tuple[tuple[str, int], ...]:
    """(label, count) rows of a two-column query."""
    return tuple((str(label), int(count)) for label, count in _rows(ws, sql))


def posture_line(open_by_severity: tuple[tuple[str, int], ...], events_total: int, suppressed: int) -> str:
    """One honest sentence: what is open, or that nothing is — and whether anything was analysed."""
    open_total = sum(n for _, n in open_by_severity)
    if open_total == 0:
        if events_total == 0:
            return "No findings, but also no events in this workspace: nothing has been analysed yet."
        line = f"No open findings in the {events_total:,} events covered."
    else:
        parts = ", ".join(f"{n} {severity}" for severity, n in open_by_severity if n)
        line = f"{open_total:,} open finding{'s' if open_total != 1 else ''} ({parts}) need triage."
    if suppressed:
        line += f" {suppressed:,} more matched approved automation and are listed as suppressed."
    return line


_VIEWS_SQL = f"""
SELECT id, analytic, severity,
       coalesce(list_position(['critical','high','medium','low','info'], severity) - 1, {len(SEVERITIES)}),
       score, platform, actor, identity, repos, repos[1:{REPOS_SHOWN}], greatest(len(repos) - {REPOS_SHOWN}, 0),
       strftime(first_seen, '%Y-%m-%d %H:%M UTC'), strftime(last_seen, '%Y-%m-%d %H:%M UTC'),
       strftime(first_seen, '%Y-%m-%dT%H:%M:%SZ'), strftime(last_seen, '%Y-%m-%dT%H:%M:%SZ'),
       reasons, suppression_reason, suppressed
FROM findings
WHERE analytic NOT LIKE 'check:%' AND (suppressed OR {open_sql()})
ORDER BY suppressed, list_position(['critical','high','medium','low','info'], severity), score DESC, first_seen, id
"""


def finding_views(ws: Workspace) -> tuple[tuple[FindingView, ...], tuple[FindingView, ...]]:
    """(open, suppressed) findings ready for display, in `load_findings` order, formatted by SQL: for
    10,000 findings, per-row Python formatting and list conversion would dominate the report."""
    open_views: list[FindingView] = []
    suppressed: list[FindingView] = []
    for r in ws.con.execute(_VIEWS_SQL).fetchall():
        view = FindingView(r[0], r[1], r[2], int(r[3]), int(r[4]), r[5], r[6], r[7], tuple(r[8]), tuple(r[9]),
                           int(r[10]), r[11], r[12], r[13], r[14], tuple(r[15]), r[16])  # fmt: skip
        (suppressed if r[17] else open_views).append(view)
    return tuple(open_views), tuple(suppressed)


def suppression_rules(ws: Workspace) -> tuple[SuppressionRule, ...]:
    """Suppressed detections grouped by their approval rule (the suppression reason names the rule)."""
    cur = ws.con.execute(
        f"SELECT coalesce(suppression_reason, 'no reason recorded') AS reason, count(DISTINCT id) AS findings, "
        "count(DISTINCT actor) AS actors, count(DISTINCT r.repo) AS repos, "
        "['critical','high','medium','low','info'][min(list_position(['critical','high','medium','low','info'], "
        "severity))] AS worst, min(first_seen) AS first_seen, max(last_seen) AS last_seen, "
        "list(DISTINCT actor ORDER BY actor)[1:5] AS sample_actors "
        f"FROM findings LEFT JOIN LATERAL unnest(repos) AS r(repo) ON TRUE WHERE {DETECTIONS} AND suppressed "
        "GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    names = [d[0] for d in cur.description or ()]
    out = []
    for row in cur.fetchall():
        r = dict(zip(names, row, strict=True))
        out.append(
            SuppressionRule(
                reason=r["reason"], findings=int(r["findings"]), actors=int(r["actors"]), repos=int(r["repos"]),
                worst=r["worst"] or "unknown", first_seen=fmt_ts(r["first_seen"]), last_seen=fmt_ts(r["last_seen"]),
                sample_actors=tuple(a for a in r["sample_actors"] or () if a is not None),
            )
        )  # fmt: skip
    return tuple(out)


def build_context(
    ws: Workspace,
    config: AuditorConfig,
    logo_data_uri: str | None = None,
    now: datetime | None = None,
) -> ReportContext:
    """Query the workspace once for everything the base report shows."""
    by_platform = tuple(
        PlatformEvents(r[0], int(r[1]), fmt_ts(r[2]), fmt_ts(r[3]))
        for r in _rows(
            ws, "SELECT platform, count(*), min(ts), max(ts) FROM events GROUP BY platform ORDER BY 2 DESC, 1"
        )
    )
    span = _rows(ws, "SELECT min(ts), max(ts), count(*) FROM events")[0]
    severity_counts = dict(
        _pairs(ws, f"SELECT severity, count(*) FROM findings WHERE {DETECTIONS} AND {open_sql()} GROUP BY 1")
    )
    open_by_severity = tuple((s, severity_counts.pop(s, 0)) for s in SEVERITY_ORDER)
    open_by_severity += tuple(sorted(severity_counts.items()))  # unknown severities are still shown
    open_views, suppressed_views = finding_views(ws)
    suppressed_total = _int(ws, f"SELECT count(*) FROM findings WHERE {DETECTIONS} AND suppressed")
    events_total = int(span[2])
    seen_platforms = {p.platform for p in by_platform}
    return ReportContext(
        title=TITLE,
        company=config.company.name,
        generated_at=fmt_ts(now or utcnow()),
        tool_version=__version__,
        span_first=fmt_ts(span[0]) if span[0] else None,
        span_last=fmt_ts(span[1]) if span[1] else None,
        events_total=events_total,
        events_by_platform=by_platform,
        events_per_day=_per_day(ws),
        imports=_imports(ws),
        rejected_lines=_int(ws, "SELECT count(*) FROM rejected_lines"),
        rejected_reasons=_pairs(
            ws, "SELECT reason, count(*) FROM rejected_lines GROUP BY reason ORDER BY 2 DESC, 1 LIMIT 5"
        ),
        repos_total=_int(ws, "SELECT count(*) FROM repos"),
        repos_restricted=_int(ws, "SELECT count(*) FROM repos WHERE restricted"),
        accounts=_int(ws, "SELECT count(*) FROM accounts"),
        linked_accounts=_int(ws, "SELECT count(*) FROM account_links WHERE identity_id IS NOT NULL OR upn IS NOT NULL"),
        inventory=tuple(
            (table, _int(ws, f"SELECT count(*) FROM {table}")) for table in ("grants", "credentials", "apps")
        ),
        open_by_severity=open_by_severity,
        open_total=sum(n for _, n in open_by_severity),
        suppressed_total=suppressed_total,
        posture=posture_line(open_by_severity, events_total, suppressed_total),
        open_findings=open_views,
        suppressed_findings=suppressed_views,
        suppressed_rules=suppression_rules(ws),
        log_sources=_log_sources(ws),
        coverage_gaps=tuple(
            GapView(*r)
            for r in _rows(
                ws,
                "SELECT DISTINCT platform, source, needs, consequence FROM coverage_gaps "
                "ORDER BY platform, source, needs",
            )
        ),
        platforms_without_events=tuple(p for p in KNOWN_PLATFORMS if p not in seen_platforms),
        logo_data_uri=logo_data_uri,
    )
