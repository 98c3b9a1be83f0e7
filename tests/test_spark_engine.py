"""The Spark engine against the DuckDB engine: the same stage SQL, transpiled, gives the same findings
(ids, severities, scores, reasons) and rows of the same Python types. Runs pyspark in local mode; skips
with the reason where pyspark or Java is missing. The default sandbox and 1,000,000-event comparisons
take minutes each (about 1 and 4 on an idle 2-core machine: one sandbox build, both engines)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.config.models import AuditorConfig
from auditor.detect.bulk import run_detection
from auditor.detect.engine import DuckDBEngine
from auditor.detect.spark_engine import SparkEngine, spark_missing
from auditor.findings import load_findings
from auditor.importers.pipeline import import_files
from auditor.lake.export import export_lake
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson

MISSING = spark_missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"Spark engine unavailable: {MISSING}")

T0 = 1_759_000_000_000
MIN = 60_000


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from auditor.detect.spark_engine import start_session

    session = start_session("local[2]", {"spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()


def _burst(actor: str, n: int, start: int, step_ms: int, prefix: str = "r", **extra: Any) -> list[dict[str, Any]]:
    return [
        gh_event(
            hash((actor, i, start, prefix)) & 0xFFFFFFF,
            actor=actor,
            repo=f"acme/{prefix}{i}",
            ts_ms=start + i * step_ms,
            programmatic_access_type="Personal access token",
            token_id=str(70 + i % 3),
            actor_ip=f"198.51.100.{i % 4}",
            **extra,
        )
        for i in range(n)
    ]


def _findings(ws: Workspace) -> list[tuple[object, ...]]:
    return sorted(
        (
            f.id,
            f.severity,
            f.score,
            f.actor,
            tuple(f.repos),
            f.first_seen,
            f.last_seen,
            tuple(f.reasons),
            tuple(f.evidence),
            f.suppressed,
        )
        for f in load_findings(ws)
    )


def _compare(ws: Workspace, cfg: AuditorConfig, lake: Path, spark: Any) -> list[tuple[object, ...]]:
    run_detection(ws, cfg)
    duck = _findings(ws)
    run_detection(ws, cfg, engine=SparkEngine(spark, str(lake), ws.con))
    assert _findings(ws) == duck
    return duck


def test_small_tenant_same_findings_on_both_engines(ws: Workspace, tmp_path: Path, spark: Any) -> None:
    records = (
        _burst("bg", 1, T0 - 20 * 86_400_000, MIN, prefix="bg")
        + _burst("mallory", 25, T0, MIN)
        + _burst("ci", 12, T0 - 7 * 86_400_000, MIN, prefix="c")
        + _burst("ci", 12, T0, MIN, prefix="c")
        + _burst("slow", 30, T0, 10 * MIN, prefix="s")
    )
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", records)])
    export_lake(ws, tmp_path / "lake")
    found = _compare(ws, AuditorConfig(), tmp_path / "lake", spark)
    assert {f[3] for f in found} >= {"mallory"}


def test_app_across_users_same_findings_on_both_engines(ws: Workspace, tmp_path: Path, spark: Any) -> None:
    """apps.sql and app_history.sql (network /24, owners, the app's history) transpile and agree."""
    oauth = {"oauth_application_id": 9001, "oauth_application_name": "DeployHelper"}
    records = _burst("bg", 1, T0 - 20 * 86_400_000, MIN, prefix="bg")
    for day in (0, 1):  # the same app two days running: the second day is routine
        for k, user in enumerate(("ana", "ben", "cai", "dee")):
            records += _burst(user, 3, T0 + day * 86_400_000 + 3 * k * MIN, MIN, prefix=f"{user}-", **oauth)
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", records)])
    export_lake(ws, tmp_path / "lake")
    found = _compare(ws, AuditorConfig(), tmp_path / "lake", spark)
    apps = [f for f in found if f[3] == "app:9001"]
    reasons = [str(r) for f in apps for r in f[7]]  # type: ignore[attr-defined]
    assert len(apps) == 2 and any("ana (3), ben (3), cai (3), dee (3)" in r for r in reasons)


def test_rows_come_back_as_duckdb_gives_them(ws: Workspace, tmp_path: Path, spark: Any) -> None:
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", _burst("a", 5, T0, 7 * MIN))])
    export_lake(ws, tmp_path / "lake")
    probe = (
        "SELECT actor, date_trunc('hour', min(ts)) AS hour, max(ts) AS last, "
        "list(DISTINCT ip ORDER BY ip) AS ips, list(DISTINCT ip ORDER BY ip) FILTER (WHERE ip = 'none') AS nothing, "
        "quantile_cont(line_no, 0.95) AS p95, median(line_no) AS med, count(*) AS n, "
        "epoch(max(ts)) - epoch(min(ts)) AS span_s "
        "FROM events GROUP BY actor"
    )
    duck = DuckDBEngine(ws.con).query(probe)
    sparked = SparkEngine(spark, str(tmp_path / "lake"), ws.con).query(probe)
    assert sparked == duck
    (row,) = sparked
    assert isinstance(row["hour"], datetime) and row["hour"].tzinfo is None
    assert row["ips"] == sorted(row["ips"]) and row["nothing"] is None
    assert isinstance(row["p95"], float) and isinstance(row["n"], int)


def test_load_rows_round_trips_types(ws: Workspace, tmp_path: Path, spark: Any) -> None:
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", _burst("a", 2, T0, MIN))])
    export_lake(ws, tmp_path / "lake")
    cols = {"k": "VARCHAR", "seen": "TIMESTAMP", "n": "INTEGER", "tags": '["VARCHAR"]'}
    rows = [("x", datetime(2026, 1, 2, 3, 4, 5, 600000), 3, ["a", "b"]), ("y", None, None, [])]
    engines = (DuckDBEngine(ws.con), SparkEngine(spark, str(tmp_path / "lake"), ws.con))
    got = []
    for engine in engines:
        engine.load_rows("probe", cols, rows)
        got.append(engine.query("SELECT k, seen, n, tags FROM probe ORDER BY k"))
    assert got[0] == got[1]


def test_input_must_be_a_lake(ws: Workspace, tmp_path: Path, spark: Any) -> None:
    from auditor.errors import InputError

    with pytest.raises(InputError, match="not a repo-auditor Parquet lake"):
        SparkEngine(spark, str(tmp_path), ws.con)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from auditor.cli.demo_build import build_sandbox_workspace

    run = build_sandbox_workspace(tmp_path_factory.mktemp("sandbox"))
    export_lake(run.ws, run.sandbox_dir.parent / "lake")
    yield run
    run.ws.close()


def test_default_sandbox_same_findings_on_both_engines(sandbox: Any, spark: Any) -> None:
    found = _compare(sandbox.ws, sandbox.config, sandbox.sandbox_dir.parent / "lake", spark)
    assert any(f[1] in ("medium", "high", "critical") for f in found)


def test_million_event_sandbox_same_findings_on_both_engines(tmp_path: Path, spark: Any) -> None:
    from auditor.config.loader import load_config
    from auditor_sandbox.generate import generate_tenant

    generate_tenant(tmp_path / "tenant", events=1_000_000)
    ws = Workspace.open(tmp_path / "ws")
    files = sorted(p for d in ("entra", "github", "gitlab") for p in (tmp_path / "tenant" / d).iterdir())
    import_files(ws, files)
    export_lake(ws, tmp_path / "lake")
    found = _compare(ws, load_config(tmp_path / "tenant" / "auditor.yaml"), tmp_path / "lake", spark)
    assert len(found) > 1000 and any(f[1] in ("high", "critical") for f in found)
    ws.close()
    shutil.rmtree(tmp_path / "lake")


def test_spark_submit_runs_the_documented_cluster_command(tmp_path: Path) -> None:
    """The README's cluster route: spark-submit runs auditor/__main__.py as the driver (with a local master
    here, the only cluster this machine has) and writes the same findings as the DuckDB engine."""
    import subprocess
    import sys

    import auditor

    submit = Path(sys.executable).parent / "spark-submit"
    if not submit.exists():
        pytest.skip(f"no spark-submit beside {sys.executable}")
    records = _burst("mallory", 25, T0, MIN) + _burst("bg", 1, T0 - 20 * 86_400_000, MIN, prefix="bg")
    ws = Workspace.open(tmp_path / "ws")
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", records)])
    export_lake(ws, tmp_path / "lake")
    run_detection(ws, AuditorConfig())
    duck = _findings(ws)
    ws.close()
    main = Path(auditor.__file__).parent / "__main__.py"
    cmd = [str(submit), "--master", "local[1]", "--conf", "spark.sql.shuffle.partitions=3", str(main)]
    cmd += ["--workspace", str(tmp_path / "ws"), "detect", "--engine", "spark", "--input", str(tmp_path / "lake")]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["findings"] == len(duck) >= 1
    ws = Workspace.open(tmp_path / "ws")
    assert _findings(ws) == duck
    ws.close()
