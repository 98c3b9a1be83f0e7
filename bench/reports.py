"""Benchmark: the executive PDF for the default sandbox, the analyst HTML for 10,000 findings, and
`auditor report` after `auditor check` on the demo workspace (issue #14).

Run: .venv/bin/python bench/reports.py [--findings 10000] [--workspace DIR --config FILE] [--after-check-only]
Targets (issue #8): executive PDF <= 5 s; analyst HTML for 10,000 findings <= 10 s and <= 20 MB.
Targets (issue #14): after `auditor check` on the demo, the whole report (both files written) <= 10 s,
report.html <= 20 MB and loaded by headless Chromium (/usr/bin/chromium, when installed) in <= 5 s.
`--workspace` takes an existing demo workspace (e.g. demo-out/workspace, with demo-out/sandbox/auditor.yaml);
it is copied first, never modified.
The sandbox workspace is built (generated, Entra collected, logs imported, detected) once, untimed,
and kept under bench/out. For the HTML run, the detector's findings are cloned into a copy of that
workspace until it holds the requested number (same reasons, repos and evidence shape, new ids and
actors, a severity mix of 2% critical, 3% high, 35% medium, 60% low).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OUT = Path(__file__).resolve().parent / "out" / "reports"
PDF_TARGET_S, HTML_TARGET_S, HTML_TARGET_MB = 5.0, 10.0, 20.0
REPORT_TARGET_S, LOAD_TARGET_S = 10.0, 5.0


def sandbox_workspace() -> Path:
    """The default sandbox (seed 7) with detection run; built once."""
    ws_dir = OUT / "workspace"
    if not (OUT / ".built").exists():
        from auditor.cli.demo_build import build_sandbox_workspace
        from auditor.detect.bulk import run_detection

        print("building the default sandbox workspace (untimed) ...", flush=True)
        run = build_sandbox_workspace(OUT)
        run_detection(run.ws, run.config)
        run.ws.close()
        (OUT / ".built").touch()
    return ws_dir


def inflate(src: Path, dst: Path, total: int) -> int:
    """Copy the workspace and clone its findings up to `total`; returns the number of findings."""
    from auditor.workspace.store import Workspace

    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    ws = Workspace.open(dst)
    have = ws.con.execute("SELECT count(*) FROM findings").fetchone()
    n = int(have[0]) if have else 0
    copies = max((total - n + n - 1) // max(n, 1), 0)
    ws.con.execute(
        "INSERT INTO findings (id, analytic, severity, score, platform, actor, identity, repos, first_seen, last_seen, "
        "reasons, evidence, suppressed, suppression_reason, run_id, detected_at) "
        "SELECT f.id || '-c' || c.range, f.analytic, "
        "CASE WHEN hash(f.id, c.range) % 100 < 2 THEN 'critical' WHEN hash(f.id, c.range) % 100 < 5 THEN 'high' "
        "WHEN hash(f.id, c.range) % 100 < 40 THEN 'medium' ELSE 'low' END, f.score, f.platform, "
        "f.actor || '-c' || c.range, f.identity, f.repos, f.first_seen, f.last_seen, f.reasons, f.evidence, "
        "false, NULL, f.run_id, f.detected_at FROM findings f CROSS JOIN range(?) c "
        "QUALIFY row_number() OVER () <= ?",
        [copies, total - n],
    )
    got = ws.con.execute("SELECT count(*) FROM findings").fetchone()
    ws.close()
    return int(got[0]) if got else 0


def chromium_load_s(page: Path) -> float | None:
    """Wall time of headless Chromium loading `page` (start included: an upper bound); None without Chromium."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               f"--user-data-dir={profile}", "--dump-dom", page.as_uri()]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, timeout=900, check=True)
        return time.perf_counter() - start


def after_check(src: Path, config_file: Path) -> None:
    """`auditor check` (untimed) then `render_reports` (timed: queries, HTML, PDF, files written) on a copy."""
    from auditor.checks.run import run_checks
    from auditor.config.loader import load_config
    from auditor.reports.render import render_reports
    from auditor.workspace.store import Workspace

    ws_dir = OUT / "workspace-checked"
    if ws_dir.exists():
        shutil.rmtree(ws_dir)
    shutil.copytree(src, ws_dir)
    config = load_config(config_file)
    ws = Workspace.open(ws_dir)
    run = run_checks(ws, config, load="none")
    start = time.perf_counter()
    paths = render_reports(ws, config, OUT / "after-check", config_dir=config_file.parent)
    report_s = time.perf_counter() - start
    ws.close()
    mb = paths.html.stat().st_size / 1024 / 1024
    load = chromium_load_s(paths.html)
    print(f"{'':44} {'measured':>12} {'target':>10}")
    print(f"{f'report after check ({run.findings:,} check findings)':44} {report_s:>10.2f} s {REPORT_TARGET_S:>8.1f} s")
    print(f"{'  report.html size':44} {mb:>9.2f} MB {HTML_TARGET_MB:>7.1f} MB")
    shown = f"{load:>10.2f} s" if load is not None else f"{'no chromium':>12}"
    print(f"{'  report.html load in headless Chromium':44} {shown} {LOAD_TARGET_S:>8.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--findings", type=int, default=10_000)
    parser.add_argument("--workspace", type=Path, help="an existing demo workspace for the after-check run")
    parser.add_argument("--config", type=Path, help="the config that workspace was built with")
    parser.add_argument("--after-check-only", action="store_true", help="only the after-check run")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.workspace is None:
        ws_dir = sandbox_workspace()
        config_file = OUT / "sandbox" / "auditor.yaml"
    else:
        ws_dir, config_file = args.workspace, args.config or args.workspace.parent / "sandbox" / "auditor.yaml"
    after_check(ws_dir, config_file)
    if args.after_check_only:
        return

    from auditor.config.loader import load_config
    from auditor.reports.render import build_report, render_html, render_pdf_bytes, templates_dir
    from auditor.workspace.store import Workspace

    config = load_config(config_file)
    root = templates_dir()

    ws = Workspace.open(ws_dir)
    start = time.perf_counter()
    rep = build_report(ws, config, analyst=False)
    pdf = render_pdf_bytes(rep, root)  # the first render in this process: includes importing WeasyPrint
    pdf_s = time.perf_counter() - start
    ws.close()
    (OUT / "executive.pdf").write_bytes(pdf)
    from pypdf import PdfReader

    pages = len(PdfReader(OUT / "executive.pdf").pages)

    big = OUT / "workspace-10k"
    findings = inflate(ws_dir, big, args.findings)
    ws = Workspace.open(big)
    start = time.perf_counter()
    rep = build_report(ws, config)
    html = render_html(rep, root).encode("utf-8")
    html_s = time.perf_counter() - start
    ws.close()
    (OUT / "analyst.html").write_bytes(html)
    mb = len(html) / 1024 / 1024

    print(f"{'':44} {'measured':>12} {'target':>10}")
    print(f"{'executive PDF, default sandbox (' + str(pages) + ' pages)':44} {pdf_s:>10.2f} s {PDF_TARGET_S:>8.1f} s")
    print(f"{f'analyst HTML, {findings:,} findings: time':44} {html_s:>10.2f} s {HTML_TARGET_S:>8.1f} s")
    print(f"{f'analyst HTML, {findings:,} findings: size':44} {mb:>9.2f} MB {HTML_TARGET_MB:>7.1f} MB")
    print(f"({len(rep.packs):,} incident packs built, {min(len(rep.packs), rep.incidents_in_html)} shown in the page)")
    print(f"load average while measuring: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
