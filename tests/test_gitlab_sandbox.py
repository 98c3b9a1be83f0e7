"""The sandbox GitLab instance (inventory/gitlab.json) and its API server, exercised with the real python-gitlab."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitlab
import pytest
import requests

from auditor_sandbox.generate import build_sandbox, generate_tenant
from auditor_sandbox.gitlab import Faults, GitLabServer, serve_gitlab
from auditor_sandbox.inventory_gitlab import PARTNERS, STREAMING_DESTINATION, load_gitlab_inventory
from tests.helpers import served

TOKEN = "glpat-test-0b3c"  # a static test credential for the loopback sandbox
SIZE = {"users": 60, "repos": 90, "days": 40}


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acme-gl")
    generate_tenant(out, users=SIZE["users"], repos=SIZE["repos"], days=SIZE["days"])
    return out


@pytest.fixture(scope="module")
def inv(tenant: Path) -> dict[str, Any]:
    return load_gitlab_inventory(tenant)


@pytest.fixture
def server(tenant: Path) -> Iterator[GitLabServer]:
    with serve_gitlab(tenant, token=TOKEN, max_per_page=7) as running:
        yield running


def _client(server: GitLabServer, token: str = TOKEN) -> gitlab.Gitlab:
    return gitlab.Gitlab(server.url, private_token=token, keep_base_url=True, retry_transient_errors=True)


def test_inventory_plants_the_access_paths(inv: dict[str, Any], tenant: Path) -> None:
    box = build_sandbox(seed=7, users=SIZE["users"], repos=SIZE["repos"], days=SIZE["days"])
    t = box.tenant
    users = {u["id"]: u for u in inv["users"]}
    groups = {g["full_path"]: g for g in inv["groups"]}
    top = {m["user_id"]: m["access_level"] for m in inv["group_members"][str(groups["acme"]["id"])]}
    for p in t.people:
        if p.account_class == "privileged" and p.gitlab:
            assert top[p.gitlab.account_id] == 50
    subgroups = [g for g in groups if g.startswith("acme/")]
    assert subgroups and all(r.full_name.rsplit("/", 1)[0] in groups for r in t.repos_on("gitlab"))
    for sub in subgroups:
        levels = [m["access_level"] for m in inv["group_members"][str(groups[sub]["id"])]]
        assert levels.count(40) >= 1, sub
    assert any(m["access_level"] == 10 for ms in inv["group_members"].values() for m in ms)
    # The partners' group holds the external people and is shared with a team subgroup at Developer.
    partners = {m["user_id"] for m in inv["group_members"][str(groups[PARTNERS]["id"])]}
    assert partners and all(users[u]["external"] for u in partners)
    shares = [(g["full_path"], s["group_access_level"]) for g in inv["groups"] for s in g["shared_with_groups"]]
    assert any(level == 30 for _, level in shares)
    guest = t.person("guest_pat")
    assert guest.gitlab is not None
    guest_rows = [e for e in inv["effective"] if e["user_id"] == guest.gitlab.account_id]
    assert any(e["via"] == ["project", f"shared_group:{PARTNERS}"] and e["role"] == "maintainer" for e in guest_rows)
    assert any(e["via"] == [f"shared_group:{PARTNERS}"] for e in guest_rows)
    truth = json.loads((tenant / "ground_truth.json").read_text())["scenarios"]
    exported = next(x for x in truth if x["name"] == "gitlab-guest-project-export")
    roles = {e["project"]: e["role"] for e in guest_rows}
    assert all(roles.get(repo) == "maintainer" for repo in exported["repos"])
    # Users: states, bots, one admin; tokens with the planted properties.
    assert {u["state"] for u in inv["users"]} >= {"active", "blocked", "deactivated"}
    assert sum(u["is_admin"] for u in inv["users"]) == 1 and any(u["bot"] for u in inv["users"])
    nondev = {p.gitlab.account_id for p in t.people if p.gitlab and p.account_class == "non_developer"}
    pats = inv["personal_access_tokens"]
    assert any(tok["user_id"] in nondev and "api" in tok["scopes"] for tok in pats)
    assert any(tok["expires_at"] is None for tok in pats)
    assert any(p["can_push"] for k in inv["deploy_keys"] for p in k["projects"])
    assert inv["group_access_tokens"] and inv["project_access_tokens"] and inv["applications"]
    assert inv["streaming_destinations"] == []


def test_everyone_pulling_a_project_in_the_logs_can_reach_it(inv: dict[str, Any], tenant: Path) -> None:
    reach = {(e["user_id"], e["project"]): e["access_level"] for e in inv["effective"]}
    users = {u["id"]: u for u in inv["users"]}
    visibility = {p["path_with_namespace"]: p["visibility"] for p in inv["projects"]}
    pulls = set()
    for line in (tenant / "gitlab" / "audit-events.ndjson").read_text().splitlines():
        rec = json.loads(line)
        if rec["entity_type"] == "Project" and rec["author_id"] > 0:
            pulls.add((rec["author_id"], rec["entity_path"]))
    assert pulls
    for uid, path in pulls:
        needs_member = visibility[path] == "private" or users[uid]["external"]
        assert not needs_member or reach.get((uid, path), 0) >= 20, (users[uid]["username"], path)


def test_offset_and_keyset_pages_follow_link_headers_from_the_request_host(server: GitLabServer) -> None:
    gl = _client(server)
    projects = list(gl.http_list("/groups/acme/projects", iterator=True, query_data={"include_subgroups": True}))
    assert len(projects) == len(server.inst.projects) > 7
    pages = [t for _, t, _ in server.requests if "/groups/acme/projects" in t]
    assert len(pages) == -(-len(projects) // 7) and any("page=2" in t for t in pages)
    response = requests.get(
        f"{server.url}/api/v4/groups/acme/projects?include_subgroups=true", headers={"PRIVATE-TOKEN": TOKEN}, timeout=5
    )
    assert response.headers["X-Total"] == str(len(projects)) and response.headers["X-Next-Page"] == "2"
    assert response.links["next"]["url"].startswith(server.url + "/api/v4/")
    keyset = list(gl.projects.list(pagination="keyset", order_by="id", iterator=True))
    assert [p.id for p in keyset] == sorted(p["id"] for p in server.inst.inv["projects"])
    assert any("id_after=" in t for _, t, _ in server.requests)


def test_audit_events_api_never_returns_streamed_git_operations(server: GitLabServer, tenant: Path) -> None:
    gl = _client(server)
    events = list(gl.audit_events.list(pagination="keyset", order_by="id", sort="desc", iterator=True))
    stored = [json.loads(x) for x in (tenant / "gitlab" / "audit-events.ndjson").read_text().splitlines()]
    expected = [e for e in stored if e["event_type"] != "repository_git_operation"]
    assert len(events) == len(expected) and len(expected) < len(stored)
    assert {e.event_name for e in events} <= {e["event_type"] for e in expected}
    ids = [e.id for e in events]
    assert ids == sorted(ids, reverse=True)
    assert any("cursor=" in t for _, t, _ in server.requests)
    window = list(
        gl.audit_events.list(created_after="2026-09-20T00:00:00Z", created_before="2026-09-25T00:00:00Z", iterator=True)
    )
    assert window and all("2026-09-20" <= e.created_at[:10] <= "2026-09-25" for e in window)


def test_auth_private_token_bearer_and_401(server: GitLabServer) -> None:
    assert _client(server).http_get("/version")["version"]  # type: ignore[index]
    bearer = gitlab.Gitlab(server.url, oauth_token=TOKEN, keep_base_url=True)
    bearer.auth()
    with pytest.raises(gitlab.GitlabAuthenticationError):
        _client(server, "wrong").auth()


def test_tier_gates(tenant: Path, inv: dict[str, Any]) -> None:
    with serve_gitlab(tenant, token=TOKEN, tier="free") as free:
        with pytest.raises(gitlab.GitlabListError) as refused:
            _client(free).audit_events.list(get_all=True)
        assert refused.value.response_code == 403
        answer = _client(free).http_post(
            f"{free.url}/api/graphql",
            post_data={"query": "{ auditEventsInstanceStreamingDestinations { nodes { id } } }"},
        )
        assert isinstance(answer, dict) and answer["errors"]
    ultimate_inv = {**inv, "streaming_destinations": [STREAMING_DESTINATION]}
    with serve_gitlab(tenant, token=TOKEN, tier="ultimate", inventory=ultimate_inv) as ultimate:
        answer = _client(ultimate).http_post(
            f"{ultimate.url}/api/graphql",
            post_data={
                "query": '{ group(fullPath: "acme") { externalAuditEventStreamingDestinations { nodes { name } } } }'
            },
        )
        assert isinstance(answer, dict) and "errors" not in answer
        assert answer["data"]["group"]["externalAuditEventStreamingDestinations"]["nodes"][0]["name"] == "siem-http"


def test_non_admin_sees_own_tokens_and_no_admin_endpoints(tenant: Path, inv: dict[str, Any]) -> None:
    owner = next(
        u["username"]
        for u in inv["users"]
        if not u["is_admin"]
        and any(
            m["user_id"] == u["id"] and m["access_level"] == 50
            for m in inv["group_members"][str(inv["groups"][0]["id"])]
        )
    )
    with serve_gitlab(tenant, token=TOKEN, as_user=owner) as running:
        gl = _client(running)
        gl.auth()
        assert gl.user is not None and "is_admin" not in gl.user.attributes
        mine = gl.http_list("/personal_access_tokens", get_all=True)
        assert all(t["user_id"] == gl.user.id for t in mine)
        for path in ("/applications", "/deploy_keys", "/audit_events"):
            with pytest.raises(gitlab.GitlabHttpError) as refused:
                gl.http_list(path, get_all=True)
            assert refused.value.response_code == 403, path
        with pytest.raises(gitlab.GitlabHttpError) as hidden:
            gl.http_get(f"/groups/{PARTNERS}")
        assert hidden.value.response_code == 404


def test_faults_429_5xx_forbid_and_malformed(tenant: Path) -> None:
    faults = Faults(every_429=3, every_5xx=4, forbid=("/applications",), malformed=("/deploy_keys",))
    with serve_gitlab(tenant, token=TOKEN, faults=faults) as running:
        gl = _client(running)
        for _ in range(6):
            assert gl.http_get("/version")
        statuses = {status for _, _, status in running.requests}
        assert {429, 502, 503} <= statuses or {429, 502} <= statuses
        retry = requests.get(f"{running.url}/api/v4/version", headers={"PRIVATE-TOKEN": TOKEN}, timeout=5)
        while retry.status_code != 429:
            retry = requests.get(f"{running.url}/api/v4/version", headers={"PRIVATE-TOKEN": TOKEN}, timeout=5)
        assert retry.headers["Retry-After"] == "1"
        with pytest.raises(gitlab.GitlabHttpError) as forbidden:
            gl.http_list("/applications", get_all=True)
        assert forbidden.value.response_code == 403
        with pytest.raises(gitlab.GitlabParsingError):
            gl.http_list("/deploy_keys", get_all=True)
    with pytest.raises(ValueError, match="at least 2"):
        Faults(every_429=1)


def test_cli_serves_the_instance_until_stopped(tenant: Path) -> None:
    args = [str(tenant), "--port", "0", "--token", TOKEN, "--tier", "ultimate", "--streaming", "--quiet"]
    with served("gitlab", *args) as url:
        gl = gitlab.Gitlab(url, private_token=TOKEN, keep_base_url=True)
        assert gl.http_get("/version")["version"]  # type: ignore[index]
        answer = gl.http_post(
            f"{url}/api/graphql",
            post_data={
                "query": '{ group(fullPath: "acme") { externalAuditEventStreamingDestinations { nodes { name } } } }'
            },
        )
        assert isinstance(answer, dict) and "errors" not in answer
