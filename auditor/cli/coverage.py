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
    "accounts",
)

ACTIVE_DAYS = 90  # an account that acted within this many days of its platform's latest event is active

_UNLINKED = f"""
WITH latest AS (SELECT platform, max(last_seen) AS at FROM accounts GROUP BY platform)
SELECT a.platform, count(*) AS active, count(*) FILTER (WHERE l.upn IS NULL) AS unlinked
FROM accounts a
JOIN latest t ON t.platform = a.platform
LEFT JOIN account_links l ON l.platform = a.platform AND l.login = a.login
WHERE a.last_seen >= t.at - INTERVAL {ACTIVE_DAYS} DAY AND NOT coalesce(a.is_bot, false)
GROUP BY a.platform ORDER BY a.platform
"""


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
    rows += unlinked_rows(con)
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


def unlinked_rows(con: Any) -> list[dict[str, Any]]:
    """One row (kind 'identity_gap') per platform with active human accounts that no IdP identity is
    linked to: detection cannot check their sign-in context."""
    rows = []
    for platform, active, unlinked in con.execute(_UNLINKED).fetchall():
        if not unlinked:
            continue
        rows.append(
            dict.fromkeys(FIELDS)
            | {
                "kind": "identity_gap",
                "platform": platform,
                "source": "account_links",
                "needs": "an IdP identity per account: SAML/SCIM identity, verified e-mail, or the config's "
                "linking rules (mapping_file, conventions)",
                "consequence": f"{unlinked} of {active} active accounts have no IdP identity linked: sign-in "
                "precursors are not evaluated for their findings",
                "accounts": unlinked,
            }
        )
    return rows


@click.command("coverage")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.pass_obj
def coverage(app: AppContext, fmt: str, as_json: bool) -> None:
    """List coverage gaps (platform, source, needs, consequence), active accounts with no IdP identity
    linked (kind identity_gap, `accounts`), and each log source's retention and span. With Entra
    collected and no `departures.leaver_groups`, a gap says group removals are not departure signals.

    \b
    Example:
      auditor coverage --format json | jq '.[] | select(.kind == "gap")'
    """
    from auditor.detect.departures import departure_coverage
    from auditor.importers.link_rules import apply_link_rules

    ws = app.workspace()
    cfg = app.config()
    with ws.transaction() as con:
        apply_link_rules(con, cfg.linking)
    rows = coverage_rows(ws.con)
    settings = [
        dict.fromkeys(FIELDS)
        | {"kind": "gap", "platform": "entra", "source": source, "needs": needs, "consequence": consequence}
        for source, needs, consequence in departure_coverage(ws.con, cfg.departures)
    ]
    at = sum(1 for r in rows if r["kind"] == "gap")
    rows[at:at] = settings
    if not echo_listing(rows, FIELDS, "json" if as_json else fmt):
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
        if r["kind"] != "log_source":
            gaps.add_row(r["platform"], r["source"], r["needs"], r["consequence"])
        else:
            span = f"{r['first_event_at'] or '?'} → {r['last_event_at'] or '?'}"
            retention = "" if r["retention_days"] is None else str(r["retention_days"])
            sources.add_row(r["platform"], r["source"], retention, r["streaming"] or "", span, str(r["events"]))
    out = console()
    out.print(gaps if gaps.row_count else "No coverage gaps recorded.")
    out.print(sources)
