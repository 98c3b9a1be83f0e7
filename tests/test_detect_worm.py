"""A worm on a build account (the shape of Shai-Hulud, 2025): an established automation account pulls every
repository it can read, then publishes public copies. Two signals catch it even when a backup bot in the
same peer group pulls everything routinely: the break from the account's own pattern (the peer-typical cap
does not apply to an established account taking mostly repositories it never pulled) and the publication."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.config.models import AuditorConfig
from auditor.detect.bulk import run_detection
from auditor.detect.scoring import Baseline
from auditor.findings import Finding, load_findings
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson

DAY0 = datetime(2026, 7, 6)
WORM = DAY0 + timedelta(days=24, hours=15)  # a Thursday afternoon
BOT = {"programmatic_access_type": "Personal access token", "token_id": "9100", "user_agent": "git/2.44.0"}
REPOS = [f"acme/svc{k}" for k in range(30)]


def _ms(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1)).total_seconds() * 1000)


def _tenant(publish: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Five service accounts in one peer group: four backup bots pull all 30 repositories every night; the
    build bot builds two of them every weekday, then (day 24) clones all 30 within 15 minutes."""
    records: list[dict[str, Any]] = []

    def add(action: str, actor: str, repo: str, at: datetime, **extra: Any) -> None:
        records.append(gh_event(len(records) + 1, action=action, actor=actor, repo=repo, ts_ms=_ms(at), **extra))

    for day in range(25):
        for b in range(4):
            for k, repo in enumerate(REPOS):
                add("git.clone", f"backup{b}-bot", repo, DAY0 + timedelta(days=day, hours=1 + b, seconds=20 * k))
        if day % 7 < 5 and day < 24:
            for k in range(2):
                add("git.clone", "build-bot", REPOS[k], DAY0 + timedelta(days=day, hours=10, minutes=k), **BOT)
    for k, repo in enumerate(REPOS):
        add("git.clone", "build-bot", repo, WORM + timedelta(seconds=30 * k), **BOT | {"user_agent": "node/20"})
    for extra in publish:
        add(str(extra.pop("action")), "build-bot", str(extra.pop("repo")), WORM + timedelta(minutes=16), **extra)
    return records


def _worm_finding(ws: Workspace, tmp_path: Path, publish: list[dict[str, Any]]) -> Finding:
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", _tenant(publish))])
    run_detection(ws, AuditorConfig())
    (f,) = [f for f in load_findings(ws) if f.actor == "build-bot" and f.first_seen >= WORM]
    return f


def test_an_established_account_taking_mostly_repositories_it_never_pulled_is_not_peer_typical() -> None:
    def baseline(active_days: int, first_time: int) -> Baseline:
        return Baseline(2, 1, 5, active_days, "service/-", 7, 30, first_time, 0, 0, 0, (30, 30, 30, 30), False)

    assert not baseline(active_days=16, first_time=28).peer_typical(30)  # a worm on a build account
    assert baseline(active_days=2, first_time=28).peer_typical(30)  # onboarding: no pattern of its own yet
    assert baseline(active_days=16, first_time=3).peer_typical(30)  # a new laptop: repositories it knows


def test_a_build_account_pulling_everything_scores_high_though_its_peers_pull_everything(
    ws: Workspace, tmp_path: Path
) -> None:
    f = _worm_finding(ws, tmp_path, [])
    assert f.severity in ("high", "critical"), (f.score, f.reasons)
    assert any(r.startswith("28 of 30 repositories were never pulled by this account before") for r in f.reasons)
    assert not any(r.startswith("Published:") for r in f.reasons)


def test_public_repositories_created_around_the_downloads_are_named_with_their_times(
    ws: Workspace, tmp_path: Path
) -> None:
    publish = [
        {"action": "repo.create", "repo": "acme/Shai-Hulud", "visibility": "public", "repository_public": True},
        {"action": "repo.access", "repo": "acme/svc3", "visibility": "public", "repository_public": True},
    ]
    f = _worm_finding(ws, tmp_path, publish)
    assert f.severity == "critical", (f.score, f.reasons)
    assert (
        "Published: 2 repositories created public or made public by this account around the downloads (below, with "
        "times): code placed outside the organisation's access control, the exfiltration step of the 2025 "
        "Shai-Hulud worm."
    ) in f.reasons
    assert "Created public repository acme/Shai-Hulud, 2 min after the last download." in f.reasons
    assert "Made repository acme/svc3 public, 2 min after the last download." in f.reasons


def test_a_private_repository_created_around_the_downloads_is_no_publication(ws: Workspace, tmp_path: Path) -> None:
    f = _worm_finding(ws, tmp_path, [{"action": "repo.create", "repo": "acme/new-service", "visibility": "private"}])
    assert not any("acme/new-service" in r for r in f.reasons)
