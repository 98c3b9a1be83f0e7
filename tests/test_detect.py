"""The first AN0732 detection on labelled synthetic activity, and the findings contract."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from auditor.config.loader import parse_config
from auditor.config.models import AuditorConfig
from auditor.detect.bulk import run_detection
from auditor.findings import findings_csv, findings_json, load_findings
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson

T0 = 1_759_000_000_000  # 2025-09-27T19:06:40Z
MIN = 60_000


def _burst(
    actor: str, n: int, start: int, step_ms: int, public: bool = False, prefix: str = "r"
) -> list[dict[str, Any]]:
    return [
        gh_event(
            hash((actor, i, start)) & 0xFFFFFFF,
            actor=actor,
            repo=f"acme/{prefix}{i}",
            ts_ms=start + i * step_ms,
            repository_public=public,
            visibility="public" if public else "private",
            programmatic_access_type="Personal access token",
            token_id="77",
        )
        for i in range(n)
    ]


def _history() -> list[dict[str, Any]]:
    """One unrelated download 20 days earlier, so the data is past its learning period at T0."""
    return _burst("bg", 1, T0 - 20 * 86_400_000, MIN, prefix="bg")


def _run(ws: Workspace, tmp_path: Path, records: list[dict[str, Any]], cfg: AuditorConfig | None = None) -> None:
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", records)])
    run_detection(ws, cfg or AuditorConfig())


def test_bulk_clone_of_restricted_repos_is_a_finding(ws: Workspace, tmp_path: Path) -> None:
    _run(ws, tmp_path, _burst("mallory", 25, T0, MIN) + _burst("dev", 3, T0, MIN))
    (f,) = load_findings(ws)
    assert f.actor == "mallory" and f.analytic == "AN0732" and not f.suppressed
    assert len(f.repos) == 25
    assert f.first_seen == datetime(2025, 9, 27, 19, 6, 40)
    assert any("25 restricted repositories" in r for r in f.reasons)
    assert any("Personal access token" in r for r in f.reasons)
    assert f.evidence and all(":" in e for e in f.evidence)


def test_public_repos_and_slow_pulls_do_not_count(ws: Workspace, tmp_path: Path) -> None:
    records = _burst("reader", 30, T0, MIN, public=True) + _burst("slow", 30, T0, 10 * MIN, prefix="s")
    _run(ws, tmp_path, records)
    assert load_findings(ws) == []


def test_threshold_comes_from_config(ws: Workspace, tmp_path: Path) -> None:
    cfg = parse_config("detection:\n  bulk_min_restricted_repos: 3\n  bulk_window_minutes: 5\n", "c")
    _run(ws, tmp_path, _burst("dev", 4, T0, MIN), cfg)
    assert [f.actor for f in load_findings(ws)] == ["dev"]


def test_two_separate_bursts_are_two_findings(ws: Workspace, tmp_path: Path) -> None:
    records = _burst("m", 12, T0, MIN) + _burst("m", 12, T0 + 24 * 60 * MIN, MIN, prefix="q")
    _run(ws, tmp_path, records)
    assert len(load_findings(ws)) == 2


def test_tier1_and_non_developer_raise_the_score(ws: Workspace, tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps(
            {
                "value": [
                    {
                        "id": "u1",
                        "userPrincipalName": "fin@acme.example",
                        "department": "Finance",
                        "jobTitle": "Analyst",
                    },
                ]
            }
        )
    )
    records = (
        [{**r, "external_identity_nameid": "fin@acme.example"} for r in _burst("fin", 12, T0, MIN, prefix="payments-")]
        + _burst("eng", 12, T0, MIN)
        + _history()
    )
    import_files(ws, [users])
    cfg = parse_config("restriction:\n  tiers:\n    - {tier: 1, name_patterns: ['acme/payments-*']}\n", "c")
    _run(ws, tmp_path, records, cfg)
    by_actor = {f.actor: f for f in load_findings(ws)}
    assert by_actor["fin"].score > by_actor["eng"].score
    assert by_actor["fin"].identity == "fin@acme.example"
    assert any("non_developer" in r and "Finance" in r for r in by_actor["fin"].reasons)
    assert any("tier-1" in r for r in by_actor["fin"].reasons)


def test_approved_automation_is_suppressed_not_hidden(ws: Workspace, tmp_path: Path) -> None:
    cfg = parse_config(
        "approved_automation:\n  - {name: backup, actors: ['*-backup-bot'], platforms: [github], purpose: backup}\n",
        "c",
    )
    _run(ws, tmp_path, _burst("acme-backup-bot", 40, T0, 10_000), cfg)
    (f,) = load_findings(ws)
    assert f.suppressed and f.suppression_reason == "approved automation 'backup' (backup)"
    assert load_findings(ws, include_suppressed=False) == []


def test_approval_window_limits_suppression(ws: Workspace, tmp_path: Path) -> None:
    cfg = parse_config(
        "approved_automation:\n  - {name: mig, actors: [mover], platforms: [github], purpose: migration,\n"
        "     not_before: '2020-01-01T00:00:00Z', not_after: '2020-01-02T00:00:00Z'}\n",
        "c",
    )
    _run(ws, tmp_path, _burst("mover", 15, T0, MIN), cfg)
    (f,) = load_findings(ws)
    assert not f.suppressed


def test_rerun_replaces_findings_with_stable_ids(ws: Workspace, tmp_path: Path) -> None:
    _run(ws, tmp_path, _burst("m", 15, T0, MIN))
    first = [f.id for f in load_findings(ws)]
    run_detection(ws, AuditorConfig())
    assert [f.id for f in load_findings(ws)] == first


def test_findings_json_contract(ws: Workspace, tmp_path: Path) -> None:
    _run(ws, tmp_path, _burst("m", 15, T0, MIN))
    (item,) = json.loads(findings_json(load_findings(ws)))
    required = {
        "id",
        "analytic",
        "severity",
        "score",
        "actor",
        "identity",
        "repos",
        "first_seen",
        "last_seen",
        "reasons",
        "suppressed",
    }
    assert required <= set(item)
    assert item["severity"] in {"info", "low", "medium", "high", "critical"}
    assert isinstance(item["score"], int) and 0 <= item["score"] <= 100
    assert isinstance(item["repos"], list) and isinstance(item["reasons"], list)
    assert item["first_seen"].endswith("Z") and datetime.fromisoformat(item["first_seen"][:-1])
    assert item["identity"] is None and item["suppressed"] is False


def test_findings_csv_neutralises_formula_cells(ws: Workspace, tmp_path: Path) -> None:
    _run(ws, tmp_path, _burst("=HYPERLINK(1)", 15, T0, MIN))
    rows = list(csv.DictReader(io.StringIO(findings_csv(load_findings(ws)))))
    assert rows[0]["actor"] == "'=HYPERLINK(1)"


def _signin(
    i: int, upn: str, when_ms: int, city: str, cc: str, lat: float, lon: float, risk: str = "none"
) -> dict[str, Any]:
    from datetime import UTC
    from datetime import datetime as dt

    created = dt.fromtimestamp(when_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": f"s-{i}",
        "createdDateTime": created,
        "userPrincipalName": upn,
        "appId": "a",
        "ipAddress": "203.0.113.1",
        "status": {"errorCode": 0},
        "riskLevelDuringSignIn": risk,
        "location": {"city": city, "countryOrRegion": cc, "geoCoordinates": {"latitude": lat, "longitude": lon}},
    }


def test_precursors_explain_and_raise_the_score(ws: Workspace, tmp_path: Path) -> None:
    day = 86_400_000
    upn = "fin@acme.example"
    history = [_signin(i, upn, T0 - (40 - i) * day, "Berlin", "DE", 52.52, 13.40) for i in range(30)]
    odd = [
        _signin(100, upn, T0 - 90 * MIN, "Berlin", "DE", 52.52, 13.40),
        _signin(101, upn, T0 - 30 * MIN, "Sao Paulo", "BR", -23.55, -46.63, risk="medium"),
    ]
    signins = tmp_path / "signins.json"
    signins.write_text(json.dumps({"value": history + odd}))
    pat = gh_event(
        999,
        action="org_credential_authorization.grant",
        actor="fin",
        ts_ms=T0 - 10 * MIN,
        token_id="42",
        external_identity_nameid=upn,
    )
    burst = [{**r, "external_identity_nameid": upn} for r in _burst("fin", 12, T0, MIN)]
    import_files(ws, [signins])
    _run(ws, tmp_path, [pat, *burst, *_burst("calm", 12, T0, MIN, prefix="c")])
    by_actor = {f.actor: f for f in load_findings(ws)}
    reasons = " | ".join(by_actor["fin"].reasons)
    assert "First sign-in from BR for this identity, 30 min before" in reasons
    assert "Impossible travel: Berlin to Sao Paulo" in reasons
    assert "Sign-in with IdP risk medium from BR" in reasons
    assert "New credential or grant: org_credential_authorization.grant token 42, 10 min before" in reasons
    assert by_actor["fin"].score > by_actor["calm"].score


def test_low_and_slow_new_repositories_after_the_learning_period(ws: Workspace, tmp_path: Path) -> None:
    day = 86_400_000
    usual = [gh_event(10_000 + i, actor="slow", repo="acme/home", ts_ms=T0 + i * day) for i in range(20)]
    # From day 20 on: four repositories it never pulled before, every day for five days.
    creeping = [
        gh_event(
            20_000 + d * 10 + k, actor="slow", repo=f"acme/other-{d}-{k}", ts_ms=T0 + (20 + d) * day + k * 3_600_000
        )
        for d in range(5)
        for k in range(4)
    ]
    # A brand-new account pulling many repos over days is still learning: no novelty finding.
    newcomer = [
        gh_event(30_000 + d * 10 + k, actor="newbie", repo=f"acme/n-{d}-{k}", ts_ms=T0 + d * day + k * 3_600_000)
        for d in range(5)
        for k in range(4)
    ]
    _run(ws, tmp_path, usual + creeping + newcomer)
    (f,) = load_findings(ws)
    assert f.actor == "slow" and len(f.repos) == 20
    assert f.severity in ("medium", "high", "critical")
    assert "for the first time over" in f.reasons[0] and "14-day learning period" in f.reasons[0]


def test_status_survives_a_rerun_and_unknown_ids_are_refused(ws: Workspace, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from auditor.cli import cli

    _run(ws, tmp_path, _burst("m", 15, T0, MIN))
    (f,) = load_findings(ws)
    assert f.status == "new"
    ws.close()
    runner = CliRunner()
    ok = runner.invoke(cli, ["--workspace", str(ws.root), "findings", "status", f.id, "confirmed", "--note", "INC-1"])
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(cli, ["--workspace", str(ws.root), "detect", "--json"])
    assert again.exit_code == 0, again.output
    listed = json.loads(runner.invoke(cli, ["--workspace", str(ws.root), "findings", "--format", "json"]).output)
    assert [(x["id"], x["status"]) for x in listed] == [(f.id, "confirmed")]
    bad = runner.invoke(cli, ["--workspace", str(ws.root), "findings", "status", "AN0732-nope", "triaged"])
    assert bad.exit_code != 0


def test_daily_automation_scores_low_from_its_own_history(ws: Workspace, tmp_path: Path) -> None:
    day = 86_400_000
    nightly = [r for d in range(6) for r in _burst("nightly-job", 30, T0 + d * day, 2_000)]
    _run(ws, tmp_path, nightly)
    by_day = sorted(load_findings(ws), key=lambda f: f.first_seen)
    assert len(by_day) == 6
    # The data begins with it: no baseline yet, so it shows, capped at low, saying why.
    assert 20 < by_day[0].score <= 40 and any("still learning" in r for r in by_day[0].reasons)
    assert all(f.score <= 20 and f.severity == "info" for f in by_day[1:])
    assert any("Routine for this account" in r for r in by_day[-1].reasons)


def test_weekly_automation_after_learning_scores_low_without_a_suppression(ws: Workspace, tmp_path: Path) -> None:
    week = 7 * 86_400_000
    weekly = [r for w in range(4) for r in _burst("weekly-archive", 30, T0 + w * week, 5_000)]
    _run(ws, tmp_path, weekly + _history())
    by_week = sorted(load_findings(ws), key=lambda f: f.first_seen)
    assert by_week[0].severity in ("medium", "high", "critical")  # first sight after learning: it alerts
    assert all(f.severity == "info" for f in by_week[1:])


def test_small_out_of_team_pull_alerts_only_with_identity_context(ws: Workspace, tmp_path: Path) -> None:
    day = 86_400_000
    # 25 days of one usual repo a day, then 7 repositories it never pulled within 20 minutes.
    usual = [r for d in range(25) for r in _burst("dev", 1, T0 - (25 - d) * day, MIN, prefix="own")]
    pull = _burst("dev", 7, T0, 3 * MIN, prefix="other")
    _run(ws, tmp_path, usual + pull)
    recent = [f for f in load_findings(ws) if f.first_seen >= datetime(2025, 9, 27)]
    assert all(f.severity in ("info", "low") for f in recent)


def test_api_content_reads_at_an_abnormal_rate_are_a_finding(ws: Workspace, tmp_path: Path) -> None:
    day = 86_400_000

    def api(i: int, ts: int, repo: str) -> dict[str, Any]:
        return {
            **gh_event(900_000 + i, actor="scraper", repo=repo, ts_ms=ts, visibility="private"),
            "action": "api.request",
            "route": "/repos/{owner}/{repo}/contents/{path}",
            "hashed_token": "abc=",
        }

    usual = [api(i, T0 - (20 - i) * day, "acme/own") for i in range(20)]
    burst = [api(100 + i, T0 + i * 1_500, f"acme/r{i % 3}") for i in range(600)]
    _run(ws, tmp_path, usual + burst)
    (f,) = load_findings(ws)
    assert f.actor == "scraper" and f.severity in ("medium", "high", "critical")
    assert "through the API: 600 requests" in f.reasons[0]
    assert any("API request rate" in r for r in f.reasons)
