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


# When episodes of one actor overlap, the first kind in this order explains them.
PRIORITY = ("burst", "api_rate", "export", "novelty", "candidate")


def find_episodes(ws: Workspace, det: DetectionSettings) -> list[Episode]:
    """Bursts (above the fixed threshold, or candidates above the lower one), hot API hours, whole-project
    exports and low-and-slow novelty; overlapping episodes of one actor keep the highest-priority kind."""
    ws.con.execute(load_sql("download_activity.sql"))
    ws.con.execute(
        load_sql("api_rate.sql", min_requests=det.api_min_requests_per_hour, rate_factor=det.api_rate_factor)
    )
    candidate_floor = min(det.candidate_min_repos, det.bulk_min_restricted_repos)
    bursts = _run(
        ws,
        load_sql("bulk_download.sql", window_minutes=det.bulk_window_minutes, min_repos=candidate_floor),
        "burst",
    )
    for b in bursts:
        if (b["peak_repos"] or 0) < det.bulk_min_restricted_repos:
            b["kind"] = "candidate"
    found = (
        bursts
        + _run(ws, load_sql("api_scraping.sql"), "api_rate")
        + _run(ws, load_sql("exports.sql"), "export")
        + _run(
            ws,
            load_sql("novelty.sql", learning_days=det.learning_days, min_new_repos=det.novel_min_repos_7d),
            "novelty",
        )
    )
    kept: list[Episode] = []
    for kind in PRIORITY:
        kept += [e for e in found if e["kind"] == kind and not any(_overlaps(e, k) for k in kept)]
    return sorted(kept, key=lambda e: (e["first_seen"], e["actor"]))


def _episode_table(ws: Workspace, episodes: list[Episode]) -> None:
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
    pairs = [(e["key"], r) for e in episodes for r in e["repos"]]
    sql, params = json_rows({"episode_key": "VARCHAR", "repo": "VARCHAR"}, pairs)
    ws.con.execute(f"CREATE OR REPLACE TEMP TABLE episode_repos AS {sql}", params)


def attach_baselines(ws: Workspace, episodes: list[Episode], det: DetectionSettings) -> None:
    """Add the baseline features of baselines.sql to every episode (which must carry key and upn)."""
    if not episodes:
        return
    _episode_table(ws, episodes)
    cur = ws.con.execute(load_sql("baselines.sql", history_days=det.history_days, learning_days=det.learning_days))
    names = [d[0] for d in cur.description]
    by_key = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    for e in episodes:
        e["baseline"] = by_key.get(e["key"], {})


def attach_precursors(ws: Workspace, episodes: list[Episode], det: DetectionSettings) -> None:
    """Add `precursors` [(kind, detail, time)] to every episode (which must carry key and upn)."""
    for e in episodes:
        e["precursors"] = []
    if not episodes:
        return
    _episode_table(ws, episodes)
    stage = load_sql("precursors.sql", lookback_hours=det.precursor_lookback_hours, learning_days=det.learning_days)
    by_key: dict[str, list[tuple[str, str, datetime]]] = {}
    for key, kind, detail, at in ws.con.execute(stage + " ORDER BY 4").fetchall():
        by_key.setdefault(key, []).append((kind, detail, at))
    for e in episodes:
        e["precursors"] = by_key.get(e["key"], [])
