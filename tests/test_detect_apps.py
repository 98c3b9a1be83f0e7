"""Apps as actors: one OAuth app or GitHub App whose tokens for several users pull many restricted
repositories from one network in a short window is one finding on the app, naming the token owners and
linking their evidence, though every account stays under its own thresholds; the app's own history makes
a daily pattern routine; approved apps are suppressed; PATs without an app and apps pulling one
repository never make an app finding."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.config.models import AuditorConfig
from auditor.detect.bulk import run_detection
from auditor.findings import load_findings
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson

DAY0 = datetime(2026, 6, 1)
USERS = ("ana", "ben", "cai", "dee", "eli")
ABOVE_LOW = ("medium", "high", "critical")
OAUTH = {"oauth_application_id": 9001, "oauth_application_name": "DeployHelper"}


def _ms(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1)).total_seconds() * 1000)


class _Events:
    """Hand-built GitHub audit-log records with unique ids."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def clone(self, actor: str, repo: str, at: datetime, **extra: Any) -> None:
        self.records.append(gh_event(len(self.records) + 1, actor=actor, repo=repo, ts_ms=_ms(at), **extra))

    def history(self, days: int = 20) -> None:
        """Each user's everyday work: their own repository from their own address with their own PAT, so the
        data is past its learning days when the tested activity starts."""
        for day in range(days):
            for k, user in enumerate(USERS):
                self.clone(
                    user,
                    f"acme/home-{user}",
                    DAY0 + timedelta(days=day, hours=9, minutes=k),
                    actor_ip=f"198.51.{100 + k}.7",
                    programmatic_access_type="Personal access token",
                    token_id=f"pat-{user}",
                )

    def spree(self, day: int, ip_prefix: str = "203.0.113.", app: dict[str, Any] | None = None) -> None:
        """Five users, 3-4 restricted repositories each (17 in all), one IPv4 /24, 20 minutes."""
        start = DAY0 + timedelta(days=day, hours=2)
        n = 0
        for k, user in enumerate(USERS):
            for j in range(4 if k < 2 else 3):
                fields: dict[str, Any] = dict(app or {})
                if app:
                    fields |= {"programmatic_access_type": "OAuth access token", "token_id": f"oauth-{user}"}
                else:
                    fields |= {"programmatic_access_type": "Personal access token", "token_id": f"pat-{user}"}
                self.clone(
                    user,
                    f"acme/svc-{user}-{j}",
                    start + timedelta(minutes=n),
                    actor_ip=f"{ip_prefix}{10 + n % 4}",
                    **fields,
                )
                n += 1

    def write(self, ws: Workspace, tmp_path: Path) -> None:
        import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", self.records)])


def test_one_oauth_app_across_five_users_is_one_finding_on_the_app(ws: Workspace, tmp_path: Path) -> None:
    ev = _Events()
    ev.history()
    ev.spree(20, app=OAUTH)
    ev.write(ws, tmp_path)
    run_detection(ws, AuditorConfig())
    found = load_findings(ws)
    apps = [f for f in found if (f.actor or "").startswith("app:")]
    assert len(apps) == 1
    (f,) = apps
    assert f.actor == "app:9001" and f.severity in ABOVE_LOW and not f.suppressed
    assert len(f.repos) == 17
    text = "\n".join(f.reasons)
    assert 'app "DeployHelper" (id 9001)' in text and "the tokens of 5 users" in text
    assert "ana (4), ben (4), cai (3), dee (3), eli (3)" in text
    # Each owner's own download is linked: five distinct leading evidence references, all in this episode.
    assert len(set(f.evidence[:5])) == 5 and len(f.evidence) == 17
    assert not [g for g in found if not (g.actor or "").startswith("app:") and g.severity in ("low", *ABOVE_LOW)]


