"""Where the AN0732 SQL stages run. The stages and their Python glue only use this small protocol,
so the same SQL files run on the embedded DuckDB workspace or, transpiled, on another engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import duckdb

from auditor.workspace.store import insert_rows

Row = dict[str, Any]


class Engine(Protocol):
    """Runs stage SQL (written in DuckDB's dialect, portable through SQLGlot) over the detection tables:
    events, repos, accounts, account_links, identities, identity_risk, grants, snapshots, memberships."""

    name: str

    def execute(self, sql: str) -> None:
        """Run statements that define temp views or tables."""

    def query(self, sql: str) -> list[Row]:
        """Run one query and return its rows as dicts (column name -> Python value)."""

    def load_rows(self, name: str, columns: dict[str, str], rows: Sequence[Sequence[object]]) -> None:
        """Create or replace temp table `name` with `columns` (name -> DuckDB type) from Python rows."""


class DuckDBEngine:
    """The default engine: the workspace's own DuckDB connection."""

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def query(self, sql: str) -> list[Row]:
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def load_rows(self, name: str, columns: dict[str, str], rows: Sequence[Sequence[object]]) -> None:
        spec = ", ".join(f"{col} {_sql_type(kind)}" for col, kind in columns.items())
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({spec})")
        insert_rows(self.con, name, columns, [tuple(r) for r in rows], chunk_rows=20_000)


def _sql_type(kind: str) -> str:
    """A json_rows column type ('VARCHAR', '["VARCHAR"]') as a DuckDB column type ('VARCHAR[]')."""
    return kind[2:-2] + "[]" if kind.startswith('["') else kind
