"""Import vendor files into the workspace: one transaction, idempotent, nothing dropped silently."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from auditor import __version__
from auditor.errors import InputError
from auditor.importers import sources
from auditor.importers.chunks import plan_lines, remove_chunks, write_chunks
from auditor.importers.csvclean import clean_csv
from auditor.importers.derive import refresh_derived
from auditor.importers.documents import check_document
from auditor.importers.formats.base import Container, Format
from auditor.importers.lines import (
    BadLine,
    blank_lines,
    find_bad_lines,
    first_blank_line,
    has_stray_cr,
    write_block_lines,
)
from auditor.importers.scan import Scanned, scan_file
from auditor.importers.sniff import Sniffed, sniff
from auditor.importers.sources import (
    Prepared,
    Source,
    csv_source,
    json_document,
    ndjson_exact,
    ndjson_fast,
    stage_lines,
    stage_numbered,
)
from auditor.importers.sqlfuncs import install_macros
from auditor.workspace.store import Workspace, utcnow
from auditor.workspace.tables import PROVENANCE, column_list

EVENT_COLUMNS = column_list("events", without=PROVENANCE)  # what a format's normaliser selects
# Identity files give the directory attributes; provenance and what only Graph knows are set elsewhere.
IDENTITY_EXTRA = ("source_sha256", "line_no", "manager_id", "last_sign_in", "last_non_interactive_sign_in")
IDENTITY_COLUMNS = column_list("identities", without=IDENTITY_EXTRA)


@dataclass
class FileResult:
    """Per-file outcome, as printed by `auditor import --json`."""

    path: str
    format: str
    sha256: str
    records: int = 0
    events: int = 0
    duplicates: int = 0
    rejected: int = 0
    already_imported: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "format": self.format,
            "sha256": self.sha256,
            "records": self.records,
            "events": self.events,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "already_imported": self.already_imported,
        }


@dataclass
class ImportSummary:
    """Totals of one `auditor import` run."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return sum(f.events for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    def to_json(self) -> dict[str, object]:
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "files": [f.to_json() for f in self.files],
        }


Progress = Callable[[str], None]
PENDING_SHA = "pending"
PARALLEL_SCANS = min(8, max(2, os.cpu_count() or 2))  # numbered NDJSON scans run side by side


def import_files(
    ws: Workspace,
    paths: Sequence[Path],
    forced: Format | None = None,
    progress: Progress | None = None,
    own_transaction: bool = True,
) -> ImportSummary:
    """Sniff every file first (unknown format: error, nothing written), then import all in one transaction
    (the caller's, when `own_transaction` is False: connectors load pages and imports together)."""
    sniffed: list[tuple[Path, Sniffed]] = []
    for path in paths:
        if path.is_dir():
            raise InputError("is a directory; name the files to import (e.g. DIR/*.ndjson)", str(path))
        if not path.is_file():
            raise InputError("no such file", str(path))
        sniffed.append((path, sniff(path, forced)))
    con = ws.con
    install_macros(con)
    scanned: list[Future[Scanned]] = []
    summary = ImportSummary()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence") as pool:
            # Hashing and copying into the evidence store overlap with DuckDB's columnar load.
            scanned = [pool.submit(scan_file, path, ws.evidence_dir) for path, _ in sniffed]
            snapshot_id = "import-" + uuid.uuid4().hex[:12]
            with ws.transaction() if own_transaction else contextlib.nullcontext(ws.con):
                con.execute(
                    "INSERT INTO snapshots VALUES (?, 'import', NULL, ?, ?, ?)",
                    [snapshot_id, ", ".join(str(p) for p in paths), utcnow(), __version__],
                )
                seen_in_run: set[tuple[str, str]] = set()
                for (path, sn), scan in zip(sniffed, scanned, strict=True):
                    if progress:
                        progress(f"importing {path.name} ({sn.fmt.name})")
                    result = _import_one(con, path, sn, scan, snapshot_id, seen_in_run, ws.root / "tmp")
                    seen_in_run.add((result.sha256, result.format))
                    summary.files.append(result)
                if progress:
                    progress("deriving accounts, repos and links")
                refresh_derived(con)
    except BaseException:
        for future in scanned:
            if future.done() and future.exception() is None:
                sc = future.result()
                if sc.evidence_is_new:
                    sc.evidence.chmod(0o644)
                    sc.evidence.unlink(missing_ok=True)
        raise
    return summary


