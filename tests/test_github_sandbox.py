"""The sandbox GitHub org inventory (planted conditions, consistency with the logs) and the sandbox
GitHub API server's HTTP behaviour (auth, errors, headers, cursors, GraphQL refusals)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor_sandbox.generate import END, build_sandbox, generate_tenant
from auditor_sandbox.github.graphql import Obj, execute
from auditor_sandbox.github.server import FULL_SCOPES, GitHubServer, serve_github
from auditor_sandbox.inventory_github import build_github_inventory, role_rank
from tests.helpers import served

TOKEN = "ghp_sandbox_test_91ac"  # a static test credential for the loopback sandbox


@pytest.fixture(scope="module")
def default_inventory() -> dict[str, Any]:
    box = build_sandbox(seed=7)
    inv = build_github_inventory(box.tenant, now=END)
    inv["_tenant"] = box.tenant
    return inv


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acme")
    generate_tenant(out, users=60, repos=60, days=20)
    return out


@pytest.fixture
def server(small: Path) -> Iterator[GitHubServer]:
    with serve_github(small, tokens={TOKEN: FULL_SCOPES}) as running:
        yield running


def test_planted_governance_conditions(default_inventory: dict[str, Any]) -> None:
    inv = default_inventory
    tenant = inv["_tenant"]
    assert inv["org"]["default_repository_permission"] == "read"
    assert inv["org"]["members_can_create_repositories"] is True
    assert inv["org"]["two_factor_requirement_enabled"] is False
    assert inv["enterprise"]["audit_log_streams"] == []
    assert sum(1 for m in inv["members"] if m["role"] == "admin") >= 4
    teams = {t["slug"]: t for t in inv["teams"]}
    children = [t for t in inv["teams"] if t["parent"] == "engineering"]
    assert len(children) >= 5 and all(
        any(m["role"] == "maintainer" for m in t["members"]) for t in children if t["members"]
    )
    restricted = {r["full_name"] for r in inv["repos"] if r["visibility"] != "public"}
    assert {r["repo"] for r in teams["engineering"]["repos"]} == restricted
    finance = tenant.person("finance_pat").github.login
    assert finance in {m["login"] for m in teams["all-staff"]["members"]}
    broad = [r["repo"] for r in teams["all-staff"]["repos"] if r["repo"] in restricted]
    assert len(broad) >= 3
    outside = {m["login"] for m in inv["outside_collaborators"]}
    contractors = {p.github.login for p in tenant.people if p.account_class == "contractor" and p.github}
    assert outside == contractors
    pushes = {
        (c["login"], r["full_name"]) for r in inv["repos"] for c in r["collaborators"] if c["permission"] == "push"
    }
    assert all(any(login == o for login, _ in pushes) for o in outside)
    admins = Counter(r["full_name"] for r in inv["repos"] for c in r["collaborators"] if c["permission"] == "admin")
    assert max(admins.values()) >= 6
    admin_login = tenant.person("admin_travel").github.login
    pats = [
        a for a in inv["credential_authorizations"] if a["login"] == admin_login and "admin:org" in a.get("scopes", [])
    ]
    assert pats and pats[0]["authorized_credential_expires_at"] is None and "repo" in pats[0]["scopes"]
    cutoff = END.replace(tzinfo=None) - timedelta(days=90)
    accessed = [datetime.fromisoformat(a["credential_accessed_at"][:19]) for a in inv["credential_authorizations"]]
    stale = [t for t in accessed if t < cutoff]
    assert stale
    installs = inv["installations"]
    assert len(installs) == 3
    assert any(i["repository_selection"] == "all" and i["permissions"].get("contents") == "write" for i in installs)
    keys = [k for r in inv["repos"] for k in r["deploy_keys"]]
    assert any(not k["read_only"] for k in keys) and any(k["read_only"] for k in keys)
    assert inv["organization_roles"] and inv["organization_roles"][0]["users"]
    upns = {p.github.login: p.upn for p in tenant.people if p.github}
    assert all(upns[x["login"]] == x["name_id"] for x in inv["external_identities"])


def test_everyone_the_logs_show_pulling_or_pushing_has_that_access(small: Path) -> None:
    inv = json.loads((small / "inventory" / "github.json").read_text())
    grants = {(g["account"], g["repo"]): g["role"] for g in inv["grants"]}
    known = {m["login"] for m in inv["members"]} | {m["login"] for m in inv["outside_collaborators"]}
    visibility = {r["full_name"]: r["visibility"] for r in inv["repos"]}
    checked = 0
    for line in (small / "github" / "audit-log.ndjson").open():
        event = json.loads(line)
        actor, repo, action = event.get("actor"), event.get("repo"), event["action"]
        if actor not in known or visibility.get(repo, "public") == "public":
            continue
        if action in ("git.clone", "git.fetch", "repo.download_zip", "git.push"):
            need = "write" if action == "git.push" else "read"
            assert role_rank(grants.get((actor, repo), "none")) >= role_rank(need), (actor, repo, action)
            checked += 1
    assert checked > 100


def test_scale_mode_sizes() -> None:
    from auditor_sandbox.tenant import build_tenant

    start = END - timedelta(days=30)
    tenant = build_tenant(7, 2300, 3100, start, hire_day=5, leave_day=20)
    inv = build_github_inventory(tenant, now=END, base_permission="none", max_repos=2000, max_members=1500,
                                 parent_pulls=False)  # fmt: skip
    assert len(inv["repos"]) == 2000
    assert len([m for m in inv["members"] if not m["login"].startswith("acme-")]) == 1500
    assert inv["org"]["default_repository_permission"] == "none"
    assert not any("org_base" in g["via"] for g in inv["grants"])


def _get(server: GitHubServer, path: str, token: str | None = TOKEN) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(server.url + path)
    if token is not None:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_auth_errors_and_rate_limit_headers(server: GitHubServer) -> None:
    status, _, body = _get(server, "/orgs/acme-corp", token="nope")
    assert status == 401 and body["message"] == "Bad credentials" and "documentation_url" in body
    status, _, body = _get(server, "/orgs/acme-corp", token=None)
    assert status == 401 and body["message"] == "Requires authentication"
    status, headers, body = _get(server, "/orgs/acme-corp")
    assert status == 200 and body["login"] == "acme-corp"
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used"):
        assert headers[name].isdigit()
    assert headers["X-RateLimit-Resource"] == "core" and "read:audit_log" in headers["X-OAuth-Scopes"]
    status, _, body = _get(server, "/orgs/acme-corp/personal-access-tokens")
    assert status == 403 and body["message"] == "Resource not accessible by personal access token"
    assert _get(server, "/orgs/other-org")[0] == 404


def test_link_pagination_is_built_from_the_request_host(server: GitHubServer) -> None:
    status, headers, body = _get(server, "/orgs/acme-corp/members?per_page=5")
    assert status == 200 and len(body) == 5
    assert f'<{server.url}/orgs/acme-corp/members?per_page=5&page=2>; rel="next"' in headers["Link"]
    status, headers, _ = _get(server, "/api/v3/orgs/acme-corp/members?per_page=5&page=2")
    assert f"{server.url}/api/v3/orgs/acme-corp/members?per_page=5&page=3" in headers["Link"]
    assert 'rel="prev"' in headers["Link"]


def test_audit_log_cursors_order_and_phrase(server: GitHubServer) -> None:
    q = "/orgs/acme-corp/audit-log?include=all&per_page=3&order=asc&phrase=created:%3E%3D2026-09-20"
    status, headers, first = _get(server, q)
    assert status == 200 and len(first) == 3
    assert first[0]["@timestamp"] <= first[1]["@timestamp"] <= first[2]["@timestamp"]
    bound = int(datetime(2026, 9, 20).timestamp() * 1000)
    assert first[0]["@timestamp"] >= bound - 86_400_000
    next_url = headers["Link"].split(">")[0].lstrip("<")
    assert "after=" in next_url and next_url.startswith(server.url)
    _, headers2, second = _get(server, next_url.removeprefix(server.url))
    assert second[0]["@timestamp"] >= first[-1]["@timestamp"] and second[0] != first[-1]
    prev = next(p for p in headers2["Link"].split(", ") if 'rel="prev"' in p).split(">")[0].lstrip("<")
    _, _, back = _get(server, prev.removeprefix(server.url))
    assert back == first
    _, _, web = _get(server, "/orgs/acme-corp/audit-log?per_page=100")
    assert web and not any(e["action"].startswith("git.") for e in web)  # include defaults to web
    assert _get(server, "/orgs/acme-corp/audit-log?page=2")[0] == 422


def test_graphql_refuses_what_github_refuses() -> None:
    root = Obj("Query", {"repository": lambda a: Obj("Repository", {"name": "x", "items": lambda a: []})})
    assert "doesn't exist" in execute("{ repository { nope } }", None, root)["errors"][0]["message"]
    assert execute("{ r: repository { name } }", None, root) == {"data": {"r": {"name": "x"}}}
    from auditor_sandbox.github.graphql import connection

    root = Obj("Query", {"items": lambda a: connection("items", list(range(5)), a)})
    assert "first" in execute("{ items { totalCount } }", None, root)["errors"][0]["message"]
    assert execute("{ items(first: 101) { totalCount } }", None, root)["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    page = execute(
        "query($n: Int = 2) { items(first: $n) { totalCount pageInfo { hasNextPage endCursor } } }", None, root
    )
    assert page["data"]["items"]["totalCount"] == 5 and page["data"]["items"]["pageInfo"]["hasNextPage"] is True
    assert execute("mutation { x }", None, root)["errors"][0]["type"] == "PARSE_ERROR"


def test_cli_serve_github_answers_and_rejects_bad_fault_specs(small: Path) -> None:
    import subprocess
    import sys

    args = [str(small), "--port", "0", "--token", TOKEN, "--fault", "bad_gateway:1:/orgs/acme-corp/teams"]
    with served("github", *args) as url:
        request = urllib.request.Request(url + "/orgs/acme-corp/teams", headers={"Authorization": f"Bearer {TOKEN}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 502
        with urllib.request.urlopen(request, timeout=30) as response:
            assert any(t["slug"] == "engineering" for t in json.loads(response.read()))
    cmd = [sys.executable, "-m", "auditor", "sandbox", "serve", "github", *args]
    bad = subprocess.run([*cmd[:-2], "--fault", "meteor"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--fault" in bad.stderr
