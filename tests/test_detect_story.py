"""Findings tell the right story: a low-and-slow episode starts where the anomaly starts, not six days
earlier inside the account's normal work, and its counts, places and credentials describe that window."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.config.models import AuditorConfig
from auditor.detect.bulk import run_detection
from auditor.findings import load_findings
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson

DAY0 = datetime(2026, 7, 11)  # a Saturday; day 21 is Saturday 2026-08-01
REPLAY_IP = "203.0.113.66"


def _ms(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1)).total_seconds() * 1000)


def _clone(n: int, at: datetime, repo: str, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"programmatic_access_type": "Personal access token", "token_id": "41"} | extra
    return gh_event(n, actor="dev", repo=repo, ts_ms=_ms(at), **fields)


def _replay_week() -> list[dict[str, Any]]:
    """Three weeks of the same three repos every weekday morning, in the last week a first pull of one new
    repository a day (normal work), then on Saturday night the developer's token replayed from elsewhere:
    16 repositories it never pulled, one every ten minutes (too slow for a burst)."""
    records, n = [], 0
    for day in range(21):
        at = DAY0 + timedelta(days=day, hours=9)
        if at.weekday() >= 5:
            continue
        for repo in ("acme/a", "acme/b", "acme/c"):
            n += 1
            records.append(_clone(n, at, repo))
        if day >= 16:  # Monday 27 July to Friday 31 July
            n += 1
            records.append(_clone(n, at + timedelta(hours=2), f"acme/new{day}"))
    night = DAY0 + timedelta(days=21, hours=21)
    for i in range(16):
        n += 1
        records.append(
            _clone(n, night + timedelta(minutes=10 * i), f"acme/x{i}", actor_ip=REPLAY_IP,
                   actor_location={"country_code": "NL"}, user_agent="python-requests/2.32")
        )  # fmt: skip
    return records


def test_a_saturday_night_replay_after_a_normal_week_starts_on_saturday(ws: Workspace, tmp_path: Path) -> None:
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", _replay_week())])
    run_detection(ws, AuditorConfig())
    (f,) = [f for f in load_findings(ws) if f.actor == "dev"]
    assert f.first_seen == datetime(2026, 8, 1, 21, 0)
    assert sorted(f.repos) == sorted(f"acme/x{i}" for i in range(16))  # none of the week's normal first pulls
    assert any("Pulled 16 restricted repositories for the first time" in r for r in f.reasons)
    assert "Distinct restricted repositories from the start: 1 in 5 min, 7 in 1 h, 16 in 24 h, 16 in 7 d." in f.reasons
    (where,) = [r for r in f.reasons if r.startswith("From IP")]
    assert where == f"From IP {REPLAY_IP}; country NL."  # the replay's network only, not the office's


def test_low_and_slow_over_several_days_still_starts_at_its_first_new_repository(ws: Workspace, tmp_path: Path) -> None:
    records, n = [], 0
    for day in range(14):  # two weeks of the usual repos: past the learning period
        n += 1
        records.append(_clone(n, DAY0 + timedelta(days=day, hours=9), "acme/a"))
    for day in range(5):  # then three new repositories a day for five days: 15 in a week
        for k in range(3):
            n += 1
            records.append(_clone(n, DAY0 + timedelta(days=16 + day, hours=10 + k), f"acme/s{day}-{k}"))
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", records)])
    run_detection(ws, AuditorConfig())
    (f,) = [f for f in load_findings(ws) if f.actor == "dev"]
    assert f.first_seen == DAY0 + timedelta(days=16, hours=10) and len(f.repos) == 15


def _signin(i: int, at: datetime, ip: str) -> dict[str, Any]:
    return {
        "id": f"s-{i}",
        "createdDateTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "userPrincipalName": "dev@acme.example",
        "appId": "a",
        "ipAddress": ip,
        "status": {"errorCode": 0},
        "riskLevelDuringSignIn": "none",
        "location": {
            "city": "Berlin",
            "countryOrRegion": "DE",
            "geoCoordinates": {"latitude": 52.5, "longitude": 13.4},
        },
    }


def _with_owner_signins(ws: Workspace, tmp_path: Path, records: list[dict[str, Any]]) -> None:
    """The developer's SAML identity on its events, and an office sign-in every weekday at 08:55."""
    office = "198.51.100.7"  # the IP gh_event gives the developer's own pulls
    signins = [
        _signin(day, DAY0 + timedelta(days=day, hours=8, minutes=55), office)
        for day in range(22)
        if (DAY0 + timedelta(days=day)).weekday() < 5
    ]
    path = tmp_path / "signins.json"
    path.write_text(json.dumps({"value": signins}), encoding="utf-8")
    linked = [r | {"external_identity_nameid": "dev@acme.example"} for r in records]
    import_files(ws, [path, write_ndjson(tmp_path / "gh.ndjson", linked)])
    run_detection(ws, AuditorConfig())


def test_a_token_used_where_its_owner_never_signed_in_is_a_replay_indicator(ws: Workspace, tmp_path: Path) -> None:
    _with_owner_signins(ws, tmp_path, _replay_week())
    (f,) = [f for f in load_findings(ws) if f.actor == "dev"]
    assert "Credential used: Personal access token 41." in f.reasons
    assert (
        f"Replay indicator: Personal access token 41 used from IP {REPLAY_IP}, where its owner did not sign in "
        "within 72 h before or during the activity (nor from that country); the owner's last sign-in before it "
        "was from Berlin, DE (198.51.100.7) at 2026-07-31 08:55 UTC."
    ) in f.reasons


def test_pulls_from_where_the_owner_signed_in_say_so_and_are_no_replay(ws: Workspace, tmp_path: Path) -> None:
    records = [r for r in _replay_week() if r.get("actor_ip") != REPLAY_IP]
    night = DAY0 + timedelta(days=20, hours=10)  # Friday morning, from the office, after the 08:55 sign-in
    records += [_clone(900 + i, night + timedelta(minutes=i), f"acme/y{i}") for i in range(12)]
    _with_owner_signins(ws, tmp_path, records)
    (f,) = [f for f in load_findings(ws) if f.actor == "dev" and f.first_seen >= night]
    assert "The owner signed in from the same IP (198.51.100.7) within 72 h before or during it." in f.reasons
    assert not any(r.startswith("Replay indicator") for r in f.reasons)
