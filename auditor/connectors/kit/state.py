"""High-water marks: where the next incremental run of a source starts (table collect_state)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from auditor.workspace.store import utcnow

if TYPE_CHECKING:
    import duckdb


def read_mark(con: duckdb.DuckDBPyConnection, key: str) -> datetime | None:
    """The stored mark of `key`, or None on a first run."""
    row = con.execute("SELECT high_water FROM collect_state WHERE source = ?", [key]).fetchone()
    return row[0] if row and row[0] is not None else None


def write_mark(con: duckdb.DuckDBPyConnection, key: str, mark: datetime) -> None:
    """Replace the mark of `key` (inside the caller's transaction)."""
    con.execute("INSERT OR REPLACE INTO collect_state VALUES (?, ?, ?)", [key, mark, utcnow()])
