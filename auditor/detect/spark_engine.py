"""The Spark engine: the same stage SQL, transpiled to Spark SQL (auditor/detect/spark_dialect.py), over
the lake's events (Parquet, any path Spark reads) and the workspace's small tables. pyspark is imported
only here, lazily, so the base install never needs it.

Where each table comes from: `events` is read from the lake (the one table that outgrows a machine);
repos, accounts, account links, identities, risk, grants, snapshots and memberships are copied from the
workspace, where restriction rules and account classes are decided with the config. They are copied when
the engine runs its first statement, which run_detection does after classifying, so Spark sees the
classes and tiers of this run. Rows come back as DuckDB's would: timestamps naive UTC, arrays as lists.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.detect.engine import Row
from auditor.detect.spark_dialect import to_spark
from auditor.errors import AuditorError, InputError
from auditor.lake.schema import LAKE_FORMAT, SCHEMA_FILE, TABLES

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType

WORKSPACE_TABLES = tuple(t for t in TABLES if t != "events")
DEFAULT_MASTER = "local[*]"


class SparkUnavailable(AuditorError):
    """pyspark or Java is missing, so the Spark engine cannot start."""


def spark_missing() -> str | None:
    """Why the Spark engine cannot run here (None when it can): pyspark not installed, or no Java."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: pip install 'repo-auditor[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and shutil.which("java") is None:
        return "no Java runtime found (Spark needs Java 17+ on PATH or JAVA_HOME)"
    return None


def start_session(master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """A SparkSession in UTC. Run from `auditor`, it gets settings sized for one machine (local master
    by default); run under spark-submit (or a Databricks job), the submitted settings win over those
    defaults and an explicit `master` only if given. `conf` wins over all; the session time zone is
    always UTC, because timestamps are naive UTC throughout."""
    reason = spark_missing()
    if reason:
        raise SparkUnavailable(reason)
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    # Python workers (if Spark needs any) must be this interpreter, not whatever python3 is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # launched by spark-submit / a cluster's driver
    chosen = master or (None if submitted else DEFAULT_MASTER)
    local = (chosen or "").startswith("local")
    defaults = {
        "spark.sql.shuffle.partitions": "8" if local else "",
        "spark.ui.enabled": "false" if local else "",
        "spark.driver.host": "127.0.0.1" if local else "",
        "spark.driver.bindAddress": "127.0.0.1" if local else "",
        "spark.driver.memory": "2g" if local else "",
        "spark.sql.ansi.enabled": "false",
    }
    given = None
    if submitted:
        SparkContext._ensure_initialized()
        given = SparkConf()
    builder = SparkSession.builder.appName("repo-auditor AN0732")
    if chosen:
        builder = builder.master(chosen)
    for key, value in defaults.items():
        if value and not (given is not None and given.contains(key)):
            builder = builder.config(key, value)
    required = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        "spark.ui.showConsoleProgress": "false",  # progress bars would garble --json output
    }
    for key, value in {**(conf or {}), **required}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _spark_type(duck: str) -> DataType:
    from pyspark.sql import types as T

    if duck.startswith("[") or duck.endswith("[]"):
        return T.ArrayType(_spark_type(duck.strip('[]"')))
    simple: dict[str, DataType] = {
        "VARCHAR": T.StringType(),
        "INTEGER": T.IntegerType(),
        "BIGINT": T.LongType(),
        "DOUBLE": T.DoubleType(),
        "BOOLEAN": T.BooleanType(),
        "TIMESTAMP": T.TimestampNTZType(),
        "DATE": T.DateType(),
    }
    if duck not in simple:
        raise AuditorError(f"no Spark type for DuckDB type {duck}")
    return simple[duck]


