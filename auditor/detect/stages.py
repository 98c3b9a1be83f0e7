"""Run the SQL stages on an engine and return episodes (bursts, candidates, apps across users, hot API
hours, exports, low-and-slow novelty) with their baselines and precursors."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from auditor.config.models import DetectionSettings
from auditor.detect.engine import Engine
from auditor.detect.episode import Episode, Precursor

EVIDENCE_CAP = 50  # evidence references kept per finding
PUBLICATION_AFTER_HOURS = 24  # a public repository created this long after the downloads still belongs to them


# `-- @include fragment.sql key=value ...` on a line of its own (see sql/include/islands.sql).
_INCLUDE = re.compile(r"^[ \t]*-- @include ([a-z_]+\.sql)((?:[ \t]+\w+=\S+)+)[ \t]*$", re.MULTILINE)
# Include values: identifiers (comma-separated lists of them), integers or an integer :parameter.
_INCLUDE_VALUE = re.compile(r"[A-Za-z_]\w*(,[A-Za-z_]\w*)*|[0-9]+|:[a-z_]+")


def _sql_file(*path: str) -> str:
    return resources.files("auditor.detect").joinpath("sql", *path).read_text(encoding="utf-8")


def _include(name: str, args: str, where: str) -> str:
    """A fragment from sql/include with its {placeholders} filled from `key=value` args (identifiers from
    our own SQL files or integers, checked): every placeholder must be given, and nothing else."""
    text = _sql_file("include", name)
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    given = dict(arg.split("=", 1) for arg in args.split())
    wanted = set(re.findall(r"\{(\w+)\}", body))
    if set(given) != wanted:
        raise ValueError(f"{where}: include {name} takes {sorted(wanted)}, got {sorted(given)}")
    for key, value in given.items():
        if not _INCLUDE_VALUE.fullmatch(value):
            raise ValueError(f"{where}: include {name}: {key}={value!r} is not an identifier list or integer")
        body = body.replace(f"{{{key}}}", value.replace(",", ", "))
    return body


def expand_includes(text: str, where: str) -> str:
    """Replace every include line of `text` (the SQL file `where`) with its fragment."""
    return _INCLUDE.sub(lambda m: _include(m[1], m[2], where), text)


def load_sql(name: str, **ints: int) -> str:
    """Read a packaged SQL stage, expand its includes, and substitute integer parameters (never strings)."""
    text = expand_includes(_sql_file(name), name)
    for key, value in ints.items():
        text = text.replace(f":{key}", str(int(value)))
    return text


def _run(engine: Engine, stage_sql: str, kind: str) -> list[Episode]:
    """Run a stage (it defines view episode_downloads), then the shared per-episode summary."""
    engine.execute(stage_sql)
    summary = load_sql("episode_summary.sql", evidence_cap=EVIDENCE_CAP)
    episodes = [Episode.from_row(row, kind) for row in engine.query(summary)]
    engine.execute("DROP VIEW episode_downloads")
    return episodes


class _Kept:
    """Kept episodes per actor as disjoint intervals sorted by start, so an overlap test is one bisection
    (a pairwise test over all episodes was quadratic: half a minute at 20,000 episodes)."""

    def __init__(self) -> None:
        self.starts: dict[tuple[str, str], list[datetime]] = {}
        self.ends: dict[tuple[str, str], list[datetime]] = {}

    def overlaps(self, e: Episode) -> bool:
        # Disjoint and sorted: the last interval starting by e's end has the latest end of all such.
        key = (e.platform, e.actor)
        i = bisect_right(self.starts.get(key, []), e.last_seen) - 1
        return i >= 0 and bool(self.ends[key][i] >= e.first_seen)

    def add(self, e: Episode) -> None:
        key = (e.platform, e.actor)
        starts, ends = self.starts.setdefault(key, []), self.ends.setdefault(key, [])
        i = bisect_right(starts, e.first_seen)
        starts.insert(i, e.first_seen)
        ends.insert(i, e.last_seen)


@dataclass(frozen=True)
class Stage:
    """One episode stage in the registry: its SQL file (which defines view episode_downloads), the integer
    parameters it takes from the detection settings, the episode kind it yields and what that kind means."""

    kind: str
    sql: str
    params: Callable[[DetectionSettings], dict[str, int]]
    meaning: str


STAGES = (
    Stage(
        "burst",
        "bulk_download.sql",
        lambda det: {
            "window_minutes": det.bulk_window_minutes,
            "min_repos": min(det.candidate_min_repos, det.bulk_min_restricted_repos),
        },
        "distinct restricted repositories in a sliding window (below the fixed threshold: a candidate)",
    ),
    Stage(
        "app",
        "apps.sql",
        lambda det: {
            "window_minutes": det.app_window_minutes,
            "min_repos": det.app_min_repos,
            "min_users": det.app_min_users,
        },
        "one OAuth app or GitHub App whose tokens for several users pull many restricted repositories from one "
        "network in a short window (the app is the actor)",
    ),
    Stage("api_rate", "api_scraping.sql", lambda det: {}, "API content reads in hours far above the actor's rate"),
    Stage("export", "exports.sql", lambda det: {}, "whole-project exports of restricted repositories"),
    Stage(
        "novelty",
        "novelty.sql",
        lambda det: {"learning_days": det.learning_days, "min_new_repos": det.novel_min_repos_7d},
        "restricted repositories pulled for the first time, low and slow over 7 days",
    ),
)

# When episodes of one actor overlap, the first kind in this order explains them.
PRIORITY = ("burst", "app", "api_rate", "export", "novelty", "candidate")


def find_episodes(engine: Engine, det: DetectionSettings) -> list[Episode]:
    """Every registered stage's episodes (bursts below the fixed threshold become candidates); overlapping
    episodes of one actor keep the highest-priority kind."""
    engine.execute(load_sql("download_activity.sql"))
    engine.execute(
        load_sql("api_rate.sql", min_requests=det.api_min_requests_per_hour, rate_factor=det.api_rate_factor)
    )
    found: list[Episode] = []
    for stage in STAGES:
        found += _run(engine, load_sql(stage.sql, **stage.params(det)), stage.kind)
    for b in found:
        if b.kind == "burst" and (b.peak_repos or 0) < det.bulk_min_restricted_repos:
            b.kind = "candidate"
    kept: list[Episode] = []
    spans = _Kept()
    for kind in PRIORITY:
        for e in found:
            if e.kind == kind and not spans.overlaps(e):
                spans.add(e)
                kept.append(e)
    return sorted(kept, key=lambda e: (e.first_seen, e.actor))


def _episode_table(engine: Engine, episodes: list[Episode]) -> None:
    cols = {
        "episode_key": "VARCHAR",
        "platform": "VARCHAR",
        "actor": "VARCHAR",
        "identity": "VARCHAR",
        "first_seen": "TIMESTAMP",
        "last_seen": "TIMESTAMP",
    }
    rows = [(e.key, e.platform, e.actor, e.upn, e.first_seen, e.last_seen) for e in episodes]
    engine.load_rows("episodes", cols, rows)
    pairs = [(e.key, r) for e in episodes for r in e.repos]
    engine.load_rows("episode_repos", {"episode_key": "VARCHAR", "repo": "VARCHAR"}, pairs)


def attach_history(engine: Engine, episodes: list[Episode], det: DetectionSettings) -> None:
    """Load the episodes once, then add `precursors` from precursors.sql, credential_baselines.sql and
    publication.sql, and `baseline` (feature row) from baselines.sql, to every episode (which must carry key
    and upn)."""
    for e in episodes:
        e.precursors, e.baseline = [], {}
    if not episodes:
        return
    _episode_table(engine, episodes)
    by_key = {e.key: e for e in episodes}
    stage = load_sql("precursors.sql", lookback_hours=det.precursor_lookback_hours, learning_days=det.learning_days)
    rows = engine.query(stage)
    # Each credential's own baseline (networks, countries, user agents): credential_baselines.sql.
    rows += engine.query(
        load_sql(
            "credential_baselines.sql", lookback_hours=det.precursor_lookback_hours, learning_days=det.learning_days
        )
    )
    # Code made public by the same account around the downloads: publication.sql.
    rows += engine.query(load_sql("publication.sql", after_hours=PUBLICATION_AFTER_HOURS))
    for row in sorted(rows, key=lambda r: (r["at"], r["kind"], r["detail"])):
        by_key[row["episode_key"]].precursors.append(Precursor(row["kind"], row["detail"], row["at"]))
    sql = load_sql("baselines.sql", history_days=det.history_days, learning_days=det.learning_days)
    for row in engine.query(sql):
        by_key[row["episode_key"]].baseline = row
