"""`auditor report`: the executive PDF and the analyst HTML page from the workspace."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json
from auditor.cli.progress import progress


@click.command("report")
@click.option(
    "--out",
    "out_dir",
    default="auditor-report",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.pdf (executive summary) and report.html (analyst report).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report paths and headline numbers as JSON.")
@click.pass_obj
def report(app: AppContext, out_dir: Path, as_json: bool) -> None:
    """Render the executive PDF (2-4 pages) and the self-contained analyst HTML from the workspace.

    Nothing is fetched from the network; the company name and logo come from the config's
    `company` section (the logo must sit in the config file's folder).

    \b
    Example:
      auditor report --out ./reports-2026-Q4
    """
    from auditor.reports.render import render_reports

    config = app.config()
    config_dir = Path(app.config_file).parent if app.config_file else None
    ws = app.workspace()
    try:
        with progress("rendering the analyst HTML and the executive PDF…"):
            paths = render_reports(ws, config, out_dir, config_dir=config_dir)
    finally:
        ws.close()
    if as_json:
        echo_json({"html": str(paths.html), "pdf": str(paths.pdf)})
        return
    out = console()
    out.print(f"Executive summary (PDF): {paths.pdf}")
    out.print(f"Analyst report (HTML):   {paths.html}")
