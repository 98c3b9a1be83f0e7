"""Identity gaps said out loud: a finding on an account no IdP identity is linked to says which context
it could not check and is not capped as if that context were clean; explicit linking rules (a mapping
file, username conventions) close the gap, with their own confidence and evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.config.loader import parse_config
from auditor.config.models import AuditorConfig
from auditor.detect.bulk import run_detection
from auditor.errors import InputError
from auditor.findings import Finding, load_findings
from auditor.importers.link_rules import read_mapping
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import write_ndjson

UNLINKED = "no IdP identity linked: sign-in precursors not evaluated"
T0 = datetime(2026, 9, 14, 9, 30, tzinfo=UTC)  # the high-risk sign-in; the clones start 20 min later
UPN = "jo.dev@acme.example"
USERS = {
    "value": [
        {"id": "u-jo", "userPrincipalName": UPN, "mail": UPN, "department": "Payments", "jobTitle": "Engineer",
         "userType": "Member", "accountEnabled": True},
        {"id": "u-max", "userPrincipalName": "max@acme.example", "mail": "max@acme.example",
         "department": "Payments", "jobTitle": "Engineer", "userType": "Member", "accountEnabled": True},
    ]
}  # fmt: skip


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signin(i: int, at: datetime, city: str, cc: str, lat: float, lon: float, risk: str = "none") -> dict[str, Any]:
    return {
        "id": f"s-{i}",
        "createdDateTime": _iso(at),
        "userPrincipalName": UPN,
        "appId": "gitlab",
        "ipAddress": "198.51.100.20" if cc == "DE" else "203.0.113.50",
        "status": {"errorCode": 0},
        "riskLevelDuringSignIn": risk,
        "location": {"city": city, "countryOrRegion": cc, "geoCoordinates": {"latitude": lat, "longitude": lon}},
    }


def _clone(i: int, login: str, project: str, at: datetime, op: str = "git-upload-pack") -> dict[str, Any]:
    """A GitLab audit event for a git clone (or a push); these GitLab audit events name no e-mail."""
    return {
        "id": i,
        "author_id": 500 if login == "jdev" else 501,
        "author_name": login,
        "entity_id": abs(hash(project)) % 10_000,
        "entity_type": "Project",
        "entity_path": project,
        "event_type": "repository_git_operation",
        "created_at": _iso(at),
        "details": {"author_name": login, "custom_message": {"action": op}},
    }


def _gitlab_case(ws: Workspace, tmp_path: Path) -> None:
    """A developer in Payments pulls and pushes its own group's project every day of the ten days of GitLab
    logs; then, 20 minutes after a high-risk sign-in from Brazil, it clones 17 projects outside its group
    in 85 minutes (never more than 7 in half an hour: below the fixed burst threshold)."""
    users = tmp_path / "users.json"
    users.write_text(json.dumps(USERS))
    history = [_signin(i, T0 - timedelta(days=30 - i), "Berlin", "DE", 52.52, 13.40) for i in range(29)]
    odd = [_signin(100, T0, "Sao Paulo", "BR", -23.55, -46.63, risk="high")]
    signins = tmp_path / "signins.json"
    signins.write_text(json.dumps({"value": history + odd}))
    events, n = [], 0
    for day in range(10):
        for login in ("jdev", "max"):
            for op in ("git-upload-pack", "git-receive-pack"):
                n += 1
                events.append(_clone(n, login, "acme/payments/ledger", T0 - timedelta(days=10 - day, hours=1), op))
    for i in range(17):
        n += 1
        events.append(_clone(n, "jdev", f"acme/platform/svc-{i}", T0 + timedelta(minutes=20 + 5 * i)))
    import_files(ws, [users, signins, write_ndjson(tmp_path / "gl.ndjson", events)])


def _finding(ws: Workspace) -> Finding:
    (f,) = [f for f in load_findings(ws) if f.actor == "jdev" and f.first_seen >= T0.replace(tzinfo=None)]
    return f


def _mapping_config(tmp_path: Path) -> AuditorConfig:
    mapping = tmp_path / "links.csv"
    mapping.write_text(f"platform,login,upn\ngitlab,jdev,{UPN}\n", encoding="utf-8")
    return parse_config(f"linking:\n  mapping_file: {mapping}\n", "c")


def test_unlinked_account_says_the_sign_in_context_was_not_checked(ws: Workspace, tmp_path: Path) -> None:
    _gitlab_case(ws, tmp_path)
    result = run_detection(ws, AuditorConfig())
    assert any(u.startswith("1 finding(s) on accounts with no IdP identity linked") for u in result.unavailable)
    f = _finding(ws)
    assert f.identity is None and UNLINKED in f.reasons
    assert not any("sign-in" in r.lower() and "risk" in r.lower() for r in f.reasons)
    # Not capped at low as if the sign-in context had been checked and found clean.
    assert f.score > 40


def test_linked_through_the_mapping_file_the_risky_sign_in_counts(ws: Workspace, tmp_path: Path) -> None:
    _gitlab_case(ws, tmp_path)
    run_detection(ws, _mapping_config(tmp_path))
    f = _finding(ws)
    assert f.identity == UPN and UNLINKED not in f.reasons
    assert f.severity in ("medium", "high", "critical")
    assert any("risk high" in r for r in f.reasons)


def test_a_username_convention_links_prefix_plus_upn_local_part(ws: Workspace, tmp_path: Path) -> None:
    _gitlab_case(ws, tmp_path)
    # "jdev" is not a convention of jo.dev@...; "max" is the local part of max@acme.example.
    cfg = parse_config("linking:\n  conventions:\n    - {name: bare, platform: gitlab, confidence: 0.5}\n", "c")
    run_detection(ws, cfg)
    links = ws.con.execute("SELECT login, upn, linked_by, confidence, evidence FROM account_links").fetchall()
    assert links == [
        ("max", "max@acme.example", "username_convention", 0.5,
         "username convention bare: login max is '' + the UPN's local part + '' of max@acme.example"),
    ]  # fmt: skip


def test_accounts_explain_shows_the_mapping_rule_and_coverage_counts_unlinked(ws: Workspace, tmp_path: Path) -> None:
    _gitlab_case(ws, tmp_path)
    ws.close()
    runner = CliRunner()
    base = ["--workspace", str(ws.root)]
    gaps = json.loads(runner.invoke(cli, [*base, "coverage", "--json"]).output)
    (gap,) = [g for g in gaps if g["kind"] == "identity_gap"]
    assert (gap["platform"], gap["accounts"]) == ("gitlab", 2)
    assert "2 of 2 active accounts have no IdP identity linked" in gap["consequence"]
    mapping = tmp_path / "links.csv"
    mapping.write_text(f"platform,login,upn\ngitlab,jdev,{UPN}\n", encoding="utf-8")
    config = tmp_path / "auditor.yaml"
    config.write_text(f"linking:\n  mapping_file: {mapping}\n  mapping_confidence: 0.85\n", encoding="utf-8")
    explained = runner.invoke(cli, [*base, "--config", str(config), "accounts", "explain", "jdev", "--json"])
    (row,) = json.loads(explained.output)
    assert (row["identity"], row["linked_by"], row["link_confidence"]) == (UPN, "mapping_file", 0.85)
    assert row["link_evidence"] == f"mapping file links.csv line 2: gitlab jdev is {UPN}"
    human = runner.invoke(cli, [*base, "--config", str(config), "coverage"], env={"COLUMNS": "400"}).output
    assert "1 of 2 active accounts have no IdP identity linked" in human


def test_a_bad_mapping_file_names_the_file_and_line(tmp_path: Path) -> None:
    mapping = tmp_path / "links.csv"
    mapping.write_text("platform,login,upn\ngitlab,jdev,jo@acme.example\ngitlab,jdev,not-an-upn\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_mapping(mapping)
    assert err.value.where == f"{mapping}:3"
    mapping.write_text("login,upn\njdev,jo@acme.example\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs columns platform, login, upn"):
        read_mapping(mapping)
