"""The table spec (auditor/workspace/tables.py) and the migrated workspace DDL say the same thing: every
spec column exists with its type and required columns are NOT NULL; the importer's lists come from it."""

from __future__ import annotations

from auditor.importers.pipeline import EVENT_COLUMNS, IDENTITY_COLUMNS
from auditor.lake.schema import TABLES as LAKE_TABLES
from auditor.workspace.store import Workspace
from auditor.workspace.tables import BOOKKEEPING, PROVENANCE, TABLES, column_list, column_types, row_types


def test_migrated_ddl_matches_the_spec_table_by_table(ws: Workspace) -> None:
    for table, spec in TABLES.items():
        described = {r[0]: (r[1], r[2]) for r in ws.con.execute(f"DESCRIBE {table}").fetchall()}
        for column in spec:
            assert column.name in described, f"{table}.{column.name} is in the spec but not in the workspace"
            db_type, nullable = described[column.name]
            assert db_type == column.type, f"{table}.{column.name}: DDL {db_type}, spec {column.type}"
            if column.required and table == "events":
                assert nullable == "NO", f"{table}.{column.name} is required but nullable in the DDL"
        extra = set(described) - {c.name for c in spec} - set(BOOKKEEPING.get(table, ()))
        assert not extra, f"{table}: columns {sorted(extra)} are in the workspace but not in the spec"


def test_lists_and_lake_come_from_the_spec() -> None:
    assert LAKE_TABLES is TABLES
    assert column_list("events", without=PROVENANCE) == EVENT_COLUMNS
    assert "permission" in EVENT_COLUMNS.split(", ") and "evidence_sha256" not in EVENT_COLUMNS
    assert IDENTITY_COLUMNS.split(", ")[:2] == ["identity_id", "upn"]
    assert column_types("repos", ["full_name", "tier"]) == {"full_name": "VARCHAR", "tier": "INTEGER"}
    assert row_types("grants", ["account", "via"]) == {"account": "VARCHAR", "via": '["VARCHAR"]'}
