"""`auditor import`: vendor export files into the workspace."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json
from auditor.cli.progress import progress


@click.command("import")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "format_name", default=None, help="Force a format instead of auto-detecting.")
@click.option(
    "--parquet",
    "parquet_dir",
    default=None,
    type=click.Path(path_type=Path, file_okay=False),
    help="Import a Parquet lake folder (the schema `auditor export events --parquet` writes) instead of files.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
def import_cmd(
    app: AppContext, paths: tuple[Path, ...], format_name: str | None, parquet_dir: Path | None, as_json: bool
) -> None:
    """Import GitHub, GitLab and Entra export files (format auto-detected).

    Each file is kept in the evidence store by SHA-256; re-importing adds nothing. Malformed
    lines are counted and kept aside with file:line. A file of no known format stops the run
    with exit code 2 and leaves the workspace unchanged.

    \b
    Formats: github-audit (NDJSON, JSON array, CSV), gitlab-audit, gitlab-api-log,
    entra-signin-diagnostic, entra-signin-loganalytics, entra-signin-graph, entra-signin-csv,
    entra-users.

    \b
    Example:
      auditor import audit-log.ndjson signins.json users.json --json
      auditor import --parquet ./lake --json
    """
    if parquet_dir is not None:
        if paths or format_name:
            raise click.UsageError("--parquet takes a folder; give files or --parquet, not both")
        from auditor.lake.load import import_lake

        lake_summary = import_lake(app.workspace(), parquet_dir)
        if as_json:
            echo_json(lake_summary.to_json())
        else:
            _print_table(lake_summary)
        return
    if not paths:
        raise click.UsageError("give at least one file to import, or --parquet DIR")
    from auditor.importers.pipeline import import_files
    from auditor.importers.registry import get_format

    forced = get_format(format_name) if format_name else None
    ws = app.workspace()
    out = console(stderr=True)
    if as_json:
        summary = import_files(ws, list(paths), forced)
        echo_json(summary.to_json())
        return
    with progress("importing…") as status:
        summary = import_files(ws, list(paths), forced, progress=status)
    _print_table(summary)
    gaps = ws.con.execute("SELECT platform, needs, consequence FROM coverage_gaps ORDER BY platform").fetchall()
    for platform, needs, consequence in gaps:
        out.print(f"[yellow]coverage gap ({platform}):[/yellow] {consequence}. Needs: {needs}.")


def _print_table(summary: object) -> None:
    from rich.table import Table

    from auditor.importers.pipeline import ImportSummary

    assert isinstance(summary, ImportSummary)
    table = Table(title="Import")
    for col in ("file", "format", "events", "duplicates", "rejected"):
        table.add_column(col, justify="right" if col in ("events", "duplicates", "rejected") else "left")
    for f in summary.files:
        note = " (already imported)" if f.already_imported else ""
        table.add_row(Path(f.path).name + note, f.format, str(f.events), str(f.duplicates), str(f.rejected))
    table.add_row("total", "", str(summary.imported), str(summary.duplicates), str(summary.rejected))
    console().print(table)
    if summary.rejected:
        console().print(
            f"[yellow]{summary.rejected} line(s) rejected and kept aside; "
            "list them with `auditor rejected` (file:line, reason, excerpt).[/yellow]"
        )
