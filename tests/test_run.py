"""`auditor run`: the scheduled pipeline and its exit codes (0 clean, 3 findings at or above --fail-on, 2 unusable
input/credentials/config or a busy workspace, 1 internal error), and the README's systemd and GitHub Actions
commands run as written against the sandbox GitHub API and real export samples."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.errors import WorkspaceError
from auditor.workspace.lock import workspace_lock
from auditor_sandbox.github.server import GitHubServer
from tests.conftest import ROOT
from tests.sandbox_fixtures import GITHUB_TOKEN as TOKEN
from tests.sandbox_fixtures import github_fixture, small_tenant_fixture

FIXTURES = (github_fixture, small_tenant_fixture)  # registered as `github` and `small_tenant`


def _auditor(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    merged = {**os.environ, **env}
    for name in ("AUDITOR_CONFIG", "AUDITOR_WORKSPACE", "GITHUB_TOKEN"):
        if name not in env:
            merged.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], cwd=cwd, env=merged, capture_output=True, text=True, timeout=600
    )


def _write_config(path: Path, run: dict[str, Any], github_url: str | None = None, **extra: Any) -> Path:
    config: dict[str, Any] = {"version": 1, "run": run, **extra}
    if github_url:
        config["sources"] = {"github": [{"base_url": github_url, "org": "acme-corp"}]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _sample_globs(samples: Path) -> list[str]:
    return [str(samples / "github" / "org-*.ndjson"), str(samples / "entra" / "signinlogs-diagnostic.ndjson")]


def test_run_imports_detects_checks_reports_and_exits_0_below_the_threshold(tmp_path: Path, samples: Path) -> None:
    config = _write_config(tmp_path / "cfg" / "auditor.yaml", {"imports": _sample_globs(samples), "out": "out"})
    done = _auditor("--config", str(config), "--workspace", "ws", "run", "--fail-on", "critical", "--json",
                    cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["collected"] == [] and summary["imported"]["imported"] > 0
    assert len(summary["imported"]["files"]) == 2
    assert summary["checks"]["controls"] > 0 and "findings" in summary["detection"]
    assert summary["exit_code"] == 0 and summary["fail_on"] == "critical" and summary["evidence"] is None
    out = tmp_path / "cfg" / "out"  # run.out is relative to the config file's folder
    assert Path(summary["report"]["pdf"]) == out / "report.pdf"
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF") and (out / "report.html").is_file()
    assert not (out / "evidence.zip").exists()

    again = _auditor("--config", str(config), "--workspace", "ws", "run", cwd=tmp_path)  # the table output path
    assert again.returncode == 0, again.stderr
    assert "Imported 0 event(s) from 2 file(s)" in again.stdout  # idempotent: nothing new on the second run
    assert "failing control(s) of" in again.stdout and "report.pdf" in again.stdout


def test_run_exits_3_on_findings_at_or_above_fail_on(tmp_path: Path, samples: Path) -> None:
    files = [str(samples / "github" / "org-audit-log.ndjson"), str(samples / "entra" / "signinlogs-diagnostic.ndjson")]
    done = _auditor("--workspace", "ws", "run", *files, "--fail-on", "medium", "--out", "o", "--evidence",
                    cwd=tmp_path)  # fmt: skip
    assert done.returncode == 3, done.stderr
    listed = re.findall(r"^\s+(CHK-\w+|AN0732-\w+)\s+(medium|high|critical)\s", done.stderr, re.M)
    assert listed, done.stderr
    assert f"{len(listed)} open finding(s) at or above medium" in done.stderr
    assert f"Open findings at or above medium: {len(listed)}." in done.stdout
    assert (tmp_path / "o" / "evidence.zip").is_file()
    found = json.loads(_auditor("--workspace", "ws", "findings", "--format", "json", "--status", "open",
                                "--severity", "medium", cwd=tmp_path).stdout)  # fmt: skip
    assert {f["id"] for f in found} == {finding_id for finding_id, _ in listed}

    as_json = _auditor("--workspace", "ws", "run", "--no-collect", *files, "--fail-on", "medium", "--json",
                       cwd=tmp_path)  # fmt: skip
    assert as_json.returncode == 3
    summary = json.loads(as_json.stdout)
    assert summary["exit_code"] == 3 and summary["findings_at_or_above"] == len(listed)


@pytest.mark.parametrize(
    ("run", "extra", "message"),
    [
        ({"imports": ["missing/export.ndjson"]}, {}, "run.imports names missing/export.ndjson, which is not a file"),
        ({}, {}, "nothing to collect or import"),
        ({"fail_on": "severe"}, {}, "run.fail_on"),
        (
            {"imports": ["*.ndjson"]},
            {"sources": {"github": [{"org": "acme-corp", "token": {"env": "AUDITOR_TEST_UNSET_TOKEN"}}]}},
            "environment variable AUDITOR_TEST_UNSET_TOKEN is not set",
        ),
    ],
)
def test_run_exits_2_on_unusable_config_or_credentials(
    tmp_path: Path, run: dict[str, Any], extra: dict[str, Any], message: str
) -> None:
    config = _write_config(tmp_path / "auditor.yaml", run, **extra)
    done = _auditor("--config", str(config), "--workspace", "ws", "run", cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_run_exits_2_on_refused_credentials(tmp_path: Path, github: GitHubServer, samples: Path) -> None:
    config = _write_config(tmp_path / "auditor.yaml", {"imports": _sample_globs(samples)}, github.url)
    done = _auditor("--config", str(config), "--workspace", "ws", "run", cwd=tmp_path, GITHUB_TOKEN="ghp_wrong_0000")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "error:" in done.stderr


def test_run_exits_2_while_another_run_holds_the_workspace(tmp_path: Path, samples: Path) -> None:
    with workspace_lock(tmp_path / "ws", "auditor run (test holder)"):
        done = _auditor("--workspace", "ws", "run", *_sample_globs(samples)[1:], cwd=tmp_path)
    assert done.returncode == 2
    assert f"locked by process {os.getpid()} (auditor run (test holder))" in done.stderr
    assert "auditor.lock" in done.stderr
    after = _auditor("--workspace", "ws", "run", *_sample_globs(samples)[1:], cwd=tmp_path)  # lock released
    assert after.returncode == 0, after.stderr


def test_run_exits_1_only_on_an_internal_error(
    tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import auditor.detect.bulk
    from auditor.cli import main

    def broken(*_: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(auditor.detect.bulk, "run_detection", broken)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUDITOR_CONFIG", raising=False)
    monkeypatch.setattr(sys, "argv", ["auditor", "--workspace", "ws", "run", *_sample_globs(samples)[1:]])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "RuntimeError: simulated bug" in err and "internal error" in err


def _readme_commands() -> list[str]:
    """The `auditor ... run` command lines of the README's systemd unit and GitHub Actions workflow."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Scheduled runs (`auditor run`)", 1)[1].split("\n### ", 1)[0]
    commands = re.findall(r"^(?:ExecStart=|\s+- run: )(\S*auditor --config .* run .*)$", section, re.M)
    assert len(commands) == 2, commands
    return commands


