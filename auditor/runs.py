"""Runs of `detect` and `report` recorded in the `runs` table, so trends between runs exist.

Each row has the run's kind, start and end time and a small JSON summary (counts, the open incident ids);
`auditor check` runs are not duplicated here: they are the distinct `run_id`/`evaluated_at` of
`check_results` (see `check_runs`). Reading a summary never fails on an old or hand-edited row: a summary
that is not a JSON object reads as empty.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.finding_status import open_sql
from auditor.workspace.store import utcnow

if TYPE_CHECKING:
    import duckdb

    from auditor.workspace.store import Workspace

INCIDENT_SEVERITIES = ("critical", "high")


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any]


def new_run_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def record_run(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    started_at: datetime,
    summary: dict[str, Any],
    run_id: str | None = None,
    finished_at: datetime | None = None,
) -> str:
    """Insert one run row (inside the caller's transaction when there is one) and return its id."""
    rid = run_id or new_run_id(kind)
    con.execute(
        "INSERT INTO runs (run_id, kind, started_at, finished_at, summary) VALUES (?, ?, ?, ?, ?)",
        [rid, kind, started_at, finished_at or utcnow(), json.dumps(summary, sort_keys=True, default=str)],
    )
    return rid


def findings_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Open findings by severity (detections and checks apart) and the ids of open high/critical incidents."""
    rows = con.execute(
        "SELECT CASE WHEN analytic LIKE 'check:%' THEN 'checks' ELSE 'detections' END AS kind, severity, "
        f"count(*) AS n FROM findings WHERE {open_sql()} GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    by_kind: dict[str, dict[str, int]] = {"detections": {}, "checks": {}}
    for kind, severity, n in rows:
        by_kind[kind][severity] = int(n)
    incidents = [
        r[0]
        for r in con.execute(
            f"SELECT id FROM findings WHERE {open_sql()} AND analytic LIKE 'AN0732%' "
            "AND list_contains(?, severity) ORDER BY id",
            [list(INCIDENT_SEVERITIES)],
        ).fetchall()
    ]
    return {
        "open_detections_by_severity": by_kind["detections"],
        "open_check_findings_by_severity": by_kind["checks"],
        "open_incidents": len(incidents),
        "open_incident_ids": incidents,
    }


def _summary(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def recent_runs(ws: Workspace, kind: str, limit: int = 2) -> list[RunRecord]:
    """The newest `limit` runs of `kind`, newest first."""
    cur = ws.con.execute(
        "SELECT run_id, kind, started_at, finished_at, summary FROM runs WHERE kind = ? "
        "ORDER BY started_at DESC, run_id DESC LIMIT ?",
        [kind, limit],
    )
    names = [d[0] for d in cur.description or ()]
    out = []
    for row in cur.fetchall():
        r = dict(zip(names, row, strict=True))
        out.append(RunRecord(r["run_id"], r["kind"], r["started_at"], r["finished_at"], _summary(r["summary"])))
    return out


def check_runs(ws: Workspace, limit: int = 2) -> list[tuple[str, datetime]]:
    """(run_id, evaluated_at) of the newest `auditor check` runs, newest first, from `check_results`."""
    rows = ws.con.execute(
        "SELECT run_id, max(evaluated_at) AS at FROM check_results GROUP BY 1 ORDER BY 2 DESC, 1 DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [(str(r[0]), r[1]) for r in rows]
