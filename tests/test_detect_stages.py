"""The stage registry: every registered stage yields a kind the overlap priority knows, and its SQL
takes exactly the parameters the registry gives it; its shared islands block and its typed episodes."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from auditor.config.models import DetectionSettings
from auditor.detect.episode import Episode
from auditor.detect.stages import PRIORITY, STAGES, expand_includes, load_sql


def test_every_stage_has_a_priority_and_all_its_parameters() -> None:
    det = DetectionSettings()
    assert [s.kind for s in STAGES] == [k for k in PRIORITY if k != "candidate"]
    for stage in STAGES:
        sql = load_sql(stage.sql, **stage.params(det))
        assert "episode_downloads" in sql and stage.meaning
        assert not re.search(r"(?<![:\w]):[a-z_]+\b", sql), f"{stage.sql}: a parameter was left unsubstituted"


def test_the_shared_islands_block_is_expanded_in_every_stage_that_includes_it() -> None:
    det = DetectionSettings()
    for stage in STAGES:
        sql = load_sql(stage.sql, **stage.params(det))
        assert "@include" not in sql and "{" not in sql, stage.sql
        if stage.kind in ("burst", "app", "api_rate", "novelty"):
            assert "island_no" in sql, f"{stage.sql} no longer uses sql/include/islands.sql"


def test_an_include_takes_exactly_its_placeholders_and_only_identifiers_or_integers() -> None:
    line = "-- @include islands.sql source=s partition=a,b order=c start=c end=d gap_minutes={gap}\n"
    sql = expand_includes(line.format(gap=":window_minutes"), "t.sql")
    assert "PARTITION BY a, b ORDER BY c" in sql and "INTERVAL :window_minutes MINUTE" in sql
    with pytest.raises(ValueError, match=re.escape("t.sql: include islands.sql takes")):
        expand_includes("-- @include islands.sql source=s partition=a\n", "t.sql")
    with pytest.raises(ValueError, match=re.escape("t.sql: include islands.sql takes")):
        expand_includes(line.format(gap="5").replace("\n", " extra=x\n"), "t.sql")
    with pytest.raises(ValueError, match="not an identifier"):
        expand_includes(line.format(gap="5;DROP"), "t.sql")
    with pytest.raises(ValueError, match="not an identifier"):
        expand_includes(line.replace("source=s", "source=s.t").format(gap="5"), "t.sql")


def test_an_episode_comes_from_a_summary_row_and_a_missing_column_fails_loudly() -> None:
    at = datetime(2026, 3, 2, 9, 0)
    lists = ("repos", "tier1_repos", "credential_types", "ips", "countries", "app_ids", "credential_ids")
    row = {"platform": "github", "actor": "jo", "first_seen": at, "last_seen": at, "downloads": 12}
    row |= {"peak_repos": None, "distinct_repos": 11, "event_identity": None, "evidence": ["sha:1"]}
    row |= {name: None for name in lists} | {"user_agents": ["git/2.4"]}
    e = Episode.from_row(row, "novelty")
    assert (e.kind, e.repos, e.user_agents, e.evidence, e.precursors, e.baseline) == (
        "novelty",
        [],
        ["git/2.4"],
        ["sha:1"],
        [],
        {},
    )
    del row["event_identity"]
    with pytest.raises(KeyError, match="event_identity"):
        Episode.from_row(row, "burst")
