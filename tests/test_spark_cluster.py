"""The README's cluster command on a real Spark standalone cluster: a master and a worker started as separate
processes on 127.0.0.1 through pyspark's own launcher (`spark-class`), then `spark-submit --master spark://…`
of auditor/__main__.py over the Parquet lake. The findings must equal the DuckDB engine's. Skips with the
reason where pyspark or Java is missing. Takes about a minute on an idle 2-core machine."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import auditor
from auditor.config.models import AuditorConfig
from auditor.detect.bulk import run_detection
from auditor.detect.spark_engine import spark_missing
from auditor.importers.pipeline import import_files
from auditor.lake.export import export_lake
from auditor.workspace.store import Workspace
from tests.helpers import write_ndjson
from tests.test_spark_engine import MIN, T0, _burst, _findings

MISSING = spark_missing()
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"Spark engine unavailable: {MISSING}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(tmp / "logs"),
        "SPARK_WORKER_DIR": str(tmp / "work"),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }


UI_PORTS: dict[str, int] = {}


def _state(ui_port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as resp:
        state: dict[str, Any] = json.load(resp)
        return state


def _alive_workers(ui_port: int) -> int:
    try:
        return int(_state(ui_port).get("aliveworkers", 0))
    except OSError:
        return 0


def _master_state(url: str) -> dict[str, Any]:
    return _state(UI_PORTS[url])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """spark://127.0.0.1:PORT with one registered worker (1 core, 1 GiB); both processes stopped afterwards."""
    spark_class = BIN / "spark-class"
    if not spark_class.exists():
        pytest.skip(f"no spark-class beside {sys.executable}")
    tmp = tmp_path_factory.mktemp("spark-cluster")
    env = _env(tmp)
    port, ui, worker_ui = _free_port(), _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    UI_PORTS[url] = ui
    logs = [(tmp / "master.log").open("wb"), (tmp / "worker.log").open("wb")]
    master = subprocess.Popen(
        [str(spark_class), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
         "--webui-port", str(ui)],
        env=env, stdout=logs[0], stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(spark_class), "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "1",
         "--memory", "1g", "--webui-port", str(worker_ui), "--work-dir", str(tmp / "work")],
        env=env, stdout=logs[1], stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while _alive_workers(ui) < 1:
            if time.monotonic() > deadline or master.poll() is not None or worker.poll() is not None:
                tail = (tmp / "master.log").read_text(errors="replace")[-1500:]
                tail += (tmp / "worker.log").read_text(errors="replace")[-1500:]
                pytest.fail(f"the standalone cluster did not come up:\n{tail}")
            time.sleep(1)
        yield url
    finally:
        for proc in (worker, master):
            proc.terminate()
        for proc in (worker, master):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


def test_readme_cluster_command_on_a_standalone_cluster_gives_duckdbs_findings(cluster: str, tmp_path: Path) -> None:
    records = (
        _burst("bg", 1, T0 - 20 * 86_400_000, MIN, prefix="bg")
        + _burst("mallory", 25, T0, MIN)
        + _burst("ci", 12, T0 - 7 * 86_400_000, MIN, prefix="c")
        + _burst("ci", 12, T0, MIN, prefix="c")
        + _burst("slow", 30, T0, 10 * MIN, prefix="s")
    )
    ws = Workspace.open(tmp_path / "ws")
    import_files(ws, [write_ndjson(tmp_path / "gh.ndjson", records)])
    export_lake(ws, tmp_path / "lake")
    run_detection(ws, AuditorConfig())
    duck = _findings(ws)
    ws.close()
    assert {f[3] for f in duck} >= {"mallory"}
    main = Path(auditor.__file__).parent / "__main__.py"
    # The README's command, with this cluster's master, a small executor and the local lake.
    cmd = [str(BIN / "spark-submit"), "--master", cluster, "--conf", "spark.executor.memory=512m",
           "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.sql.shuffle.partitions=2", str(main),
           "--workspace", str(tmp_path / "ws"), "detect", "--engine", "spark", "--input", str(tmp_path / "lake"),
           "--json"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(tmp_path), timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["findings"] == len(duck)
    # The application ran on this cluster's worker (the master lists it as completed), not in local mode.
    apps = _master_state(cluster)["completedapps"]
    assert apps and all(a["state"] == "FINISHED" for a in apps), apps
    ws = Workspace.open(tmp_path / "ws")
    assert _findings(ws) == duck
    ws.close()
