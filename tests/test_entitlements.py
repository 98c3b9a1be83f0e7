"""Entitlements: derived per snapshot from memberships, grant paths, credentials, apps and IdP data, each
linked to the effective grants it produces and carrying its reach; `auditor entitlements` and `access`."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path
from typing import Any

from auditor.checks.scope import build_views
from auditor.config.models import AuditorConfig
from auditor.entitlements.build import build_entitlements
from auditor.entitlements.listing import list_entitlements, reach_text
from auditor.restriction import apply_restriction
from auditor.workspace.store import Workspace
from tests.helpers import run_auditor
from tests.inventory import Inventory

ORG = "acme-corp"


def _tenant(ws: Workspace) -> Inventory:
    inv = Inventory(ws)
    inv.snapshot("github", ORG)
    inv.repo("github", f"{ORG}/api")
    inv.repo("github", f"{ORG}/web")
    inv.person("github", "alice")
    inv.person("github", "bob", department="Sales")
    inv.membership("github", "org", ORG, "alice", "member")
    inv.membership("github", "org", ORG, "bob", "member")
    inv.membership("github", "org", ORG, "ext", "outside_collaborator")
    inv.membership("github", "team", "core", "alice", "maintainer")
    inv.setting("github", ORG, "default_repository_permission", "read")
    snap = inv.snapshots["github"]
    # Paths as the connector records them: the team gives write on api; the base permission read on both.
    for account, repo, path, role in (
        ("alice", "api", "org_base", "read"), ("alice", "api", "team:core", "write"),
        ("alice", "web", "org_base", "read"), ("bob", "api", "org_base", "read"), ("bob", "web", "org_base", "read"),
        ("ext", "web", "outside_collaborator", "write"),
    ):  # fmt: skip
        ws.con.execute(
            "INSERT INTO grant_paths VALUES (?, 'github', ?, ?, ?, ?, NULL)",
            [snap, account, f"{ORG}/{repo}", path, role],
        )
    inv.grant("github", "alice", f"{ORG}/api", "write", ["org_base", "team:core"])
    inv.grant("github", "alice", f"{ORG}/web", "read", ["org_base"])
    inv.grant("github", "bob", f"{ORG}/api", "read", ["org_base"])
    inv.grant("github", "bob", f"{ORG}/web", "read", ["org_base"])
    inv.grant("github", "ext", f"{ORG}/web", "write", ["outside_collaborator"])
    inv.credential("github", "classic_pat", "7001", "alice", ["repo"], used_days_ago=2, name="cli")
    inv.credential("github", "deploy_key", "DK1", f"{ORG}/web", ["read"], name="argocd")
    inv.app("github", "github_app_installation", "42", {"contents": "read"}, "all", name="ci")
    ws.con.execute("UPDATE apps SET owner = ? WHERE app_id = '42'", [ORG])
    inv.event("github", "alice", 1, repo=f"{ORG}/api")
    # GitLab: a group membership and a group shared into a project
    inv.snapshot("gitlab", "https://gitlab.example instance")
    inv.repo("gitlab", "acme/core/svc")
    inv.membership("gitlab", "group", "acme/core", "gl-dev", "developer")
    gsnap = inv.snapshots["gitlab"]
    for account, path, role, target in (
        ("gl-dev", "group:acme/core", "developer", "acme/core"),
        ("partner", "shared_group:partners", "reporter", "acme/core/svc"),
    ):
        ws.con.execute(
            "INSERT INTO grant_paths VALUES (?, 'gitlab', ?, 'acme/core/svc', ?, ?, ?)",
            [gsnap, account, path, role, target],
        )
    inv.grant("gitlab", "gl-dev", "acme/core/svc", "developer", ["group:acme/core"])
    inv.grant("gitlab", "partner", "acme/core/svc", "reporter", ["shared_group:partners"])
    # Entra: a configured group and an eligible directory role
    esnap = inv.snapshot("entra", "contoso")
    ws.con.execute("INSERT INTO identity_groups VALUES (?, 'id-alice', 'g1', 'Engineering')", [esnap])
    ws.con.execute(
        "INSERT INTO identity_roles VALUES (?, 'id-bob', 'Global Administrator', 't1', 'eligible', '/')", [esnap]
    )
    return inv


def _entitlements(ws: Workspace) -> list[dict[str, Any]]:
    with ws.transaction() as con:
        apply_restriction(ws, AuditorConfig().restriction)
        build_views(con)
        build_entitlements(con, views=False)
    return list_entitlements(ws.con)


def _by(rows: list[dict[str, Any]], kind: str, **match: Any) -> dict[str, Any]:
    found = [r for r in rows if r["kind"] == kind and all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (kind, match, found)
    return found[0]


def test_every_kind_is_derived_with_its_reach(ws: Workspace) -> None:
    rows = _entitlements(_tenant(ws).ws)
    base = _by(rows, "base_permission", scope=ORG)
    assert base["role"] == "read" and base["account"] is None
    assert base["reach"] == {"repos": 2, "by_tier": {"tier2": 2}, "max_role": "read", "accounts": 2}
    team = _by(rows, "team_membership", account="alice", team="core")
    assert team["role"] == "maintainer"  # the membership's role, not the repo role
    assert team["reach"]["max_role"] == "write" and team["reach"]["repos"] == 1
    assert team["last_activity"] is not None
    assert _by(rows, "team_repo", scope=f"{ORG}/api", team="core")["role"] == "write"
    outside = _by(rows, "outside_collaborator", account="ext")
    assert outside["scope"] == ORG and outside["reach"]["repos"] == 1
    assert _by(rows, "org_role", account="alice")["role"] == "member"
    pat = _by(rows, "credential", account="alice")
    assert pat["object_id"] == "classic_pat:7001" and pat["reach"]["repos"] == 2
    key = _by(rows, "deploy_key", scope=f"{ORG}/web")
    assert key["reach"]["repos"] == 1 and key["reach"]["accounts"] == 0
    assert _by(rows, "app_installation", name="ci")["reach"]["repos"] == 2
    group = _by(rows, "group_membership", account="gl-dev", scope="acme/core")
    assert group["platform"] == "gitlab" and group["reach"]["max_role"] == "developer"
    share = _by(rows, "group_share", scope="acme/core/svc")
    assert share["group"] == "partners" and share["team"] is None
    assert _by(rows, "group_membership", account="partner", scope="partners")["reach"]["repos"] == 1
    assert _by(rows, "idp_group_membership", group="Engineering")["account"] == "alice@acme.example"
    assert _by(rows, "directory_role", account="bob@acme.example")["role"] == "Global Administrator (eligible)"


def test_every_grant_links_to_the_entitlements_that_produce_it(ws: Workspace) -> None:
    _entitlements(_tenant(ws).ws)
    uncovered = ws.con.execute(
        "SELECT g.account, g.repo FROM grants g WHERE NOT EXISTS (SELECT 1 FROM ent_links l WHERE l.account = "
        "g.account AND l.repo = g.repo AND l.path IS NOT NULL)"
    ).fetchall()
    assert uncovered == []
    kinds = {
        r[0]
        for r in ws.con.execute(
            "SELECT e.kind FROM ent_links l JOIN ent_current e USING (entitlement_id) "
            "WHERE l.account = 'alice' AND l.repo = 'acme-corp/api'"
        ).fetchall()
    }
    assert kinds == {"base_permission", "team_membership", "team_repo"}  # the paths; not the org role or a token


def test_entitlements_are_persisted_once_per_snapshot_with_stable_ids(ws: Workspace) -> None:
    first = {r["id"] for r in _entitlements(_tenant(ws).ws)}
    second = {r["id"] for r in _entitlements(ws)}
    assert first == second
    stored = ws.con.execute("SELECT count(*), count(DISTINCT entitlement_id) FROM entitlements").fetchone()
    assert stored == (len(first), len(first))


def test_snapshots_without_grant_paths_fall_back_to_the_grants(ws: Workspace) -> None:
    inv = _tenant(ws)
    ws.con.execute("DELETE FROM grant_paths")
    rows = _entitlements(inv.ws)
    assert _by(rows, "base_permission", scope=ORG)["role"] == "read"  # from the org setting
    assert _by(rows, "team_repo", scope=f"{ORG}/api")["role"] == "write"


def test_reach_text_reads_like_a_sentence() -> None:
    assert reach_text(14, {"tier1": 5, "tier2": 9}, "write", 1, "3 days ago") == (
        "write on 14 restricted repos (5 tier-1, 9 tier-2); last use 3 days ago"
    )
    assert reach_text(0, {}, None, 0, "never") == "no restricted repos; last use never"


def _auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_auditor(*args, cwd=cwd, COLUMNS="200")


def test_cli_listing_in_every_format_and_access_rows_carry_entitlement_ids(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    _tenant(ws)
    ws.close()
    table = _auditor("entitlements", "--platform", "github", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "Entitlements (" in table.stdout and "base permission of acme-corp (read)" in table.stdout
    data = json.loads(_auditor("entitlements", "--format", "json", cwd=tmp_path).stdout)
    assert {"id", "platform", "kind", "scope", "account", "team", "group", "role", "reach", "last_activity"} <= set(
        data[0]
    )
    assert set(data[0]["reach"]) == {"repos", "by_tier", "max_role", "accounts"}
    only = json.loads(_auditor("entitlements", "--kind", "team_membership", "--format", "json", cwd=tmp_path).stdout)
    assert [r["kind"] for r in only] == ["team_membership"]
    rows = list(csv.DictReader(io.StringIO(_auditor("entitlements", "--format", "csv", cwd=tmp_path).stdout)))
    assert len(rows) == len(data) and "by_tier" in rows[0]
    access = json.loads(_auditor("access", "--repo", "acme-corp/api", "--format", "json", cwd=tmp_path).stdout)
    ids = {e["id"]: e["kind"] for e in data}
    alice = next(r for r in access if r["account"] == "alice")
    assert {ids[i] for i in alice["entitlements"]} == {"base_permission", "team_membership", "team_repo"}
