"""Collected events cite the API page as received: `events.evidence_sha256` is the stored page's
SHA-256 and `events.line_no` the record's 1-based position in it (shown as `sha256:<page>#17`).

The importer's columnar path reads one NDJSON file; the records of every page are written to such a
file only as a vehicle. After the import each event's reference is moved from that file's line to its
page and position, and the vehicle is neither kept in the evidence store nor cited anywhere."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.importers.sources import sql_str
from auditor.workspace.evidence import blob_path

if TYPE_CHECKING:
    from auditor.importers.formats.base import Format
    from auditor.workspace.store import Workspace

STAGED = "collected_records"


def stage_records(ws: Workspace, pages: Sequence[tuple[str, Path]], records: str = "$[*]") -> int:
    """Temp table `collected_records` (line, sha, pos, elem): every record of the stored pages
    (sha256, blob path), at the JSON path `records`, numbered in page order; returns how many."""
    con = ws.con
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGED} (line BIGINT, sha VARCHAR, url VARCHAR, pos BIGINT, elem JSON)")
    if not pages:
        return 0
    order = ", ".join(f"({i}, {sql_str(sha)}, {sql_str(str(path))})" for i, (sha, path) in enumerate(pages))
    files = "[" + ", ".join(sql_str(str(path)) for _, path in pages) + "]"
    con.execute(
        f"INSERT INTO {STAGED} "
        "SELECT row_number() OVER (ORDER BY p.ord, r.pos), p.sha, e.source, r.pos, r.elem "
        f"FROM (SELECT filename, unnest(l) AS elem, generate_subscripts(l, 1) AS pos "
        f"      FROM (SELECT filename, json_extract(content, {sql_str(records)}) AS l FROM read_text({files}))) r "
        f"JOIN (VALUES {order}) p(ord, sha, path) ON p.path = r.filename "
        "LEFT JOIN evidence e ON e.sha256 = p.sha"
    )
    row = con.execute(f"SELECT count(*) FROM {STAGED}").fetchone()
    return int(row[0]) if row else 0


def import_staged(ws: Workspace, fmt: Format, work: Path, what: str) -> tuple[int, int]:
    """Import the staged records through the importer (normalise, dedupe by event id), then point every
    new event and rejected line at its page and position. `what` names the collection in `imports`.
    Returns (imported, duplicates)."""
    from auditor.importers.pipeline import import_files

    con = ws.con
    vehicle = work / f"{fmt.name}-records.ndjson"
    con.execute(
        f"COPY (SELECT CAST(elem AS VARCHAR) FROM {STAGED} ORDER BY line) TO {sql_str(str(vehicle))} "
        "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01')"
    )
    if vehicle.stat().st_size == 0:
        from auditor.importers.derive import refresh_derived

        refresh_derived(con)  # what the importer would have done: derived tables follow this snapshot
        return 0, 0
    sha = hashlib.sha256(vehicle.read_bytes()).hexdigest()
    held = con.execute("SELECT count(*) FROM evidence WHERE sha256 = ?", [sha]).fetchone() != (0,)
    summary = import_files(ws, [vehicle], forced=fmt, own_transaction=False)
    ids = [r[0] for r in con.execute("SELECT import_id FROM imports WHERE path = ?", [str(vehicle)]).fetchall()]
    for import_id in ids:
        con.execute(
            f"UPDATE events SET evidence_sha256 = s.sha, line_no = s.pos FROM {STAGED} s "
            "WHERE events.import_id = ? AND events.line_no = s.line",
            [import_id],
        )
        con.execute(
            f"UPDATE rejected_lines SET evidence_sha256 = s.sha, line_no = s.pos, path = coalesce(s.url, s.sha) "
            f"FROM {STAGED} s WHERE rejected_lines.import_id = ? AND rejected_lines.line_no = s.line",
            [import_id],
        )
    con.execute("UPDATE imports SET path = ? WHERE path = ?", [what, str(vehicle)])
    if not held:  # the vehicle is derived: it is not evidence
        con.execute("DELETE FROM evidence WHERE sha256 = ? AND kind = 'import'", [sha])
        blob = blob_path(ws.evidence_dir, sha)
        with contextlib.suppress(OSError):
            blob.chmod(0o644)
            blob.unlink()
    con.execute(f"DROP TABLE IF EXISTS {STAGED}")
    return summary.imported, summary.duplicates