def _previous(con: duckdb.DuckDBPyConnection, sha: str, fmt: str) -> int | None:
    """Records of an earlier import of this file *as this format* (a wrong --format never blocks the right one)."""
    row = con.execute("SELECT sum(records) FROM imports WHERE sha256 = ? AND format = ?", [sha, fmt]).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _source(con: duckdb.DuckDBPyConnection, path: Path, sn: Sniffed, sc: Scanned, work: Path) -> Prepared:
    """The exact path's source; lines no reader can take are rejected here, before SQL sees them."""
    evidence = sc.evidence
    if sn.container is Container.CSV:
        clean = clean_csv(evidence, work / "clean.csv")
        return Prepared(csv_source(sn.fmt, clean), clean.rejected)
    if sn.container is not Container.NDJSON:
        check_document(path, evidence)
        return Prepared(json_document(sn.fmt, str(evidence), sn.container), [])
    if has_stray_cr(evidence):
        # The whole file as one block of the per-block path: cut at LF, checked and numbered in one pass.
        numbered = work / "numbered.ndjson"
        bad = write_block_lines(evidence, numbered, [0], sys.maxsize, sources.MAX_OBJECT)
        stage_numbered(con, str(numbered))
        return Prepared(ndjson_exact(sn.fmt), bad)
    bad = find_bad_lines(evidence, sources.MAX_OBJECT)
    if bad:
        cleaned = work / "clean.ndjson"
        blank_lines(evidence, cleaned, {b.line_no for b in bad})
        evidence = cleaned
    stage_lines(con, str(evidence))
    return Prepared(ndjson_exact(sn.fmt), bad)


