"""`auditor export events --parquet DIR`: the workspace tables detection needs, as a Parquet lake."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json
from auditor.cli.progress import progress


@click.group("export")
def export() -> None:
    """Export workspace data for other tools and engines."""


@export.command("events")
@click.option(
    "--parquet",
    "parquet_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write (absent or empty): events partitioned platform=/day=, other tables, _schema.json.",
)
@click.option("--json", "as_json", is_flag=True, help="Print rows written per table as JSON.")
@click.pass_obj
def export_events(app: AppContext, parquet_dir: Path, as_json: bool) -> None:
    """Write the normalised events and the identity, account, repository and grant tables as Parquet.

    The folder is what `auditor detect --engine spark --input DIR` reads and what
    `auditor import --parquet DIR` loads; its schema is in DIR/_schema.json and the README.

    \b
    Example:
      auditor export events --parquet ./lake && auditor detect --engine spark --input ./lake
    """
    from auditor.lake.export import export_lake

    ws = app.workspace()
    with progress(f"writing the Parquet lake {parquet_dir}…"):
        result = export_lake(ws, parquet_dir)
    if as_json:
        echo_json(result.to_json())
        return
    rows = ", ".join(f"{table} {n:,}" for table, n in result.tables.items())
    console().print(f"wrote {parquet_dir} ({result.partitions} event partitions): {rows}")
