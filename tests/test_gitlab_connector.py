"""The GitLab connector: the real python-gitlab over HTTP against the sandbox GitLab server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.config.models import GitLabSource, Restriction
from auditor.connectors.gitlab.client import GitLabAuthError, GitLabError
from auditor.connectors.gitlab.collect import collect
from auditor.connectors.gitlab.load import load_collected, state_key
from auditor.importers.sqlfuncs import install_macros
from auditor.restriction import classify_repo
from auditor.workspace.store import Workspace
from auditor_sandbox.generate import generate_tenant
from auditor_sandbox.gitlab import Faults, GitLabServer, serve_gitlab
from auditor_sandbox.inventory_gitlab import PARTNERS, STREAMING_DESTINATION, load_gitlab_inventory

TOKEN = "glpat-test-5e1d"  # a static test credential for the loopback sandbox
SINCE, UNTIL = datetime(2026, 8, 15), datetime(2026, 10, 1)  # 47 days: two audit windows of at most 30
RULES = Restriction()


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acme-glc")
    generate_tenant(out, users=60, repos=90, days=60)
    return out


@pytest.fixture(scope="module")
def inv(tenant: Path) -> dict[str, Any]:
    return load_gitlab_inventory(tenant)


def _classify(p: dict[str, Any]) -> tuple[bool, int | None, str]:
    return classify_repo(RULES, p["path_with_namespace"], p.get("visibility"), list(p.get("topics") or []))


def _run(
    ws: Workspace,
    server: GitLabServer,
    *,
    instance: bool = True,
    since: datetime = SINCE,
    until: datetime = UNTIL,
    token: str = TOKEN,
) -> dict[str, Any]:
    source = GitLabSource(base_url=server.url, instance=instance, groups=[] if instance else ["acme"])
    collected = collect(source, token, since, until, lambda p: _classify(p)[0])
    install_macros(ws.con)
    return load_collected(ws, collected, _classify).to_json()


def _truth(inv: dict[str, Any]) -> dict[tuple[str, str], tuple[str, list[str]]]:
    restricted = {p["path_with_namespace"] for p in inv["projects"] if p["visibility"] != "public"}
    return {
        (e["project"], e["username"]): (e["role"], e["via"]) for e in inv["effective"] if e["project"] in restricted
    }


def _grants(ws: Workspace) -> dict[tuple[str, str], tuple[str, list[str]]]:
    rows = ws.con.execute("SELECT repo, account, role, via FROM grants WHERE platform = 'gitlab'").fetchall()
    return {(r, a): (role, list(via)) for r, a, role, via in rows}


def _owner(inv: dict[str, Any]) -> str:
    top = str(next(g["id"] for g in inv["groups"] if g["full_path"] == "acme"))
    ids = {m["user_id"] for m in inv["group_members"][top] if m["access_level"] == 50}
    return str(next(u["username"] for u in inv["users"] if u["id"] in ids and not u["is_admin"]))


@pytest.mark.parametrize("instance", [True, False], ids=["instance", "group"])
def test_grants_equal_the_sandbox_ground_truth(
    ws: Workspace, tenant: Path, inv: dict[str, Any], instance: bool
) -> None:
    with serve_gitlab(tenant, token=TOKEN, max_per_page=20) as server:
        summary = _run(ws, server, instance=instance)
        asked = [t for _, t, _ in server.requests]
    assert _grants(ws) == _truth(inv)
    vias = {v for _, via in _grants(ws).values() for v in via}
    assert {"project", "group:acme", f"shared_group:{PARTNERS}"} <= vias
    assert any(v.startswith("group:acme/") for v in vias)
    # Paged both ways: keyset for /projects (instance), offset for a group's projects.
    assert any("id_after=" in t for t in asked) if instance else any("page=2" in t for t in asked)
    counts = summary["counts"]
    assert counts["grants"] == len(_truth(inv))
    memberships = ws.con.execute("SELECT DISTINCT kind, split_part(via, ':', 1) FROM memberships").fetchall()
    assert {("group", "direct"), ("group", "inherited"), ("group", "shared_group"), ("project", "direct")} <= set(
        memberships
    )


def test_users_credentials_apps_and_identities(ws: Workspace, tenant: Path, inv: dict[str, Any]) -> None:
    with serve_gitlab(tenant, token=TOKEN) as server:
        _run(ws, server)
    con = ws.con
    users = {
        r[0]: r[1:]
        for r in con.execute("SELECT login, state, is_bot, is_admin, is_external FROM platform_users").fetchall()
    }
    assert len(users) == len(inv["users"])
    for u in inv["users"]:
        assert users[u["username"]] == (u["state"], u["bot"], u["is_admin"], u["external"])
    kinds = dict(con.execute("SELECT kind, count(*) FROM credentials GROUP BY kind").fetchall())
    assert kinds["personal_access_token"] == len(inv["personal_access_tokens"])
    assert {"group_access_token", "project_access_token", "deploy_token", "deploy_key"} <= set(kinds)
    assert con.execute(
        "SELECT count(*) FROM credentials WHERE kind = 'deploy_key' AND scopes = ['write']"
    ).fetchone() == (1,)
    no_expiry = con.execute(
        "SELECT count(*) FROM credentials WHERE expires_at IS NULL AND kind = 'personal_access_token'"
    ).fetchone()
    assert no_expiry is not None and no_expiry[0] >= 1
    apps = con.execute("SELECT kind, reach FROM apps WHERE platform = 'gitlab'").fetchall()
    assert len(apps) == len(inv["applications"]) and {a[0] for a in apps} == {"oauth_application"}
    ids = con.execute("SELECT count(*) FROM external_identities WHERE platform = 'gitlab'").fetchone()
    assert ids is not None and ids[0] > 0
    linked = con.execute("SELECT count(*) FROM account_links WHERE linked_by = 'gitlab_identity'").fetchone()
    assert linked is not None and linked[0] > 0
    # Listed accounts exist even without events (dormant users, bots).
    bots = con.execute("SELECT count(*) FROM accounts WHERE platform = 'gitlab' AND is_bot").fetchone()
    assert bots is not None and bots[0] >= 3
    settings = dict(con.execute("SELECT key, value FROM platform_settings WHERE scope = 'instance'").fetchall())
    assert settings["audit_event_streaming"] == "unknown" and settings["signup_enabled"] == "false"


def _stored_events(tenant: Path, lo: datetime, hi: datetime) -> int:
    count = 0
    for line in (tenant / "gitlab" / "audit-events.ndjson").read_text().splitlines():
        rec = json.loads(line)
        at = datetime.fromisoformat(rec["created_at"].replace("Z", ""))
        count += rec["event_type"] != "repository_git_operation" and lo <= at <= hi
    return count


def test_audit_events_are_incremental_and_exclude_git_operations(ws: Workspace, tenant: Path) -> None:
    middle = datetime(2026, 9, 20)
    with serve_gitlab(tenant, token=TOKEN) as server:
        first = _run(ws, server, until=middle)
        first_asked = [t for _, t, _ in server.requests if "/audit_events" in t]
        key = state_key(server.url, "instance")
        (mark,) = ws.con.execute("SELECT high_water FROM collect_state WHERE source = ?", [key]).fetchone() or (None,)
        assert mark == middle
        del server.requests[:]
        second = _run(ws, server, since=mark - timedelta(minutes=5))  # the CLI's overlap
        second_asked = [t for _, t, _ in server.requests if "/audit_events" in t]
        third = _run(ws, server, since=UNTIL - timedelta(minutes=5))
    windows = {t.split("created_after=")[1].split("&")[0] for t in first_asked if "created_after=" in t}
    assert len(windows) == 2  # 36 days in windows of at most 30
    assert all("created_after=2026-09-19T23%3A55%3A00Z" in t or "cursor=" in t for t in second_asked), second_asked
    assert first["audit_events_imported"] == _stored_events(tenant, SINCE, middle) > 0
    assert second["audit_events_imported"] == _stored_events(tenant, middle, UNTIL) - _stored_events(
        tenant, middle, middle
    )
    assert second["audit_events_imported"] > 0 and third["audit_events_imported"] == 0
    git = ws.con.execute("SELECT count(*) FROM events WHERE action = 'repository_git_operation'").fetchone()
    assert git == (0,)
    downloads = ws.con.execute(
        "SELECT count(*) FROM events WHERE platform = 'gitlab' AND category = 'download' AND repo LIKE 'acme/%'"
    ).fetchone()
    assert downloads is not None and downloads[0] > 0


def test_non_admin_owner_gets_gaps_not_empty_lists(ws: Workspace, tenant: Path, inv: dict[str, Any]) -> None:
    with serve_gitlab(tenant, token=TOKEN, as_user=_owner(inv)) as server:
        summary = _run(ws, server, instance=False)
    sources = " | ".join(g["source"] + " " + g["needs"] for g in summary["coverage_gaps"])
    assert f"/groups/{PARTNERS}/members/all" in sources and "/api/v4/users" in sources
    assert "/personal_access_tokens" in sources and "/applications" in sources
    got = _grants(ws)
    assert not any(v.startswith("shared_group:") for _, via in got.values() for v in via)
    truth = {k: v for k, v in _truth(inv).items() if v[1] != [f"shared_group:{PARTNERS}"]}
    assert set(got) == set(truth)
    stored = ws.con.execute("SELECT count(*) FROM coverage_gaps WHERE source LIKE 'gitlab:%'").fetchone()
    assert stored is not None and stored[0] == len(summary["coverage_gaps"])


def test_free_tier_records_the_audit_events_gap(ws: Workspace, tenant: Path) -> None:
    with serve_gitlab(tenant, token=TOKEN, tier="free") as server:
        summary = _run(ws, server)
    needs = " | ".join(g["needs"] for g in summary["coverage_gaps"])
    assert "Premium" in needs and "Ultimate" in needs
    assert summary["audit_events_imported"] == 0 and summary["counts"]["grants"] > 0
    assert ws.con.execute("SELECT count(*) FROM collect_state").fetchone() == (0,)


def test_ultimate_streaming_destination_is_recorded(ws: Workspace, tenant: Path, inv: dict[str, Any]) -> None:
    streamed = {**inv, "streaming_destinations": [STREAMING_DESTINATION]}
    with serve_gitlab(tenant, token=TOKEN, tier="ultimate", inventory=streamed) as server:
        summary = _run(ws, server)
    assert not any("streaming" in g["needs"] for g in summary["coverage_gaps"])
    row = ws.con.execute("SELECT streaming FROM log_sources WHERE source = 'gitlab-audit-api'").fetchone()
    assert row == ("siem-http",)
    with serve_gitlab(tenant, token=TOKEN, tier="ultimate") as server:  # Ultimate, nothing configured
        summary = _run(ws, server)
    assert any("repository_git_operation" in g["consequence"] for g in summary["coverage_gaps"])


def test_rate_limits_and_transient_errors_are_retried(ws: Workspace, tenant: Path, inv: dict[str, Any]) -> None:
    faults = Faults(every_429=7, every_5xx=9, every_malformed=11)
    with serve_gitlab(tenant, token=TOKEN, faults=faults) as server:
        _run(ws, server)
        statuses = {status for _, _, status in server.requests}
    assert {429, 502, 503} <= statuses
    assert _grants(ws) == _truth(inv)


def test_a_forbidden_endpoint_is_a_gap_and_the_run_goes_on(ws: Workspace, tenant: Path, inv: dict[str, Any]) -> None:
    acme = next(g["id"] for g in inv["groups"] if g["full_path"] == "acme")
    with serve_gitlab(
        tenant, token=TOKEN, faults=Faults(forbid=("/applications", f"/groups/{acme}/access_tokens"))
    ) as s:
        summary = _run(ws, s)
    gaps = {g["source"]: g["needs"] for g in summary["coverage_gaps"]}
    assert "403" in gaps["GET /api/v4/applications"]
    assert "Owner role in group acme" in gaps["GET /api/v4/groups/acme/access_tokens"]
    assert summary["counts"]["apps"] == 0 and summary["counts"]["grants"] > 0


def test_broken_json_that_persists_fails_the_run_and_writes_nothing(ws: Workspace, tenant: Path) -> None:
    with (
        serve_gitlab(tenant, token=TOKEN, faults=Faults(malformed=("/users",))) as server,
        pytest.raises(GitLabError) as err,
    ):
        _run(ws, server)
    assert "/api/v4/users" in str(err.value) and "not JSON" in str(err.value)
    assert ws.con.execute("SELECT count(*) FROM snapshots").fetchone() == (0,)


def test_a_refused_token_stops_before_anything_is_written(ws: Workspace, tenant: Path) -> None:
    with serve_gitlab(tenant, token=TOKEN) as server, pytest.raises(GitLabAuthError) as err:
        _run(ws, server, token="wrong")
    assert err.value.status == 401 and "/api/v4/user" in str(err.value)
    assert ws.con.execute("SELECT count(*) FROM snapshots").fetchone() == (0,)


def test_cli_collect_gitlab_json_exit_codes_and_no_token_leak(tmp_path: Path, tenant: Path) -> None:
    env = {**os.environ, "GITLAB_TOKEN": TOKEN, "AUDITOR_WORKSPACE": str(tmp_path / "ws")}
    with serve_gitlab(tenant, token=TOKEN) as server:
        args = [
            sys.executable,
            "-m",
            "auditor",
            "collect",
            "gitlab",
            "--base-url",
            server.url,
            "--group",
            "acme",
            "--since",
            "2026-09-01T00:00:00Z",
            "--json",
        ]
        ok = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
        assert ok.returncode == 0, ok.stderr
        summary = json.loads(ok.stdout)
        assert summary["platform"] == "gitlab" and summary["counts"]["grants"] > 0
        assert TOKEN not in ok.stdout + ok.stderr
        stored = b"".join(p.read_bytes() for p in (tmp_path / "ws" / "evidence").rglob("*") if p.is_file())
        assert stored and TOKEN.encode() not in stored
        assert TOKEN.encode() not in (tmp_path / "ws" / "auditor.duckdb").read_bytes()
        bad = subprocess.run(args, env={**env, "GITLAB_TOKEN": "nope"}, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "401" in bad.stderr and "/api/v4/user" in bad.stderr
        none = subprocess.run(args, env={**env, "GITLAB_TOKEN": ""}, capture_output=True, text=True, timeout=60)
        assert none.returncode == 2 and "GITLAB_TOKEN" in none.stderr
        both = subprocess.run(
            [*args[:6], "--instance", "--group", "acme"], env=env, capture_output=True, text=True, timeout=60
        )
        assert both.returncode == 2


def test_collect_runs_every_configured_gitlab_source(tmp_path: Path, tenant: Path) -> None:
    with serve_gitlab(tenant, token=TOKEN) as server:
        config = tmp_path / "auditor.yaml"
        config.write_text(
            "sources:\n  gitlab:\n"
            f"    - base_url: {server.url}\n      instance: true\n      token: {{env: SANDBOX_GL}}\n"
            "      audit_initial_days: 3650\n",
            encoding="utf-8",
        )
        env = {**os.environ, "SANDBOX_GL": TOKEN, "AUDITOR_WORKSPACE": str(tmp_path / "ws")}
        env.pop("GITLAB_TOKEN", None)
        args = [sys.executable, "-m", "auditor", "--config", str(config), "collect", "--json"]
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["scope"] == "instance" and summary["audit_events_imported"] > 0
