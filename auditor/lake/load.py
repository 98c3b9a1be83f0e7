"""Read a Parquet lake (the schema of auditor/lake/schema.py) into the workspace: every file's columns
validated first (errors name the file), then one transaction; events deduplicated by event_uid."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import duckdb

from auditor import __version__
from auditor.errors import InputError
from auditor.importers.derive import refresh_derived
from auditor.importers.pipeline import FileResult, ImportSummary
from auditor.lake.schema import LAKE_FORMAT, LAKE_VERSION, SCHEMA_FILE, TABLES
from auditor.workspace.store import Workspace, utcnow

FORMAT_NAME = "auditor-parquet"
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
# What a Parquet column may hold for each lake type (DuckDB's reading of it); casts are then exact.
_ACCEPTS: dict[str, set[str]] = {
    "VARCHAR": {"VARCHAR"},
    "TIMESTAMP": {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"},
    "BIGINT": _INTEGERS | {"UBIGINT"},
    "INTEGER": _INTEGERS,
    "DOUBLE": _INTEGERS | {"DOUBLE", "FLOAT", "BIGINT"},
    "BOOLEAN": {"BOOLEAN"},
    "VARCHAR[]": {"VARCHAR[]"},
}
# Tables with a key: rows whose key the workspace already holds are kept as they are there.
_KEYS = {
    "repos": ("platform", "full_name"),
    "accounts": ("platform", "login"),
    "account_links": ("platform", "login"),
    "identities": ("identity_id",),
    "snapshots": ("snapshot_id",),
}
# Snapshot-scoped tables: a snapshot already in the workspace is not imported twice.
_BY_SNAPSHOT = ("grants", "memberships", "identity_risk")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _accepts(expected: str, got: str) -> bool:
    return got in _ACCEPTS[expected] or (expected == "DOUBLE" and got.startswith("DECIMAL"))


def _check_schema_file(root: Path) -> None:
    path = root / SCHEMA_FILE
    if not path.is_file():
        raise InputError(f"no {SCHEMA_FILE}: not a repo-auditor Parquet lake (see README, 'Parquet lake')", str(root))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable schema document: {exc}", str(path)) from exc
    if not isinstance(doc, dict) or doc.get("format") != LAKE_FORMAT:
        raise InputError(f"format is not {LAKE_FORMAT!r}", str(path))
    version = doc.get("version")
    if not isinstance(version, int) or not 1 <= version <= LAKE_VERSION:
        raise InputError(
            f"lake schema version {version!r} is not supported (this tool reads 1..{LAKE_VERSION})", str(path)
        )


def _files(root: Path, table: str) -> list[Path]:
    folder = root / table
    return sorted(folder.rglob("*.parquet")) if folder.is_dir() else []


def _reader(files: list[Path]) -> str:
    listed = ", ".join(_literal(str(f)) for f in files)
    return f"read_parquet([{listed}], hive_partitioning = true, union_by_name = true, filename = true)"


def _validate(con: duckdb.DuckDBPyConnection, table: str, files: list[Path]) -> set[str]:
    """Check every file's columns against the lake schema; returns the columns present in any file."""
    present: set[str] = set()
    spec = {c.name: c for c in TABLES[table]}
    for f in files:
        try:
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({_literal(str(f))}, hive_partitioning = true)"
            )
            cols = {str(name): str(kind) for name, kind, *_ in described.fetchall()}
        except duckdb.Error as exc:
            raise InputError(f"not a readable Parquet file: {exc}", str(f)) from exc
        missing = [c.name for c in spec.values() if c.required and c.name not in cols]
        if missing:
            raise InputError(f"{table}: required column(s) missing: {', '.join(missing)}", str(f))
        for name, got in cols.items():
            if name in spec and not _accepts(spec[name].type, got):
                raise InputError(f"{table}.{name} is {got}, expected {spec[name].type}", str(f))
        present |= cols.keys() & spec.keys()
    required = [c.name for c in TABLES[table] if c.required]
    if required:
        nulls = " OR ".join(f"{c} IS NULL" for c in required)
        row = con.execute(f"SELECT filename FROM {_reader(files)} WHERE {nulls} LIMIT 1").fetchone()
        if row:
            raise InputError(f"{table}: a required column ({', '.join(required)}) is NULL", str(row[0]))
    return present


def _select(table: str, present: set[str]) -> str:
    exprs = [
        f"CAST({c.name} AS {c.type}) AS {c.name}" if c.name in present else f"CAST(NULL AS {c.type}) AS {c.name}"
        for c in TABLES[table]
    ]
    return ", ".join(exprs)


