"""Outputs for the tools next door, checked against real command output: SARIF 2.1.0 (validated against the OASIS
schema), OCSF JSON Lines (Detection Finding 2004, Compliance Finding 2003 with framework labels), `check` as
table, JSON and CSV, and the JSON Schemas shipped in `auditor/schemas/`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.checks.frameworks import labels_by_check, load_frameworks
from auditor.checks.registry import registry
from auditor.outputs.rules import rule_id
from auditor.schemas import NAMES, load_schema
from auditor_sandbox.github.server import GitHubServer
from tests.conftest import SHARED_SAMPLES
from tests.sandbox_fixtures import GITHUB_TOKEN, github_fixture, small_tenant_fixture

FIXTURES = (github_fixture, small_tenant_fixture)  # registered as `github` and `small_tenant`
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a dev dependency (pip install -e '.[dev]')")
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def _auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AUDITOR_CONFIG", "AUDITOR_WORKSPACE")}
    env["GITHUB_TOKEN"] = GITHUB_TOKEN
    return subprocess.run(
        [sys.executable, "-m", "auditor", "--config", "auditor.yaml", "--workspace", "ws", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory, github: GitHubServer) -> Path:
    """A workspace filled by `auditor run`: the sandbox GitHub org collected live plus real Entra and GitHub
    exports, detected (AN0732 findings) and checked (failed controls)."""
    if not SHARED_SAMPLES.is_dir():
        pytest.skip(f"real samples not present: {SHARED_SAMPLES}")
    samples = SHARED_SAMPLES
    root = tmp_path_factory.mktemp("audited")
    config = {
        "version": 1,
        "sources": {"github": [{"base_url": github.url, "org": "acme-corp"}]},
        "run": {"imports": [str(samples / "github" / "org-audit-log.ndjson"),
                            str(samples / "entra" / "signinlogs-diagnostic.ndjson")], "out": "out"},
    }  # fmt: skip
    (root / "auditor.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    done = _auditor("run", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    _valid("run", json.loads(done.stdout))
    return root


@pytest.fixture(scope="module")
def findings(audited: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(_auditor("findings", "--format", "json", cwd=audited).stdout)
    assert any(f["analytic"] == "AN0732" for f in data) and any(f["analytic"].startswith("check:") for f in data)
    return data


@pytest.fixture(scope="module")
def checked(audited: Path) -> dict[str, Any]:
    done = _auditor("check", "--json", cwd=audited)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _valid(name: str, data: Any) -> None:
    validator = jsonschema.Draft202012Validator(load_schema(name))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, errors[:5]


def _sarif_valid(log: dict[str, Any]) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    assert not errors, errors[:5]


def test_shipped_schemas_are_valid_and_catch_a_broken_output(findings: list[dict[str, Any]]) -> None:
    for name in NAMES:
        jsonschema.Draft202012Validator.check_schema(load_schema(name))
    broken = [dict(findings[0], severity="severe")]
    with pytest.raises(AssertionError, match="severe"):
        _valid("findings", broken)
    missing = [{k: v for k, v in findings[0].items() if k != "repos"}]
    with pytest.raises(AssertionError, match="repos"):
        _valid("findings", missing)


def test_findings_and_check_json_match_their_schemas(findings: list[dict[str, Any]], checked: dict[str, Any]) -> None:
    _valid("findings", findings)
    _valid("check", checked)
    assert checked["controls"] and checked["results"]


def test_check_formats_table_json_csv_and_the_json_alias(audited: Path, checked: dict[str, Any]) -> None:
    as_format = json.loads(_auditor("check", "--format", "json", cwd=audited).stdout)
    assert set(as_format) == set(checked) and len(as_format["controls"]) == len(checked["controls"])
    rows = list(csv.DictReader(io.StringIO(_auditor("check", "--format", "csv", cwd=audited).stdout)))
    assert len(rows) == len(checked["controls"])
    assert {(r["check_id"], r["scope"], r["status"]) for r in rows} == {
        (c["check_id"], c["scope"], c["status"]) for c in checked["controls"]
    }
    assert {"failing", "top_cause", "finding_id"} <= set(rows[0])
    table = _auditor("check", "--all", cwd=audited).stdout
    assert "Controls" in table and "top cause" in table
    for c in checked["controls"]:
        assert c["check_id"] in table
    refused = _auditor("check", "--list", "--format", "sarif", cwd=audited)
    assert refused.returncode == 2 and "--list prints the catalogue" in refused.stderr


def test_findings_sarif_validates_with_one_rule_per_analytic_and_repos_as_locations(
    audited: Path, findings: list[dict[str, Any]]
) -> None:
    log = json.loads(_auditor("findings", "--format", "sarif", cwd=audited).stdout)
    _sarif_valid(log)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(dict.fromkeys(rule_id(f["analytic"]) for f in findings))
    results = run["results"]
    assert len(results) == len(findings)
    by_id = {f["id"]: f for f in findings}
    for result in results:
        finding = by_id[result["partialFingerprints"]["findingId/v1"]]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == rule_id(finding["analytic"])
        names = [loc["logicalLocations"][0]["name"] for loc in result["locations"]]
        # Locations are the repositories; a failed control that names none is located at its scope.
        assert names == (finding["repos"][:20] or [finding["actor"]])
        if finding["analytic"] == "AN0732":
            assert names
            assert result["level"] == {"critical": "error", "high": "error", "medium": "warning"}.get(
                finding["severity"], "note"
            )
        assert ("suppressions" in result) == (not finding["open"])
    check_rule = next(r for r in rules if r["id"] != "AN0732")
    assert check_rule["help"]["text"] and check_rule["properties"]["security-severity"]


def test_check_sarif_has_every_check_as_a_rule_and_every_control_as_a_result(
    audited: Path, checked: dict[str, Any]
) -> None:
    log = json.loads(_auditor("check", "--format", "sarif", cwd=audited).stdout)
    _sarif_valid(log)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [c["id"] for c in checked["checks"]]
    labels = labels_by_check(load_frameworks())
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["properties"]["frameworks"] == labels.get(rule["id"], [])
    kinds = {"fail": "fail", "pass": "pass", "not_evaluated": "open"}
    got = sorted((r["ruleId"], r["properties"]["scope"], r["kind"]) for r in run["results"])
    assert got == sorted((c["check_id"], c["scope"], kinds[c["status"]]) for c in checked["controls"])
    assert all(r["level"] == "none" for r in run["results"] if r["kind"] != "fail")


def _ocsf_lines(text: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    assert lines and all(line.startswith("{") and line.endswith("}") for line in lines)  # JSON Lines, no array
    return [json.loads(line) for line in lines]


def _base_attributes(event: dict[str, Any]) -> None:
    """OCSF base-event and finding attributes that are required."""
    for key in ("activity_id", "category_uid", "class_uid", "type_uid", "time", "severity_id", "metadata",
                "finding_info"):  # fmt: skip
        assert key in event, key
    assert event["category_uid"] == 2 and event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
    assert isinstance(event["time"], int) and event["time"] > 1_000_000_000_000  # epoch milliseconds
    assert 0 <= event["severity_id"] <= 6
    assert event["metadata"]["version"] and event["metadata"]["product"]["name"] == "repo-auditor"
    assert event["finding_info"]["uid"] and event["finding_info"]["title"]


def test_findings_ocsf_detection_findings_for_an0732_and_compliance_findings_for_checks(
    audited: Path, findings: list[dict[str, Any]]
) -> None:
    events = _ocsf_lines(_auditor("findings", "--format", "ocsf", cwd=audited).stdout)
    assert [e["finding_info"]["uid"] for e in events] == [f["id"] for f in findings]
    labels = labels_by_check(load_frameworks())
    for event, finding in zip(events, findings, strict=True):
        _base_attributes(event)
        if finding["analytic"] == "AN0732":
            assert event["class_uid"] == 2004 and event["class_name"] == "Detection Finding"
            assert event["finding_info"]["attacks"][0]["technique"]["uid"] == "T1213.003"
            assert [r["name"] for r in event["resources"]] == finding["repos"]
        else:
            check_id = finding["analytic"].removeprefix("check:")
            assert event["class_uid"] == 2003 and event["class_name"] == "Compliance Finding"
            compliance = event["compliance"]
            assert compliance["control"] == check_id and compliance["status"] == "Fail"
            assert compliance["requirements"] == labels.get(check_id, [])
            assert compliance["standards"] and all(isinstance(s, str) for s in compliance["standards"])
            assert {r.split(":")[0] for r in compliance["requirements"]} <= set(compliance["standards"])


def test_check_ocsf_is_one_compliance_finding_per_control(audited: Path, checked: dict[str, Any]) -> None:
    events = _ocsf_lines(_auditor("check", "--format", "ocsf", cwd=audited).stdout)
    assert len(events) == len(checked["controls"])
    status = {"pass": "Pass", "fail": "Fail", "not_evaluated": "Warning"}
    for event, control in zip(events, checked["controls"], strict=True):
        _base_attributes(event)
        assert event["class_uid"] == 2003
        assert event["compliance"]["control"] == control["check_id"] in registry()
        assert event["compliance"]["status"] == status[control["status"]]
        assert event["resources"][0]["name"] == control["scope"]
        if control["finding_id"]:
            assert event["finding_info"]["uid"] == control["finding_id"]


def test_review_start_and_close_json_match_their_schemas(tmp_path: Path) -> None:
    from auditor.workspace.store import Workspace
    from tests.test_review import _tenant

    ws = Workspace.open(tmp_path / "ws")
    _tenant(ws)
    ws.close()
    (tmp_path / "auditor.yaml").write_text("version: 1\n", encoding="utf-8")
    started = _auditor("review", "start", "--name", "2026-Q4", "--json", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    _valid("review-start", json.loads(started.stdout))
    closed = _auditor("review", "close", "--name", "2026-Q4", "--force", "--json", cwd=tmp_path)
    assert closed.returncode == 0, closed.stderr
    _valid("review-close", json.loads(closed.stdout))


def test_catalogue_and_frameworks_as_csv(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import cli

    runner = CliRunner()
    listing = runner.invoke(cli, ["--workspace", str(tmp_path / "ws"), "check", "--list", "--format", "csv"])
    assert listing.exit_code == 0, listing.output
    rows = list(csv.DictReader(io.StringIO(listing.output)))
    assert [r["id"] for r in rows] == list(registry())
    labels = labels_by_check(load_frameworks())
    assert all(r["frameworks"] == "; ".join(labels.get(r["id"], [])) for r in rows)
    frameworks = runner.invoke(cli, ["frameworks", "list", "--format", "csv"])
    assert frameworks.exit_code == 0, frameworks.output
    by_name = {r["framework"]: r for r in csv.DictReader(io.StringIO(frameworks.output))}
    assert {fw.framework for fw in load_frameworks()} == set(by_name)
    assert "access.orphaned" in by_name["SOC2"]["checks"].split("; ")
