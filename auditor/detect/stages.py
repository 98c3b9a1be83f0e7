"""Run the SQL stages and return episodes: bursts, low-and-slow novelty, and their precursors."""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import Any

from auditor.config.models import DetectionSettings
from auditor.workspace.store import Workspace, json_rows

Episode = dict[str, Any]


def load_sql(name: str, **ints: int) -> str:
    """Read a packaged SQL stage and substitute integer parameters (never strings)."""
    text = resources.files("auditor.detect").joinpath("sql", name).read_text(encoding="utf-8")
    for key, value in ints.items():
        text = text.replace(f":{key}", str(int(value)))
    return text


def _run(ws: Workspace, stage_sql: str, kind: str) -> list[Episode]:
    """Run a stage (it defines view episode_downloads), then the shared per-episode summary."""
    ws.con.execute(stage_sql)
    cur = ws.con.execute(load_sql("episode_summary.sql"))
    names = [d[0] for d in cur.description]
    episodes = [dict(zip(names, r, strict=True)) | {"kind": kind} for r in cur.fetchall()]
    ws.con.execute("DROP VIEW episode_downloads")
    return episodes


def _overlaps(a: Episode, b: Episode) -> bool:
    same = a["platform"] == b["platform"] and a["actor"] == b["actor"]
    return bool(same and a["first_seen"] <= b["last_seen"] and b["first_seen"] <= a["last_seen"])


def find_episodes(ws: Workspace, det: DetectionSettings) -> list[Episode]:
    """Bursts, then novelty episodes that no burst of the same actor already covers."""
    ws.con.execute(load_sql("download_activity.sql"))
    bursts = _run(
        ws,
        load_sql("bulk_download.sql", window_minutes=det.bulk_window_minutes, min_repos=det.bulk_min_restricted_repos),
        "burst",
    )
    novel = _run(
        ws, load_sql("novelty.sql", learning_days=det.learning_days, min_new_repos=det.novel_min_repos_7d), "novelty"
    )
    return bursts + [n for n in novel if not any(_overlaps(n, b) for b in bursts)]


def attach_precursors(ws: Workspace, episodes: list[Episode], det: DetectionSettings) -> None:
    """Add `precursors` [(kind, detail, time)] to every episode (which must carry key and upn)."""
    for e in episodes:
        e["precursors"] = []
    if not episodes:
        return
    cols = {
        "episode_key": "VARCHAR",
        "platform": "VARCHAR",
        "actor": "VARCHAR",
        "identity": "VARCHAR",
        "first_seen": "TIMESTAMP",
        "last_seen": "TIMESTAMP",
    }
    rows = [(e["key"], e["platform"], e["actor"], e["upn"], e["first_seen"], e["last_seen"]) for e in episodes]
    sql, params = json_rows(cols, rows)
    ws.con.execute(f"CREATE OR REPLACE TEMP TABLE episodes AS {sql}", params)
    stage = load_sql("precursors.sql", lookback_hours=det.precursor_lookback_hours, learning_days=det.learning_days)
    by_key: dict[str, list[tuple[str, str, datetime]]] = {}
    for key, kind, detail, at in ws.con.execute(stage + " ORDER BY 4").fetchall():
        by_key.setdefault(key, []).append((kind, detail, at))
    ws.con.execute("DROP TABLE episodes")
    for e in episodes:
        e["precursors"] = by_key.get(e["key"], [])
