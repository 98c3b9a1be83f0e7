"""The Parquet lake: `auditor export events --parquet` writes the documented schema partitioned by
platform and day; `auditor import --parquet` reads it back (validated, one transaction, deduplicated)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from auditor.errors import InputError
from auditor.importers.pipeline import import_files
from auditor.lake.export import export_lake
from auditor.lake.load import import_lake
from auditor.lake.schema import LAKE_VERSION, SCHEMA_FILE, TABLES
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson

DAY_MS = 86_400_000


def _events() -> list[dict[str, object]]:
    return [
        gh_event(i, actor=f"u{i % 3}", repo=f"acme/r{i % 4}", ts_ms=1_759_000_000_000 + i * DAY_MS // 3)
        for i in range(12)
    ]


@pytest.fixture
def lake(ws: Workspace, tmp_path: Path) -> Path:
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", _events())])
    ws.con.execute("INSERT INTO grants VALUES ('snap-1', 'github', 'u0', 'acme/r0', 'admin', ['org_owner'])")
    ws.con.execute("INSERT INTO snapshots VALUES ('snap-1', 'collect', 'github', 'test', now(), '0')")
    export_lake(ws, tmp_path / "lake")
    return tmp_path / "lake"


def _auditor(*args: str, ws: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUDITOR_WORKSPACE": str(ws)}
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_export_partitions_events_by_platform_and_day_and_documents_the_schema(lake: Path) -> None:
    days = sorted(p.name for p in (lake / "events" / "platform=github").iterdir())
    assert days == ["day=2025-09-27", "day=2025-09-28", "day=2025-09-29", "day=2025-09-30", "day=2025-10-01"]
    doc = json.loads((lake / SCHEMA_FILE).read_text())
    assert doc["version"] == LAKE_VERSION and doc["tables"]["events"]["partition_by"] == ["platform", "day"]
    assert {c["name"] for c in doc["tables"]["events"]["columns"]} >= {"event_uid", "ts", "evidence_sha256"}
    for table in TABLES:
        assert (lake / table).is_dir(), table
    # Timestamps are written as naive UTC (isAdjustedToUTC=false), microseconds.
    (ts,) = duckdb.execute(
        f"SELECT logical_type FROM parquet_schema('{lake}/events/*/*/*.parquet') WHERE name = 'ts' LIMIT 1"
    ).fetchall()
    assert "isAdjustedToUTC=0" in str(ts[0])


def test_import_reads_the_lake_back_identically(lake: Path, ws: Workspace, tmp_path: Path) -> None:
    other = Workspace.open(tmp_path / "other")
    summary = import_lake(other, lake)
    assert summary.imported == 12 and summary.duplicates == 0
    grants = next(f for f in summary.files if f.format == "auditor-parquet:grants")
    assert (grants.records, grants.duplicates, grants.events) == (1, 0, 0)
    cols = ", ".join(c.name for c in TABLES["events"])
    mine = ws.con.execute(f"SELECT {cols} FROM events ORDER BY event_uid").fetchall()
    theirs = other.con.execute(f"SELECT {cols} FROM events ORDER BY event_uid").fetchall()
    assert mine == theirs
    assert other.con.execute("SELECT via FROM grants").fetchall() == [(["org_owner"],)]
    assert other.con.execute("SELECT count(*) FROM accounts").fetchone() == (3,)  # derived again from events


def test_reimport_adds_nothing_and_counts_duplicates(lake: Path, tmp_path: Path) -> None:
    other = Workspace.open(tmp_path / "other")
    import_lake(other, lake)
    again = import_lake(other, lake)
    events = next(f for f in again.files if f.format == "auditor-parquet:events")
    assert (events.events, events.duplicates) == (0, 12)
    grants = next(f for f in again.files if f.format == "auditor-parquet:grants")
    assert grants.duplicates == 1
    assert other.con.execute("SELECT count(*) FROM events").fetchone() == (12,)
    assert other.con.execute("SELECT count(*) FROM grants").fetchone() == (1,)


def _copy_events_table(lake: Path, sql: str) -> Path:
    """Replace the github events of `lake` with one file made by `sql` over the original rows."""
    part = lake / "events" / "platform=github" / "day=2025-09-27"
    src = f"read_parquet('{lake}/events/*/*/*.parquet', hive_partitioning = true)"
    out = part / "bad.parquet"
    duckdb.sql(f"COPY ({sql.format(src=src)}) TO '{out}' (FORMAT PARQUET)")
    return out


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * EXCLUDE (platform, day, event_uid) FROM {src}", "required column(s) missing: event_uid"),
        ("SELECT * EXCLUDE (platform, day, line_no), 'x' AS line_no FROM {src}", "line_no is VARCHAR, expected BIGINT"),
        ("SELECT * EXCLUDE (platform, day, actor), NULL::VARCHAR AS actor, NULL::VARCHAR AS action FROM {src}", None),
    ],
)
def test_bad_files_are_named_and_leave_the_workspace_unchanged(
    lake: Path, tmp_path: Path, sql: str, message: str | None
) -> None:
    if message is None:  # a NULL in a required column (action), via a duplicate column name set
        sql = "SELECT * EXCLUDE (platform, day, action), CAST(NULL AS VARCHAR) AS action FROM {src}"
        message = "a required column"
    bad = _copy_events_table(lake, sql)
    other = Workspace.open(tmp_path / "other")
    with pytest.raises(InputError) as err:
        import_lake(other, lake)
    assert message in str(err.value) and str(bad) in str(err.value)
    assert other.con.execute("SELECT count(*) FROM events").fetchone() == (0,)
    assert other.con.execute("SELECT count(*) FROM snapshots").fetchone() == (0,)


def test_a_folder_without_schema_document_or_of_another_version_is_refused(lake: Path, tmp_path: Path) -> None:
    other = Workspace.open(tmp_path / "other")
    doc = json.loads((lake / SCHEMA_FILE).read_text())
    (lake / SCHEMA_FILE).write_text(json.dumps(doc | {"version": LAKE_VERSION + 1}))
    with pytest.raises(InputError, match="version"):
        import_lake(other, lake)
    (lake / SCHEMA_FILE).unlink()
    with pytest.raises(InputError, match="not a repo-auditor Parquet lake"):
        import_lake(other, lake)
    with pytest.raises(InputError, match="no such folder"):
        import_lake(other, tmp_path / "absent")


def test_export_refuses_a_non_empty_folder(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="not an empty folder"):
        export_lake(ws, tmp_path / "lake")


def test_cli_export_and_import_json(tmp_path: Path) -> None:
    src = tmp_path / "src"
    path = write_ndjson(tmp_path / "gh.ndjson", _events())
    assert _auditor("import", str(path), ws=src).returncode == 0
    out = _auditor("export", "events", "--parquet", str(tmp_path / "lake"), "--json", ws=src)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["tables"]["events"] == 12
    res = _auditor("import", "--parquet", str(tmp_path / "lake"), "--json", ws=tmp_path / "dst")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["imported"] >= 12 and summary["rejected"] == 0
    assert {"path", "format", "events", "rejected"} <= set(summary["files"][0])
    again = _auditor("export", "events", "--parquet", str(tmp_path / "lake"), ws=src)
    assert again.returncode == 2 and "lake" in again.stderr
    both = _auditor("import", str(path), "--parquet", str(tmp_path / "lake"), ws=tmp_path / "dst")
    assert both.returncode == 2
    missing = _auditor("import", "--parquet", str(tmp_path / "nope"), ws=tmp_path / "dst")
    assert missing.returncode == 2 and "nope" in missing.stderr
