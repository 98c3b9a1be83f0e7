"""The GitHub connector: real PyGithub over HTTP against the sandbox GitHub API server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.config.models import GitHubSource
from auditor.connectors.github.client import GitHubAuthError, GitHubError
from auditor.connectors.github.collect import Collected, collect
from auditor.connectors.github.load import load_collected
from auditor.importers.sqlfuncs import install_macros
from auditor.workspace.store import Workspace
from auditor_sandbox.generate import generate_tenant
from auditor_sandbox.github.server import FULL_SCOPES, Fault, GitHubServer, serve_github

TOKEN = "ghp_test_token_4b1d"  # a static test credential for the loopback sandbox
SINCE = datetime(2026, 9, 1)
ORG = "acme-corp"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acme")
    generate_tenant(out, users=60, repos=60, days=20)
    return out


@pytest.fixture(scope="module")
def inventory(tenant: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((tenant / "inventory" / "github.json").read_text())
    return doc


@pytest.fixture
def server(tenant: Path) -> Iterator[GitHubServer]:
    with serve_github(tenant, tokens={TOKEN: FULL_SCOPES}) as running:
        yield running


def _source(server: GitHubServer, **kw: Any) -> GitHubSource:
    return GitHubSource(base_url=kw.pop("base_url", server.url), org=ORG, enterprise="acme", **kw)


def _collect(server: GitHubServer, since: datetime = SINCE, token: str = TOKEN, **kw: Any) -> Collected:
    return collect(_source(server, **kw), token, since, fast=True)


def _load(ws: Workspace, server: GitHubServer, collected: Collected, since: datetime = SINCE) -> dict[str, Any]:
    install_macros(ws.con)
    return load_collected(ws, server.url, collected, since, ghes=False).to_json()


def _grants(ws: Workspace) -> set[tuple[str, str, str, tuple[str, ...]]]:
    rows = ws.con.execute("SELECT account, repo, role, via FROM grants").fetchall()
    return {(a, r, role, tuple(via)) for a, r, role, via in rows}


def _truth(inventory: dict[str, Any]) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {(g["account"], g["repo"], g["role"], tuple(g["via"])) for g in inventory["grants"]}


def _audit_lines_since(tenant: Path, since: datetime) -> int:
    bound = int(since.replace(tzinfo=None).timestamp() * 1000) if since.tzinfo else None
    if bound is None:
        from datetime import UTC

        bound = int(since.replace(tzinfo=UTC).timestamp() * 1000)
    return sum(1 for line in (tenant / "github" / "audit-log.ndjson").open() if json.loads(line)["@timestamp"] >= bound)


def test_collected_inventory_equals_ground_truth_grant_by_grant(
    tmp_path: Path, server: GitHubServer, inventory: dict[str, Any], tenant: Path
) -> None:
    ws = Workspace.open(tmp_path / "ws")
    collected = _collect(server)
    summary = _load(ws, server, collected)
    assert _grants(ws) == _truth(inventory)
    vias = {v for g in inventory["grants"] for v in g["via"]}
    assert {"org_owner", "org_base", "direct", "outside_collaborator"} <= vias
    assert any(v.startswith("team:") for v in vias)
    settings = dict(ws.con.execute("SELECT key, value FROM platform_settings").fetchall())
    assert settings == {
        "default_repository_permission": "read",
        "members_can_create_repositories": "true",
        "two_factor_requirement_enabled": "false",
        "audit_log_streaming": "none",
    }
    roles = dict(ws.con.execute("SELECT role, count(*) FROM memberships WHERE kind = 'org' GROUP BY role").fetchall())
    assert roles["owner"] == sum(1 for m in inventory["members"] if m["role"] == "admin") >= 2
    assert roles["outside_collaborator"] == len(inventory["outside_collaborators"])
    inherited = ws.con.execute(
        "SELECT count(*) FROM memberships WHERE kind = 'team' AND scope = 'engineering' AND via IS NOT NULL"
    ).fetchone()
    assert inherited is not None and inherited[0] > 0  # nested: engineering lists its child teams' members
    kinds = dict(ws.con.execute("SELECT kind, count(*) FROM credentials GROUP BY kind").fetchall())
    assert kinds["classic_pat"] + kinds["ssh_key"] == len(inventory["credential_authorizations"])
    assert kinds["deploy_key"] == sum(len(r["deploy_keys"]) for r in inventory["repos"])
    write_keys = ws.con.execute("SELECT count(*) FROM credentials WHERE kind = 'deploy_key' AND scopes = ['write']")
    assert write_keys.fetchone() == (1,)
    apps = ws.con.execute("SELECT name, reach, permissions FROM apps ORDER BY name").fetchall()
    assert [(a[0], a[1]) for a in apps] == [("acme-ci", "all"), ("renovate", "selected"), ("slack", "selected")]
    assert json.loads(apps[0][2])["contents"] == "write"
    identities = ws.con.execute("SELECT count(*) FROM external_identities").fetchone()
    assert identities == (len(inventory["external_identities"]),)
    links = ws.con.execute("SELECT count(*) FROM account_links WHERE linked_by = 'saml_identity'").fetchone()
    assert links == (len(inventory["external_identities"]),)
    assert summary["audit_events_imported"] == _audit_lines_since(tenant, SINCE) > 0
    # Fine-grained PATs need App auth: with a token they are a gap naming what is needed, not an empty list.
    gaps = {g["source"]: g["needs"] for g in summary["coverage_gaps"]}
    assert any("personal-access-tokens" in s and "GitHub App" in n for s, n in gaps.items())
    sources = {r[0]: r for r in ws.con.execute("SELECT source, retention_days, streaming FROM log_sources").fetchall()}
    assert sources[f"github:{ORG} audit-log (Git events)"][1] == 7
    assert sources[f"github:{ORG} audit-log (web and API events)"][1] == 180
    import hashlib

    stored = {r[0] for r in ws.con.execute("SELECT sha256 FROM evidence WHERE kind = 'collect'").fetchall()}
    pages = [*collected.audit_pages, *collected.graphql_pages, *(p for ps in collected.pages.values() for p in ps)]
    assert {hashlib.sha256(p.body).hexdigest() for p in pages} <= stored  # every page kept as received


def test_ghes_style_prefix_serves_rest_and_graphql(
    tmp_path: Path, server: GitHubServer, inventory: dict[str, Any]
) -> None:
    ws = Workspace.open(tmp_path / "ws")
    collected = _collect(server, base_url=server.url + "/api/v3")
    _load(ws, server, collected)
    assert _grants(ws) == _truth(inventory)
    paths = {t.split("?")[0] for _, t, _ in server.requests}
    assert "/api/graphql" in paths and "/api/v3/orgs/acme-corp/members" in paths


def test_pagination_follows_link_headers_for_pages_and_cursors(tmp_path: Path, server: GitHubServer) -> None:
    collected = _collect(server, since=datetime(2026, 8, 1))
    audit = [t for _, t, _ in server.requests if "/audit-log?" in t]
    assert len(audit) == len(collected.audit_pages) > 3
    assert all("after=" in t for t in audit[1:])  # cursor paging, as GitHub's audit log does
    teams = [t for _, t, _ in server.requests if "/teams/all-staff/members" in t and "role=all" in t]
    assert len(teams) == 1 or any("page=2" in t for t in teams)
    graphql = [t for m, t, _ in server.requests if m == "POST"]
    repos = sum(1 for r in collected.items("repos") if r["visibility"] != "public")
    assert len(graphql) <= -(-repos // 50) + 2  # many repos per query, plus the identities query


@pytest.mark.parametrize("kind", ["primary", "primary429", "secondary", "bad_gateway", "malformed"])
def test_transient_faults_are_retried_to_the_same_result(
    tmp_path: Path, server: GitHubServer, inventory: dict[str, Any], kind: str
) -> None:
    server.inject(Fault(kind, times=1, path="/teams/"))
    server.inject(Fault(kind, times=1, path="/graphql"))
    ws = Workspace.open(tmp_path / "ws")
    _load(ws, server, _collect(server))
    assert _grants(ws) == _truth(inventory)
    refused = [s for _, t, s in server.requests if "/teams/" in t or t == "/graphql"]
    expected = {"primary": 403, "primary429": 429, "secondary": 403, "bad_gateway": 502, "malformed": 200}[kind]
    assert expected in refused


def test_rate_limit_waits_for_reset_without_spinning(server: GitHubServer) -> None:
    server.inject(Fault("primary429", times=1, path="/orgs/acme-corp/repos"))
    _collect(server)
    hits = [t for _, t, _ in server.requests if t.startswith("/orgs/acme-corp/repos")]
    assert len(hits) == 2  # one refusal, one retry after the reset: no busy loop


def test_persistent_malformed_json_fails_naming_the_endpoint(server: GitHubServer) -> None:
    server.inject(Fault("malformed", times=-1, path="/orgs/acme-corp/repos"))
    with pytest.raises(GitHubError, match="not JSON") as info:
        _collect(server, retries=2)
    assert info.value.endpoint == "/orgs/acme-corp/repos"


def test_missing_scope_is_a_coverage_gap_and_the_run_goes_on(tmp_path: Path, tenant: Path) -> None:
    scopes = tuple(s for s in FULL_SCOPES if s not in ("read:audit_log", "admin:org", "admin:enterprise"))
    with serve_github(tenant, tokens={TOKEN: (*scopes, "read:org")}) as server:
        ws = Workspace.open(tmp_path / "ws")
        summary = _load(ws, server, _collect(server))
    gaps = {g["source"]: g["needs"] for g in summary["coverage_gaps"]}
    audit = next(n for s, n in gaps.items() if "/audit-log (HTTP 403)" in s)
    assert "read:audit_log" in audit and "GitHub asked for: read:audit_log" in audit
    assert any("externalIdentities" in s and "admin:org" in n for s, n in gaps.items())
    assert any("audit-log/streams" in s and "admin:enterprise" in n for s, n in gaps.items())
    stored = ws.con.execute("SELECT count(*) FROM coverage_gaps WHERE platform = 'github'").fetchone()
    assert stored is not None and stored[0] >= len(gaps)
    assert ws.con.execute("SELECT count(*) FROM grants").fetchone() != (0,)


def test_injected_missing_scope_fault_names_the_scope(tmp_path: Path, server: GitHubServer) -> None:
    server.inject(Fault("missing_scope", times=-1, path="/credential-authorizations", scope="read:org"))
    collected = _collect(server)
    gap = next(g for g in collected.gaps if "credential-authorizations" in g.source)
    assert "HTTP 403" in gap.source and "read:org" in gap.needs


def test_second_run_fetches_only_new_audit_events(tmp_path: Path, server: GitHubServer) -> None:
    ws = Workspace.open(tmp_path / "ws")
    first = _load(ws, server, _collect(server))
    mark = ws.con.execute("SELECT high_water FROM collect_state WHERE source = 'github:acme-corp:audit-log'").fetchone()
    assert mark is not None and mark[0] > SINCE
    from datetime import UTC

    base = int(mark[0].replace(tzinfo=UTC).timestamp() * 1000)
    new = [
        json.dumps({"@timestamp": base + 60_000 * (i + 1), "_document_id": f"new-doc-{i}", "action": "git.clone",
                    "actor": "someone", "org": ORG, "repo": f"{ORG}/handbook", "visibility": "internal"})
        for i in range(7)
    ]  # fmt: skip
    server.data.append_audit(new)
    server.requests.clear()
    second = _load(ws, server, _collect(server, since=mark[0]), since=mark[0])
    assert first["audit_events_imported"] > 7
    assert second["audit_events_imported"] == 7
    assert second["audit_events_duplicates"] <= 1  # at most the event at the high-water second itself
    assert len([t for _, t, _ in server.requests if "/audit-log?" in t]) == 1


def test_github_app_auth_reaches_fine_grained_pats(tmp_path: Path, tenant: Path, inventory: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key_file = tmp_path / "app.pem"
    key_file.write_bytes(pem)
    with serve_github(tenant, tokens={}, apps={4242: public.decode()}, installations={777: 4242}) as server:
        source = GitHubSource(base_url=server.url, org=ORG, app_id=4242, private_key_file=key_file, installation_id=777)
        collected = collect(source, None, SINCE, fast=True)
        assert any(m == "POST" and t == "/app/installations/777/access_tokens" and s == 201
                   for m, t, s in server.requests)  # fmt: skip
        ws = Workspace.open(tmp_path / "ws")
        _load(ws, server, collected)
    got = ws.con.execute("SELECT count(*) FROM credentials WHERE kind = 'fine_grained_pat'").fetchone()
    assert got == (len(inventory["fine_grained_pats"]),) and got[0] > 0
    assert not [g for g in collected.gaps if "personal-access-token" in g.source]
    assert _grants(ws) == _truth(inventory)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file.write_bytes(other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))  # fmt: skip
    with serve_github(tenant, tokens={}, apps={4242: public.decode()}, installations={777: 4242}) as server:
        source = GitHubSource(base_url=server.url, org=ORG, app_id=4242, private_key_file=key_file, installation_id=777)
        with pytest.raises(GitHubAuthError):
            collect(source, None, SINCE, fast=True)


def test_bad_credentials_raise_before_anything_else_is_asked(server: GitHubServer) -> None:
    with pytest.raises(GitHubAuthError, match="Bad credentials"):
        _collect(server, token="ghp_wrong")
    assert [t for _, t, _ in server.requests] == ["/orgs/acme-corp"]


def _cli(tmp_path: Path, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITHUB_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "auditor", "--workspace", str(tmp_path / "ws"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_collect_github_then_views_and_bad_credentials_exit_2(tmp_path: Path, server: GitHubServer) -> None:
    base = ["collect", "github", "--base-url", server.url, "--org", ORG, "--since", "2026-09-15T00:00:00Z"]
    bad = _cli(tmp_path, *base, "--json", token="ghp_wrong")
    assert bad.returncode == 2 and "Bad credentials" in bad.stderr and "ghp_wrong" not in bad.stderr
    db = tmp_path / "ws" / "auditor.duckdb"
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM snapshots").fetchone() == (0,)  # workspace left unchanged
    assert con.execute("SELECT count(*) FROM evidence").fetchone() == (0,)
    con.close()
    ok = _cli(tmp_path, *base, "--json")
    assert ok.returncode == 0, ok.stderr
    summary = json.loads(ok.stdout)
    assert summary["platform"] == "github" and summary["counts"]["grants"] > 0 and TOKEN not in ok.stdout + ok.stderr
    access = _cli(tmp_path, "access", "--repo", f"{ORG}/handbook", "--format", "json")
    rows = json.loads(access.stdout)
    assert rows and set(rows[0]) == {
        "platform", "repo", "account", "identity", "account_class", "role", "via", "entitlements",
    }  # fmt: skip
    assert {r["repo"] for r in rows} == {f"{ORG}/handbook"} and all(isinstance(r["via"], list) for r in rows)
    assert all(r["entitlements"] for r in rows)  # every effective grant names the entitlements behind it
    con = duckdb.connect(str(db), read_only=True)
    # the role a team's grant and a collaborator's grant give is kept (the grant keeps only the highest)
    paths = con.execute(
        "SELECT count(*) FILTER (WHERE starts_with(path, 'team:') AND account IS NULL), "
        "count(*) FILTER (WHERE path IN ('direct', 'outside_collaborator') AND account IS NOT NULL), "
        "count(*) FILTER (WHERE path IN ('org_base', 'org_owner')) FROM grant_paths"
    ).fetchone()
    con.close()
    assert paths is not None and paths[0] > 0 and paths[1] > 0 and paths[2] == 0
    creds = json.loads(_cli(tmp_path, "credentials", "--format", "json").stdout)
    assert {"platform", "kind", "owner", "scopes", "created_at", "last_used_at", "expires_at", "id"} <= set(creds[0])
    assert any(c["kind"] == "classic_pat" and "admin:org" in c["scopes"] and c["expires_at"] is None for c in creds)
    apps = json.loads(_cli(tmp_path, "apps", "--format", "json").stdout)
    assert {a["name"] for a in apps} == {"acme-ci", "renovate", "slack"}
    csv_out = _cli(tmp_path, "access", "--account", "acme-backup-bot", "--format", "csv").stdout
    assert csv_out.startswith("platform,repo,account,identity,account_class,role,via") and "org_base;" in csv_out
    none = _cli(tmp_path, "collect", "github", "--base-url", server.url, "--org", ORG, token="")
    assert none.returncode == 2 and "GITHUB_TOKEN" in none.stderr


def test_enterprise_only_collects_the_enterprise_audit_log_and_streaming(
    tmp_path: Path, server: GitHubServer, tenant: Path
) -> None:
    source = GitHubSource(base_url=server.url, enterprise="acme")
    collected = collect(source, TOKEN, SINCE, fast=True)
    ws = Workspace.open(tmp_path / "ws")
    install_macros(ws.con)
    summary = load_collected(ws, server.url, collected, SINCE, ghes=False).to_json()
    assert summary["scope"] == "enterprise:acme"
    assert summary["audit_events_imported"] == _audit_lines_since(tenant, SINCE)
    assert all(t.startswith("/enterprises/acme/") for _, t, _ in server.requests)
    assert ws.con.execute("SELECT scope, key, value FROM platform_settings").fetchall() == [
        ("acme", "audit_log_streaming", "none")
    ]
    gaps = ws.con.execute("SELECT source, consequence FROM coverage_gaps WHERE platform = 'github'").fetchall()
    assert any("streaming" in s and "7 days" in c for s, c in gaps)


def test_oauth_app_restrictions_come_from_the_audit_log(tmp_path: Path, server: GitHubServer) -> None:
    ws = Workspace.open(tmp_path / "ws")
    first = _load(ws, server, _collect(server))
    assert any(g["source"] == "OAuth app access restrictions" for g in first["coverage_gaps"])
    event = {"@timestamp": 1_790_900_000_000, "_document_id": "oauth-restrict-1",
             "action": "org.enable_oauth_app_restrictions", "actor": "someone", "org": ORG}  # fmt: skip
    server.data.append_audit([json.dumps(event)])
    second = _load(ws, server, _collect(server))
    assert not any(g["source"] == "OAuth app access restrictions" for g in second["coverage_gaps"])
    value = ws.con.execute(
        "SELECT value FROM platform_settings WHERE key = 'oauth_app_restrictions_enabled' AND snapshot_id = ?",
        [second["snapshot_id"]],
    ).fetchone()
    assert value == ("true",)
    gaps = ws.con.execute("SELECT count(*) FROM coverage_gaps WHERE source LIKE '%OAuth app access%'").fetchone()
    assert gaps == (0,)  # the previous run's gap for this org is replaced, not kept
