"""Findings lifecycle and views: statuses with notes history, accepted-risk expiry, the one definition of
"open", the `auditor findings` filters and table, and the check and framework catalogues."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from auditor.cli import cli
from auditor.findings import OPEN_SQL, FindingFilter, is_open, load_findings, open_sql, set_status
from auditor.workspace.store import Workspace

T = datetime(2026, 11, 20, 12, 0, 0)
TODAY = date.today()


def _finding(
    ws: Workspace,
    fid: str,
    analytic: str = "AN0732",
    severity: str = "high",
    platform: str = "github",
    actor: str = "mallory",
    suppressed: bool = False,
    score: int = 80,
) -> None:
    ws.con.execute(
        "INSERT INTO findings (id, analytic, severity, score, platform, actor, identity, repos, first_seen, last_seen, "
        "reasons, evidence, suppressed, suppression_reason, run_id, detected_at, status) "
        "VALUES (?, ?, ?, ?, ?, ?, NULL, ['acme-corp/payments-api'], ?, ?, ['why'], [], ?, ?, 'run', ?, 'new')",
        [fid, analytic, severity, score, platform, actor, T, T, suppressed, "automation" if suppressed else None, T],
    )


@pytest.fixture
def seeded(ws: Workspace) -> Workspace:
    _finding(ws, "AN0732-aaaaaaaaaaaa", severity="critical", score=95)
    _finding(ws, "AN0732-bbbbbbbbbbbb", severity="low", score=30, actor="nightly-bot", suppressed=True)
    _finding(ws, "CHK-cccccccccccc", "check:access.non_developer_restricted", "high", actor="acme-corp", score=75)
    _finding(ws, "CHK-dddddddddddd", "check:credentials.no_expiry", "medium", "gitlab", "acme", score=55)
    _finding(ws, "CHK-eeeeeeeeeeee", "check:logging.time_span", "info", "entra", "tenant-1", score=15)
    return ws


def _cli(ws: Workspace, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--workspace", str(ws.root), *args])


def _ids(ws: Workspace, *args: str) -> list[str]:
    result = _cli(ws, "findings", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return [f["id"] for f in json.loads(result.output)]


def test_open_sql_and_is_open_agree_on_every_status(seeded: Workspace) -> None:
    ws = seeded
    set_status(ws, "CHK-cccccccccccc", "accepted_risk", "RISK-1", expires=TODAY + timedelta(days=30))
    set_status(ws, "CHK-dddddddddddd", "false_positive", "not ours")
    set_status(ws, "CHK-eeeeeeeeeeee", "resolved", "fixed")
    in_sql = {r[0] for r in ws.con.execute(f"SELECT id FROM findings WHERE {OPEN_SQL}").fetchall()}
    loaded = load_findings(ws)
    assert in_sql == {f.id for f in loaded if is_open(f)} == {"AN0732-aaaaaaaaaaaa"}
    # After the expiry date the accepted risk is open again (the expiry day itself is still accepted).
    expiry = TODAY + timedelta(days=30)
    later = {r[0] for r in ws.con.execute(f"SELECT id FROM findings WHERE {open_sql('?')}", [expiry]).fetchall()}
    assert "CHK-cccccccccccc" not in later
    query = f"SELECT id FROM findings f WHERE {open_sql('$d', 'f.')}"
    after = {r[0] for r in ws.con.execute(query, {"d": expiry + timedelta(days=1)}).fetchall()}
    assert "CHK-cccccccccccc" in after
    accepted = next(f for f in loaded if f.id == "CHK-cccccccccccc")
    assert not is_open(accepted, expiry) and is_open(accepted, expiry + timedelta(days=1))


def test_accepted_risk_needs_a_future_expiry_and_expires_only_with_it(seeded: Workspace) -> None:
    from auditor.errors import InputError

    with pytest.raises(InputError, match="needs --expires"):
        set_status(seeded, "CHK-cccccccccccc", "accepted_risk", "RISK-1")
    with pytest.raises(InputError, match="in the past"):
        set_status(seeded, "CHK-cccccccccccc", "accepted_risk", "RISK-1", expires=TODAY - timedelta(days=1))
    with pytest.raises(InputError, match="only for accepted_risk"):
        set_status(seeded, "CHK-cccccccccccc", "triaged", "x", expires=TODAY + timedelta(days=1))
    with pytest.raises(InputError, match="no finding"):
        set_status(seeded, "CHK-nope", "triaged", "x")
    assert seeded.con.execute("SELECT count(*) FROM finding_notes").fetchone() == (0,)


def test_status_command_appends_notes_history_shown_in_json(seeded: Workspace) -> None:
    ws = seeded
    ws.close()
    assert _cli(ws, "findings", "status", "CHK-cccccccccccc", "triaged", "--note", "looking").exit_code == 0
    bad = _cli(ws, "findings", "status", "CHK-cccccccccccc", "accepted_risk", "--note", "no date")
    assert bad.exit_code != 0
    until = (TODAY + timedelta(days=90)).isoformat()
    done = _cli(
        ws, "findings", "status", "CHK-cccccccccccc", "accepted_risk", "--note", "RISK-7", "--expires", until,
        "--author", "grc@acme",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert until in done.output
    listing = json.loads(_cli(ws, "findings", "--format", "json", "--analytic", "check:access").output)
    (finding,) = listing
    assert finding["status"] == "accepted_risk" and finding["status_expires"] == until and finding["open"] is False
    assert [(n["status"], n["note"], n["expires"]) for n in finding["notes"]] == [
        ("triaged", "looking", None),
        ("accepted_risk", "RISK-7", until),
    ]
    assert finding["notes"][1]["author"] == "grc@acme" and finding["notes"][0]["at"].endswith("Z")
    # Contract fields are all still there.
    assert {"id", "analytic", "severity", "score", "actor", "identity", "repos", "first_seen", "last_seen", "reasons",
            "suppressed", "status", "notes"} <= set(finding)  # fmt: skip


def test_filters_select_the_same_findings_in_json_and_csv(seeded: Workspace) -> None:
    ws = seeded
    set_status(ws, "CHK-dddddddddddd", "false_positive", "not ours")
    ws.close()
    assert _ids(ws, "--severity", "high") == ["AN0732-aaaaaaaaaaaa", "CHK-cccccccccccc"]  # minimum severity
    assert _ids(ws, "--status", "false_positive") == ["CHK-dddddddddddd"]
    assert _ids(ws, "--status", "open") == ["AN0732-aaaaaaaaaaaa", "CHK-cccccccccccc", "CHK-eeeeeeeeeeee"]
    assert _ids(ws, "--open-only") == _ids(ws, "--status", "open")
    assert _ids(ws, "--status", "open", "--status", "false_positive", "--severity", "medium") == [
        "AN0732-aaaaaaaaaaaa",
        "CHK-cccccccccccc",
        "CHK-dddddddddddd",
    ]
    assert _ids(ws, "--analytic", "an0732") == ["AN0732-aaaaaaaaaaaa", "AN0732-bbbbbbbbbbbb"]
    assert _ids(ws, "--analytic", "check:") == ["CHK-cccccccccccc", "CHK-dddddddddddd", "CHK-eeeeeeeeeeee"]
    assert _ids(ws, "--analytic", "credentials.") == ["CHK-dddddddddddd"]  # a check id without check:
    assert _ids(ws, "--platform", "gitlab") == ["CHK-dddddddddddd"]
    assert _ids(ws, "--limit", "2") == ["AN0732-aaaaaaaaaaaa", "CHK-cccccccccccc"]
    rows = list(csv.DictReader(io.StringIO(_cli(ws, "findings", "--format", "csv", "--severity", "high").output)))
    assert [r["id"] for r in rows] == ["AN0732-aaaaaaaaaaaa", "CHK-cccccccccccc"]
    assert {"status", "notes", "status_expires"} <= set(rows[0])


def test_filter_object_composes_with_load_findings(seeded: Workspace) -> None:
    chosen = FindingFilter(min_severity="medium", statuses=("open",), include_info=False)
    assert [f.id for f in load_findings(seeded, selection=chosen)] == [
        "AN0732-aaaaaaaaaaaa",
        "CHK-cccccccccccc",
        "CHK-dddddddddddd",
    ]


def test_table_lists_open_findings_readably_and_counts_the_rest(seeded: Workspace) -> None:
    ws = seeded
    ws.close()
    table = _cli(ws, "findings")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    header = next(line for line in lines if "analytic or check" in line)
    assert all(col in header for col in ("id", "severity", "actor or scope", "status"))
    row = next(line for line in lines if "CHK-cccccccccccc" in line)  # whole values on one line, not cut
    assert "check:access.non_developer_restricted" in row and "acme-corp" in row and "high" in row and "new" in row
    assert "AN0732-bbbbbbbbbbbb" not in table.output  # suppressed
    assert "CHK-eeeeeeeeeeee" not in table.output  # info
    assert "2 more finding(s) not listed" in table.output
    assert "CHK-eeeeeeeeeeee" in _cli(ws, "findings", "--include-info").output
    everything = _cli(ws, "findings", "--all").output
    assert "AN0732-bbbbbbbbbbbb" in everything and "(suppressed)" in everything


def test_check_findings_in_the_findings_table(ws: Workspace, tmp_path: Path) -> None:
    from tests.inventory import Inventory

    inv = Inventory(ws)
    inv.snapshot("github", "acme-corp")
    inv.repo("github", "acme-corp/payments-api")
    inv.account("github", "vendor-dev")
    inv.grant("github", "vendor-dev", "acme-corp/payments-api", "write", ["outside_collaborator"])
    ws.close()
    assert _cli(ws, "check").exit_code == 0
    out = _cli(ws, "findings", "--analytic", "check:access.outside").output
    row = next(line for line in out.splitlines() if "check:access.outside_collaborators" in line)
    assert "acme-corp" in row and "CHK-" in row


def test_check_table_shows_controls_with_their_top_cause(ws: Workspace) -> None:
    from tests.inventory import Inventory

    inv = Inventory(ws)
    inv.snapshot("github", "acme-corp")
    inv.setting("github", "acme-corp", "default_repository_permission", "read")
    inv.repo("github", "acme-corp/payments-api")
    inv.person("github", "sam", department="Sales")
    inv.grant("github", "sam", "acme-corp/payments-api", "read", ["org_base"])
    ws.close()
    result = _cli(ws, "check")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "access.non_developer_restricted" in line)
    assert "acme-corp" in row and "fail" in row and "base permission read gives 1" in row
    assert "failing control(s) of" in result.output
    data = json.loads(_cli(ws, "check", "--json").output)
    control = next(c for c in data["controls"] if c["check_id"] == "access.non_developer_restricted")
    assert control["causes"][0]["path"] == "org_base" and control["sample"] == ["sam on acme-corp/payments-api"]


def test_check_list_is_the_catalogue(tmp_path: Path) -> None:
    from auditor.checks.registry import registry

    runner = CliRunner()
    listing = runner.invoke(cli, ["--workspace", str(tmp_path / "ws"), "check", "--list", "--format", "json"])
    data = json.loads(listing.output)
    assert [c["id"] for c in data] == list(registry())
    first = data[0]
    assert set(first) == {"id", "title", "severity", "category", "platforms", "frameworks"}
    assert "SOC2:CC6.1" in first["frameworks"] and first["platforms"] == ["github", "gitlab"]
    table = runner.invoke(cli, ["--workspace", str(tmp_path / "ws"), "check", "--list"])
    assert table.exit_code == 0
    assert any("access.non_developer_restricted" in line and "high" in line for line in table.output.splitlines())
    assert not (tmp_path / "ws").exists()  # the catalogue needs no workspace


def test_frameworks_list_counts_requirements(tmp_path: Path) -> None:
    from auditor.checks.frameworks import load_frameworks

    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["frameworks", "list", "--format", "json"]).output)
    expected = {fw.framework: len(fw.requirements) for fw in load_frameworks()}
    assert {d["framework"]: d["requirements"] for d in data} == expected
    soc2 = next(d for d in data if d["framework"] == "SOC2")
    assert soc2["automated"] >= 1 and "access.orphaned" in soc2["checks"]
    table = runner.invoke(cli, ["frameworks", "list"])
    assert table.exit_code == 0 and "SOC2" in table.output and "requirements" in table.output
    fw = tmp_path / "fw"
    fw.mkdir()
    (fw / "x.yaml").write_text(
        "framework: X\ntitle: Mine\nrequirements:\n  - {id: A, title: abc, checks: [access.stale]}\n"
        "  - {id: B, title: def, manual: ask the owner}\n",
        encoding="utf-8",
    )
    config = tmp_path / "c.yaml"
    config.write_text(f"checks:\n  frameworks_dir: {fw}\n", encoding="utf-8")
    mine = json.loads(runner.invoke(cli, ["--config", str(config), "frameworks", "list", "--format", "json"]).output)
    assert mine == [
        {"framework": "X", "title": "Mine", "requirements": 2, "automated": 1, "manual": 1, "checks": ["access.stale"]}
    ]
