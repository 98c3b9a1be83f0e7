"""`auditor check` (governance checks, per control and scope), `auditor check --list` and `auditor frameworks`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.context import AppContext
from auditor.cli.output import echo_json, echo_jsonl, echo_listing, wide_console
from auditor.cli.progress import progress

if TYPE_CHECKING:
    from auditor.checks.controls import Control
    from auditor.checks.run import CheckRun

CATALOGUE_FIELDS = ("id", "title", "severity", "category", "platforms", "frameworks")
CONTROL_FIELDS = ("check_id", "title", "severity", "platform", "scope", "status", "failing", "passing",
                  "not_evaluated", "accepted", "finding_id", "top_cause")  # fmt: skip
FRAMEWORK_FIELDS = ("framework", "title", "requirements", "automated", "manual", "checks")


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--all", "show_all", is_flag=True, help="Table: list passing controls too, not only failing ones.")
@click.option("--list", "list_only", is_flag=True, help="Print the check catalogue (no checks are run).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "sarif", "ocsf"]),
    default="table",
    show_default=True,
    help="json: controls, per-check counts and every result; csv: one row per control; sarif: SARIF 2.1.0 "
    "(a rule per check, a result per control); ocsf: OCSF Compliance Findings (class 2003) as JSON Lines.",
)
@click.option(
    "--limit", default=0, show_default=True, type=click.IntRange(min=0), help="Table: at most N controls (0: all)."
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when any check fails (for CI); 0 otherwise.")
@click.pass_obj
def check(
    app: AppContext, as_json: bool, show_all: bool, list_only: bool, fmt: str, limit: int, exit_code: bool
) -> None:
    """Run the governance checks (access, credentials, apps, logging) over the latest snapshot per platform.

    A check evaluates every resource (pass, fail or not_evaluated: a coverage gap or a missing
    source hides the input, never a pass) and is reported per control: one verdict per check and
    scope (GitHub org, GitLab top-level group or instance, Entra tenant), with the failing count and
    the top cause: the entitlement (base permission, team, group, collaborator) behind the failing
    grants and what to change. Each failing control is one finding (`auditor findings`, analytic
    check:ID, actor the scope). Per-resource results are stored (check_results) and all printed
    by --json. Thresholds and accepted risks: the `checks:` config section.

    \b
    Example:
      auditor check
      auditor check --format json | jq '.controls[] | select(.status == "fail") | .causes[0]'
      auditor check --format sarif > checks.sarif
      auditor check --list --format json
    """
    fmt = "json" if as_json else fmt
    if list_only:
        if fmt in ("sarif", "ocsf"):
            raise click.UsageError("--list prints the catalogue as table, json or csv")
        _catalogue(fmt, app.config().checks.frameworks_dir)
        return
    from auditor.checks.run import run_checks

    config = app.config()  # a config error is reported before a workspace problem
    ws = app.workspace()
    with progress("running the governance checks…"):
        run = run_checks(ws, config, load="all" if fmt == "json" else "none")
    if fmt == "json":
        echo_json(run.to_json())
    elif fmt == "csv":
        echo_listing([_control_row(c) for c in run.controls], CONTROL_FIELDS, "csv")
    elif fmt in ("sarif", "ocsf"):
        _machine(run, fmt, config.checks.frameworks_dir)
    else:
        _print(run, show_all, limit)
    if exit_code and any(counts.get("fail", 0) for counts in run.tally.values()):
        sys.exit(1)


def _control_row(c: Control) -> dict[str, Any]:
    return {
        "check_id": c.check_id, "title": c.title, "severity": c.severity, "platform": c.platform or "",
        "scope": c.scope, "status": c.status, "failing": c.failing, "passing": c.passing,
        "not_evaluated": c.not_evaluated, "accepted": c.accepted, "finding_id": c.finding_id or "",
        "top_cause": c.top_cause,
    }  # fmt: skip


def _machine(run: CheckRun, fmt: str, frameworks_dir: Path | None) -> None:
    """The controls as one SARIF log or as OCSF Compliance Findings (JSON Lines)."""
    from auditor.outputs.rules import check_rules

    rules = {cid: r for cid, r in check_rules(frameworks_dir).items() if cid not in run.skipped}
    if fmt == "sarif":
        from auditor.outputs.sarif import controls_sarif

        echo_json(controls_sarif(run.controls, rules))
    else:
        from auditor.outputs.ocsf import controls_ocsf

        echo_jsonl(controls_ocsf(run.controls, rules, run.evaluated_at))


def _print(run: CheckRun, show_all: bool, limit: int) -> None:
    from rich.table import Table

    shown = [c for c in run.controls if show_all or c.status != "pass"]
    passing = sum(1 for c in run.controls if c.status == "pass")
    table = Table(title=f"Controls ({run.run_id}): failing and not evaluated" if not show_all else "Controls")
    for col in ("check", "severity", "platform", "scope", "status", "failing", "pass", "not eval.", "top cause"):
        table.add_column(col, overflow="fold")
    order = {"fail": 0, "not_evaluated": 1, "pass": 2}
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    shown.sort(key=lambda c: (order[c.status], rank.get(c.severity, 5)))
    for c in shown[: limit or None]:
        table.add_row(
            c.check_id,
            c.severity,
            c.platform or "",
            c.scope,
            c.status,
            f"{c.failing:,}" + (f" (+{c.accepted:,} accepted)" if c.accepted else ""),
            f"{c.passing:,}",
            f"{c.not_evaluated:,}",
            c.top_cause,
        )
    out = wide_console()
    out.print(table)
    failing = sum(1 for c in run.controls if c.status == "fail")
    results = sum(sum(v.values()) for v in run.tally.values())
    out.print(
        f"{failing} failing control(s) of {len(run.controls)} ({passing} passing); {results:,} per-resource "
        f"result(s) stored (all in `auditor check --json`). {run.findings} control finding(s) written "
        "(auditor findings --analytic check:)."
    )
    if limit and len(shown) > limit:
        out.print(f"{len(shown) - limit} more control(s) not listed (--limit {limit}).")
    if run.skipped:
        out.print(f"disabled by config: {', '.join(run.skipped)}")


def _catalogue(fmt: str, frameworks_dir: Path | None) -> None:
    from rich.table import Table

    from auditor.checks.frameworks import labels_by_check, load_frameworks
    from auditor.checks.registry import registry

    labels = labels_by_check(load_frameworks(frameworks_dir))
    rows: list[dict[str, Any]] = [
        {
            "id": cid,
            "title": c.meta.title,
            "severity": c.meta.severity,
            "category": c.meta.category,
            "platforms": list(c.meta.platforms),
            "frameworks": labels.get(cid, []),
        }
        for cid, c in registry().items()
    ]
    if fmt == "csv":
        rows = [{k: "; ".join(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
    if echo_listing(rows, CATALOGUE_FIELDS, fmt):
        return
    table = Table(title=f"Checks ({len(rows)})")
    for col in CATALOGUE_FIELDS:
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["id"], r["title"], r["severity"], r["category"], ", ".join(r["platforms"]), ", ".join(r["frameworks"])
        )
    wide_console().print(table)


@click.group("frameworks")
def frameworks() -> None:
    """Compliance frameworks the checks are mapped to (data files; `checks.frameworks_dir` loads others).

    \b
    Example:
      auditor frameworks list
      auditor frameworks list --format json
    """


@frameworks.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.pass_obj
def frameworks_list(app: AppContext, fmt: str) -> None:
    """List the frameworks with their requirement counts: automated (mapped to checks) and manual.

    \b
    Example:
      auditor frameworks list --format json | jq '.[] | {framework, requirements}'
    """
    from rich.table import Table

    from auditor.checks.frameworks import load_frameworks

    rows: list[dict[str, Any]] = []
    for fw in load_frameworks(app.config().checks.frameworks_dir):
        checks = sorted({c for r in fw.requirements for c in r.checks})
        rows.append(
            {
                "framework": fw.framework,
                "title": fw.title,
                "requirements": len(fw.requirements),
                "automated": sum(1 for r in fw.requirements if r.checks),
                "manual": sum(1 for r in fw.requirements if r.manual),
                "checks": checks if fmt != "csv" else "; ".join(checks),
            }
        )
    if echo_listing(rows, FRAMEWORK_FIELDS, fmt):
        return
    table = Table(title=f"Frameworks ({len(rows)})")
    for col in ("framework", "title", "requirements", "automated", "manual", "checks"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["framework"], r["title"], str(r["requirements"]), str(r["automated"]), str(r["manual"]),
            str(len(r["checks"])),
        )  # fmt: skip
    wide_console().print(table)
