"""`auditor run`: the whole pipeline for a schedule (cron, systemd timer, CI), with exit codes a job can act on:
0 clean, 3 open findings at or above `--fail-on`, 2 unusable input, credentials or configuration, 1 a bug."""

from __future__ import annotations

import glob
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json, wide_console
from auditor.cli.progress import progress
from auditor.errors import ConfigError, InputError

if TYPE_CHECKING:
    from auditor.config.models import AuditorConfig
    from auditor.connectors.kit.summary import CollectSummary

EXIT_FINDINGS = 3
SEVERITIES = ["info", "low", "medium", "high", "critical"]


def import_paths(patterns: list[str], base: Path | None) -> list[Path]:
    """The files `run.imports` names: relative entries from `base` (the config file's folder); a glob may match
    nothing, a plain path must exist. Sorted, each once."""
    found: dict[Path, None] = {}
    for pattern in patterns:
        path = Path(pattern).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        if glob.has_magic(str(path)):
            for match in sorted(glob.glob(str(path), recursive=True)):
                if Path(match).is_file():
                    found[Path(match)] = None
        elif path.is_file():
            found[path] = None
        else:
            raise InputError(f"run.imports names {pattern}, which is not a file", str(path))
    return list(found)


def _relative_to_config(path: Path, app: AppContext) -> Path:
    if path.is_absolute() or app.config_file is None:
        return path
    return app.config_file.parent / path


