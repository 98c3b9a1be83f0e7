"""`auditor detect` and `auditor findings`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json, wide_console
from auditor.cli.progress import progress

if TYPE_CHECKING:
    from auditor.findings import Finding


@click.command("detect")
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="duckdb: the workspace itself; spark: the lake's events on Spark (pip install 'repo-auditor[spark]').",
)
@click.option("--spark-master", default=None, help="Spark master URL (default local[*], or spark-submit's --master).")
@click.option("--input", "input_dir", default=None, help="Parquet lake folder or URL whose events Spark reads.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_obj
def detect(app: AppContext, engine: str, spark_master: str | None, input_dir: str | None, as_json: bool) -> None:
    """Run the bulk-download detection (AN0732) over the workspace and write findings.

    With --engine spark the same SQL stages run on Spark over the events of a Parquet lake
    (`auditor export events --parquet DIR` writes one); repositories, accounts and identities come
    from the workspace, and findings are written into it exactly as the DuckDB engine writes them.

    \b
    Example:
      auditor detect && auditor findings --format table
      auditor detect --engine spark --input ./lake --spark-master 'local[2]'
    """
    if engine == "spark":
        if not input_dir:
            raise click.UsageError("--engine spark needs --input DIR (a Parquet lake: auditor export events --parquet)")
        from auditor.detect.spark_engine import run_spark_detection

        result = run_spark_detection(app.workspace(), app.config(), input_dir, spark_master)
    else:
        if input_dir:
            raise click.UsageError(
                "--input is for --engine spark; the DuckDB engine reads the workspace (auditor import --parquet DIR)"
            )
        from auditor.detect.bulk import run_detection

        config = app.config()  # a config error is reported before a workspace problem
        ws = app.workspace()
        with progress("detecting (AN0732)…"):
            result = run_detection(ws, config)
    if as_json:
        echo_json(result.to_json())
        return
    out = console()
    out.print(
        f"{result.findings} finding(s) written ({result.open} open, {result.suppressed} suppressed "
        f"as approved automation) from {result.download_events} download events."
    )
    for note in result.unavailable:
        out.print(f"[yellow]signal unavailable:[/yellow] {note}")


SEVERITY_CHOICES = ["info", "low", "medium", "high", "critical"]
STATUS_CHOICES = ["new", "triaged", "confirmed", "false_positive", "resolved", "accepted_risk"]


@click.group("findings", invoke_without_command=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "table", "sarif", "ocsf"]),
    default="table",
    show_default=True,
    help="sarif: one SARIF 2.1.0 log (GitHub code scanning); ocsf: OCSF JSON Lines (Detection Finding 2004 for "
    "AN0732, Compliance Finding 2003 for failed controls).",
)
@click.option("--severity", type=click.Choice(SEVERITY_CHOICES), default=None, help="This severity and above.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([*STATUS_CHOICES, "open"]),
    help="Only these statuses (repeatable); 'open' = not suppressed and new/triaged/confirmed or an expired "
    "accepted risk.",
)
@click.option("--analytic", default=None, help="Analytic or check id prefix: AN0732, check:access, access.stale.")
@click.option("--platform", default=None, help="Only this platform (github, gitlab, entra).")
@click.option("--limit", default=None, type=click.IntRange(min=1), help="At most N findings (most severe first).")
@click.option("--include-info", is_flag=True, help="Table: list info findings too.")
@click.option("--open-only", is_flag=True, help="Only open findings (same as --status open).")
@click.option("--all", "show_all", is_flag=True, help="Table: every finding (suppressed, closed and info too).")
@click.pass_context
def findings(
    ctx: click.Context,
    fmt: str,
    severity: str | None,
    statuses: tuple[str, ...],
    analytic: str | None,
    platform: str | None,
    limit: int | None,
    include_info: bool,
    open_only: bool,
    show_all: bool,
) -> None:
    """Print findings (detections and failed controls); `findings status` sets their triage status.

    JSON fields: id, analytic, severity, score, actor, identity, repos, first_seen, last_seen,
    reasons, suppressed (plus platform, evidence, suppression_reason, status, status_note,
    status_expires, notes[] {at, status, note, expires, author}, open). A failed control is one
    finding per check and scope: analytic check:ID, actor the scope (org, group, tenant).

    JSON and CSV list every finding the filters select (all by default). The table lists open
    findings (not suppressed; new, triaged, confirmed, or an accepted risk past its expiry) of
    severity low and above, and counts the rest; --all lists everything, --status picks statuses.
    --severity is a minimum (--severity high: high and critical).

    \b
    Example:
      auditor findings --severity high --status open
      auditor findings --analytic check:access --format json | jq '.[].reasons[0]'
      auditor findings --status open --format sarif > auditor.sarif
      auditor findings --format ocsf | gzip > findings.ocsf.jsonl.gz
      auditor findings status CHK-3f2a9c1b7d4e accepted_risk --note "RISK-12" --expires 2027-03-31
    """
    if ctx.invoked_subcommand is not None:
        return
    from auditor.findings import FindingFilter, findings_csv, findings_json, load_findings

    chosen = tuple(dict.fromkeys([*statuses, *(["open"] if open_only else [])]))
    table = fmt == "table"
    selection = FindingFilter(
        min_severity=severity,
        statuses=chosen if chosen or not table or show_all else ("open",),
        analytic=analytic,
        platform=platform,
        include_info=not table or include_info or show_all or severity == "info",
        limit=limit,
    )
    ws = ctx.obj.workspace()
    with progress("reading findings…"):
        items = load_findings(ws, selection=selection)
    if fmt == "json":
        click.echo(findings_json(items))
    elif fmt in ("sarif", "ocsf"):
        from auditor.cli.output import echo_machine

        echo_machine(ws, items, fmt, ctx.obj.config().checks.frameworks_dir)
    elif fmt == "csv":
        click.echo(findings_csv(items), nl=False)
    else:
        everything = FindingFilter(min_severity=severity, analytic=analytic, platform=platform)
        _table(items, len(load_findings(ws, selection=everything)), limit is not None)


@findings.command("status")
@click.argument("finding_id")
@click.argument("status", type=click.Choice(STATUS_CHOICES))
@click.option("--note", default=None, help="Why (a ticket, who decided); kept in the finding's notes history.")
@click.option(
    "--expires",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="accepted_risk only (required there): the date after which the finding counts as open again.",
)
@click.option("--author", default=None, help="Who sets it (default: the login running the command).")
@click.pass_obj
def set_status(
    app: AppContext, finding_id: str, status: str, note: str | None, expires: datetime | None, author: str | None
) -> None:
    """Set a finding's status and append it to the finding's notes; it survives re-runs (ids are stable).

    Statuses: new, triaged, confirmed (open); false_positive, resolved (closed; a check finding
    marked resolved reopens when a newer snapshot still fails); accepted_risk (needs --expires;
    open again the day after it expires).

    \b
    Example:
      auditor findings status AN0732-3f2a9c1b7d4e false_positive --note "approved restore test"
      auditor findings status CHK-9e1f0a2b3c4d accepted_risk --note "RISK-12" --expires 2027-03-31
    """
    import getpass

    from auditor.findings import set_status as write_status

    who = author
    if who is None:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = None
    write_status(app.workspace(), finding_id, status, note, expires.date() if expires else None, who)
    console().print(f"{finding_id}: {status}" + (f" until {expires.date().isoformat()}" if expires else ""))


def _table(items: list[Finding], total: int, limited: bool) -> None:
    from rich.table import Table

    table = Table(title=f"Findings ({len(items)} shown)")
    for col in ("id", "analytic or check", "severity", "actor or scope", "status"):
        table.add_column(col, no_wrap=True, overflow="fold")
    for f in items:
        status = f.status + (f" until {f.status_expires.isoformat()}" if f.status_expires else "")
        table.add_row(f.id, f.analytic, f.severity, f.actor or "", status + (" (suppressed)" if f.suppressed else ""))
    out = wide_console()
    out.print(table)
    hidden = total - len(items)
    if hidden > 0 and not limited:
        out.print(
            f"{hidden} more finding(s) not listed (suppressed, closed or info): use --all, --status or --include-info."
        )
