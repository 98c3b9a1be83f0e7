"""Progress on stderr only on a terminal and never with --quiet; --verbose logs the steps; output to a pipe is
not cut at 80 columns."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_SAMPLES


def _sample() -> str:
    path = SHARED_SAMPLES / "github" / "org-audit-log.ndjson"
    if not path.is_file():
        pytest.skip(f"real samples not present: {SHARED_SAMPLES}")
    return str(path)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AUDITOR_CONFIG", "AUDITOR_WORKSPACE")}
    return env | {"TERM": "xterm", "COLUMNS": "100"}


def _with_tty_stderr(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run `python -m auditor ARGS` with stderr on a pseudo-terminal and stdout on a pipe."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", *args], cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=terminal
    )
    os.close(terminal)
    seen = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    os.close(controller)
    return proc.wait(timeout=120), out, seen.decode("utf-8", "replace")


def test_progress_shows_on_a_terminal_and_not_with_quiet(tmp_path: Path) -> None:
    run = ["--workspace", "ws", "run", "--no-collect", _sample(), "--out", "out"]
    code, out, err = _with_tty_stderr(run, tmp_path)
    assert code == 0, err
    assert "rendering the reports" in err  # the spinner's text reached the terminal
    assert "rendering the reports" not in out and "Executive summary (PDF)" in out
    code, out, err = _with_tty_stderr(["--quiet", *run], tmp_path)
    assert code == 0
    assert "rendering" not in err and "detecting" not in err
    assert "Executive summary (PDF)" in out


def test_no_progress_off_a_terminal_and_no_wrapping_at_80_columns(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-for-reports-" * 3)
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "--workspace", "ws", "run", "--no-collect", _sample(), "--out", str(deep)],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no spinner, no bars, nothing else
    line = next(x for x in done.stdout.splitlines() if x.startswith("Executive summary (PDF):"))
    assert line.endswith("report.pdf") and len(line) > 150  # one line, not folded at 80 columns


def test_verbose_logs_the_steps_with_times_and_quiet_excludes_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "-v", "--workspace", "ws", "run", "--no-collect", _sample()],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    steps = [line for line in done.stderr.splitlines() if " INFO auditor.progress: " in line]
    assert [s.split(": ", 1)[1] for s in steps] == [
        "importing 1 file(s)…",
        "detecting (AN0732)…",
        "running the governance checks…",
        "rendering the reports…",
    ]
    both = subprocess.run(
        [sys.executable, "-m", "auditor", "-q", "-v", "findings"], cwd=tmp_path, env=_env(), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert both.returncode == 2 and "--quiet or --verbose, not both" in both.stderr


def test_verbose_shows_the_traceback_of_a_reported_error(tmp_path: Path) -> None:
    plain = subprocess.run(
        [sys.executable, "-m", "auditor", "--workspace", "missing", "findings"], cwd=tmp_path, env=_env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert plain.returncode == 2 and "no workspace at" in plain.stderr and "Traceback" not in plain.stderr
    verbose = subprocess.run(
        [sys.executable, "-m", "auditor", "-v", "--workspace", "missing", "findings"], cwd=tmp_path, env=_env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr and "WorkspaceError" in verbose.stderr