def test_the_same_app_doing_it_every_day_is_routine(ws: Workspace, tmp_path: Path) -> None:
    ev = _Events()
    ev.history(30)
    for day in range(20, 30):
        ev.spree(day, app=OAUTH)
    ev.write(ws, tmp_path)
    run_detection(ws, AuditorConfig())
    apps = sorted((f for f in load_findings(ws) if f.actor == "app:9001"), key=lambda f: f.first_seen)
    assert apps and apps[0].severity in ABOVE_LOW  # the first day is not known yet
    later = apps[1:]
    assert len(later) == 9 and all(f.severity not in ABOVE_LOW for f in later)
    assert any("Routine for this app" in r for r in later[-1].reasons)


def test_a_new_network_for_a_daily_app_is_not_routine(ws: Workspace, tmp_path: Path) -> None:
    ev = _Events()
    ev.history(30)
    for day in range(20, 29):
        ev.spree(day, app=OAUTH)
    ev.spree(29, ip_prefix="192.0.2.", app=OAUTH)
    ev.write(ws, tmp_path)
    run_detection(ws, AuditorConfig())
    last = max((f for f in load_findings(ws) if f.actor == "app:9001"), key=lambda f: f.first_seen)
    assert last.first_seen.date() == (DAY0 + timedelta(days=29)).date() and last.severity in ABOVE_LOW


def test_github_app_cloning_one_repository_a_hundred_times_daily_is_not_medium(ws: Workspace, tmp_path: Path) -> None:
    ev = _Events()
    ev.history(30)
    for day in range(20, 30):
        start = DAY0 + timedelta(days=day, hours=3)
        for i in range(100):  # on behalf of five users (so the owner threshold alone is met), one repository
            ev.clone(
                USERS[i % 5],
                "acme/monorepo",
                start + timedelta(seconds=6 * i),
                actor_ip="203.0.113.50",
                integration="ci-builder",
                programmatic_access_type="GitHub App user-to-server token",
            )
    ev.write(ws, tmp_path)
    run_detection(ws, AuditorConfig())
    found = load_findings(ws)
    assert not [f for f in found if (f.actor or "").startswith("app:")]
    assert not [f for f in found if f.severity in ABOVE_LOW]


def test_users_with_their_own_pats_make_no_app_finding(ws: Workspace, tmp_path: Path) -> None:
    ev = _Events()
    ev.history()
    ev.spree(20)
    ev.write(ws, tmp_path)
    run_detection(ws, AuditorConfig())
    assert not [f for f in load_findings(ws) if (f.actor or "").startswith("app:")]


def test_one_app_from_five_unrelated_networks_is_no_app_finding(ws: Workspace, tmp_path: Path) -> None:
    ev = _Events()
    ev.history()
    start = DAY0 + timedelta(days=20, hours=2)
    for k, user in enumerate(USERS):  # each user's token from their own home network, same window
        for j in range(4):
            ev.clone(user, f"acme/svc-{user}-{j}", start + timedelta(minutes=4 * k + j), actor_ip=f"198.51.{100 + k}.7",
                     programmatic_access_type="OAuth access token", token_id=f"oauth-{user}", **OAUTH)  # fmt: skip
    ev.write(ws, tmp_path)
    run_detection(ws, AuditorConfig())
    assert not [f for f in load_findings(ws) if (f.actor or "").startswith("app:")]


def test_an_approved_app_is_suppressed(ws: Workspace, tmp_path: Path) -> None:
    ev = _Events()
    ev.history()
    ev.spree(20, app=OAUTH)
    ev.write(ws, tmp_path)
    cfg = AuditorConfig.model_validate(
        {
            "approved_automation": [
                {"name": "deploy helper", "purpose": "backup", "app_ids": ["9001"], "ticket": "SEC-1"}
            ]
        }
    )
    run_detection(ws, cfg)
    (f,) = [f for f in load_findings(ws) if (f.actor or "").startswith("app:")]
    assert f.suppressed and "deploy helper" in (f.suppression_reason or "")


def test_thresholds_are_configurable(ws: Workspace, tmp_path: Path) -> None:
    ev = _Events()
    ev.history()
    ev.spree(20, app=OAUTH)
    ev.write(ws, tmp_path)
    run_detection(ws, AuditorConfig.model_validate({"detection": {"app_min_users": 6}}))
    assert not [f for f in load_findings(ws) if (f.actor or "").startswith("app:")]
