"""Every detection SQL stage parses as DuckDB SQL and transpiles to Spark SQL with SQLGlot (plus the
documented rewrites of auditor/detect/spark_dialect.py, the route the Spark engine takes)."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from auditor.detect.spark_dialect import to_spark
from auditor.detect.stages import load_sql

STAGES = sorted(p.name for p in resources.files("auditor.detect").joinpath("sql").iterdir() if p.name.endswith(".sql"))
PARAMS = {
    "window_minutes": 30,
    "min_repos": 10,
    "lookback_hours": 72,
    "after_hours": 24,
    "learning_days": 14,
    "min_new_repos": 15,
    "history_days": 30,
    "min_requests": 300,
    "rate_factor": 10,
    "evidence_cap": 50,
    "min_users": 3,
}


def test_there_are_stages() -> None:
    assert {
        "download_activity.sql",
        "bulk_download.sql",
        "novelty.sql",
        "episode_summary.sql",
        "precursors.sql",
        "baselines.sql",
        "api_rate.sql",
        "api_scraping.sql",
        "exports.sql",
        "apps.sql",
        "app_history.sql",
    } <= set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_stage_transpiles_to_spark(stage: str) -> None:
    sql = load_sql(stage, **PARAMS)
    assert not re.search(r"(?<![:\w]):[a-z_]+\b", sql), "an integer parameter was left unsubstituted"
    sqlglot.parse(sql, read="duckdb", error_level=ErrorLevel.RAISE)
    spark = to_spark(sql)[-1].sql
    assert "SELECT" in spark.upper()
    # And the Spark text parses back, so it is not a half-translated string.
    sqlglot.parse_one(spark, read="spark", error_level=ErrorLevel.RAISE)