@click.command("run")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default=None,
    help="Exit 3 when an open finding (detection or failed control) has this severity or above "
    "(default: the config's run.fail_on; none: never).",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.pdf, report.html and evidence.zip (default: the config's run.out, auditor-run).",
)
@click.option("--evidence/--no-evidence", default=None, help="Also write OUT/evidence.zip (default: run.evidence).")
@click.option("--no-collect", is_flag=True, help="Skip the live sources (import, detect, check and report only).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_obj
def run(
    app: AppContext,
    files: tuple[Path, ...],
    fail_on: str | None,
    out_dir: Path | None,
    evidence: bool | None,
    no_collect: bool,
    as_json: bool,
) -> None:
    """Collect every configured source, import the configured files (and FILES), detect, check, render the
    reports and, optionally, the evidence pack: one command for cron, a systemd timer or CI.

    The workspace is locked for the whole run (a second run at the same time exits 2 naming the first).

    \b
    Exit codes:
      0  done, and no open finding at or above --fail-on
      3  done, and open findings at or above --fail-on (listed on stderr)
      2  unusable input, credentials or configuration, or a busy workspace (reason on stderr)
      1  internal error (a bug: please report it with the traceback)

    \b
    Example:
      auditor --config /etc/auditor/auditor.yaml --workspace /var/lib/auditor run --fail-on high --evidence
      auditor run --no-collect exports/*.ndjson --fail-on high --out ./auditor-out
    """
    from auditor.workspace.lock import workspace_lock

    config = app.config()  # configuration problems first, before anything is written
    settings = config.run
    base = app.config_file.parent if app.config_file else None
    paths = [*import_paths(settings.imports, base), *files]
    missing = [p for p in files if not p.is_file()]
    if missing:
        raise InputError("not a file", str(missing[0]))
    sources = config.sources
    collecting = not no_collect and bool(sources.entra or sources.github or sources.gitlab)
    if not collecting and not paths:
        raise ConfigError(
            "nothing to collect or import: configure sources (github, gitlab, entra) or run.imports, or give FILES"
        )
    threshold = fail_on or settings.fail_on
    out = out_dir if out_dir is not None else _relative_to_config(settings.out, app)
    with_evidence = settings.evidence if evidence is None else evidence
    with workspace_lock(Path(app.workspace_dir), "auditor run"):
        summary = _pipeline(app, config, paths, collecting, out, with_evidence)
        summary["fail_on"] = threshold
        above = _at_or_above(app, threshold)
    summary["findings_at_or_above"] = len(above)
    summary["exit_code"] = EXIT_FINDINGS if above else 0
    collected = summary.pop("_collected")
    if as_json:
        echo_json(summary)
    else:
        _print(summary, collected)
    if above:
        err = console(stderr=True)
        err.print(f"{len(above)} open finding(s) at or above {threshold}:")
        for finding_id, analytic, severity, actor in above[:20]:
            err.print(f"  {finding_id}  {severity}  {analytic}  {actor}", markup=False)  # actor: platform data
        if len(above) > 20:
            err.print(f"  ... {len(above) - 20} more (auditor findings --severity {threshold} --status open)")
        sys.exit(EXIT_FINDINGS)


def _pipeline(
    app: AppContext,
    config: AuditorConfig,
    paths: list[Path],
    collecting: bool,
    out: Path,
    with_evidence: bool,
) -> dict[str, Any]:
    """Each step in order; any AuditorError stops the run (exit 2) with the steps before it kept."""
    from auditor.checks.run import run_checks
    from auditor.cli.collect import collect_configured
    from auditor.detect.bulk import run_detection
    from auditor.evidence.pack import export_pack
    from auditor.importers.pipeline import import_files
    from auditor.reports.render import render_reports

    summary: dict[str, Any] = {"workspace": str(app.workspace_dir)}
    # The connectors show their own status line, so the run's spinner starts after them.
    collected = collect_configured(app) if collecting else []
    summary["collected"] = [c.to_json() for c in collected]
    ws = app.workspace()
    try:
        with progress(f"importing {len(paths)} file(s)…") as status:
            summary["imported"] = import_files(ws, paths).to_json() if paths else None
            status("detecting (AN0732)…")
            summary["detection"] = run_detection(ws, config).to_json()
            status("running the governance checks…")
            checks = run_checks(ws, config, load="none")
            failing = sum(1 for c in checks.controls if c.status == "fail")
            summary["checks"] = {"run_id": checks.run_id, "controls": len(checks.controls), "failing": failing,
                                 "findings": checks.findings}  # fmt: skip
            status("rendering the reports…")
            config_dir = app.config_file.parent if app.config_file else None
            paths_out = render_reports(ws, config, out, config_dir=config_dir)
            summary["report"] = {"html": str(paths_out.html), "pdf": str(paths_out.pdf)}
            summary["evidence"] = None
            if with_evidence:
                status("writing the evidence pack…")
                pack = export_pack(
                    ws, config, out / "evidence.zip", app.config_file, max_raw_bytes=config.run.max_raw_mb << 20
                )
                if pack.raw_problems:
                    raise InputError(
                        "the evidence store is damaged: " + "; ".join(pack.raw_problems[:3]), str(pack.path)
                    )
                summary["evidence"] = pack.to_json()
    finally:
        ws.close()
    summary["_collected"] = collected  # the summaries themselves, for the table (not part of the JSON)
    return summary


def _at_or_above(app: AppContext, threshold: str | None) -> list[tuple[str, str, str, str]]:
    """(id, analytic, severity, actor) of open findings at or above `threshold`, most severe first."""
    if threshold is None:
        return []
    from auditor.findings import FindingFilter, load_findings

    ws = app.workspace()
    try:
        selection = FindingFilter(min_severity=threshold, statuses=("open",), include_info=True)
        return [(f.id, f.analytic, f.severity, f.actor or "") for f in load_findings(ws, selection=selection)]
    finally:
        ws.close()


def _print(summary: dict[str, Any], collected: list[CollectSummary]) -> None:
    from auditor.cli.collect import print_summaries

    out = wide_console()  # no wrapping at 80 columns in a log or a CI job's output
    print_summaries(collected, out)
    imported = summary["imported"]
    if imported is not None:
        out.print(
            f"Imported {imported['imported']:,} event(s) from {len(imported['files'])} file(s) "
            f"({imported['duplicates']:,} duplicate(s), {imported['rejected']:,} rejected line(s))."
        )
    detection = summary["detection"]
    out.print(f"Detection: {detection['findings']} finding(s), {detection['open']} open, "
              f"{detection['suppressed']} suppressed.")  # fmt: skip
    checks = summary["checks"]
    out.print(f"Checks: {checks['failing']} failing control(s) of {checks['controls']}.")
    out.print(f"Executive summary (PDF): {summary['report']['pdf']}", markup=False)
    out.print(f"Analyst report (HTML):   {summary['report']['html']}", markup=False)
    if summary["evidence"] is not None:
        out.print(f"Evidence pack:           {summary['evidence']['path']}", markup=False)
    if summary["fail_on"]:
        out.print(f"Open findings at or above {summary['fail_on']}: {summary['findings_at_or_above']}.")
