"""Importer behaviour on small inline inputs: every container, dedupe, and line-accurate rejects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson


def _one(ws: Workspace, path: Path) -> tuple[str, int, int, int]:
    (f,) = import_files(ws, [path]).files
    return f.format, f.events, f.duplicates, f.rejected


def test_github_ui_json_array_export(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([gh_event(1), gh_event(2, action="repo.download_zip")]))
    assert _one(ws, path) == ("github-audit", 2, 0, 0)
    cats = ws.con.execute("SELECT category FROM events ORDER BY line_no").fetchall()
    assert cats == [("download",), ("download",)]


def test_github_ui_csv_export_with_iso_created_at(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "action,actor,created_at,repo,actor_location.country_code,visibility\n"
        "git.clone,bob,2026-09-01T10:00:00Z,acme/x,FR,private\n"
        "repo.download_zip,bob,2026-09-01T10:01:00+00:00,acme/y,FR,internal\n"
    )
    assert _one(ws, path) == ("github-audit", 2, 0, 0)
    rows = ws.con.execute("SELECT actor, country, repo_visibility, line_no FROM events ORDER BY line_no").fetchall()
    assert rows == [("bob", "FR", "private", 2), ("bob", "FR", "internal", 3)]


def test_gitlab_rest_array_uses_custom_message_and_entity_path(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "gitlab-rest.json"
    path.write_text(
        json.dumps(
            [
                {
                    "id": 11,
                    "author_id": 5,
                    "entity_id": 9,
                    "entity_type": "Project",
                    "entity_path": "acme/core/api",
                    "created_at": "2026-09-01T10:00:00.000Z",
                    "details": {
                        "custom_message": "Repository Download Started",
                        "author_name": "Dana",
                        "author_email": "dana@acme.example",
                        "event_name": "repository_download_operation",
                        "ip_address": "203.0.113.9",
                        "target_details": "api",
                    },
                },
            ]
        )
    )
    assert _one(ws, path) == ("gitlab-audit", 1, 0, 0)
    row = ws.con.execute("SELECT action, category, repo, ip, actor_email FROM events").fetchone()
    assert row == ("repository_download_operation", "download", "acme/core/api", "203.0.113.9", "dana@acme.example")


def test_gitlab_streaming_git_operation_push_vs_pull(ws: Workspace, tmp_path: Path) -> None:
    base = {
        "author_id": 1,
        "author_name": "Admin",
        "entity_id": 6,
        "entity_type": "Project",
        "entity_path": "flightjs/Flight",
        "event_type": "repository_git_operation",
        "created_at": "2022-05-25T06:49:15.213Z",
        "ip_address": "127.0.0.1",
    }
    path = write_ndjson(
        tmp_path / "stream.ndjson",
        [
            {**base, "id": 1, "details": {"custom_message": {"protocol": "ssh", "action": "git-upload-pack"}}},
            {**base, "id": 2, "details": {"custom_message": {"protocol": "http", "action": "git-receive-pack"}}},
        ],
    )
    assert _one(ws, path) == ("gitlab-audit", 2, 0, 0)
    cats = ws.con.execute("SELECT category FROM events ORDER BY line_no").fetchall()
    assert cats == [("download",), ("push",)]


GRAPH_SIGNIN = {
    "id": "6e8b7c1a-0000-4000-8000-000000000001",
    "createdDateTime": "2026-09-01T08:00:00Z",
    "userPrincipalName": "ann@acme.example",
    "appDisplayName": "GitHub Enterprise Cloud",
    "appId": "a1",
    "ipAddress": "203.0.113.10",
    "status": {"errorCode": 0},
    "location": {"city": "Lisbon", "countryOrRegion": "PT", "geoCoordinates": {"latitude": 38.72, "longitude": -9.14}},
    "riskLevelDuringSignIn": "medium",
}


@pytest.mark.parametrize("shape", ["value", "bare"])
def test_entra_graph_sign_ins(ws: Workspace, tmp_path: Path, shape: str) -> None:
    path = tmp_path / "signins.json"
    body = {"@odata.context": "x", "value": [GRAPH_SIGNIN]} if shape == "value" else [GRAPH_SIGNIN]
    path.write_text(json.dumps(body, indent=2))
    assert _one(ws, path) == ("entra-signin-graph", 1, 0, 0)
    row = ws.con.execute("SELECT identity, country, city, latitude, risk_level, outcome FROM events").fetchone()
    assert row == ("ann@acme.example", "PT", "Lisbon", 38.72, "medium", "success")


def test_entra_portal_csv(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "InteractiveSignIns.csv"
    path.write_text(
        "Date (UTC),Request ID,User,Username,Application,IP address,Location,Status,Sign-in error code\n"
        '2026-09-01T08:00:00Z,r-1,Ann,ann@acme.example,GitLab,203.0.113.10,"Porto, Porto, PT",Success,0\n'
        '2026-09-01T09:00:00Z,r-2,Ann,ann@acme.example,GitLab,198.51.100.3,"Lagos, Lagos, NG",Failure,50126\n'
    )
    assert _one(ws, path) == ("entra-signin-csv", 2, 0, 0)
    rows = ws.con.execute("SELECT city, country, outcome FROM events ORDER BY ts").fetchall()
    assert rows == [("Porto", "PT", "success"), ("Lagos", "NG", "failure")]


def test_entra_users_fill_identities(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps(
            {
                "value": [
                    {
                        "id": "u1",
                        "userPrincipalName": "ann@acme.example",
                        "department": "Finance",
                        "jobTitle": "Analyst",
                        "employeeType": "Employee",
                        "userType": "Member",
                        "accountEnabled": True,
                    },
                    {
                        "id": "u2",
                        "userPrincipalName": "x_partner#EXT#@acme.example",
                        "userType": "Guest",
                        "accountEnabled": False,
                    },
                ]
            }
        )
    )
    assert _one(ws, path) == ("entra-users", 2, 0, 0)
    rows = ws.con.execute("SELECT upn, department, user_type, account_enabled FROM identities ORDER BY upn").fetchall()
    assert rows == [
        ("ann@acme.example", "Finance", "Member", True),
        ("x_partner#EXT#@acme.example", None, "Guest", False),
    ]


def test_malformed_lines_are_kept_aside_with_file_and_line(ws: Workspace, tmp_path: Path) -> None:
    good = [json.dumps(gh_event(i)) for i in range(3)]
    path = tmp_path / "mixed.ndjson"
    path.write_text(
        "\n".join(
            [good[0], "{not json", "", good[1], "[1, 2]", json.dumps({"action": "git.clone", "actor": "x"}), good[2]]
        )
        + "\n"
    )
    assert _one(ws, path) == ("github-audit", 3, 0, 3)
    rejected = ws.con.execute("SELECT path, line_no, reason FROM rejected_lines ORDER BY line_no").fetchall()
    assert rejected == [
        (str(path), 2, "not valid JSON"),
        (str(path), 5, "not a JSON object"),
        (str(path), 6, "missing @timestamp and created_at"),
    ]
    lines = ws.con.execute("SELECT line_no FROM events ORDER BY line_no").fetchall()
    assert lines == [(1,), (4,), (7,)]


def test_unparseable_timestamp_is_rejected_not_guessed(ws: Workspace, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "t.ndjson", [gh_event(1), {**gh_event(2), "@timestamp": "yesterday"}])
    assert _one(ws, path) == ("github-audit", 1, 0, 1)
    assert ws.con.execute("SELECT reason FROM rejected_lines").fetchone() == ("unparseable timestamp",)


def test_line_numbers_on_the_columnar_path(ws: Workspace, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "big.ndjson", [gh_event(i, ts_ms=1_759_000_000_000 + i) for i in range(50_000)])
    assert _one(ws, path) == ("github-audit", 50_000, 0, 0)
    wrong = ws.con.execute(
        "SELECT count(*) FROM events WHERE event_uid <> 'github:doc-' || CAST(line_no - 1 AS VARCHAR)"
    ).fetchone()
    assert wrong == (0,)


def test_duplicate_lines_within_a_stream_count_once(ws: Workspace, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "dup.ndjson", [gh_event(1), gh_event(2), gh_event(1)])
    assert _one(ws, path) == ("github-audit", 2, 1, 0)


def test_records_without_ids_dedupe_by_content(ws: Workspace, tmp_path: Path) -> None:
    rec = {"action": "repo.create", "actor": "a", "created_at": 1583364251067, "repo": "o/r"}
    a = write_ndjson(tmp_path / "a.ndjson", [rec, {**rec, "created_at": 1583364251068}])
    b = write_ndjson(tmp_path / "b.ndjson", [rec, {**rec, "pull_request_title": "differs"}])
    assert _one(ws, a) == ("github-audit", 2, 0, 0)
    # Same content as a's first line is a duplicate; a differing field makes a new event.
    assert _one(ws, b) == ("github-audit", 1, 1, 0)


def test_unknown_format_is_an_error_and_writes_nothing(ws: Workspace, tmp_path: Path) -> None:
    good = write_ndjson(tmp_path / "good.ndjson", [gh_event(1)])
    bad = write_ndjson(tmp_path / "bad.ndjson", [{"hello": "world"}])
    with pytest.raises(InputError) as err:
        import_files(ws, [good, bad])
    assert str(bad) in str(err.value)
    assert ws.con.execute("SELECT count(*) FROM events").fetchone() == (0,)
    assert ws.con.execute("SELECT count(*) FROM imports").fetchone() == (0,)
    assert not any(p.is_file() for p in ws.evidence_dir.rglob("*")) if ws.evidence_dir.exists() else True


@pytest.mark.parametrize("content", ["", "\n\n", "just some text\n", "a\n"])
def test_empty_or_text_files_are_errors(ws: Workspace, tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.log"
    path.write_text(content)
    with pytest.raises(InputError):
        import_files(ws, [path])


def test_missing_file_is_an_error(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_files(ws, [tmp_path / "nope.ndjson"])


def test_json_array_that_does_not_parse_is_an_error_and_rolls_back(ws: Workspace, tmp_path: Path) -> None:
    good = write_ndjson(tmp_path / "good.ndjson", [gh_event(1)])
    broken = tmp_path / "broken.json"
    broken.write_text("[" + json.dumps(gh_event(2)) + ", {oops")
    with pytest.raises(InputError) as err:
        import_files(ws, [good, broken])
    assert str(broken) in str(err.value)
    assert ws.con.execute("SELECT count(*) FROM events").fetchone() == (0,)
    assert not [p for p in ws.evidence_dir.rglob("*") if p.is_file()]


def test_crlf_and_byte_order_marks_are_accepted(ws: Workspace, tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.ndjson"
    crlf.write_bytes(b"".join(json.dumps(gh_event(i)).encode() + b"\r\n" for i in range(3)))
    bom_nd = tmp_path / "bom.ndjson"
    bom_nd.write_bytes("\ufeff".encode() + b"".join(json.dumps(gh_event(i + 10)).encode() + b"\n" for i in range(3)))
    bom_json = tmp_path / "bom.json"
    bom_json.write_bytes("\ufeff".encode() + json.dumps([gh_event(i + 20) for i in range(3)]).encode())
    bom_csv = tmp_path / "bom.csv"
    bom_csv.write_bytes("\ufeffaction,actor,created_at,repo\ngit.clone,bob,2026-09-01T10:00:00Z,acme/x\n".encode())
    summary = import_files(ws, [crlf, bom_nd, bom_json, bom_csv])
    assert [(f.events, f.rejected) for f in summary.files] == [(3, 0), (3, 0), (3, 0), (1, 0)]


def test_missing_signals_are_recorded_as_coverage_gaps(ws: Workspace, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "web-only.ndjson", [gh_event(1, action="repo.create")])
    import_files(ws, [path])
    gaps = {r[0] for r in ws.con.execute("SELECT needs FROM coverage_gaps").fetchall()}
    assert any("GitHub Git events" in g for g in gaps)
    assert any("api.request" in g for g in gaps)
    assert any("Entra ID sign-in logs" in g for g in gaps)
    assert any("Entra users" in g for g in gaps)
    clones = write_ndjson(tmp_path / "git.ndjson", [gh_event(2), gh_event(3, action="api.request")])
    import_files(ws, [clones])
    gaps = {r[0] for r in ws.con.execute("SELECT needs FROM coverage_gaps").fetchall()}
    assert not any("GitHub Git events" in g or "api.request" in g for g in gaps)
