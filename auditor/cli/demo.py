"""`auditor demo`: the whole pipeline on the simulated tenant, offline, with no credentials."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json, findings_table

if TYPE_CHECKING:
    from auditor.findings import Finding
    from auditor.workspace.store import Workspace


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
    """Generate the sandbox tenant, collect Entra through the sandbox Graph server, import the
    GitHub and GitLab logs, detect, and render the HTML and PDF report.

    Uses its own workspace under OUT/workspace (rebuilt on every run), so it never touches
    your real workspace. Everything runs offline on 127.0.0.1.

    \b
    Example:
      auditor demo --out ./demo-out
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from auditor.config.loader import load_config
    from auditor.detect.bulk import run_detection
    from auditor.importers.pipeline import import_files
    from auditor.reports.render import render_demo_report
    from auditor.sandbox.generate import generate_tenant
    from auditor.workspace.store import Workspace

    sandbox_dir, ws_dir = out_dir / "sandbox", out_dir / "workspace"
    for stale in (sandbox_dir, ws_dir):
        if stale.exists():
            shutil.rmtree(stale)
    steps = [
        "generate sandbox",
        "collect Entra (sandbox Graph API)",
        "import GitHub and GitLab logs",
        "detect",
        "render reports",
    ]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        disable=as_json,
    ) as progress:
        task = progress.add_task(steps[0], total=len(steps))
        sandbox = generate_tenant(sandbox_dir, seed=seed)
        progress.update(task, advance=1, description=steps[1])
        ws = Workspace.open(ws_dir)
        entra = _collect_entra(ws, sandbox_dir, sandbox.start)
        progress.update(task, advance=1, description=steps[2])
        files = sorted(p for d in ("github", "gitlab") for p in (sandbox_dir / d).iterdir() if p.is_file())
        summary = import_files(ws, files)
        progress.update(task, advance=1, description=steps[3])
        config = load_config(sandbox_dir / "auditor.yaml")
        detection = run_detection(ws, config)
        progress.update(task, advance=1, description=steps[4])
        paths = render_demo_report(ws, config, out_dir)
        progress.update(task, advance=1, description="done")
    from auditor.findings import load_findings

    top = load_findings(ws, include_suppressed=False)
    if as_json:
        echo_json(
            {
                "sandbox": str(sandbox_dir),
                "entra_signins": entra,
                "workspace": str(ws_dir),
                "events": summary.imported,
                "rejected": summary.rejected,
                "findings": detection.findings,
                "open": detection.open,
                "suppressed": detection.suppressed,
                "html": str(paths.html),
                "pdf": str(paths.pdf),
                "top_finding": top[0].to_json() if top else None,
                "scenarios": sandbox.scenarios,
            }
        )
        return
    _print_summary(top, summary.imported, detection.open, detection.suppressed)
    out = console()
    out.print(f"\nSandbox files:  {sandbox_dir}")
    out.print(f"Workspace:      {ws_dir}")
    out.print(f"HTML report:    {paths.html}")
    out.print(f"PDF report:     {paths.pdf}")


def _collect_entra(ws: Workspace, sandbox_dir: Path, start: datetime) -> int:
    """Serve the sandbox tenant as Microsoft Graph on 127.0.0.1 and collect it with the real connector."""
    import secrets

    from auditor.config.models import EntraSource
    from auditor.connectors.entra.auth import AsyncStaticTokenCredential
    from auditor.connectors.entra.collect import collect
    from auditor.connectors.entra.load import load_collected
    from auditor.importers.sqlfuncs import install_macros
    from auditor.sandbox.graph.server import serve_graph

    token = secrets.token_urlsafe(16)
    since = start.replace(tzinfo=None) - timedelta(days=1)
    with serve_graph(sandbox_dir, token=token) as server:
        source = EntraSource(tenant_id="acme", graph_url=server.url, arm_url=server.url, groups=["Engineering"])
        collected = collect(source, AsyncStaticTokenCredential(token), since)
    install_macros(ws.con)
    return load_collected(ws, "acme", collected, since).signins_imported


def _print_summary(findings: list[Finding], events: int, open_: int, suppressed: int) -> None:
    title = (
        f"AN0732 on the sandbox: {events:,} events, {open_} open findings, "
        f"{suppressed} suppressed (approved automation)"
    )
    console().print(findings_table(findings[:10], title, suppression_column=False))
