"""The connector kit's contract, which every connector relies on: errors, optional endpoints, evidence
pages (read-only, one row each), high-water marks and the summary's table and JSON."""

from __future__ import annotations

import hashlib
import io
import stat
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

from auditor.connectors.entra.graph import GraphAuthError, GraphError
from auditor.connectors.entra.load import CollectSummary as EntraSummary
from auditor.connectors.github.client import GitHubAuthError, GitHubError
from auditor.connectors.github.load import CollectSummary as GitHubSummary
from auditor.connectors.gitlab.client import GitLabAuthError, GitLabError
from auditor.connectors.gitlab.load import CollectSummary as GitLabSummary
from auditor.connectors.kit import ApiError, AuthError, Endpoint, Gap, Page, optional
from auditor.connectors.kit.evidence import store_pages
from auditor.connectors.kit.state import read_mark, write_mark
from auditor.workspace.store import Workspace

ENDPOINT = Endpoint("teams", "/orgs/{org}/teams", "read:org in {org}", "teams of {org} unknown")


def test_every_connector_error_is_one_api_error_with_status_and_endpoint() -> None:
    errors = [GitHubError(403, "/orgs/a/teams", "no"), GitLabError(404, "GET /x", "no"),
              GraphError(403, "Forbidden", "https://g/v1.0/users", "no")]  # fmt: skip
    for exc in errors:
        assert isinstance(exc, ApiError) and exc.status in (403, 404) and exc.endpoint
    auth = [GitHubAuthError(401, "/orgs/a", "bad"), GitLabAuthError(401, "GET /api/v4/user", "bad"),
            GraphAuthError(401, "InvalidAuthenticationToken", "https://g/v1.0/users", "bad")]  # fmt: skip
    assert all(isinstance(exc, AuthError) for exc in auth)


def test_optional_turns_refusals_into_gaps_and_lets_401_and_5xx_through() -> None:
    endpoint = ENDPOINT.at(org="acme")
    assert (endpoint.path, endpoint.needs, endpoint.consequence) == (
        "/orgs/acme/teams", "read:org in acme", "teams of acme unknown")  # fmt: skip
    gaps: list[Gap] = []

    def refuse(status: int) -> object:
        raise GitHubError(status, endpoint.path, "refused")

    assert optional(endpoint, lambda: refuse(403), gaps) is None
    assert gaps == [Gap("/orgs/acme/teams", "read:org in acme", "teams of acme unknown")]
    assert optional(endpoint, lambda: "rows", gaps) == "rows" and len(gaps) == 1

    def bad_token() -> object:
        raise GitHubAuthError(401, "/x", "bad")

    with pytest.raises(GitHubAuthError):
        optional(endpoint, bad_token, gaps, statuses=(401,))  # a 401 is never a gap, whatever the caller lists
    with pytest.raises(GitHubError):
        optional(endpoint, lambda: refuse(502), gaps)
    assert len(gaps) == 1


def test_pages_are_stored_read_only_once_with_their_url(ws: Workspace) -> None:
    pages = [Page("https://api/x?page=1", b'[{"id": 1}]'), Page("https://api/x?page=2", b"[]"),
             Page("https://api/y", b'[{"id": 1}]')]  # fmt: skip
    stored = store_pages(ws, pages)
    sha = hashlib.sha256(b'[{"id": 1}]').hexdigest()
    assert list(stored) == [sha, hashlib.sha256(b"[]").hexdigest()]
    path = stored[sha][1]
    assert path.read_bytes() == b'[{"id": 1}]' and not stat.S_IMODE(path.stat().st_mode) & 0o222
    rows = ws.con.execute("SELECT sha256, kind, source FROM evidence ORDER BY source").fetchall()
    assert rows == [(sha, "collect", "https://api/x?page=1"), (stored_sha(b"[]"), "collect", "https://api/x?page=2")]
    store_pages(ws, pages)  # again: nothing new, nothing fails
    assert ws.con.execute("SELECT count(*) FROM evidence").fetchone() == (2,)


def stored_sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def test_high_water_marks_round_trip(ws: Workspace) -> None:
    assert read_mark(ws.con, "github:acme:audit-log") is None
    write_mark(ws.con, "github:acme:audit-log", datetime(2026, 9, 1, 12))
    write_mark(ws.con, "github:acme:audit-log", datetime(2026, 9, 2, 12))
    assert read_mark(ws.con, "github:acme:audit-log") == datetime(2026, 9, 2, 12)


@pytest.mark.parametrize(
    ("summary", "title", "fields"),
    [
        (GitHubSummary("collect-1", scope="acme-corp", requests=12, audit_imported=3), "GitHub acme-corp",
         {"scope", "audit_events_imported", "audit_events_duplicates", "requests"}),
        (GitLabSummary("collect-2", base_url="https://gl", scope="acme", requests=7), "GitLab https://gl (acme)",
         {"base_url", "scope", "audit_events_imported", "requests"}),
        (EntraSummary("collect-3", tenant="contoso", signins_imported=5), "Entra contoso",
         {"tenant", "signins_imported"}),
    ],
)  # fmt: skip
def test_every_summary_renders_a_table_and_the_json_contract(summary: object, title: str, fields: set[str]) -> None:
    from auditor.connectors.kit import CollectSummary

    assert isinstance(summary, CollectSummary)
    summary.counts = {"repos": 4, "audit_pages": 2}
    summary.gaps = [Gap("GET /api/v4/.../audit_events (HTTP [403])", "Premium [tier]", "events not collected")]
    doc = summary.to_json()
    assert {"snapshot_id", "platform", "counts", "coverage_gaps"} | fields <= set(doc)
    assert doc["coverage_gaps"] == [g.to_json() for g in summary.gaps]
    out = io.StringIO()
    summary.render(Console(file=out, width=200, highlight=False))
    text = out.getvalue()
    assert title in text and "audit pages" in text and "repos" in text
    assert "(HTTP [403])" in text and "Premium [tier]" in text  # brackets are text, not console markup


def test_store_pages_leaves_nothing_half_written(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    try:
        with pytest.raises(RuntimeError), ws.transaction():
            store_pages(ws, [Page("https://api/z", b'{"a": 1}')])
            raise RuntimeError("the load failed")
        assert ws.con.execute("SELECT count(*) FROM evidence").fetchone() == (0,)
        assert not list((tmp_path / "ws").rglob("*.partial"))
    finally:
        ws.close()
