"""A clear exit 2 for failures of the machine: a full disk, a missing workspace, a busy workspace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from auditor.workspace.store import Workspace
from tests.helpers import gh_event, run_auditor, write_ndjson
from tests.inventory import Inventory


def _faulted(fault: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUDITOR_WORKSPACE": str(cwd / "ws")}
    env.pop("AUDITOR_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "tests.faults", fault, *args],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _says_disk_full(done: subprocess.CompletedProcess[str], ws: Path) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "disk full (no space left on device)" in done.stderr and str(ws) in done.stderr


def test_disk_full_in_import_detect_and_review_start_is_exit_2_and_the_workspace_stays_usable(
    tmp_path: Path,
) -> None:
    log = write_ndjson(tmp_path / "audit.ndjson", [gh_event(i, repo=f"acme/r{i}") for i in range(20)])
    ws = tmp_path / "ws"
    for fault in ("enospc-write", "enospc-commit"):
        _says_disk_full(_faulted(fault, "import", str(log), cwd=tmp_path), ws)
    imported = run_auditor("import", str(log), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr

    _says_disk_full(_faulted("enospc-commit", "detect", cwd=tmp_path), ws)
    assert run_auditor("detect", cwd=tmp_path).returncode == 0

    workspace = Workspace.open(ws)
    inv = Inventory(workspace)
    inv.snapshot("github", "acme")
    inv.repo("github", "acme/r1")
    inv.person("github", "alice")
    inv.membership("github", "org", "acme", "alice", "owner")
    inv.grant("github", "alice", "acme/r1", "admin", ["org_owner"])
    workspace.close()
    _says_disk_full(_faulted("enospc-commit", "review", "start", "--name", "Q1", cwd=tmp_path), ws)
    started = run_auditor("review", "start", "--name", "Q1", cwd=tmp_path)
    assert started.returncode == 0, started.stderr


def test_a_missing_workspace_is_exit_2_for_read_commands(tmp_path: Path) -> None:
    for args in (("findings",), ("accounts",), ("coverage",), ("review", "list"), ("entitlements",), ("detect",)):
        done = run_auditor("--workspace", str(tmp_path / "typo"), *args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert f"no workspace at {tmp_path / 'typo'}" in done.stderr and "check --workspace" in done.stderr
    assert not (tmp_path / "typo").exists()
    log = write_ndjson(tmp_path / "audit.ndjson", [gh_event(1)])
    assert run_auditor("--workspace", str(tmp_path / "new"), "import", str(log), cwd=tmp_path).returncode == 0
    assert run_auditor("--workspace", str(tmp_path / "new"), "findings", cwd=tmp_path).returncode == 0


def test_a_busy_workspace_names_the_process_holding_it(tmp_path: Path) -> None:
    Workspace.open(tmp_path / "ws").close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(60)", str(tmp_path / "ws" / "auditor.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        done = run_auditor("findings", cwd=tmp_path)
    finally:
        holder.terminate()
        holder.wait(timeout=10)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"the workspace is in use by process {holder.pid} (" in done.stderr, done.stderr
    assert "import duckdb" in done.stderr
