"""Benchmark: AN0732 detection over a ~10,000,000-event workspace vs one plain DuckDB aggregate.

Run: .venv/bin/python bench/detect_10m.py [--events 10000000]
Targets on a 2-core machine: issue #4 <= 60 s and <= 4 GB peak RSS; issue #15 (with the credential,
app, departure and publication stages) <= 30 s and <= 3 GB. Builds the workspace once
(sandbox generation and import are not timed) and keeps it under bench/out for re-runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.import_github import timed  # the shared wall-time/peak-RSS wrapper of the bench folder

OUT = Path(__file__).resolve().parent / "out"
TARGETS = {"issue #4": (60.0, 4.0), "issue #15": (30.0, 3.0)}  # seconds, GB of peak RSS


def build(events: int) -> tuple[Path, Path]:
    tenant, ws = OUT / f"tenant-{events}", OUT / f"workspace-{events}"
    if not (ws / "auditor.duckdb").exists():
        from auditor_sandbox.generate import generate_tenant

        if not tenant.exists():
            print(f"generating a sandbox tenant with ~{events:,} records ...", flush=True)
            generate_tenant(tenant, events=events)
        files = [str(p) for d in ("entra", "github", "gitlab") for p in sorted((tenant / d).iterdir())]
        print("importing ...", flush=True)
        wall, rss, _ = timed([sys.executable, "-m", "auditor", "--workspace", str(ws), "import", *files, "--json"])
        print(f"import: {wall:.1f} s, peak RSS {rss:,.0f} MB", flush=True)
    return tenant, ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    tenant, ws = build(args.events)
    db = ws / "auditor.duckdb"
    ref_sql = (
        "SELECT platform, actor, count(DISTINCT repo), count(*) FROM events WHERE category = 'download' "
        "GROUP BY platform, actor"
    )
    ref_cmd = [
        sys.executable,
        "-c",
        f"import duckdb; c = duckdb.connect({str(db)!r}, read_only=True); print(len(c.sql({ref_sql!r}).fetchall()))",
    ]
    ref_wall, ref_rss, _ = timed(ref_cmd)
    cfg = str(tenant / "auditor.yaml")
    wall, rss, out = timed(
        [sys.executable, "-m", "auditor", "--workspace", str(ws), "--config", cfg, "detect", "--json"]
    )
    result = json.loads(out)
    events = json.loads(
        timed(
            [
                sys.executable,
                "-c",
                f"import duckdb; print(duckdb.connect({str(db)!r}, read_only=True)"
                ".sql('SELECT count(*) FROM events').fetchall()[0][0])",
            ]
        )[2]
    )
    print(f"\nworkspace: {events:,} events, {result['download_events']:,} downloads, {result['findings']:,} findings")
    print(f"{'':40}{'wall s':>9}{'peak RSS MB':>14}")
    print(f"{'plain DuckDB aggregate (reference)':40}{ref_wall:9.2f}{ref_rss:14,.0f}")
    print(f"{'auditor detect (all stages)':40}{wall:9.2f}{rss:14,.0f}")
    for name, (target_s, target_gb) in TARGETS.items():
        print(f"{'target, ' + name:40}{target_s:9.0f}{target_gb * 1024:14,.0f}")
    for name, (target_s, target_gb) in TARGETS.items():
        verdict = "meets" if wall <= target_s and rss <= target_gb * 1024 else "MISSES"
        print(f"{verdict} the {name} target")


if __name__ == "__main__":
    main()
