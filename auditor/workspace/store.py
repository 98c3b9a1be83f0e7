"""Open the workspace DuckDB file, apply migrations, and run work inside one transaction."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import WorkspaceError
from auditor.workspace.lock import busy_message, is_lock_conflict
from auditor.workspace.schema import MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    import duckdb

DB_FILE = "auditor.duckdb"


def utcnow() -> datetime:
    """Naive UTC now, the convention for every TIMESTAMP column."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Workspace:
    """A workspace directory: `auditor.duckdb` plus `evidence/` (content-addressed raw inputs)."""

    root: Path
    con: duckdb.DuckDBPyConnection

    @classmethod
    def open(cls, root: Path, create: bool = True) -> Workspace:
        """Connect and migrate to the current schema version. With `create`, a missing workspace is created;
        without, it is a WorkspaceError (a mistyped --workspace must not look like an empty workspace)."""
        import duckdb

        if not create and not (root / DB_FILE).is_file():
            raise WorkspaceError(
                f"no workspace at {root}; run `auditor import` or `auditor demo` first, or check --workspace"
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(root / DB_FILE))
        except duckdb.Error as exc:
            if is_lock_conflict(str(exc)):
                raise WorkspaceError(busy_message(str(exc)), str(root)) from exc
            raise WorkspaceError(f"cannot open workspace: {exc}", str(root)) from exc
        except OSError as exc:
            raise WorkspaceError(f"cannot open workspace: {exc}", str(root)) from exc
        con.execute("SET TimeZone = 'UTC'")
        # Rows carry their own line numbers and ids; not preserving scan order lets bulk
        # loads run in parallel (WITH ORDINALITY still numbers lines in file order).
        con.execute("SET preserve_insertion_order = false")
        # DuckDB's own progress bar would write guesses ("~88 hours remaining") into the CLI's stderr.
        con.execute("SET enable_progress_bar = false")
        ws = cls(root=root, con=con)
        ws._migrate()
        return ws

    @property
    def evidence_dir(self) -> Path:
        return self.root / "evidence"

    def schema_version(self) -> int:
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchone()
        if not row or row[0] == 0:
            return 0
        got = self.con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(got[0]) if got and got[0] is not None else 0

    def _migrate(self) -> None:
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise WorkspaceError(
                f"workspace schema {current} is newer than this tool ({SCHEMA_VERSION}); upgrade auditor",
                str(self.root),
            )
        if current == SCHEMA_VERSION:
            return
        with self.transaction():
            self.con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMP)")
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    self.con.execute(statement)
                self.con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, utcnow()])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Everything inside commits together or not at all."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()


def json_rows(columns: dict[str, str], rows: Sequence[tuple[object, ...]]) -> tuple[str, list[str]]:
    """(SQL, params) selecting `rows` as a relation in one statement.

    DuckDB binds executemany row by row; passing all rows as one JSON document keeps bulk
    writes of findings and classifications set-based. `columns` maps name -> from_json type
    (e.g. "VARCHAR", "INTEGER", "TIMESTAMP", ["VARCHAR"] as '["VARCHAR"]').
    """
    structure = {k: json.loads(v) if v.startswith("[") else v for k, v in columns.items()}
    spec = json.dumps([structure])
    payload = json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str)
    return f"SELECT unnest(from_json(?::VARCHAR, '{spec}'), recursive := true)", [payload]


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: dict[str, str],
    rows: Sequence[tuple[object, ...]],
    chunk_rows: int = 1000,
) -> None:
    """INSERT `rows` into `table` through json_rows, in chunks: one JSON document of every row costs
    about 40x its size to parse (2.8 GB for 12,000 findings), a chunk a bounded slice of that."""
    names = ", ".join(columns)
    for start in range(0, len(rows), chunk_rows):
        sql, params = json_rows(columns, rows[start : start + chunk_rows])
        con.execute(f"INSERT INTO {table} ({names}) {sql}", params)
