"""The Entra connector: the real msgraph-sdk over HTTP against the sandbox Graph server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from auditor.config.models import EntraSource
from auditor.connectors.entra.auth import AsyncStaticTokenCredential, EntraCredentials
from auditor.connectors.entra.collect import collect
from auditor.connectors.entra.graph import GraphAuthError
from auditor.connectors.entra.load import load_collected
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


def test_users_fall_back_when_sign_in_activity_is_not_licensed(ws: Workspace, tenant: Path) -> None:
    with serve_graph(tenant, token=TOKEN, licence="none", forbid=("/providers",)) as running:
        collected = collect(_source(running), AsyncStaticTokenCredential(TOKEN), SINCE)
    assert collected.count("users") > 0
    assert any("signInActivity" in g.consequence for g in collected.gaps)
