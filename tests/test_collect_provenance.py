"""Provenance of collected events: each cites the API page as received (its SHA-256 in the evidence
store) and the record's position in it; no derived file stands between an event and its evidence."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.config.models import GitHubSource
from auditor.connectors.github.collect import collect
from auditor.connectors.github.load import load_collected
from auditor.importers.sqlfuncs import install_macros
from auditor.workspace.store import Workspace
from auditor_sandbox.github.server import FULL_SCOPES, serve_github
from tests.helpers import smallest_tenant

TOKEN = "ghp_provenance_8e1f"  # a static test credential for the loopback sandbox
SINCE = datetime(2026, 9, 1)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return smallest_tenant(tmp_path_factory, "acme-prov")


def _page_record(ws: Workspace, sha: str, position: int) -> tuple[str, str, Any]:
    """(source URL, stored path, record) of the stored page `sha`: its bytes as received, parsed."""
    row = ws.con.execute("SELECT source, stored_path, kind FROM evidence WHERE sha256 = ?", [sha]).fetchone()
    assert row is not None and row[2] == "collect", f"{sha} is not a collected page"
    raw = Path(row[1]).read_bytes()
    import hashlib

    assert hashlib.sha256(raw).hexdigest() == sha
    doc = json.loads(raw)
    records = doc["value"] if isinstance(doc, dict) else doc
    return row[0], row[1], records[position - 1]


def test_a_collected_github_event_leads_back_to_its_raw_page(tmp_path: Path, tenant: Path) -> None:
    with serve_github(tenant, tokens={TOKEN: FULL_SCOPES}) as server:
        source = GitHubSource(base_url=server.url, org="acme-corp")
        collected = collect(source, TOKEN, SINCE, fast=True)
        ws = Workspace.open(tmp_path / "ws")
        install_macros(ws.con)
        summary = load_collected(ws, server.url, collected, SINCE, ghes=False)
    assert summary.audit_imported > 0
    con = ws.con
    events = con.execute(
        "SELECT event_uid, action, actor, evidence_sha256, line_no FROM events WHERE platform = 'github' "
        "ORDER BY event_uid"
    ).fetchall()
    cited = {sha for _, _, _, sha, _ in events}
    pages = {r[0] for r in con.execute("SELECT sha256 FROM evidence WHERE kind = 'collect'").fetchall()}
    assert cited <= pages  # every event cites a page as received, none a derived file
    assert len(cited) > 1 and len(cited) <= len(collected.audit_pages)
    for uid, action, actor, sha, line_no in events[:: max(1, len(events) // 25)]:
        url, stored, record = _page_record(ws, sha, line_no)
        assert "/audit-log" in url
        assert f"github:{record['_document_id']}" == uid
        assert record["action"] == action and record.get("actor") == actor
        assert not stat.S_IMODE(Path(stored).stat().st_mode) & 0o222  # kept read-only
    derived = con.execute("SELECT count(*) FROM evidence WHERE kind = 'import'").fetchone()
    assert derived == (0,)  # the vehicle file is not kept as evidence
    assert not any("ndjson" in str(p) for p in (tmp_path / "ws").rglob("*ndjson*"))
    imports = con.execute("SELECT path FROM imports").fetchall()
    assert imports and all("audit-log pages" in p for (p,) in imports)
    _pack_cites_the_pages(ws, tmp_path / "pack.zip")
    ws.close()


def _pack_cites_the_pages(ws: Workspace, target: Path) -> None:
    """The evidence pack holds the pages as received, and its events table cites them by hash and position."""
    import zipfile

    from auditor.config.models import AuditorConfig
    from auditor.evidence.pack import export_pack

    export_pack(ws, AuditorConfig(), target)
    with zipfile.ZipFile(target) as pack:
        manifest = json.loads(pack.read("manifest.json"))
        raw = {r["sha256"]: r for r in manifest["raw_evidence"]}
        events = json.loads(pack.read("tables/events.json"))
        github = [e for e in events if e["platform"] == "github"]
        assert github
        for event in github[:: max(1, len(github) // 10)]:
            page = raw[event["evidence_sha256"]]
            assert page["kind"] == "collect" and "/audit-log" in page["source"] and page["status"] == "included"
            record = json.loads(pack.read(page["path"]))[event["line_no"] - 1]
            assert f"github:{record['_document_id']}" == event["event_uid"]


def _follow(ws: Workspace, platform: str, url_part: str) -> int:
    """Follow every event of `platform` back to its page; returns how many were checked."""
    rows = ws.con.execute(
        "SELECT event_uid, evidence_sha256, line_no FROM events WHERE platform = ?", [platform]
    ).fetchall()
    for uid, sha, line_no in rows:
        url, _, record = _page_record(ws, sha, line_no)
        assert url_part in url
        assert str(record["id"]) in uid
    return len(rows)


def test_collected_gitlab_and_entra_events_lead_back_to_their_pages(tmp_path: Path, tenant: Path) -> None:
    from auditor.config.models import EntraSource, GitLabSource
    from auditor.connectors.entra.auth import AsyncStaticTokenCredential
    from auditor.connectors.entra.collect import collect as collect_entra
    from auditor.connectors.entra.load import load_collected as load_entra
    from auditor.connectors.gitlab.collect import collect as collect_gitlab
    from auditor.connectors.gitlab.load import load_collected as load_gitlab
    from auditor_sandbox.gitlab import serve_gitlab
    from auditor_sandbox.graph.server import serve_graph

    ws = Workspace.open(tmp_path / "ws")
    install_macros(ws.con)

    def classify(p: dict[str, Any]) -> tuple[bool, int | None, str]:
        return p.get("visibility") != "public", 1, "test"

    with serve_gitlab(tenant, token=TOKEN) as server:
        gl_source = GitLabSource(base_url=server.url, instance=True)
        collected = collect_gitlab(gl_source, TOKEN, datetime(2026, 8, 1), datetime(2026, 10, 15), lambda p: True)
        load_gitlab(ws, collected, classify)
    with serve_graph(tenant, token=TOKEN) as graph:
        source = EntraSource(tenant_id="acme", graph_url=graph.url)
        signed = collect_entra(source, AsyncStaticTokenCredential(TOKEN), SINCE)
        load_entra(ws, "acme", signed, SINCE)
    assert _follow(ws, "gitlab", "/audit_events") > 0
    assert _follow(ws, "entra", "/auditLogs/signIns") > 0
    assert ws.con.execute("SELECT count(*) FROM evidence WHERE kind = 'import'").fetchone() == (0,)
    ws.close()
