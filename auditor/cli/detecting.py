"""`auditor detect` and `auditor findings`."""

from __future__ import annotations

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json


@click.command("detect")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_obj
def detect(app: AppContext, as_json: bool) -> None:
    """Run the bulk-download detection (AN0732) over the workspace and write findings.

    \b
    Example:
      auditor detect && auditor findings --format table
    """
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


@click.command("findings")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.option("--open-only", is_flag=True, help="Leave out suppressed findings.")
@click.pass_obj
def findings(app: AppContext, fmt: str, open_only: bool) -> None:
    """Print findings (detections and failed checks).

    JSON fields: id, analytic, severity, score, actor, identity, repos, first_seen, last_seen,
    reasons, suppressed (plus platform, evidence, suppression_reason).

    \b
    Example:
      auditor findings --format json | jq '.[] | select(.severity == "high")'
    """
    from auditor.findings import findings_csv, findings_json, load_findings

    items = load_findings(app.workspace(), include_suppressed=not open_only)
    if fmt == "json":
        click.echo(findings_json(items))
    elif fmt == "csv":
        click.echo(findings_csv(items), nl=False)
    else:
        from rich.table import Table

        table = Table(title=f"Findings ({len(items)})")
        for col in ("severity", "score", "actor", "identity", "repos", "first seen", "suppressed"):
            table.add_column(col)
        for f in items:
            table.add_row(
                f.severity,
                str(f.score),
                f.actor or "",
                f.identity or "",
                str(len(f.repos)),
                f.first_seen.isoformat(timespec="minutes"),
                "yes" if f.suppressed else "",
            )
        console().print(table)
