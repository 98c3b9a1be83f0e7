"""The Entra connector: the real msgraph-sdk over HTTP against the sandbox Graph server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.config.loader import parse_config
from auditor.config.models import AuditorConfig, EntraSource
from auditor.connectors.entra.auth import AsyncStaticTokenCredential, EntraCredentials
from auditor.connectors.entra.changes import original_upn, transform_directory_audits
from auditor.connectors.entra.collect import Collected, EntraCollector, collect
from auditor.connectors.entra.graph import GraphAuthError
from auditor.connectors.entra.load import audits_key, load_collected
from auditor.connectors.kit.page import Page
from auditor.detect.departures import departure_coverage, refresh_departures
from auditor.errors import InputError
from auditor.importers.sqlfuncs import install_macros
from auditor.workspace.store import Workspace
from auditor_sandbox.generate import generate_tenant
from auditor_sandbox.graph.server import GraphServer, serve_graph

TOKEN = "test-token-7f3a"  # a static test credential for the loopback sandbox
SINCE = datetime(2026, 9, 1)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acme")
    generate_tenant(out, users=60, repos=60, days=20)
    return out


@pytest.fixture
def server(tenant: Path) -> Iterator[GraphServer]:
    with serve_graph(tenant, token=TOKEN) as running:
        yield running


def _source(server: GraphServer) -> EntraSource:
    return EntraSource(tenant_id="acme", graph_url=server.url, arm_url=server.url, groups=["Engineering"])


def _creds(token: str) -> EntraCredentials:
    """The sandbox serves Graph and ARM from one root with one token: one credential per audience."""
    return EntraCredentials(AsyncStaticTokenCredential(token), AsyncStaticTokenCredential(token))


def _run(ws: Workspace, server: GraphServer, since: datetime = SINCE) -> dict[str, object]:
    collected = collect(_source(server), _creds(TOKEN), since)
    install_macros(ws.con)
    return load_collected(ws, "acme", collected, since).to_json()


def _signin_counts(tenant: Path) -> tuple[int, int]:
    interactive = non = 0
    for line in (tenant / "entra" / "signins.ndjson").read_text().splitlines():
        record = json.loads(line)
        if record["properties"]["createdDateTime"][:19] < SINCE.isoformat():
            continue
        if record["category"] == "SignInLogs":
            interactive += 1
        else:
            non += 1
    return interactive, non


def test_collects_the_directory_and_sign_ins(ws: Workspace, server: GraphServer, tenant: Path) -> None:
    summary = _run(ws, server)
    users = json.loads((tenant / "entra" / "users.json").read_text())["value"]
    counts = summary["counts"]
    assert isinstance(counts, dict)
    assert counts["users"] == len(users)
    interactive, non = _signin_counts(tenant)
    assert (counts["signins"], counts["signins_non_interactive"]) == (interactive, non)
    assert summary["signins_imported"] == interactive + non
    assert summary["coverage_gaps"] == []
    con = ws.con
    assert con.execute("SELECT count(*) FROM identities").fetchone() == (len(users),)
    assert con.execute("SELECT count(*) FROM identities WHERE manager_id IS NOT NULL").fetchone()[0] > 0  # type: ignore[index]
    roles = con.execute("SELECT DISTINCT assignment FROM identity_roles ORDER BY 1").fetchall()
    assert roles == [("active",), ("eligible",)]
    assert con.execute("SELECT count(*) FROM identity_groups WHERE group_name = 'Engineering'").fetchone()[0] > 0  # type: ignore[index]
    kinds = {r[0] for r in con.execute("SELECT kind FROM apps").fetchall()}
    assert {"oauth2_grant", "app_role_assignment"} <= kinds
    assert con.execute("SELECT count(*) FROM identity_risk").fetchone()[0] > 0  # type: ignore[index]
    # Every page is kept as received, named by its hash, with the endpoint it came from.
    pages = con.execute("SELECT source, stored_path FROM evidence WHERE kind = 'collect'").fetchall()
    assert any("/v1.0/users" in src for src, _ in pages)
    assert all(Path(p).is_file() for _, p in pages)
    retention, streaming = con.execute(
        "SELECT retention_days, streaming FROM log_sources WHERE source = 'graph-signins'"
    ).fetchone() or (None, None)
    assert retention == 30 and streaming and "diagnostic setting" in streaming


def test_sign_ins_are_incremental_from_the_high_water_mark(ws: Workspace, server: GraphServer) -> None:
    first = _run(ws, server)
    (mark,) = ws.con.execute("SELECT high_water FROM collect_state").fetchone() or (None,)
    assert mark is not None and mark > SINCE
    second = _run(ws, server, since=mark)
    assert second["signins_imported"] == 0
    assert first["signins_imported"] != 0
    asked = [p for _, p, _ in server.requests if "auditLogs/signIns" in p]
    assert any(mark.strftime("%Y-%m-%dT%H:%M:%S") in p for p in asked)


def test_rate_limits_are_retried(ws: Workspace, tenant: Path) -> None:
    with serve_graph(tenant, token=TOKEN, fault_429_every=4) as running:
        summary = _run(ws, running)
        statuses = [status for _, _, status in running.requests]
    assert 429 in statuses
    assert summary["coverage_gaps"] == []
    assert isinstance(summary["signins_imported"], int) and summary["signins_imported"] > 0


def test_a_forbidden_endpoint_is_a_gap_naming_the_permission(ws: Workspace, tenant: Path) -> None:
    with serve_graph(tenant, token=TOKEN, forbid=("/v1.0/identityProtection", "/providers")) as running:
        summary = _run(ws, running)
    gaps = summary["coverage_gaps"]
    assert isinstance(gaps, list)
    needs = " | ".join(g["needs"] for g in gaps)
    assert "IdentityRiskyUser.Read.All" in needs and "IdentityRiskEvent.Read.All" in needs
    assert "Azure Resource Manager" in needs
    rows = ws.con.execute("SELECT source, consequence FROM coverage_gaps WHERE platform = 'entra'").fetchall()
    assert any("sign-in logs" in src and "only 30 days" in cons for src, cons in rows)
    assert ws.con.execute("SELECT count(*) FROM identity_risk").fetchone() == (0,)


def test_p1_tenant_has_no_pim_or_risk_but_keeps_sign_ins(ws: Workspace, tenant: Path) -> None:
    with serve_graph(tenant, token=TOKEN, licence="p1") as running:
        summary = _run(ws, running)
    gaps = summary["coverage_gaps"]
    assert isinstance(gaps, list)
    needs = " | ".join(g["needs"] for g in gaps)
    assert "PIM" in needs and "Entra ID P2" in needs
    assert isinstance(summary["signins_imported"], int) and summary["signins_imported"] > 0


def test_free_tenant_records_the_sign_in_gap_and_7_day_retention(ws: Workspace, tenant: Path) -> None:
    with serve_graph(tenant, token=TOKEN, licence="none", forbid=("/providers",)) as running:
        summary = _run(ws, running)
    assert summary["signins_imported"] == 0
    consequences = " | ".join(r[0] for r in ws.con.execute("SELECT consequence FROM coverage_gaps").fetchall())
    assert "only 7 days" in consequences and "no interactive sign-ins" in consequences
    assert ws.con.execute("SELECT count(*) FROM identities").fetchone()[0] > 0  # type: ignore[index]


def test_a_refused_token_stops_before_anything_is_written(ws: Workspace, server: GraphServer) -> None:
    with pytest.raises(GraphAuthError):
        collect(_source(server), AsyncStaticTokenCredential("wrong"), SINCE)
    assert ws.con.execute("SELECT count(*) FROM identities").fetchone() == (0,)


def test_cli_collect_entra_json_exit_codes_and_no_token_leak(tmp_path: Path, server: GraphServer) -> None:
    env = {**os.environ, "AUDITOR_GRAPH_TOKEN": TOKEN, "AUDITOR_WORKSPACE": str(tmp_path / "ws")}
    args = [
        sys.executable,
        "-m",
        "auditor",
        "collect",
        "entra",
        "--graph-url",
        server.url,
        "--arm-url",
        server.url,
        "--tenant",
        "acme",
        "--since",
        "2026-09-01T00:00:00Z",
        "--json",
    ]
    ok = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    summary = json.loads(ok.stdout)
    assert summary["platform"] == "entra" and summary["counts"]["users"] > 0
    assert TOKEN not in ok.stdout + ok.stderr
    stored = b"".join(p.read_bytes() for p in (tmp_path / "ws" / "evidence").rglob("*") if p.is_file())
    assert TOKEN.encode() not in stored
    assert TOKEN.encode() not in (tmp_path / "ws" / "auditor.duckdb").read_bytes()
    bad = subprocess.run(args, env={**env, "AUDITOR_GRAPH_TOKEN": "nope"}, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "401" in bad.stderr
    none = subprocess.run(args, env={**env, "AUDITOR_GRAPH_TOKEN": ""}, capture_output=True, text=True, timeout=60)
    assert none.returncode == 2 and "AUDITOR_GRAPH_TOKEN" in none.stderr


def test_coverage_lists_gaps_and_log_sources(tmp_path: Path, tenant: Path) -> None:
    env = {**os.environ, "AUDITOR_GRAPH_TOKEN": TOKEN, "AUDITOR_WORKSPACE": str(tmp_path / "ws")}
    with serve_graph(tenant, token=TOKEN, forbid=("/v1.0/identityProtection",)) as running:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "auditor",
                "collect",
                "entra",
                "--graph-url",
                running.url,
                "--arm-url",
                running.url,
                "--tenant",
                "acme",
                "--since",
                "2026-09-01T00:00:00Z",
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    out = subprocess.run(
        [sys.executable, "-m", "auditor", "coverage", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    rows = json.loads(out.stdout)
    gaps = [r for r in rows if r["kind"] == "gap"]
    assert gaps and all({"platform", "source", "needs", "consequence"} <= set(r) for r in gaps)
    sources = [r for r in rows if r["kind"] == "log_source" and r["source"] == "graph-signins"]
    assert sources and sources[0]["retention_days"] == 30 and sources[0]["first_event_at"].endswith("Z")
    # No leaver groups configured: the collected group removals are said not to count.
    assert any(r["source"] == "departures.leaver_groups" and "ignored" in r["consequence"] for r in gaps)


def test_users_fall_back_when_sign_in_activity_is_not_licensed(ws: Workspace, tenant: Path) -> None:
    with serve_graph(tenant, token=TOKEN, licence="none", forbid=("/providers",)) as running:
        collected = collect(_source(running), AsyncStaticTokenCredential(TOKEN), SINCE)
    assert collected.count("users") > 0
    assert any("signInActivity" in g.consequence for g in collected.gaps)


# ---- departures: deleted users and the directory audit log -------------------------------------


def _leaver(tenant: Path) -> dict[str, Any]:
    users = json.loads((tenant / "entra" / "users.json").read_text())["value"]
    return next(u for u in users if u.get("employeeLeaveDateTime"))


def test_deleted_users_and_leaving_activities_land_in_directory_changes(ws: Workspace, tenant: Path) -> None:
    async def departures_only(source: EntraSource) -> Collected:
        collector = EntraCollector(source, _creds(TOKEN), SINCE)
        await asyncio.gather(collector._deleted_users(), collector._audits())
        return collector.out

    with serve_graph(tenant, token=TOKEN, page_size_cap=1) as running:  # one record a page: paging is followed
        collected = asyncio.run(departures_only(_source(running)))
        asked = [p for _, p, _ in running.requests]
    install_macros(ws.con)
    summary = load_collected(ws, "acme", collected, SINCE).to_json()
    counts = summary["counts"]
    assert isinstance(counts, dict) and counts["deleted_users"] == 1 and counts["directory_audits"] >= 4
    assert any("directoryAudits" in p and "skiptoken" in p for p in asked)
    leaver = _leaver(tenant)
    rows = ws.con.execute(
        'SELECT kind, identity_id, upn, group_name, activity, evidence_sha256, line_no, "at" FROM directory_changes '
        "ORDER BY kind, group_name"
    ).fetchall()
    by_kind: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_kind.setdefault(row[0], []).append(row)
    (deleted,) = by_kind["deleted"]  # one row per person: the listing wins over the 'Delete user' record
    assert deleted[2] == "former.rowan.hale@acme.example" and deleted[4] == "deletedItems"
    assert {r[1] for r in by_kind["disabled"]} == {leaver["id"], deleted[1]}
    removed = {(r[2], r[3]) for r in by_kind["group_removal"]}
    assert {upn for upn, _ in removed} >= {leaver["userPrincipalName"], "former.rowan.hale@acme.example"}
    assert ("former.rowan.hale@acme.example", "GitHub Users") in removed
    # Every row cites a stored page and its position in it.
    shas = {r[0] for r in ws.con.execute("SELECT sha256 FROM evidence WHERE kind = 'collect'").fetchall()}
    assert all(r[5] in shas and r[6] == 1 for r in rows)
    assert any(p.count("/directoryAudits") for p in asked) and summary["coverage_gaps"] == []


def test_forbidden_departure_endpoints_are_gaps_naming_the_permission(ws: Workspace, tenant: Path) -> None:
    forbid = ("/v1.0/auditLogs/directoryAudits", "/v1.0/directory/deletedItems")
    with serve_graph(tenant, token=TOKEN, forbid=forbid) as running:
        summary = _run(ws, running)
        audits = [p for _, p, _ in running.requests if "directoryAudits" in p]
    gaps = summary["coverage_gaps"]
    assert isinstance(gaps, list)
    by_source = {g["source"].split("/v1.0")[-1]: g for g in gaps}
    audit_gap = by_source["/auditLogs/directoryAudits"]
    assert "AuditLog.Read.All" in audit_gap["needs"] and "group removals" in audit_gap["consequence"]
    deleted_gap = by_source["/directory/deletedItems/microsoft.graph.user"]
    assert deleted_gap["needs"] == "User.Read.All" and "30 days" in deleted_gap["consequence"]
    assert len(audits) == 1  # the first refusal stops the other activities' queries: one gap, not three
    assert ws.con.execute("SELECT count(*) FROM directory_changes").fetchone() == (0,)
    assert ws.con.execute("SELECT count(*) FROM collect_state WHERE source LIKE '%directory_audits'").fetchone() == (0,)
    assert isinstance(summary["signins_imported"], int) and summary["signins_imported"] > 0


def test_directory_audits_are_incremental_from_their_own_mark(ws: Workspace, server: GraphServer) -> None:
    _run(ws, server)
    (mark,) = ws.con.execute(
        "SELECT high_water FROM collect_state WHERE source = ?", [audits_key("acme")]
    ).fetchone() or (None,)
    newest = ws.con.execute("SELECT max(\"at\") FROM directory_changes WHERE activity <> 'deletedItems'").fetchone()
    assert mark is not None and newest == (mark,)
    before = ws.con.execute("SELECT count(*) FROM directory_changes").fetchone()
    server.requests.clear()
    collected = collect(_source(server), _creds(TOKEN), SINCE, audits_since=mark)
    install_macros(ws.con)
    load_collected(ws, "acme", collected, SINCE)
    asked = [p for _, p, _ in server.requests if "directoryAudits" in p]
    assert len(asked) == 3 and all(mark.strftime("%Y-%m-%dT%H:%M:%S") in p for p in asked)
    assert collected.count("directory_audits") == 1  # only the newest record is at or after the mark
    assert ws.con.execute("SELECT count(*) FROM directory_changes").fetchone() == before  # nothing twice


def test_sync_reads_the_directory_audit_mark(ws: Workspace, server: GraphServer) -> None:
    from auditor.connectors.entra.sync import OVERLAP, sync
    from auditor.connectors.kit.state import write_mark

    mark = datetime(2026, 9, 20, 12, 0)
    write_mark(ws.con, audits_key("acme"), mark)
    write_mark(ws.con, "entra:acme:signins", datetime(2026, 9, 25))
    server.requests.clear()
    sync(ws, _source(server), _creds(TOKEN))
    asked = [p for _, p, _ in server.requests if "directoryAudits" in p]
    assert asked and all((mark - OVERLAP).strftime("%Y-%m-%dT%H:%M:%S") in p for p in asked)


def test_a_deleted_users_upn_loses_entras_prefix() -> None:
    oid = "0e89461c-26fd-4725-9fb4-b944c5d5dc12"
    assert original_upn("0e89461c26fd47259fb4b944c5d5dc12rowan@acme.example", oid) == "rowan@acme.example"
    assert original_upn(oid + "rowan@acme.example", oid) == "rowan@acme.example"  # shown with hyphens by some tools
    assert original_upn("0E89461C26FD47259FB4B944C5D5DC12rowan@acme.example", oid) == "rowan@acme.example"
    assert original_upn("rowan@acme.example", oid) == "rowan@acme.example"
    assert original_upn(None, oid) is None


def test_directory_audit_records_become_changes() -> None:
    user = {"id": "u-1", "type": "User", "userPrincipalName": "lea@acme.example", "modifiedProperties": [
        {"displayName": "Group.ObjectID", "oldValue": '"g-1"', "newValue": None},
        {"displayName": "Group.DisplayName", "oldValue": '"All Employees"', "newValue": None},
    ]}  # fmt: skip
    group = {"id": "g-1", "displayName": None, "type": "Group"}  # real records often omit the group's name here
    records: list[dict[str, Any]] = [
        {"id": "a1", "activityDisplayName": "Remove member from group", "result": "success",
         "activityDateTime": "2026-09-21T10:11:12.1234567Z", "targetResources": [user, group]},
        {"id": "a2", "activityDisplayName": "Remove member from group", "result": "failure",
         "activityDateTime": "2026-09-21T10:12:00Z", "targetResources": [user, group]},
        {"id": "a3", "activityDisplayName": "Delete user", "result": "success",
         "activityDateTime": "2026-09-22T08:00:00Z",
         "targetResources": [{"id": "u-1", "Type": "User", "userPrincipalName": "u1lea@acme.example"}]},
    ]  # fmt: skip
    page = Page("https://graph.example/v1.0/auditLogs/directoryAudits", json.dumps({"value": records}).encode())
    removal, deletion = transform_directory_audits(page)
    assert (removal.kind, removal.group_id, removal.group_name, removal.at) == (
        "group_removal",
        "g-1",
        "All Employees",
        datetime(2026, 9, 21, 10, 11, 12, 123456),
    )
    assert (removal.change_id, removal.position, deletion.position) == ("a1", 1, 3)
    assert (deletion.kind, deletion.change_id, deletion.upn) == ("deleted", "deleted:u-1", "lea@acme.example")
    undated = {k: v for k, v in records[2].items() if k != "activityDateTime"}
    broken = Page(page.url, json.dumps({"value": [undated]}).encode())
    with pytest.raises(InputError, match="activityDateTime"):
        transform_directory_audits(broken)


def test_leaver_groups_decide_which_removals_are_departures(ws: Workspace, server: GraphServer, tenant: Path) -> None:
    _run(ws, server)
    leaver = _leaver(tenant)

    def kinds(groups: str) -> list[tuple[str, str | None, str | None]]:
        with ws.transaction() as con:
            refresh_departures(con, parse_config(f"departures:\n  leaver_groups: {groups}\n", "c").departures)
        return con.execute(
            "SELECT kind, upn, detail FROM departures WHERE kind <> 'leave_date' ORDER BY kind, upn, detail"
        ).fetchall()

    none = kinds("[]")
    assert not [r for r in none if r[0] == "group_removal"]
    # The leaver's disablement is dated now: the undated accountEnabled row gives way to it.
    assert ("disabled", leaver["userPrincipalName"].lower(), "Disable account") in none
    assert ("disabled", leaver["userPrincipalName"].lower(), "accountEnabled is false") not in none
    assert ("deleted", "former.rowan.hale@acme.example", "deletedItems") in none
    some = kinds('["github users"]')  # names match case-insensitively
    removals = [r for r in some if r[0] == "group_removal"]
    assert removals and {r[2] for r in removals} == {"GitHub Users"}
    assert ("group_removal", "former.rowan.hale@acme.example", "GitHub Users") in removals
    assert departure_coverage(ws.con, parse_config("departures:\n  leaver_groups: [x]\n", "c").departures) == []
    ((source, needs, consequence),) = departure_coverage(ws.con, AuditorConfig().departures)
    assert source == "departures.leaver_groups" and "ignored" in consequence and "All Employees" in needs
