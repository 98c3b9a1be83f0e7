"""The command line as users script it: JSON shapes, exit codes, help texts, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from tests.helpers import gh_event, write_ndjson

COMMANDS = [
    ["import"],
    ["detect"],
    ["findings"],
    ["demo"],
    ["sandbox", "generate"],
    ["collect"],
    ["collect", "entra"],
    ["coverage"],
    ["accounts"],
    ["accounts", "explain"],
    ["eval"],
    ["sandbox", "serve", "graph"],
    ["sandbox", "serve", "github"],
    ["collect", "github"],
    ["access"],
    ["credentials"],
    ["apps"],
    ["report"],
    ["run"],
    ["evidence"],
    ["evidence", "export"],
    ["evidence", "verify"],
]


def _auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUDITOR_WORKSPACE": str(cwd / "ws")}
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from auditor.cli import cli\n"
        "heavy = [m for m in ('duckdb', 'github', 'gitlab', 'msgraph', 'weasyprint') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_import_json_summary_shape(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "a.ndjson", [gh_event(1), gh_event(2)])
    result = _auditor("import", str(path), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"imported", "duplicates", "rejected", "files"} <= set(data)
    assert data["imported"] == 2
    (f,) = data["files"]
    assert {"path", "format", "events", "rejected"} <= set(f)
    assert f["format"] == "github-audit"


def test_unknown_format_exits_2_and_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    result = _auditor("import", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "notes.txt" in result.stderr and "not a known format" in result.stderr
    assert result.stdout == ""


def test_bad_config_exits_2_with_key_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("detection:\n  bulk_window_minutes: 5\n  colour: red\n")
    path = write_ndjson(tmp_path / "a.ndjson", [gh_event(1)])
    assert _auditor("import", str(path), cwd=tmp_path).returncode == 0
    result = _auditor("--config", str(cfg), "detect", cwd=tmp_path)
    assert result.returncode == 2
    assert "c.yaml:3: detection.colour: unknown key" in result.stderr


def test_unknown_forced_format_exits_2(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "a.ndjson", [gh_event(1)])
    result = _auditor("import", "--format", "nope", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "known formats" in result.stderr


def test_detect_and_findings_formats(tmp_path: Path) -> None:
    records = [gh_event(i, actor="m", repo=f"acme/r{i}", ts_ms=1_759_000_000_000 + i * 60_000) for i in range(12)]
    path = write_ndjson(tmp_path / "a.ndjson", records)
    assert _auditor("import", str(path), cwd=tmp_path).returncode == 0
    detect = _auditor("detect", "--json", cwd=tmp_path)
    assert detect.returncode == 0, detect.stderr
    assert json.loads(detect.stdout)["findings"] == 1
    as_json = json.loads(_auditor("findings", "--format", "json", cwd=tmp_path).stdout)
    assert as_json[0]["actor"] == "m"
    as_csv = _auditor("findings", "--format", "csv", cwd=tmp_path).stdout
    assert as_csv.splitlines()[0].startswith("id,analytic,severity,score")
    table = _auditor("findings", cwd=tmp_path)
    assert table.returncode == 0 and "m" in table.stdout