@pytest.mark.slow
def test_readme_systemd_and_actions_commands_run_as_written(
    tmp_path: Path, github: GitHubServer, samples: Path
) -> None:
    for i, command in enumerate(_readme_commands()):
        root = tmp_path / f"job{i}"
        mapped = command.replace("/etc/auditor/", f"{root}/etc/").replace("/var/lib/auditor", f"{root}/var")
        args = shlex.split(mapped)
        assert Path(args[0]).name == "auditor"
        config = Path(args[args.index("--config") + 1])
        config = config if config.is_absolute() else root / config
        _write_config(config, {"imports": _sample_globs(samples)}, github.url)
        done = _auditor(*args[1:], cwd=root, GITHUB_TOKEN=TOKEN)
        assert done.returncode in (0, 3), (command, done.stderr)
        out = Path(args[args.index("--out") + 1])
        out = out if out.is_absolute() else root / out
        assert (out / "report.pdf").is_file() and (out / "evidence.zip").is_file()
        assert "GitHub acme-corp" in done.stdout and "new audit events imported" in done.stdout, done.stdout
        above = int(re.findall(r"Open findings at or above high: (\d+)\.", done.stdout)[0])
        assert done.returncode == (3 if above else 0)


def test_a_killed_run_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from auditor.workspace.lock import workspace_lock\n"
         "with workspace_lock(Path(sys.argv[1]), 'auditor run'):\n    print('held', flush=True); time.sleep(60)",
         str(tmp_path / "ws")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    busy = rf"locked by process {holder.pid} \(auditor run\)"
    with pytest.raises(WorkspaceError, match=busy), workspace_lock(tmp_path / "ws", "auditor run (test)"):
        pass
    holder.kill()
    holder.wait(timeout=10)
    with workspace_lock(tmp_path / "ws", "auditor run (test)") as path:  # the kernel released the dead holder's lock
        assert "auditor run (test)" in path.read_text(encoding="utf-8")
