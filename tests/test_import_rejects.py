"""Issue #17: every bad record is a line-level reject (or the file a clean exit 2), never a crash."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from auditor.errors import InputError
from auditor.importers.pipeline import import_files
from auditor.importers.registry import get_format
from auditor.importers.timerule import OUT_OF_RANGE
from auditor.workspace.schema import MIGRATIONS, SCHEMA_VERSION
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, run_auditor, write_ndjson

INF_LINE = '{"@timestamp":"infinity","action":"git.clone","actor":"a","repo":"o/r","visibility":"private"}\n'


def _rejects(ws: Workspace) -> list[tuple[int, str]]:
    rows = ws.con.execute("SELECT line_no, reason FROM rejected_lines ORDER BY 1").fetchall()
    return [(int(n), str(r)) for n, r in rows]


@pytest.mark.parametrize(
    "value",
    [
        "infinity",
        "-infinity",
        "0001-01-01T00:00:00Z",
        "99999-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
        "1989-12-31T23:59:59Z",
        "2999-01-01T00:00:00Z",
        0,
        -1,
        -9223372036854775808,
        9223372036854775807,
        "99999999999999999999.5",
    ],
)
def test_implausible_timestamps_are_rejected_with_the_rule(ws: Workspace, tmp_path: Path, value: object) -> None:
    path = write_ndjson(tmp_path / "t.ndjson", [gh_event(1), {**gh_event(2), "@timestamp": value}, gh_event(3)])
    (f,) = import_files(ws, [path]).files
    assert (f.records, f.events, f.rejected) == (3, 2, 1)
    assert _rejects(ws) == [(2, OUT_OF_RANGE)]
    lo, hi = ws.con.execute("SELECT min(ts), max(ts) FROM events").fetchone() or (None, None)
    assert lo >= datetime(1990, 1, 1) and hi.year < 2100


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_700_000_000, datetime(2023, 11, 14, 22, 13, 20)),  # seconds
        (1_700_000_000_123, datetime(2023, 11, 14, 22, 13, 20, 123000)),  # milliseconds
        (1_700_000_000_123_456, datetime(2023, 11, 14, 22, 13, 20, 123456)),  # microseconds
        (1_700_000_000_123_456_789, datetime(2023, 11, 14, 22, 13, 20, 123456)),  # nanoseconds (19 digits)
        (170_000_000_012_345_678, datetime(1975, 5, 22, 0, 13, 20, 12345)),  # 18-digit nanoseconds
        ("1700000000123456789", datetime(2023, 11, 14, 22, 13, 20, 123456)),
        ("1700000000.5", datetime(2023, 11, 14, 22, 13, 20, 500000)),
    ],
)
def test_epoch_values_are_read_by_magnitude(ws: Workspace, tmp_path: Path, value: object, expected: datetime) -> None:
    path = write_ndjson(tmp_path / "e.ndjson", [{**gh_event(1), "@timestamp": value}])
    (f,) = import_files(ws, [path]).files
    if expected.year < 1990:
        assert (f.events, f.rejected) == (0, 1)
        return
    assert (f.events, f.rejected) == (1, 0)
    assert ws.con.execute("SELECT ts FROM events").fetchone() == (expected,)


def test_infinity_repro_report_and_coverage_run(tmp_path: Path) -> None:
    (tmp_path / "inf.ndjson").write_text(INF_LINE)
    assert run_auditor("import", "inf.ndjson", cwd=tmp_path).returncode == 0
    report = run_auditor("report", "--out", str(tmp_path / "rep"), "--json", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    coverage = run_auditor("coverage", "--format", "json", cwd=tmp_path)
    assert coverage.returncode == 0 and "Traceback" not in coverage.stderr
    listed = json.loads(run_auditor("rejected", "--format", "json", cwd=tmp_path).stdout)
    assert [(r["line"], r["reason"]) for r in listed] == [(1, OUT_OF_RANGE)]


def test_migration_11_moves_implausible_events_to_rejected_lines(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir()
    con = duckdb.connect(str(root / "auditor.duckdb"))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
    for version, statements in MIGRATIONS:
        if version <= 10:
            for statement in statements:
                con.execute(statement)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    con.execute(
        "INSERT INTO imports VALUES ('imp-1', 's1', '/data/a.ndjson', 'ab', 'github-audit', 'github', 3, 3, 0, 0,"
        " '-infinity', 'infinity', now())"
    )
    for line, ts in ((1, "infinity"), (2, "2025-01-01 10:00:00"), (3, "0001-01-01 00:00:00")):
        con.execute(
            "INSERT INTO events (event_uid, platform, source_format, ts, action, category, actor, repo, "
            "evidence_sha256, line_no, import_id) VALUES (?, 'github', 'github-audit', ?::TIMESTAMP, 'git.clone', "
            "'download', 'al', 'o/r', 'ab', ?, 'imp-1')",
            [f"github:{line}", ts, line],
        )
    con.execute(
        "INSERT INTO accounts (platform, login, first_seen, last_seen) VALUES ('github', 'al', '-infinity', 'infinity')"
    )
    con.execute("INSERT INTO log_sources VALUES ('github', 'github-audit', NULL, NULL, '-infinity', 'infinity', 3)")
    con.close()
    ws = Workspace.open(root)
    assert ws.schema_version() == SCHEMA_VERSION >= 11
    assert ws.con.execute("SELECT line_no FROM events").fetchall() == [(2,)]
    moved = ws.con.execute("SELECT path, line_no, reason FROM rejected_lines ORDER BY line_no").fetchall()
    assert [(p, n) for p, n, _ in moved] == [("/data/a.ndjson", 1), ("/data/a.ndjson", 3)]
    assert all(r.startswith(OUT_OF_RANGE) for _, _, r in moved)
    t = datetime(2025, 1, 1, 10)
    assert ws.con.execute("SELECT events, rejected, first_event_at, last_event_at FROM imports").fetchone() == (
        1,
        2,
        t,
        t,
    )
    assert ws.con.execute("SELECT first_seen, last_seen FROM accounts").fetchone() == (t, t)
    assert ws.con.execute("SELECT first_event_at, last_event_at, events FROM log_sources").fetchone() == (t, t, 1)
    ws.close()


def test_one_invalid_utf8_byte_rejects_that_line_only(ws: Workspace, tmp_path: Path) -> None:
    lines = [json.dumps(gh_event(i)).encode() for i in range(4)]
    lines[2] = lines[2].replace(b'"alice"', b'"al\xffice"')
    byte = lines[2].index(b"\xff") + 1
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    (f,) = import_files(ws, [path]).files
    assert (f.records, f.events, f.rejected) == (4, 3, 1)
    assert _rejects(ws) == [(3, f"invalid UTF-8 (byte {byte} of the line)")]
    assert ws.con.execute("SELECT line_no FROM events ORDER BY 1").fetchall() == [(1,), (2,), (4,)]


def test_invalid_utf8_in_entra_signins_error_has_no_pii(tmp_path: Path, samples: Path) -> None:
    src = (samples / "entra" / "signinlogs-diagnostic.ndjson").read_bytes().splitlines()
    src[1] = src[1].replace(b'"callerIpAddress":"', b'"callerIpAddress":"\xc3', 1)
    assert b"\xc3" in src[1]
    (tmp_path / "s.ndjson").write_bytes(b"\n".join(src) + b"\n")
    done = run_auditor("import", "s.ndjson", "--json", cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr and "callerIpAddress" not in done.stderr
    (f,) = json.loads(done.stdout)["files"]
    assert (f["rejected"], f["events"]) == (1, len(src) - 1)


def test_csv_bad_row_is_one_reject_and_later_lines_keep_their_numbers(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "action,actor,created_at,repo\n"
        "git.clone,bob,2026-09-01T10:00:00Z,acme/x\n"
        "git.clone,bob,2026-09-01T10:00:00Z\n"
        'git.clone,carol,2026-09-01T10:02:00Z,"acme/\nx"\n'
        "git.clone,dan,2026-09-01T10:03:00Z,acme/y,extra\n"
        "git.clone,eve,2026-09-01T10:04:00Z,acme/z\n"
    )
    (f,) = import_files(ws, [path]).files
    assert (f.records, f.events, f.rejected) == (5, 3, 2)
    assert [n for n, _ in _rejects(ws)] == [3, 6]
    rows = ws.con.execute("SELECT actor, line_no FROM events ORDER BY line_no").fetchall()
    assert rows == [("bob", 2), ("carol", 4), ("eve", 7)]


def test_wrong_format_exits_2_and_the_right_one_still_imports(ws: Workspace, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "gh.ndjson", [gh_event(i) for i in range(3)])
    with pytest.raises(InputError, match=r"gh\.ndjson: no record has the fields gitlab-audit requires"):
        import_files(ws, [path], get_format("gitlab-audit"))
    assert ws.con.execute("SELECT count(*) FROM events").fetchone() == (0,)
    (f,) = import_files(ws, [path]).files
    assert (f.events, f.already_imported) == (3, False)


def test_sign_ins_read_as_users_exit_2_and_users_still_import(ws: Workspace, tmp_path: Path, samples: Path) -> None:
    """Sign-ins carry id and userPrincipalName too; their sign-in fields mark them as not users."""
    signins = samples / "entra" / "signinlogs-created-datetime.ndjson"
    with pytest.raises(InputError, match=r"no record has the fields entra-users requires"):
        import_files(ws, [signins], get_format("entra-users"))
    assert ws.con.execute("SELECT count(*) FROM identities").fetchone() == (0,)
    users = write_ndjson(tmp_path / "users.ndjson", [{"id": "u1", "userPrincipalName": "a@x.com"}])
    (f,) = import_files(ws, [users], get_format("entra-users")).files
    assert (f.events, f.rejected) == (1, 0)


def test_already_imported_is_keyed_by_hash_and_format(ws: Workspace, tmp_path: Path) -> None:
    path = write_ndjson(
        tmp_path / "mixed.ndjson", [gh_event(1), {"time": "2025-01-01T00:00:00Z", "method": "GET", "path": "/api/v4/x"}]
    )
    (first,) = import_files(ws, [path], get_format("gitlab-api-log")).files
    assert (first.events, first.rejected) == (1, 1)
    (second,) = import_files(ws, [path]).files  # detected as github-audit: not "already imported"
    assert (second.format, second.events, second.rejected, second.already_imported) == ("github-audit", 1, 1, False)


def test_lines_missing_required_fields_are_rejected(ws: Workspace, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "m.ndjson", [gh_event(1), {"@timestamp": 1_759_000_000_000, "actor": "x"}])
    (f,) = import_files(ws, [path]).files
    assert (f.events, f.rejected) == (1, 1)
    assert _rejects(ws) == [(2, "missing action")]


def test_deeply_nested_line_is_a_reject_not_a_recursion_error(ws: Workspace, tmp_path: Path) -> None:
    deep = '{"action": "git.clone", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / "deep.ndjson"
    path.write_text(deep + "\n" + json.dumps(gh_event(1)) + "\n" + "[" * 100_000 + "\n")
    (f,) = import_files(ws, [path]).files
    assert (f.records, f.events, f.rejected) == (3, 1, 2)
    assert _rejects(ws) == [(1, "missing @timestamp and created_at"), (3, "not valid JSON")]


def test_deeply_nested_only_file_is_a_clean_exit_2(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    done = run_auditor("import", "deep.json", cwd=tmp_path)
    assert done.returncode == 2 and "deep.json" in done.stderr and "Traceback" not in done.stderr


def test_a_directory_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    done = run_auditor("import", "logs", cwd=tmp_path)
    assert done.returncode == 2
    assert "logs: is a directory" in done.stderr and "no such file" not in done.stderr


def test_over_long_line_is_rejected(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.importers import sources

    monkeypatch.setattr(sources, "MAX_OBJECT", 4096)
    records = [gh_event(1), gh_event(2, user_agent="x" * 10_000), gh_event(3), "not an object"]
    path = write_ndjson(tmp_path / "long.ndjson", records)
    (f,) = import_files(ws, [path]).files
    assert (f.events, f.rejected) == (2, 2)
    assert _rejects(ws) == [(2, "line longer than 4096 bytes"), (4, "not a JSON object")]


def test_rejected_command_table_and_json(tmp_path: Path) -> None:
    long_bad = {**gh_event(9), "@timestamp": "yesterday", "user_agent": "u" * 500}
    write_ndjson(tmp_path / "a.ndjson", [gh_event(1), "[1]", long_bad])
    assert run_auditor("import", "a.ndjson", cwd=tmp_path).returncode == 0
    table = run_auditor("rejected", cwd=tmp_path)
    assert table.returncode == 0
    assert "a.ndjson:2" in table.stdout and "not a JSON object" in table.stdout
    assert "a.ndjson:3" in table.stdout and "unparseable timestamp" in table.stdout
    rows = json.loads(run_auditor("rejected", "--format", "json", cwd=tmp_path).stdout)
    assert [(Path(r["path"]).name, r["line"], r["reason"]) for r in rows] == [
        ("a.ndjson", 2, "not a JSON object"),
        ("a.ndjson", 3, "unparseable timestamp"),
    ]
    assert rows[0]["excerpt"] == '"[1]"' and len(rows[1]["excerpt"]) == 120 and rows[1]["format"] == "github-audit"
    csv_out = run_auditor("rejected", "--format", "csv", cwd=tmp_path).stdout.splitlines()
    assert csv_out[0] == "path,line,reason,excerpt,format,imported_at" and len(csv_out) == 3
