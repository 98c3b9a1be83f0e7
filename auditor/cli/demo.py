"""`auditor demo`: the whole pipeline on the simulated tenant, offline, with no credentials."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json, findings_table
from auditor.cli.progress import progress_console

if TYPE_CHECKING:
    from auditor.findings import Finding


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    default="demo-out",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the sandbox files, the demo workspace and the reports.",
)
@click.option("--seed", default=7, show_default=True, help="Sandbox seed (same seed, same tenant).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and report paths as JSON.")
@click.pass_obj
def demo(app: AppContext, out_dir: Path, seed: int, as_json: bool) -> None:
    """Generate the sandbox tenant, collect Entra, the GitHub org (inventory and audit log) and the GitLab
    instance through the sandbox Graph, GitHub and GitLab API servers, import GitLab's streamed events,
    detect, run the governance checks, and render the executive PDF and the analyst HTML report.

    Uses its own workspace under OUT/workspace (rebuilt on every run), so it never touches
    your real workspace. Everything runs offline on 127.0.0.1.

    \b
    Example:
      auditor demo --out ./demo-out
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from auditor.checks.run import run_checks
    from auditor.cli.demo_build import build_sandbox_workspace
    from auditor.detect.bulk import run_detection
    from auditor.reports.render import render_reports

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=progress_console(),
        disable=as_json,
    ) as progress:
        task = progress.add_task("starting", total=7)

        def step(name: str) -> None:
            progress.update(task, advance=1, description=name)

        run = build_sandbox_workspace(out_dir, seed, step)
        step("detect")
        ws, summary = run.ws, run.imported
        github_events = int(str((run.github or {}).get("audit_events_imported", 0)))
        detection = run_detection(ws, run.config)
        step("governance checks")
        checks = run_checks(ws, run.config, load="none")
        step("render reports")
        paths = render_reports(ws, run.config, out_dir, config_dir=run.sandbox_dir)
        progress.update(task, completed=7, description="done")
    sandbox_dir, ws_dir, sandbox, entra = run.sandbox_dir, ws.root, run.tenant, run.entra_signins
    from auditor.findings import load_findings

    top = load_findings(ws, include_suppressed=False)
    data = {
        "sandbox": str(sandbox_dir),
        "entra_signins": entra,
        "github": run.github,
        "gitlab_audit_events": run.gitlab_audit_events,
        "workspace": str(ws_dir),
        "events": summary.imported + github_events,
        "rejected": summary.rejected,
        "findings": detection.findings,
        "open": detection.open,
        "suppressed": detection.suppressed,
        "checks": {
            "run_id": checks.run_id,
            "controls": len(checks.controls),
            "failing": sum(1 for c in checks.controls if c.status == "fail"),
            "findings": checks.findings,
        },
        "html": str(paths.html),
        "pdf": str(paths.pdf),
        "top_finding": top[0].to_json() if top else None,
        "scenarios": sandbox.scenarios,
    }
    if as_json:
        echo_json(data)
        return
    print_demo(data, top)


def print_demo(data: dict[str, Any], top: list[Finding]) -> None:
    """The demo's human summary: the top findings, the governance result and where everything went."""
    _print_summary(top, int(data["events"]), int(data["open"]), int(data["suppressed"]))
    out = console()
    checks = data["checks"]
    out.print(f"Governance checks: {checks['failing']} failing control(s) of {checks['controls']} (auditor check).")
    out.print(f"\nSandbox files:  {data['sandbox']}")
    out.print(f"Workspace:      {data['workspace']}")
    out.print(f"HTML report:    {data['html']}")
    out.print(f"PDF report:     {data['pdf']}")


def _print_summary(findings: list[Finding], events: int, open_: int, suppressed: int) -> None:
    title = (
        f"AN0732 on the sandbox: {events:,} events, {open_} open findings, "
        f"{suppressed} suppressed (approved automation)"
    )
    console().print(findings_table(findings[:10], title, suppression_column=False))
