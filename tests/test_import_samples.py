"""Every real vendor sample in ../shared imports with zero rejected lines and sensible fields."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.conftest import SHARED_SAMPLES

EXPECTED_FORMAT = {
    "github": "github-audit",
    "gitlab/api-log.ndjson": "gitlab-api-log",
    "gitlab/audit-events.ndjson": "gitlab-audit",
    "entra/signinlogs-invalid-time.ndjson": "entra-signin-loganalytics",
    "entra": "entra-signin-diagnostic",
}

SAMPLE_FILES = sorted(SHARED_SAMPLES.glob("*/*.ndjson")) if SHARED_SAMPLES.is_dir() else []


def _expected(path: Path) -> str:
    rel = f"{path.parent.name}/{path.name}"
    return EXPECTED_FORMAT.get(rel) or EXPECTED_FORMAT[path.parent.name]


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_sample_imports_without_rejects(ws: Workspace, path: Path) -> None:
    summary = import_files(ws, [path])
    (result,) = summary.files
    assert result.format == _expected(path)
    assert result.rejected == 0
    assert result.records == sum(1 for line in path.read_text().splitlines() if line.strip())
    # One fixture repeats a sign-in (same id and time): the second copy is a duplicate, not an event.
    within_file_duplicates = 1 if path.name == "signinlogs-interactive-basic.ndjson" else 0
    assert result.duplicates == within_file_duplicates
    assert result.events == result.records - within_file_duplicates


def test_samples_present_or_skipped(samples: Path) -> None:
    assert len(SAMPLE_FILES) >= 20


def test_all_samples_together_dedupe_overlapping_fixtures(ws: Workspace, samples: Path) -> None:
    summary = import_files(ws, sorted(samples.glob("*/*.ndjson")))
    assert summary.rejected == 0
    by_name = {Path(f.path).name: f for f in summary.files}
    # audit-log-older.ndjson's first 188 records are the same events as org-audit-log.ndjson's.
    assert by_name["org-audit-log.ndjson"].duplicates == 188
    assert by_name["org-audit-log.ndjson"].events == 11
    # The repo.create record appears in both enterprise fixtures with one _document_id.
    assert by_name["enterprise-audit-eventhub.ndjson"].duplicates == 1


def test_reimport_adds_nothing(ws: Workspace, samples: Path) -> None:
    files = sorted(samples.glob("*/*.ndjson"))
    first = import_files(ws, files)
    count = ws.con.execute("SELECT count(*) FROM events").fetchone()
    second = import_files(ws, files)
    assert second.imported == 0
    assert second.duplicates == sum(f.records for f in first.files)
    assert all(f.already_imported for f in second.files)
    assert ws.con.execute("SELECT count(*) FROM events").fetchone() == count


def test_time_format_corner_cases_all_parse_to_the_same_utc_minute(ws: Workspace, samples: Path) -> None:
    import_files(ws, [samples / "entra" / "signinlogs-time-format-corner-cases.ndjson"])
    rows = ws.con.execute("SELECT ts FROM events ORDER BY line_no").fetchall()
    assert len(rows) == 11
    for (ts,) in rows:
        assert ts.replace(microsecond=0) == datetime(2007, 1, 9, 9, 41)


def test_pascal_case_log_analytics_record_takes_created_datetime(ws: Workspace, samples: Path) -> None:
    import_files(ws, [samples / "entra" / "signinlogs-invalid-time.ndjson"])
    ts, action = ws.con.execute("SELECT ts, action FROM events").fetchone() or (None, None)
    assert ts.replace(microsecond=0) == datetime(2025, 7, 1, 10, 45, 17)
    assert action == "ServicePrincipalSignInLogs"


def test_us_style_time_is_month_first(ws: Workspace, samples: Path) -> None:
    import_files(ws, [samples / "entra" / "service-principal-signin-alt-time-format.ndjson"])
    (ts,) = ws.con.execute("SELECT ts FROM events").fetchone() or (None,)
    assert ts.date().isoformat() == "2025-11-14"


def test_github_api_request_fields(ws: Workspace, samples: Path) -> None:
    import_files(ws, [samples / "github" / "api-request-events.ndjson"])
    row = ws.con.execute(
        "SELECT actor, country, credential_id, token_scopes, route, http_method, status_code, category "
        "FROM events WHERE action = 'api.request'"
    ).fetchone()
    assert row == (
        "user_actor",
        "IN",
        "555555",
        "repo,read:org",
        "/repos/{owner}/{repo}/pulls",
        "GET",
        200,
        "api_request",
    )


def test_entra_sign_in_location_and_identity(ws: Workspace, samples: Path) -> None:
    import_files(ws, [samples / "entra" / "signinlogs-diagnostic-rich.ndjson"])
    row = ws.con.execute("SELECT identity, ip, country, city, outcome FROM events ORDER BY line_no LIMIT 1").fetchone()
    assert row == ("mpliftrelastic20210901@outlook.com", "1.128.3.4", "IN", "Nizampet", "success")


def test_gitlab_api_log_token_and_route(ws: Workspace, samples: Path) -> None:
    import_files(ws, [samples / "gitlab" / "api-log.ndjson"])
    rows = ws.con.execute("SELECT actor, credential_type, ip FROM events WHERE credential_type IS NOT NULL").fetchall()
    assert rows and all(r == ("root", "PersonalAccessToken", "81.2.69.144") for r in rows)


def test_gitlab_audit_json_log_event_kinds(ws: Workspace, samples: Path) -> None:
    import_files(ws, [samples / "gitlab" / "audit-events.ndjson"])
    rows = ws.con.execute("SELECT action, category, repo FROM events ORDER BY line_no").fetchall()
    assert rows == [
        ("user_authenticated", "signin", None),
        ("change_visibility", "visibility_change", "namespace2/project2"),
    ]


def test_evidence_rows_point_at_the_stored_original(ws: Workspace, samples: Path) -> None:
    path = samples / "github" / "org-audit-log.ndjson"
    import_files(ws, [path])
    sha, stored = ws.con.execute("SELECT sha256, stored_path FROM evidence").fetchone() or ("", "")
    assert Path(stored).read_bytes() == path.read_bytes()
    lines = ws.con.execute("SELECT DISTINCT evidence_sha256 FROM events").fetchall()
    assert lines == [(sha,)]