def _short_blocks(
    con: duckdb.DuckDBPyConnection, import_id: str, lines: int, evidence: Path
) -> tuple[list[int], int | None]:
    """Blocks of BLOCK_LINES in which the columnar read loaded fewer events than lines (a malformed, rejected
    or id-less line), and every block from the first blank line on (the columnar reader skips blank lines
    without a row, so its line numbers after one are off); plus that first misnumbered block, if any."""
    size, total = sources.BLOCK_LINES, lines
    blank = first_blank_line(evidence)
    if blank is not None:
        lines = (blank - 1) // size * size  # blocks before the blank line's block are checked; the rest redone
    loaded = dict(
        con.execute(
            f"SELECT (line_no - 1) // {size}, count(*) FROM events WHERE import_id = ? GROUP BY 1", [import_id]
        ).fetchall()
    )
    checked = (lines + size - 1) // size
    short = [b for b in range(checked) if loaded.get(b, 0) < min(size, lines - b * size)]
    return short + list(range(checked, (total + size - 1) // size)), checked if blank is not None else None


def _partial_source(
    con: duckdb.DuckDBPyConnection, sn: Sniffed, sc: Scanned, work: Path, short: list[int]
) -> tuple[Prepared, list[int]]:
    """The exact path over the short blocks only: their lines, numbered at LF, are read line by line; the rest of
    the file is only counted."""
    numbered = work / "numbered.ndjson"
    bad = write_block_lines(sc.evidence, numbered, short, sources.BLOCK_LINES, sources.MAX_OBJECT)
    stage_numbered(con, str(numbered))
    return Prepared(ndjson_exact(sn.fmt), bad), short


def _usable_in_norm(con: duckdb.DuckDBPyConnection) -> int:
    """Records the exact path's `norm` view found usable (rejected lines and blanks are not counted)."""
    row = con.execute("SELECT count(*) FROM norm WHERE reject_reason IS NULL").fetchone()
    return int(row[0]) if row else 0


def _discard(con: duckdb.DuckDBPyConnection, import_id: str) -> None:
    con.execute("DELETE FROM events WHERE import_id = ?", [import_id])
    con.execute("DELETE FROM rejected_lines WHERE import_id = ?", [import_id])


def _import_one(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    sn: Sniffed,
    scan: Future[Scanned],
    snapshot_id: str,
    seen_in_run: set[tuple[str, str]],
    tmp_dir: Path,
) -> FileResult:
    """Load one file. NDJSON is loaded optimistically from the original path while it is hashed;
    a re-import, a blank line, a malformed line or a record without an id redoes it exactly."""
    import_id = "imp-" + uuid.uuid4().hex[:16]
    fast = sn.container is Container.NDJSON and sn.fmt.target == "events"
    lines = 0
    work = tmp_dir / import_id
    try:
        loaded = 0
        if fast:
            plan = plan_lines(path, PARALLEL_SCANS)
            lines = plan.lines
            chunks = write_chunks(path, plan, work)
            try:
                loaded = _load_fast(con, sn.fmt, list(zip(map(str, chunks), plan.line_offsets, strict=True)), import_id)
            finally:
                remove_chunks(chunks, path)
        sc = scan.result()
        result = FileResult(str(path), sn.fmt.name, sc.sha256)
        previous = _previous(con, sc.sha256, sn.fmt.name)
        if previous is not None or (sc.sha256, sn.fmt.name) in seen_in_run:
            _discard(con, import_id)
            result.already_imported = True
            result.records = result.duplicates = previous or 0
            return result
        # Every line must have become an event with a platform id; the blocks where one did not (a blank or
        # malformed line, a reject, a record without id) are redone on the exact path, the rest stay.
        partial = None
        if fast and loaded != lines:
            short, shifted = _short_blocks(con, import_id, lines, sc.evidence)
            if len(short) < (lines + sources.BLOCK_LINES - 1) // sources.BLOCK_LINES:
                work.mkdir(parents=True, exist_ok=True)
                partial = _partial_source(con, sn, sc, work, short)
            fast = partial is not None
        if fast:
            usable = lines
            if partial is not None:
                prepared, blocks = partial
                size = sources.BLOCK_LINES
                if shifted is not None:  # rows the columnar read numbered after a blank line: their numbers are off
                    con.execute(
                        f"DELETE FROM events WHERE import_id = ? AND (line_no - 1) // {size} >= ?", [import_id, shifted]
                    )
                # The columnar rows of the short blocks stay; the exact pass adds the lines they lack (its insert
                # skips events already present, these rows included).
                _load(con, sn.fmt, prepared.source, import_id, sc.sha256)
                _reject_lines(con, prepared.rejected, import_id, sc.sha256)
                usable += _usable_in_norm(con) - sum(min(size, lines - b * size) for b in blocks)
            con.execute(
                "UPDATE events SET evidence_sha256 = ? WHERE import_id = ? AND evidence_sha256 = ?",
                [sc.sha256, import_id, PENDING_SHA],
            )
            _drop_known(con, sn.fmt.platform, import_id)
            _record_import(con, result, path, sn, sc, import_id, snapshot_id, usable)
        else:
            # Exact path: line by line from the evidence copy, with each raw line at hand.
            _discard(con, import_id)
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True, exist_ok=True)
            prepared = _source(con, path, sn, sc, work)
            _load(con, sn.fmt, prepared.source, import_id, sc.sha256)
            _reject_lines(con, prepared.rejected, import_id, sc.sha256)
            _require_usable(con, path, sn.fmt)
            # The exact path's `norm` view still reads the work files: count before they go.
            _record_import(con, result, path, sn, sc, import_id, snapshot_id, _usable_in_norm(con))
    except duckdb.Error as exc:
        # DuckDB's first line only: the rest can quote a whole raw line (addresses, UPNs).
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read as {sn.fmt.name}: {reason}", str(path)) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _reject_lines(con: duckdb.DuckDBPyConnection, bad: list[BadLine], import_id: str, sha: str) -> None:
    """Lines rejected before SQL read the file (invalid UTF-8, too long, malformed CSV rows)."""
    if bad:
        con.executemany(
            "INSERT INTO rejected_lines VALUES (?, ?, '', ?, ?, ?)",
            [[import_id, sha, b.line_no, b.reason, b.excerpt or None] for b in bad],
        )


def _require_usable(con: duckdb.DuckDBPyConnection, path: Path, fmt: Format) -> None:
    """A file in which no record has the format's required fields is the wrong format: refuse it."""
    row = con.execute("SELECT count(*), count(*) FILTER (WHERE _missing IS NULL) FROM norm").fetchone()
    if row and row[0] > 0 and row[1] == 0:
        raise InputError(
            f"no record has the fields {fmt.name} requires ({fmt.required_text()}); "
            "is this the right format? Leave out --format to detect it, or name another",
            str(path),
        )


def _load_fast(con: duckdb.DuckDBPyConnection, fmt: Format, chunks: list[tuple[str, int]], import_id: str) -> int:
    """Columnar load of every line that yields an event with a platform id; returns rows inserted.

    Dedupe is done afterwards, set-based (_drop_known); the caller compares the count with the
    file's line count to decide whether the exact path is needed.
    """
    norm = _norm_sql(fmt, ndjson_fast(fmt, chunks))
    row = con.execute(
        f"INSERT INTO events ({EVENT_COLUMNS}, evidence_sha256, line_no, import_id) "
        f"SELECT {EVENT_COLUMNS}, $sha, line_no, $import_id FROM ({norm}) n "
        "WHERE reject_reason IS NULL AND event_uid IS NOT NULL",
        {"sha": PENDING_SHA, "import_id": import_id},
    ).fetchone()
    return int(row[0]) if row else 0


def _drop_known(con: duckdb.DuckDBPyConnection, platform: str, import_id: str) -> None:
    """Remove rows of this import already in the workspace from earlier imports, then in-file repeats."""
    con.execute(
        "DELETE FROM events WHERE import_id = $id AND event_uid IN ("
        "  SELECT event_uid FROM events WHERE platform = $platform AND import_id <> $id)",
        {"id": import_id, "platform": platform},
    )
    _dedupe_within(con, import_id)


def _norm_sql(fmt: Format, source: Source, with_missing: bool = False) -> str:
    """The format's normalising SELECT over `src` (records that have its required fields); fmt.name is one
    of our constants, so it is inlined. `with_missing` adds a reject row (`_missing` true) for every record
    that lacks a required field; the columnar path leaves them out and so falls back to the exact path."""
    missing = fmt.missing_sql()
    sql = (
        f"WITH src0 AS ({source.src_sql}), src AS (SELECT * FROM src0 WHERE ({missing}) IS NULL) "
        f"SELECT * FROM ({fmt.normalise_sql}) n"
    )
    if with_missing:
        sql += (
            f" UNION ALL BY NAME SELECT line_no, ({missing}) AS reject_reason, true AS _missing "
            f"FROM src0 WHERE ({missing}) IS NOT NULL"
        )
    return sql.replace("$format", f"'{fmt.name}'")


def _load(con: duckdb.DuckDBPyConnection, fmt: Format, source: Source, import_id: str, sha: str) -> None:
    """Normalise `src` and insert usable rows and rejected lines for one file."""
    params = {"import_id": import_id, "sha": sha}
    con.execute(f"CREATE OR REPLACE TEMP VIEW norm AS {_norm_sql(fmt, source, with_missing=True)}")
    if fmt.target == "events":
        con.execute(
            f"INSERT INTO events ({EVENT_COLUMNS}, evidence_sha256, line_no, import_id) "
            f"SELECT {EVENT_COLUMNS}, $sha, line_no, $import_id FROM norm n "
            f"WHERE reject_reason IS NULL AND NOT EXISTS (SELECT 1 FROM events e "
            f"WHERE e.platform = '{fmt.platform}' AND e.event_uid = n.event_uid)",
            params,
        )
        _dedupe_within(con, import_id)
    else:
        con.execute(
            f"INSERT OR REPLACE INTO identities ({IDENTITY_COLUMNS}, source_sha256, line_no) "
            f"SELECT {IDENTITY_COLUMNS}, $sha, line_no "
            "FROM norm WHERE reject_reason IS NULL",
            {"sha": sha},
        )
    # The raw record as the excerpt: read again only for the rejected lines' numbers.
    con.execute(
        "INSERT INTO rejected_lines SELECT $import_id, $sha, '', n.line_no, n.reject_reason, left(s._raw, 200) "
        f"FROM norm n LEFT JOIN (SELECT line_no, _raw FROM ({source.src_sql})) s ON s.line_no = n.line_no "
        "WHERE n.reject_reason IS NOT NULL",
        params,
    )
    if source.invalid_sql:
        con.execute(
            f"INSERT INTO rejected_lines SELECT $import_id, $sha, '', line_no, reason, excerpt "
            f"FROM ({source.invalid_sql})",
            params,
        )


def _dedupe_within(con: duckdb.DuckDBPyConnection, import_id: str) -> None:
    """Keep the first line of an event that appears twice in one file (at-least-once streams)."""
    con.execute(
        "DELETE FROM events WHERE import_id = $id AND rowid IN ("
        "  SELECT rowid FROM (SELECT rowid, row_number() OVER (PARTITION BY event_uid ORDER BY line_no) AS k"
        "  FROM events WHERE import_id = $id AND event_uid IN ("
        "    SELECT event_uid FROM events WHERE import_id = $id GROUP BY event_uid HAVING count(*) > 1))"
        "  WHERE k > 1)",
        {"id": import_id},
    )


def _record_import(
    con: duckdb.DuckDBPyConnection,
    result: FileResult,
    path: Path,
    sn: Sniffed,
    sc: Scanned,
    import_id: str,
    snapshot_id: str,
    usable_n: int,
) -> None:
    """Count what happened and write the imports and evidence rows."""
    table = "events" if sn.fmt.target == "events" else "identities"
    if table == "events":
        row = con.execute("SELECT count(*), min(ts), max(ts) FROM events WHERE import_id = ?", [import_id]).fetchone()
    else:
        row = con.execute("SELECT count(*), NULL, NULL FROM identities WHERE source_sha256 = ?", [sc.sha256]).fetchone()
    assert row is not None
    result.events = int(row[0])
    rej = con.execute("SELECT count(*) FROM rejected_lines WHERE import_id = ?", [import_id]).fetchone()
    result.rejected = int(rej[0]) if rej else 0
    result.records = usable_n + result.rejected
    result.duplicates = usable_n - result.events
    con.execute("UPDATE rejected_lines SET path = ? WHERE import_id = ?", [str(path), import_id])
    con.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            import_id,
            snapshot_id,
            str(path),
            sc.sha256,
            sn.fmt.name,
            sn.fmt.platform,
            result.records,
            result.events,
            result.duplicates,
            result.rejected,
            row[1],
            row[2],
            utcnow(),
        ],
    )
    con.execute(
        "INSERT OR IGNORE INTO evidence VALUES (?, 'import', ?, ?, ?, ?)",
        [sc.sha256, str(path), str(sc.evidence), sc.size, utcnow()],
    )
