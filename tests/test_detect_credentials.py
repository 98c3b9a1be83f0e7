"""Credential baselines: each credential's own networks, countries and user agents. Its first use from a new
one is a weak signal that names the credential, its type and the network; with the replay indicator (the
owner did not sign in from there) a new network and country lift a replayed token to at least medium, while
a rebuilt workstation, a trip, a token rotation and a weekly mirror stay below it."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import auditor.detect.bulk as bulk
from auditor.config.models import AuditorConfig
from auditor.detect.scoring import baseline_of, score_episode
from auditor.findings import Finding, load_findings
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson

DAY0 = datetime(2026, 7, 6)  # a Monday; day 19 is Saturday 25 July, day 21 Monday 27 July
OFFICE = "198.51.100.7"  # gh_event's default IP, country DE
UPN = "dev@acme.example"
PAT = {"programmatic_access_type": "Fine-grained personal access token", "token_id": "4711"}
AGENT = "git/2.45.1"


def _ms(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1)).total_seconds() * 1000)


def _clone(n: int, at: datetime, repo: str, actor: str = "dev", **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = PAT | {"user_agent": AGENT, "external_identity_nameid": UPN} | extra
    return gh_event(n, actor=actor, repo=repo, ts_ms=_ms(at), **fields)


def _signin(n: int, at: datetime, ip: str, cc: str = "DE", city: str = "Berlin", mfa: bool = False) -> dict[str, Any]:
    lat, lon = {"DE": (52.5, 13.4), "PT": (38.7, -9.1)}.get(cc, (52.5, 13.4))
    return {
        "id": f"s-{n}",
        "createdDateTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "userPrincipalName": UPN,
        "appId": "a",
        "ipAddress": ip,
        "status": {"errorCode": 0},
        "riskLevelDuringSignIn": "none",
        "authenticationRequirement": "multiFactorAuthentication" if mfa else "singleFactorAuthentication",
        "location": {"city": city, "countryOrRegion": cc, "geoCoordinates": {"latitude": lat, "longitude": lon}},
    }


class Tenant:
    """Three weeks of a developer's normal work with a fine-grained PAT from the office: all ten team repos
    every Monday at 09:00 (a routine burst), six of them Tuesday to Friday, an office sign-in every weekday
    at 08:55; then whatever a test adds."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.signins = [
            _signin(d, DAY0 + timedelta(days=d, hours=8, minutes=55), OFFICE) for d in range(28) if d % 7 < 5
        ]
        for day in range(21):
            if day % 7 < 5:
                self.pull(DAY0 + timedelta(days=day, hours=9), [f"acme/r{k}" for k in range(10 if day % 7 == 0 else 6)])

    def pull(self, at: datetime, repos: list[str], step: timedelta = timedelta(minutes=1), **extra: Any) -> None:
        for i, repo in enumerate(repos):
            self.records.append(_clone(len(self.records) + 1, at + i * step, repo, **extra))

    def run(self, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, int]]:
        """Import and detect; every scored episode (also candidates too low to become findings) and its score."""
        signins = tmp_path / "signins.json"
        signins.write_text(json.dumps({"value": self.signins}), encoding="utf-8")
        import_files(ws, [signins, write_ndjson(tmp_path / "gh.ndjson", self.records)])
        scored: list[tuple[Any, int]] = []

        def spy(e: Any, *args: Any) -> int:
            score = score_episode(e, *args)
            scored.append((e, score))
            return score

        monkeypatch.setattr(bulk, "score_episode", spy)
        bulk.run_detection(ws, AuditorConfig())
        return scored


def _episode(scored: list[tuple[Any, int]], actor: str, start: datetime) -> tuple[Any, int]:
    (found,) = [(e, s) for e, s in scored if e.actor == actor and e.first_seen >= start]
    return found


def _kinds(e: Any) -> set[str]:
    return {kind for kind, _, _ in e.precursors}


def _finding(ws: Workspace, actor: str, start: datetime) -> Finding:
    (f,) = [f for f in load_findings(ws) if f.actor == actor and f.first_seen >= start]
    return f


