"""The analyst page in a real browser (headless Chromium) on a workspace the size of the demo after `auditor check`.

Chromium is driven through its command line (`--headless --dump-dom`): the process returns once the page has
loaded and its script has run, so the wall time is an upper bound on the load time (browser start included).
Skipped, with the reason, where no Chromium is installed (`.ci/run` installs Debian's `chromium`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from auditor.config.models import AuditorConfig, Company
from auditor.reports.render import render_reports
from auditor.workspace.store import Workspace

LOAD_LIMIT_S = 5.0
SIZE_LIMIT = 20 * 1024 * 1024
T0 = datetime(2026, 9, 1, 9, 0, 0)
CHROMIUM = next((p for p in (os.environ.get("AUDITOR_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p and Path(p).is_file()), None)  # fmt: skip


def demo_sized_check_results(ws: Workspace, failing: int = 33_000) -> None:
    """Per-object check results and their findings at the demo's scale: 33,000 failing objects over 3 checks
    and 2 orgs, plus passes; one AN0732 incident and approved automation so every section has content."""
    ws.con.execute(
        "INSERT INTO check_results (run_id, snapshot_id, check_id, title, category, severity, platform, resource, "
        "status, detail, frameworks, evaluated_at) "
        "SELECT 'checks-1', NULL, ['access.non_developer_restricted', 'access.stale', 'access.outside_collaborators']"
        "[1 + i % 3], 'A control', 'access', 'high', ['github', 'gitlab'][1 + i % 2], "
        "'user' || (i % 400) || ' on ' || ['acme-corp', 'acme'][1 + i % 2] || '/repo-' || (i // 400), "
        "CASE WHEN i < ? THEN 'fail' ELSE 'pass' END, 'role read via org_base', ['SOC2:CC6.1'], ? "
        "FROM range(?) t(i)",
        [failing, T0, failing + 5_000],
    )
    ws.con.execute(
        "INSERT INTO findings (id, analytic, severity, score, platform, actor, identity, repos, first_seen, last_seen, "
        "reasons, evidence, suppressed, suppression_reason, run_id, detected_at) "
        "SELECT 'chk-' || i, 'check:access.stale', 'high', 75, 'github', 'user' || (i % 400), NULL, "
        "['acme-corp/repo-' || (i // 400)], ?, ?, ['Stale access: a long reason that repeats for every object'], [], "
        "false, NULL, 'checks-1', ? FROM range(?) t(i)",
        [T0, T0, T0, failing],
    )
    ws.con.execute(
        "INSERT INTO findings (id, analytic, severity, score, platform, actor, identity, repos, first_seen, last_seen, "
        "reasons, evidence, suppressed, suppression_reason, run_id, detected_at) "
        "SELECT 'bot-' || i, 'AN0732', 'low', 20, 'github', 'ci-bot', NULL, ['acme-corp/repo-1'], ?, ?, ['bulk'], [], "
        "true, 'approved automation ''ci'' (ci)', 'det-1', ? FROM range(20000) t(i)",
        [T0, T0, T0],
    )
    ws.con.execute(
        "INSERT INTO findings (id, analytic, severity, score, platform, actor, identity, repos, first_seen, last_seen, "
        "reasons, evidence, suppressed, suppression_reason, run_id, detected_at) VALUES "
        "('inc-1', 'AN0732', 'critical', 95, 'github', 'mallory', NULL, ['acme-corp/repo-1'], ?, ?, ['bulk'], [], "
        "false, NULL, 'det-1', ?)",
        [T0, T0, T0],
    )


class Visible(HTMLParser):
    """Ids of elements that are not inside a closed <details> or a [hidden] element (and every id present)."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "col", "area", "base", "wbr", "source"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self.visible: set[str] = set()
        self.present: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        hidden = any(h for _, h in self.stack)
        if a.get("id"):
            self.present.add(str(a["id"]))
            if not hidden and "hidden" not in a:
                self.visible.add(str(a["id"]))
        if tag not in self.VOID:
            closed_details = tag == "details" and "open" not in a
            self.stack.append((tag, "hidden" in a or closed_details))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def load_in_chromium(page: Path, profile: Path) -> tuple[float, str]:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-2000:]
    return elapsed, done.stdout


def test_analyst_html_after_checks_is_small(ws: Workspace, tmp_path: Path) -> None:
    demo_sized_check_results(ws)
    paths = render_reports(ws, AuditorConfig(company=Company(name="Acme")), tmp_path / "out", config_dir=tmp_path)
    size = paths.html.stat().st_size
    assert size <= SIZE_LIMIT, f"report.html is {size / 1024 / 1024:.1f} MB"
    html = paths.html.read_text(encoding="utf-8")
    assert html.count("Stale access: a long reason") == 0  # check findings are shown as controls, not one by one
    assert html.count('<tr><td><span class="st st-fail">fail</span>') == 6  # 3 controls x 2 scopes


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium); .ci/run installs it")
def test_analyst_html_loads_in_chromium_within_5_s_with_summary_and_controls_visible(
    ws: Workspace, tmp_path: Path
) -> None:
    demo_sized_check_results(ws)
    paths = render_reports(ws, AuditorConfig(company=Company(name="Acme")), tmp_path / "out", config_dir=tmp_path)
    elapsed, dom = load_in_chromium(paths.html, tmp_path / "profile")
    assert elapsed <= LOAD_LIMIT_S, f"Chromium took {elapsed:.1f} s to load report.html"
    seen = Visible()
    seen.feed(dom)
    assert {"summary", "top-controls", "controls-table"} <= seen.visible, seen.present
    assert "incident-inc-1" in seen.present
    assert 'class="filter"' in dom and 'class="filter"' not in paths.html.read_text(
        encoding="utf-8"
    )  # report.js ran in the browser (it adds the table filters)