def _fingerprint(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256((root / SCHEMA_FILE).read_bytes())
    for f in files:
        digest.update(f"{f.relative_to(root)}:{f.stat().st_size}\n".encode())
    return digest.hexdigest()


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _load_events(
    con: duckdb.DuckDBPyConnection, root: Path, files: list[Path], present: set[str], snapshot_id: str
) -> FileResult:
    cols = [c.name for c in TABLES["events"]]
    result = FileResult(str(root / "events"), f"{FORMAT_NAME}:events", _fingerprint(root, files))
    suffix = uuid.uuid4().hex[:12]
    con.execute(f"CREATE OR REPLACE TEMP VIEW lake_events AS SELECT {_select('events', present)} FROM {_reader(files)}")
    result.records = _count(con, "SELECT count(*) FROM lake_events")
    con.execute(
        f"INSERT INTO events ({', '.join(cols)}, import_id) "
        f"SELECT {', '.join('l.' + c for c in cols)}, 'lake-' || l.platform || '-' || $suffix FROM lake_events l "
        "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.platform = l.platform AND e.event_uid = l.event_uid) "
        "QUALIFY row_number() OVER (PARTITION BY l.platform, l.event_uid "
        "ORDER BY l.ts, l.evidence_sha256, l.line_no) = 1",
        {"suffix": suffix},
    )
    per_platform = con.execute(
        "SELECT platform, count(*), min(ts), max(ts) FROM events WHERE import_id LIKE 'lake-%-' || $suffix "
        "GROUP BY platform ORDER BY platform",
        {"suffix": suffix},
    ).fetchall()
    result.events = sum(int(n) for _, n, _, _ in per_platform)
    result.duplicates = result.records - result.events
    for platform, n, first, last in per_platform:
        con.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                f"lake-{platform}-{suffix}",
                snapshot_id,
                str(root / "events" / f"platform={platform}"),
                result.sha256,
                FORMAT_NAME,
                platform,
                int(n),
                int(n),
                0,
                0,
                first,
                last,
                utcnow(),
            ],
        )
    con.execute("DROP VIEW lake_events")
    return result


def _load_table(
    con: duckdb.DuckDBPyConnection, root: Path, table: str, files: list[Path], present: set[str]
) -> FileResult:
    cols = ", ".join(c.name for c in TABLES[table])
    # Not events: `records` counts the lake's rows, `duplicates` those the workspace already held.
    result = FileResult(str(root / table), f"{FORMAT_NAME}:{table}", _fingerprint(root, files))
    source = f"(SELECT {_select(table, present)} FROM {_reader(files)})"
    result.records = _count(con, f"SELECT count(*) FROM {source}")
    before = _count(con, f"SELECT count(*) FROM {table}")
    if table in _KEYS:
        key = ", ".join(_KEYS[table])
        on = " AND ".join(f"w.{k} = l.{k}" for k in _KEYS[table])
        con.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source} l "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} w WHERE {on}) "
            f"QUALIFY row_number() OVER (PARTITION BY {key}) = 1"
        )
    else:
        con.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source} l "
            f"WHERE l.snapshot_id NOT IN (SELECT snapshot_id FROM {table})"
        )
    result.duplicates = result.records - (_count(con, f"SELECT count(*) FROM {table}") - before)
    return result


def import_lake(ws: Workspace, root: Path) -> ImportSummary:
    """Validate every table's files, then load them all in one transaction and refresh derived tables."""
    if not root.is_dir():
        raise InputError("no such folder", str(root))
    _check_schema_file(root)
    con = ws.con
    plan: list[tuple[str, list[Path], set[str]]] = []
    for table in TABLES:
        files = _files(root, table)
        if files:
            plan.append((table, files, _validate(con, table, files)))
    if not plan:
        raise InputError("the lake holds no Parquet files for any table", str(root))
    summary = ImportSummary()
    snapshot_id = "import-" + uuid.uuid4().hex[:12]
    try:
        with ws.transaction():
            con.execute(
                "INSERT INTO snapshots VALUES (?, 'import', NULL, ?, ?, ?)",
                [snapshot_id, str(root), utcnow(), __version__],
            )
            for table, files, present in plan:
                if table == "events":
                    summary.files.append(_load_events(con, root, files, present, snapshot_id))
                else:
                    summary.files.append(_load_table(con, root, table, files, present))
            refresh_derived(con)
    except duckdb.Error as exc:
        raise InputError(f"cannot import the lake: {exc}", str(root)) from exc
    return summary
