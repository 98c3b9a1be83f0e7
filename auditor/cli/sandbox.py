"""`auditor sandbox`: the simulated "acme" tenant for demos, tests and benchmarks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.sandbox_serve import serve

if TYPE_CHECKING:
    from auditor_sandbox.generate import SandboxSummary


@click.group("sandbox")
def sandbox() -> None:
    """Simulated tenant "acme": vendor-format logs with labelled incidents and benign bulk workflows."""


sandbox.add_command(serve)  # `sandbox serve graph|github|gitlab`, in its own module


@sandbox.command("generate")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed; same seed, same bytes.")
@click.option("--users", default=300, show_default=True, type=click.IntRange(min=30), help="Entra users.")
@click.option("--repos", default=400, show_default=True, type=click.IntRange(min=30), help="Repos and projects.")
@click.option("--days", default=90, show_default=True, type=click.IntRange(min=14), help="Days of activity.")
@click.option(
    "--events",
    default=None,
    type=click.IntRange(min=1),
    help="Scale developers' GitHub git activity so all files hold about this many records (±5%).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def generate(out_dir: Path, seed: int, users: int, repos: int, days: int, events: int | None, as_json: bool) -> None:
    """Write the tenant's logs under OUT_DIR in the vendors' own export formats.

    Files: entra/users.json, entra/signins.ndjson, github/audit-log.ndjson,
    gitlab/audit-events.ndjson, gitlab/api_json.log, ground_truth.json, a matching
    auditor.yaml, and inventory/gitlab.json (the GitLab instance `serve gitlab` answers with).
    The window ends at 2026-10-01T00:00:00Z.

    \b
    Example:
      auditor sandbox generate ./acme
      auditor sandbox generate ./acme-small --users 60 --repos 80 --days 30 --json
      auditor sandbox generate ./acme-big --events 10000000
    """
    from auditor_sandbox.generate import generate_tenant

    with _progress(enabled=_show_progress(events)) as progress:
        try:
            summary = generate_tenant(
                out_dir, seed=seed, users=users, repos=repos, days=days, events=events, progress=progress
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    if as_json:
        from auditor.cli.output import echo_json

        echo_json(_as_dict(summary))
    else:
        _print_table(summary)


def _show_progress(events: int | None) -> bool:
    """A bar only for runs long enough to need one, and only on a terminal."""
    import sys

    return sys.stderr.isatty() and (events is None or events >= 500_000)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from auditor.cli.progress import progress_console

    with Progress(
        TextColumn("generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=progress_console(),
        transient=True,
    ) as bar:
        task = bar.add_task("generate", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _as_dict(summary: SandboxSummary) -> dict[str, Any]:
    return {
        "out_dir": str(summary.out_dir),
        "files": summary.files,
        "records": sum(summary.files.values()),
        "scenarios": summary.scenarios,
        "start": summary.start.isoformat().replace("+00:00", "Z"),
        "end": summary.end.isoformat().replace("+00:00", "Z"),
    }


def _print_table(summary: SandboxSummary) -> None:
    from rich.table import Table

    from auditor.cli.output import console

    table = Table(title=f"acme sandbox in {summary.out_dir}")
    table.add_column("file")
    table.add_column("records", justify="right")
    for path, count in summary.files.items():
        table.add_row(path, f"{count:,}")
    table.add_row("total", f"{sum(summary.files.values()):,}", style="bold")
    out = console()
    out.print(table)
    out.print(
        f"{summary.scenarios} labelled scenarios (ground_truth.json), window "
        f"{summary.start:%Y-%m-%d} to {summary.end:%Y-%m-%d} UTC"
    )
