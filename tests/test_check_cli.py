"""`auditor check` as users script it: JSON shape, findings, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from auditor.workspace.store import Workspace
from tests.inventory import Inventory

REPO = "acme-corp/payments-api"


def _auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUDITOR_WORKSPACE": str(cwd / "ws")}
    env.pop("AUDITOR_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _planted(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    inv = Inventory(ws)
    inv.repo("github", REPO)
    inv.account("github", "vendor-dev")
    inv.grant("github", "vendor-dev", REPO, "read", ["outside_collaborator"])
    ws.close()


def test_check_json_lists_every_check_and_failures_become_findings(tmp_path: Path) -> None:
    _planted(tmp_path)
    result = _auditor("check", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"run_id", "evaluated_at", "snapshot_ids", "checks", "results", "findings"} <= set(data)
    outside = next(c for c in data["checks"] if c["id"] == "access.outside_collaborators")
    assert outside["fail"] == 1 and outside["severity"] == "high"
    failed = [r for r in data["results"] if r["status"] == "fail" and r["check_id"] == "access.outside_collaborators"]
    assert failed[0]["resource"] == f"vendor-dev on {REPO}" and "SOC2:CC6.1" in failed[0]["frameworks"]
    listing = json.loads(_auditor("findings", "--format", "json", cwd=tmp_path).stdout)
    assert any(f["analytic"] == "check:access.outside_collaborators" and f["actor"] == "acme-corp" for f in listing)


def test_check_table_and_exit_code_flag(tmp_path: Path) -> None:
    _planted(tmp_path)
    table = _auditor("check", cwd=tmp_path)
    assert table.returncode == 0 and "control finding(s) written" in table.stdout
    assert _auditor("check", "--exit-code", cwd=tmp_path).returncode == 1


def test_check_exit_code_flag_is_zero_without_failures(tmp_path: Path) -> None:
    Workspace.open(tmp_path / "ws").close()
    assert _auditor("check", "--exit-code", cwd=tmp_path).returncode == 0


def test_bad_checks_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("checks:\n  max_org_owners: 0\n", encoding="utf-8")
    result = _auditor("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "checks.max_org_owners" in result.stderr and "bad.yaml:2" in result.stderr


def test_bad_frameworks_dir_exits_2(tmp_path: Path) -> None:
    (tmp_path / "fw").mkdir()
    (tmp_path / "fw" / "x.yaml").write_text(
        "framework: X\ntitle: t\nrequirements:\n  - {id: A, title: abc, checks: [access.gone]}\n", encoding="utf-8"
    )
    config = tmp_path / "c.yaml"
    config.write_text(f"checks:\n  frameworks_dir: {tmp_path / 'fw'}\n", encoding="utf-8")
    Workspace.open(tmp_path / "ws").close()
    result = _auditor("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2 and "access.gone" in result.stderr


def test_check_and_review_commands_have_help_with_an_example() -> None:
    from click.testing import CliRunner

    from auditor.cli import cli

    for command in (["check"], ["review"], ["review", "start"], ["review", "import"], ["review", "status"],
                    ["review", "close"]):  # fmt: skip
        result = CliRunner().invoke(cli, [*command, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, command


def test_help_does_not_import_openpyxl_or_the_checks() -> None:
    code = (
        "import sys; from auditor.cli import cli\n"
        "print(','.join(m for m in ('openpyxl', 'auditor.checks.run', 'auditor.review.campaign') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
