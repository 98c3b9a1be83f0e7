"""Workspace: vocabulary tables, schema version and migration on open."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import WorkspaceError
from auditor.workspace.schema import MIGRATIONS, SCHEMA_VERSION
from auditor.workspace.store import Workspace

TABLES = {
    "accounts",
    "identities",
    "account_links",
    "repos",
    "grants",
    "credentials",
    "apps",
    "log_sources",
    "events",
    "findings",
    "snapshots",
    "imports",
    "coverage_gaps",
    "evidence",
    "rejected_lines",
    "schema_version",
}


def test_new_workspace_has_the_vocabulary_tables(ws: Workspace) -> None:
    names = {r[0] for r in ws.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert names >= TABLES
    assert ws.schema_version() == SCHEMA_VERSION


def test_sessions_are_utc_and_print_no_duckdb_progress_bar(ws: Workspace) -> None:
    settings = dict(
        ws.con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('TimeZone', 'enable_progress_bar')"
        ).fetchall()
    )
    assert settings == {"TimeZone": "UTC", "enable_progress_bar": "false"}


def test_reopen_does_not_migrate_twice(tmp_path: Path) -> None:
    Workspace.open(tmp_path / "w").close()
    again = Workspace.open(tmp_path / "w")
    assert again.con.execute("SELECT count(*) FROM schema_version").fetchone() == (len(MIGRATIONS),)
    again.close()


def test_workspace_from_a_newer_tool_is_refused(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "w")
    ws.con.execute("INSERT INTO schema_version VALUES (999, now())")
    ws.close()
    with pytest.raises(WorkspaceError, match="newer than this tool"):
        Workspace.open(tmp_path / "w")


def test_transaction_rolls_back_on_error(ws: Workspace) -> None:
    with pytest.raises(RuntimeError), ws.transaction() as con:
        con.execute("INSERT INTO snapshots VALUES ('s1', 'import', NULL, NULL, now(), '0')")
        raise RuntimeError("boom")
    assert ws.con.execute("SELECT count(*) FROM snapshots").fetchone() == (0,)


def test_a_version_1_workspace_is_migrated_on_open(tmp_path: Path) -> None:
    import duckdb

    root = tmp_path / "old"
    root.mkdir()
    con = duckdb.connect(str(root / "auditor.duckdb"))
    con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
    for statement in MIGRATIONS[0][1]:
        con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (1, now())")
    con.execute("INSERT INTO identities (identity_id, upn) VALUES ('u1', 'a@b.example')")
    con.close()
    ws = Workspace.open(root)
    assert ws.schema_version() == SCHEMA_VERSION
    assert ws.con.execute("SELECT upn, manager_id FROM identities").fetchall() == [("a@b.example", None)]
    ws.close()
