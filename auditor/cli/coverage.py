"""`auditor coverage`: what the auditor could not see, and what each log source holds."""

from __future__ import annotations

from typing import Any

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_listing

FIELDS = (
    "kind",
    "platform",
    "source",
    "needs",
    "consequence",
    "retention_days",
    "streaming",
    "first_event_at",
    "last_event_at",
    "events",
)


def coverage_rows(con: Any) -> list[dict[str, Any]]:
    """Gaps first (kind 'gap'), then log sources (kind 'log_source') with retention and time span."""
    rows: list[dict[str, Any]] = []
    for platform, source, needs, consequence in con.execute(
        "SELECT platform, source, needs, consequence FROM coverage_gaps ORDER BY platform, source"
    ).fetchall():
        rows.append(
            dict.fromkeys(FIELDS)
            | {
                "kind": "gap",
                "platform": platform,
                "source": source,
                "needs": needs,
                "consequence": consequence,
            }
        )
    for platform, source, retention, streaming, first, last, events in con.execute(
        "SELECT platform, source, retention_days, streaming, first_event_at, last_event_at, events "
        "FROM log_sources ORDER BY platform, source"
    ).fetchall():
        rows.append(
            dict.fromkeys(FIELDS)
            | {
                "kind": "log_source",
                "platform": platform,
                "source": source,
                "retention_days": retention,
                "streaming": streaming,
                "first_event_at": first.isoformat() + "Z" if first else None,
                "last_event_at": last.isoformat() + "Z" if last else None,
                "events": events,
            }
        )
    return rows


@click.command("coverage")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.pass_obj
def coverage(app: AppContext, fmt: str) -> None:
    """List coverage gaps (platform, source, needs, consequence) and each log source's retention and span.

    \b
    Example:
      auditor coverage --format json | jq '.[] | select(.kind == "gap")'
    """
    rows = coverage_rows(app.workspace().con)
    if not echo_listing(rows, FIELDS, fmt):
        _table(rows)


def _table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    gaps = Table(title="Coverage gaps")
    for col in ("platform", "source", "needs", "consequence"):
        gaps.add_column(col)
    sources = Table(title="Log sources")
    for col in ("platform", "source", "retention (days)", "streaming", "time span", "events"):
        sources.add_column(col)
    for r in rows:
        if r["kind"] == "gap":
            gaps.add_row(r["platform"], r["source"], r["needs"], r["consequence"])
        else:
            span = f"{r['first_event_at'] or '?'} → {r['last_event_at'] or '?'}"
            retention = "" if r["retention_days"] is None else str(r["retention_days"])
            sources.add_row(r["platform"], r["source"], retention, r["streaming"] or "", span, str(r["events"]))
    out = console()
    out.print(gaps if gaps.row_count else "No coverage gaps recorded.")
    out.print(sources)
