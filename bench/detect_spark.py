"""Benchmark: AN0732 on the Spark engine (local[2]) beside the DuckDB engine on the same data.

Run: .venv/bin/python bench/detect_spark.py [--events 10000000] [--master 'local[2]']
Issue #9 asks for 10,000,000 events: Spark local[2] wall time and peak RSS (the JVM included: the
whole process tree is measured) next to the DuckDB engine, and a note on how the Spark plan
partitions the work. The workspace comes from bench/detect_10m.py's builder (kept under bench/out);
the lake is exported once beside it. Each engine runs in a fresh copy of the workspace's DuckDB file
so both start from the same state. Needs pyspark and Java (pip install -e '.[spark]').
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.detect_10m import OUT, build

SHUFFLE_NOTE = (
    "How the Spark plan partitions the work: the lake scan is split by its platform=/day= files; the\n"
    "window stages (bulk_download, novelty, api_scraping, the precursors' lag() and first-use) shuffle by\n"
    "(platform, actor) -- printed below for bulk_download and novelty from EXPLAIN -- and the first-pull\n"
    "aggregates by (platform, actor, repo); the repository baselines join on (platform, repo), sign-in\n"
    "precursors partition by upn, and the per-episode tables are small (broadcast). Every heavy operator\n"
    "is keyed by actor or repository, so more executors take more actors at once; one actor's history\n"
    "stays on one task, so the busiest automation account bounds the slowest task."
)


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and all its descendants (the JVM is a child of the Python driver)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status", encoding="ascii") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
            with open(f"/proc/{p}/task/{p}/children", encoding="ascii") as fh:
                stack += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run_tree(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall s, peak RSS MB of the whole process tree sampled every 0.2 s, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(err[-4000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd[:6])} ...")
    return wall, peak / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    tenant, ws = build(args.events)
    lake = OUT / f"lake-{args.events}"
    auditor = [sys.executable, "-m", "auditor"]
    if not (lake / "_schema.json").exists():
        shutil.rmtree(lake, ignore_errors=True)
        wall, rss, _ = run_tree([*auditor, "--workspace", str(ws), "export", "events", "--parquet", str(lake)])
        print(f"export to Parquet: {wall:.1f} s, peak RSS {rss:,.0f} MB", flush=True)
    cfg = str(tenant / "auditor.yaml")
    results: dict[str, tuple[float, float, dict[str, object]]] = {}
    for engine in ("duckdb", "spark"):
        copy = OUT / f"workspace-{args.events}-{engine}"
        shutil.rmtree(copy, ignore_errors=True)
        copy.mkdir()
        shutil.copy2(ws / "auditor.duckdb", copy / "auditor.duckdb")
        cmd = [*auditor, "--workspace", str(copy), "--config", cfg, "detect", "--engine", engine, "--json"]
        if engine == "spark":
            cmd += ["--input", str(lake), "--spark-master", args.master]
        wall, rss, out = run_tree(cmd, env={**os.environ, "AUDITOR_SPARK_TRACE": ""})
        results[engine] = (wall, rss, json.loads(out))
        print(f"{engine}: {wall:.1f} s, peak RSS {rss:,.0f} MB", flush=True)
    same = _same_findings(OUT / f"workspace-{args.events}-duckdb", OUT / f"workspace-{args.events}-spark")
    print(f"\n{args.events:,} events requested; {results['duckdb'][2]['download_events']:,} download events")
    print(f"{'':44}{'wall s':>9}{'peak RSS MB':>14}{'findings':>10}")
    for engine, label in (("duckdb", "DuckDB engine (workspace)"), ("spark", f"Spark engine {args.master} (lake)")):
        wall, rss, summary = results[engine]
        print(f"{label:44}{wall:9.1f}{rss:14,.0f}{summary['findings']:>10}")
    print(f"identical findings (id, severity, score, reasons): {same}")
    print("\n" + SHUFFLE_NOTE)
    print("Exchanges in the plans (hash keys with Spark's column ids):")
    for line in plan_exchanges(lake, OUT / f"workspace-{args.events}-spark", cfg, args.master):
        print("  " + line)


def plan_exchanges(lake: Path, ws: Path, cfg_path: str, master: str) -> list[str]:
    """The shuffle (Exchange) operators of each stage's Spark plan, to back the note above."""
    import re

    from auditor.config.loader import load_config
    from auditor.detect.spark_engine import SparkEngine, start_session
    from auditor.detect.stages import load_sql
    from auditor.workspace.store import Workspace

    det = load_config(Path(cfg_path)).detection
    session = start_session(master)
    workspace = Workspace.open(ws)
    lines = []
    try:
        engine = SparkEngine(session, str(lake), workspace.con, cache_events=False)
        engine.execute(load_sql("download_activity.sql"))
        stages = {
            "bulk_download": load_sql("bulk_download.sql", window_minutes=det.bulk_window_minutes, min_repos=10),
            "novelty": load_sql("novelty.sql", learning_days=det.learning_days, min_new_repos=det.novel_min_repos_7d),
        }
        for name, sql in stages.items():
            engine.execute(sql)
            plan = engine.explain("SELECT * FROM episode_downloads")
            keys = sorted(
                set(
                    re.findall(r"Exchange (hashpartitioning\([^)]*\)|SinglePartition|rangepartitioning\([^)]*\))", plan)
                )
            )
            lines.append(f"{name}: " + "; ".join(keys))
            engine.execute("DROP VIEW episode_downloads")
    finally:
        session.stop()
        workspace.close()
    return lines


def _same_findings(a: Path, b: Path) -> bool:
    import duckdb

    q = "SELECT id, severity, score, reasons FROM findings ORDER BY id"
    rows = [duckdb.connect(str(p / "auditor.duckdb"), read_only=True).execute(q).fetchall() for p in (a, b)]
    return rows[0] == rows[1]


if __name__ == "__main__":
    main()
