"""`auditor detect` and `auditor findings`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json, findings_table

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

        result = run_detection(app.workspace(), app.config())
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


@click.group("findings", invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.option("--open-only", is_flag=True, help="Leave out suppressed findings (JSON and CSV include them by default).")
@click.option("--all", "show_all", is_flag=True, help="Table: list suppressed findings too, not just their count.")
@click.pass_context
def findings(ctx: click.Context, fmt: str, open_only: bool, show_all: bool) -> None:
    """Print findings (detections and failed checks); `findings status` sets their triage status.

    JSON fields: id, analytic, severity, score, actor, identity, repos, first_seen, last_seen,
    reasons, suppressed (plus platform, evidence, suppression_reason, status). JSON and CSV list
    every finding; the table lists open ones and counts the suppressed (approved automation).

    \b
    Example:
      auditor findings --format json | jq '.[] | select(.severity == "high")'
      auditor findings status AN0732-3f2a9c1b7d4e confirmed --note "INC-2231"
    """
    if ctx.invoked_subcommand is not None:
        return
    from auditor.findings import findings_csv, findings_json, load_findings

    items = load_findings(ctx.obj.workspace(), include_suppressed=not open_only)
    if fmt == "json":
        click.echo(findings_json(items))
    elif fmt == "csv":
        click.echo(findings_csv(items), nl=False)
    else:
        _table(items, show_all)


@findings.command("status")
@click.argument("finding_id")
@click.argument("status", type=click.Choice(["new", "triaged", "false_positive", "confirmed"]))
@click.option("--note", default=None, help="Why (a ticket, who decided); kept with the finding.")
@click.pass_obj
def set_status(app: AppContext, finding_id: str, status: str, note: str | None) -> None:
    """Set a finding's status; it survives re-runs of detection because finding ids are stable.

    \b
    Example:
      auditor findings status AN0732-3f2a9c1b7d4e false_positive --note "approved restore test"
    """
    from auditor.errors import InputError
    from auditor.workspace.store import utcnow

    ws = app.workspace()
    with ws.transaction() as con:
        row = con.execute(
            "UPDATE findings SET status = ?, status_note = ?, status_changed_at = ? WHERE id = ? RETURNING id",
            [status, note, utcnow(), finding_id],
        ).fetchall()
        if not row:
            raise InputError(f"no finding with id {finding_id!r}")
    console().print(f"{finding_id}: {status}")


def _table(items: list[Finding], show_all: bool) -> None:
    shown = items if show_all else [f for f in items if not f.suppressed]
    hidden = len(items) - len(shown)
    out = console()
    out.print(findings_table(shown, f"Findings ({len(shown)} shown)", suppression_column=True))
    if hidden:
        out.print(f"{hidden} suppressed finding(s) of approved automation not listed (use --all).")