def _naive_utc(df: DataFrame) -> DataFrame:
    """Cast session-zone timestamps (date_trunc and friends return them) to NTZ, so Python gets naive UTC."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    def fix(t: DataType) -> DataType | None:
        if isinstance(t, T.TimestampType):
            return T.TimestampNTZType()
        if isinstance(t, T.ArrayType):
            inner = fix(t.elementType)
            return T.ArrayType(inner) if inner else None
        return None

    cols = []
    changed = False
    for field in df.schema.fields:
        target = fix(field.dataType)
        changed = changed or target is not None
        col = F.col(f"`{field.name}`")
        cols.append(col.cast(target).alias(field.name) if target else col)
    return df.select(*cols) if changed else df


def _plain(value: Any) -> Any:
    from pyspark.sql import Row as SparkRow

    if isinstance(value, SparkRow):
        return {k: _plain(v) for k, v in value.asDict().items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def lake_events_path(input_dir: str) -> str:
    """The events folder of a lake; a local lake must carry its _schema.json."""
    if "://" not in input_dir:
        root = Path(input_dir)
        if not (root / SCHEMA_FILE).is_file():
            raise InputError(f"no {SCHEMA_FILE}: not a repo-auditor Parquet lake", str(root))
        if not (root / "events").is_dir():
            raise InputError("the lake has no events/ folder", str(root))
        import json

        doc = json.loads((root / SCHEMA_FILE).read_text(encoding="utf-8"))
        if doc.get("format") != LAKE_FORMAT:
            raise InputError(f"format is not {LAKE_FORMAT!r}", str(root / SCHEMA_FILE))
        return str(root / "events")
    return input_dir.rstrip("/") + "/events"


class SparkEngine:
    """Engine protocol on a SparkSession; see the module docstring for where each table comes from."""

    name = "spark"

    def __init__(
        self,
        spark: SparkSession,
        input_dir: str,
        workspace: duckdb.DuckDBPyConnection,
        cache_events: bool | None = None,
    ) -> None:
        self.spark = spark
        self.events_path = lake_events_path(input_dir)
        self.workspace = workspace
        # Every stage scans events; on one machine reading the files once beats re-opening each
        # partition file per stage. On a cluster the lake is scanned per stage (executors' memory
        # holds download_activity, the restricted downloads, instead).
        master = str(spark.sparkContext.master)
        self.cache_events = master.startswith("local") if cache_events is None else cache_events
        self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        self._ready = True
        events = self.spark.read.option("basePath", self.events_path).parquet(self.events_path)
        names = [c.name for c in TABLES["events"]]
        missing = [n for n in names if n not in events.columns]
        if missing:
            raise InputError(f"lake events lack column(s): {', '.join(missing)}", self.events_path)
        events = events.select(*names)
        if self.cache_events:
            events = events.persist()
        events.createOrReplaceTempView("events")
        for table in WORKSPACE_TABLES:
            columns = {c.name: c.type for c in TABLES[table]}
            rows = self.workspace.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            self.load_rows(table, columns, rows)

    def _run(self, sql: str) -> DataFrame | None:
        self._prepare()
        result = None
        for stmt in to_spark(sql):
            started = time.perf_counter()
            df = self.spark.sql(stmt.sql)
            if stmt.materialise_as:
                # A DuckDB temp table: computed once, kept for the stages that read it.
                df.localCheckpoint(eager=True).createOrReplaceTempView(stmt.materialise_as)
            elif stmt.view:
                # Stages read their views more than once (download_activity by every stage): compute once.
                self.spark.catalog.cacheTable(stmt.view)
            else:
                result = df
            self._trace(stmt.sql, started)
        return result

    def _trace(self, sql: str, started: float) -> None:
        if os.environ.get("AUDITOR_SPARK_TRACE"):
            head = " ".join(sql.split())[:90]
            print(f"[spark {time.perf_counter() - started:7.2f} s] {head}", file=sys.stderr, flush=True)

    def execute(self, sql: str) -> None:
        self._run(sql)

    def query(self, sql: str) -> list[Row]:
        df = self._run(sql)
        if df is None:
            raise AuditorError("query() needs a statement that returns rows")
        started = time.perf_counter()
        rows = [{k: _plain(v) for k, v in r.asDict().items()} for r in _naive_utc(df).collect()]
        self._trace("collect " + sql, started)
        return rows

    def load_rows(self, name: str, columns: dict[str, str], rows: Sequence[Sequence[object]]) -> None:
        from pyspark.sql import types as T

        self._prepare()
        schema = T.StructType([T.StructField(k, _spark_type(v), True) for k, v in columns.items()])
        data = [tuple(r) for r in rows]
        # Materialised once: stages read these small tables many times.
        self.spark.createDataFrame(data, schema).localCheckpoint(eager=True).createOrReplaceTempView(name)

    def explain(self, sql: str) -> str:
        """Spark's physical plan of the last statement of `sql` (for the benchmark's partitioning note)."""
        self._prepare()
        stmt = to_spark(sql)[-1]
        plan = self.spark.sql(f"EXPLAIN {stmt.sql}").collect()
        return str(plan[0][0])


def run_spark_detection(
    ws: Any, cfg: Any, input_dir: str, master: str | None = None, conf: dict[str, str] | None = None
) -> Any:
    """`auditor detect --engine spark`: start a session, detect over the lake, write findings, stop."""
    from auditor.detect.bulk import run_detection

    session = start_session(master, conf)
    try:
        return run_detection(ws, cfg, engine=SparkEngine(session, input_dir, ws.con))
    finally:
        session.stop()