MONDAY = DAY0 + timedelta(days=21, hours=9)
CREDENTIAL_KINDS = {"credential_new_network", "credential_new_country", "credential_new_agent"}


def _monday_pull(
    t: Tenant, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, **extra: Any
) -> list[str]:
    """The routine Monday pull of the ten team repos with one thing changed (`extra`): only `kind` of the
    credential signals fires, the episode stays below medium, and its finding's reasons come back."""
    t.pull(MONDAY, [f"acme/r{k}" for k in range(10)], **extra)
    e, score = _episode(t.run(ws, tmp_path, monkeypatch), "dev", MONDAY)
    assert _kinds(e) & CREDENTIAL_KINDS == {kind}
    assert score < 45  # weak on its own: the Monday pull stays routine
    return _finding(ws, "dev", MONDAY).reasons


def test_a_new_network_of_the_credential_is_named_with_its_type_and_usual_network(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = Tenant()
    t.signins.append(_signin(900, MONDAY - timedelta(minutes=3), "192.0.2.10"))
    reasons = _monday_pull(t, ws, tmp_path, monkeypatch, "credential_new_network", actor_ip="192.0.2.10")
    assert (
        "Personal access token 4711 (fine-grained) first used from network 192.0.2.0/24 (DE) after 21 days from "
        "198.51.100.0/24 (DE), during the activity."
    ) in reasons


def test_a_new_country_of_the_credential_is_named_with_its_network(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same office network, geolocated elsewhere (a VPN exit, a GeoIP update).
    reasons = _monday_pull(
        Tenant(), ws, tmp_path, monkeypatch, "credential_new_country", actor_location={"country_code": "AT"}
    )
    assert (
        "Personal access token 4711 (fine-grained) first used from country AT (network 198.51.100.0/24) after 21 "
        "days from DE (network 198.51.100.0/24), during the activity."
    ) in reasons


def test_workstation_rebuild_new_agent_same_place_known_repos_stays_below_medium(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reasons = _monday_pull(Tenant(), ws, tmp_path, monkeypatch, "credential_new_agent", user_agent="git/2.47.0")
    assert (
        'Personal access token 4711 (fine-grained) first used with user agent "git/2.47.0" from network '
        '198.51.100.0/24 after 21 days with "git/2.45.1", during the activity.'
    ) in reasons


def test_conference_new_country_with_the_owners_mfa_sign_in_there_stays_below_medium(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = Tenant()
    lisbon = DAY0 + timedelta(days=23, hours=10)  # Wednesday, at a conference
    t.signins.append(_signin(901, lisbon - timedelta(minutes=10), "203.0.113.80", "PT", "Lisbon", mfa=True))
    t.pull(lisbon, [f"acme/r{k}" for k in range(6)], actor_ip="203.0.113.80", actor_location={"country_code": "PT"})
    e, score = _episode(t.run(ws, tmp_path, monkeypatch), "dev", lisbon)
    assert {"credential_new_network", "credential_new_country"} <= _kinds(e)
    assert not e.replay and "credential_replay" not in _kinds(e)
    assert score < 45


def test_token_rotation_has_no_baseline_and_stays_below_medium(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = Tenant()
    tuesday = DAY0 + timedelta(days=22, hours=9)
    t.records.append(
        gh_event(
            800, action="personal_access_token.access_granted", actor="dev", repo="", ts_ms=_ms(tuesday)
            - 600_000, **PAT | {"token_id": "4712", "external_identity_nameid": UPN},
        )
    )  # fmt: skip
    t.pull(tuesday, [f"acme/r{k}" for k in range(6)], token_id="4712")
    e, score = _episode(t.run(ws, tmp_path, monkeypatch), "dev", tuesday)
    assert not _kinds(e) & CREDENTIAL_KINDS
    assert score < 45


def test_weekly_mirror_of_every_repo_by_a_service_account_stays_below_medium(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = Tenant()
    for week, ip in enumerate(("192.0.2.50", "192.0.2.50", "192.0.2.50", "192.0.2.51")):  # a new runner, same /24
        sunday = DAY0 + timedelta(days=6 + 7 * week, hours=2)
        t.pull(
            sunday, [f"acme/m{k}" for k in range(40)], step=timedelta(seconds=20), actor="mirror-bot", token_id="9001",
            programmatic_access_type="Personal access token", actor_ip=ip, actor_location={"country_code": "US"},
            user_agent="git/2.40.1", external_identity_nameid=None,
        )  # fmt: skip
    scored = t.run(ws, tmp_path, monkeypatch)
    later = [(e, s) for e, s in scored if e.actor == "mirror-bot" and e.first_seen > DAY0 + timedelta(days=7)]
    assert len(later) == 3
    assert all(s < 45 and not _kinds(e) & {"credential_new_network", "credential_new_country"} for e, s in later)


def _replay(t: Tenant) -> datetime:
    """Saturday night: the PAT from a new foreign /24 with a script's user agent, eight repositories it never
    pulled in 24 minutes (below the burst threshold); the owner's last sign-in was Friday at the office."""
    night = DAY0 + timedelta(days=19, hours=21)
    t.pull(
        night, [f"acme/x{k}" for k in range(8)], step=timedelta(minutes=3), actor_ip="203.0.113.66",
        actor_location={"country_code": "NL"}, user_agent="python-requests/2.32",
    )  # fmt: skip
    return night


def test_a_replayed_pat_from_a_new_foreign_network_scores_at_least_medium(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = Tenant()
    night = _replay(t)
    e, score = _episode(t.run(ws, tmp_path, monkeypatch), "dev", night)
    assert score >= 45 and e.replay
    assert _kinds(e) >= CREDENTIAL_KINDS
    # Without the credential baselines the same episode stays low: they lift it.
    plain = dataclasses.replace(e, precursors=[p for p in e.precursors if not p.kind.startswith("credential_new_")])
    det = AuditorConfig().detection
    assert score_episode(plain, baseline_of(plain, det), det, None) < 45
    f = _finding(ws, "dev", night)
    assert f.severity in ("medium", "high", "critical")
    assert (
        "Credential replay: Fine-grained personal access token 4711 used from a network and a country outside the "
        "credential's own history, where its owner did not sign in (details below)."
    ) in f.reasons
    assert (
        "Personal access token 4711 (fine-grained) first used from network 203.0.113.0/24 (NL) after 19 days from "
        "198.51.100.0/24 (DE), during the activity."
    ) in f.reasons
    assert any(r.startswith("Personal access token 4711 (fine-grained) first used from country NL") for r in f.reasons)


def test_credential_baselines_give_the_same_findings_on_spark(ws: Workspace, tmp_path: Path) -> None:
    from auditor.detect.spark_engine import SparkEngine, spark_missing, start_session
    from auditor.lake.export import export_lake

    missing = spark_missing()
    if missing is not None:
        pytest.skip(f"Spark engine unavailable: {missing}")
    t = Tenant()
    _replay(t)
    signins = tmp_path / "signins.json"
    signins.write_text(json.dumps({"value": t.signins}), encoding="utf-8")
    import_files(ws, [signins, write_ndjson(tmp_path / "gh.ndjson", t.records)])
    bulk.run_detection(ws, AuditorConfig())
    duck = sorted((f.id, f.severity, f.score, tuple(f.reasons)) for f in load_findings(ws))
    assert any("first used from network 203.0.113.0/24" in r for f in duck for r in f[3])
    export_lake(ws, tmp_path / "lake")
    session = start_session("local[2]", {"spark.sql.shuffle.partitions": "2"})
    try:
        bulk.run_detection(ws, AuditorConfig(), engine=SparkEngine(session, str(tmp_path / "lake"), ws.con))
    finally:
        session.stop()
    assert sorted((f.id, f.severity, f.score, tuple(f.reasons)) for f in load_findings(ws)) == duck
