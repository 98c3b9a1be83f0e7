"""`auditor check`: governance checks over the latest inventory, with framework mappings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json

if TYPE_CHECKING:
    from auditor.checks.run import CheckRun


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print every result (and per-check counts) as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Table: list passing results too, not only failures.")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(min=0), help="Table: rows shown per check (0: all)."
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when any check fails (for CI); 0 otherwise.")
@click.pass_obj
def check(app: AppContext, as_json: bool, show_all: bool, limit: int, exit_code: bool) -> None:
    """Run the governance checks (access, credentials, apps, logging) over the latest snapshot per platform.

    Each result is pass, fail or not_evaluated (a coverage gap or a missing source hides the input:
    never a pass). Results are stored (check_results) and every failure is also a finding
    (`auditor findings`, analytic check:ID). Thresholds: the `checks:` config section.

    \b
    Example:
      auditor check
      auditor check --json | jq '.results[] | select(.status == "fail")'
    """
    from auditor.checks.run import run_checks

    run = run_checks(app.workspace(), app.config(), load="all" if as_json or show_all else "problems")
    if as_json:
        echo_json(run.to_json())
    else:
        _print(run, show_all, limit, app.config().checks.frameworks_dir)
    if exit_code and any(r.status == "fail" for r in run.results):
        sys.exit(1)


def _print(run: CheckRun, show_all: bool, limit: int, app_frameworks_dir: Path | None) -> None:
    from rich.table import Table

    from auditor.checks.registry import registry

    reg = registry()
    summary = Table(title=f"Checks ({run.run_id})")
    for col in ("check", "severity", "pass", "fail", "not evaluated", "frameworks"):
        summary.add_column(col)
    from auditor.checks.frameworks import labels_by_check, load_frameworks

    frameworks = labels_by_check(load_frameworks(app_frameworks_dir))
    for check_id, counts in run.counts().items():
        summary.add_row(
            check_id,
            reg[check_id].meta.severity,
            str(counts["pass"]),
            str(counts["fail"]),
            str(counts["not_evaluated"]),
            ", ".join(frameworks.get(check_id, ())),
        )
    details = Table(title="Failed and not evaluated" if not show_all else "All results")
    for col in ("check", "platform", "resource", "status", "detail"):
        details.add_column(col)
    shown: dict[str, int] = {}
    hidden = 0
    for r in run.results:
        if not show_all and r.status == "pass":
            continue
        if limit and shown.get(r.check_id, 0) >= limit:
            hidden += 1
            continue
        shown[r.check_id] = shown.get(r.check_id, 0) + 1
        details.add_row(r.check_id, r.platform or "", r.resource, r.status, r.detail)
    out = console()
    out.print(summary)
    if details.row_count:
        out.print(details)
    if hidden:
        out.print(f"{hidden} more result(s) not listed (--limit {limit}); all are in `auditor check --json`.")
    out.print(f"{run.findings} failed result(s) written as findings (auditor findings).")
    if run.skipped:
        out.print(f"disabled by config: {', '.join(run.skipped)}")
