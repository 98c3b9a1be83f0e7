"""The Spark-only rewrites of auditor/detect/spark_dialect.py, checked on the generated Spark SQL (no
Spark needed): each DuckDB construct that SQLGlot would mistranslate comes out in its Spark form."""

from __future__ import annotations

from importlib import resources

import pytest
import sqlglot

from auditor.detect.spark_dialect import SqlPortabilityError, to_spark
from auditor.detect.stages import load_sql
from tests.test_sql_portability import PARAMS


def _one(sql: str) -> str:
    (stmt,) = to_spark(sql)
    return stmt.sql


def test_ordered_distinct_list_is_a_sorted_set() -> None:
    assert _one("SELECT list(DISTINCT ip ORDER BY ip) FROM t") == "SELECT ARRAY_SORT(COLLECT_SET(ip)) FROM t"
    assert _one("SELECT list(DISTINCT ip) FROM t") == "SELECT ARRAY_SORT(COLLECT_SET(ip)) FROM t"


def test_filtered_list_is_null_when_nothing_matches_like_duckdb() -> None:
    out = _one("SELECT list(DISTINCT r ORDER BY r) FILTER (WHERE tier = 1) AS t1 FROM t")
    assert out == (
        "SELECT CASE WHEN SIZE(COLLECT_SET(r) FILTER(WHERE tier = 1)) = 0 THEN NULL "
        "ELSE ARRAY_SORT(COLLECT_SET(r) FILTER(WHERE tier = 1)) END AS t1 FROM t"
    )


def test_list_ordered_by_another_key_keeps_that_order() -> None:
    out = _one("SELECT list(n ORDER BY day) FROM t")
    assert out == "SELECT TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(day AS k, n AS v))), s -> s.v) FROM t"


def test_top_n_minimum_becomes_the_head_of_a_sorted_list() -> None:
    out = _one("SELECT min(sha || ':' || CAST(line AS VARCHAR), 50) AS evidence FROM t GROUP BY a")
    assert out == (
        "SELECT SLICE(ARRAY_SORT(COLLECT_LIST(sha || ':' || CAST(line AS STRING))), 1, 50) AS evidence "
        "FROM t GROUP BY a"
    )
    assert _one("SELECT min(x) FROM t") == "SELECT MIN(x) FROM t"


def test_distinct_count_over_a_window_becomes_a_set_size() -> None:
    out = _one(
        "SELECT count(DISTINCT repo) OVER (PARTITION BY a ORDER BY ts "
        "RANGE BETWEEN CURRENT ROW AND INTERVAL 30 MINUTE FOLLOWING) FROM t"
    )
    assert out.startswith("SELECT SIZE(COLLECT_SET(repo) OVER (PARTITION BY a ORDER BY ts")
    assert "DISTINCT" not in out


def test_quantiles_epoch_and_temp_tables() -> None:
    assert (
        _one("SELECT quantile_cont(x, 0.95), median(x) FROM t")
        == "SELECT PERCENTILE(x, 0.95), PERCENTILE(x, 0.5) FROM t"
    )
    assert (
        _one("SELECT epoch(ts) FROM t") == "SELECT CAST(UNIX_MICROS(CAST(ts AS TIMESTAMP)) AS DOUBLE) / 1000000 FROM t"
    )
    (stmt,) = to_spark("CREATE OR REPLACE TEMP TABLE hot AS SELECT 1 AS x")
    assert (stmt.sql, stmt.materialise_as) == ("SELECT 1 AS x", "hot")
    (view,) = to_spark("CREATE OR REPLACE TEMP VIEW v AS SELECT 1 AS x")
    assert view.view == "v" and view.materialise_as is None


def test_untranslatable_constructs_raise_instead_of_mistranslating() -> None:
    with pytest.raises(SqlPortabilityError):
        to_spark("SELECT list(DISTINCT a ORDER BY b) FROM t")
    with pytest.raises(SqlPortabilityError):
        to_spark("SELECT list(a ORDER BY b DESC) FROM t")


STAGES = sorted(p.name for p in resources.files("auditor.detect").joinpath("sql").iterdir() if p.name.endswith(".sql"))


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_comes_out_as_spark_sql_without_the_unsupported_forms(stage: str) -> None:
    for stmt in to_spark(load_sql(stage, **PARAMS)):
        sqlglot.parse_one(stmt.sql, read="spark")
        upper = stmt.sql.upper()
        assert "COLLECT_LIST(DISTINCT" not in upper
        assert "QUANTILE" not in upper and "MEDIAN(" not in upper and "UNIX_TIMESTAMP(" not in upper


def test_help_and_the_duckdb_engine_never_import_pyspark_or_sqlglot() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from auditor.cli import main\n"
        "sys.argv = ['auditor', 'detect', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "import auditor.detect.bulk, auditor.lake.export, auditor.lake.load\n"
        "print('heavy:' + ','.join(m for m in ('pyspark', 'sqlglot', 'py4j') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert "--engine" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "heavy:"
