"""Benchmark: import a 1,000,000-event GitHub NDJSON audit log; compare with DuckDB's read_json alone.

Run: .venv/bin/python bench/import_github.py [--events 1000000] [--keep]
Target (issue #2): >= 250,000 events/s and <= 1.5 GB peak RSS on a 2-core machine.
Issue #17: within 10% of 5.6 s / 178k events/s / 0.77 GB; a file with two bad lines (invalid UTF-8, broken
JSON) redoes only their blocks on the exact path, so it should cost little more than a clean file.
Each measurement runs in a fresh subprocess so peak RSS is that command's own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from itertools import islice
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
REF_17 = (5.6, 178_000, 770)  # issue #17's figure for the clean 1M-event import: s, events/s, MB
TARGET_RATE = 250_000
TARGET_RSS_MB = 1536


def make_input(events: int) -> Path:
    """Cut exactly `events` GitHub records from a sandbox tenant scaled to hold at least that many."""
    path = OUT / f"github-{events}.ndjson"
    if path.exists():
        return path
    from auditor_sandbox.generate import generate_tenant

    tenant = OUT / "tenant"
    shutil.rmtree(tenant, ignore_errors=True)
    print(f"generating a sandbox tenant with >= {events:,} GitHub events ...", flush=True)
    generate_tenant(tenant, events=int(events * 1.6))
    with (tenant / "github" / "audit-log.ndjson").open("rb") as src, path.open("wb") as dst:
        dst.writelines(islice(src, events))
    shutil.rmtree(tenant)
    return path


_WRAP = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "wall = time.perf_counter() - t\n"
    "sys.stderr.write(r.stderr)\n"
    "print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "print(r.stdout, end='')\n"
    "sys.exit(r.returncode)\n"
)


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one command, measured by a fresh wrapper process."""
    out = subprocess.run([sys.executable, "-c", _WRAP, *cmd], check=True, capture_output=True, text=True)
    first, _, rest = out.stdout.partition("\n")
    wall, peak_kb = first.split()
    return float(wall), int(peak_kb) / 1024, rest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the workspace under bench/out")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = make_input(args.events)
    lines = sum(1 for _ in path.open("rb"))
    size_mb = path.stat().st_size / 1e6
    print(f"input: {path} ({lines:,} lines, {size_mb:,.0f} MB)")

    count_sql = f"SELECT count(*) FROM read_json('{path}', format='newline_delimited')"
    ref_cmd = [sys.executable, "-c", f"import duckdb; print(duckdb.sql({count_sql!r}).fetchall()[0][0])"]
    ref_wall, ref_rss, ref_out = timed(ref_cmd)

    ws = OUT / "workspace"
    shutil.rmtree(ws, ignore_errors=True)
    cmd = [sys.executable, "-m", "auditor", "--workspace", str(ws), "import", str(path), "--json"]
    wall, rss, out = timed(cmd)
    summary = json.loads(out)
    rate = summary["imported"] / wall
    print()
    print(f"{'':34}{'wall s':>9}{'events/s':>14}{'peak RSS MB':>14}")
    print(f"{'DuckDB read_json count (reference)':34}{ref_wall:9.2f}{int(ref_out) / ref_wall:14,.0f}{ref_rss:14,.0f}")
    print(f"{'auditor import (whole command)':34}{wall:9.2f}{rate:14,.0f}{rss:14,.0f}")
    print(f"{'target':34}{'':9}{TARGET_RATE:14,}{TARGET_RSS_MB:14,}")
    print(
        f"\nimported {summary['imported']:,} events, {summary['duplicates']:,} duplicates, "
        f"{summary['rejected']:,} rejected; import/reference time ratio {wall / ref_wall:.1f}x"
    )
    verdict = "meets" if rate >= TARGET_RATE and rss <= TARGET_RSS_MB else "MISSES"
    print(f"{verdict} the target (>= {TARGET_RATE:,} events/s, <= {TARGET_RSS_MB:,} MB)")
    ref_s, ref_rate, ref_mb = REF_17
    print(f"issue #17 reference: {ref_s} s, {ref_rate:,} events/s, {ref_mb} MB (within 10%: <= {ref_s * 1.1:.2f} s)")

    bad = with_bad_lines(path)
    shutil.rmtree(ws, ignore_errors=True)
    bad_cmd = [sys.executable, "-m", "auditor", "--workspace", str(ws), "import", str(bad), "--json"]
    bwall, brss, bout = timed(bad_cmd)
    bsummary = json.loads(bout)
    print(
        f"\nwith two bad lines (invalid UTF-8 at line {lines // 3:,}, broken JSON at line {2 * lines // 3:,}): "
        f"{bwall:.2f} s, {bsummary['imported'] / bwall:,.0f} events/s, {brss:,.0f} MB peak; "
        f"{bsummary['rejected']} rejected; {bwall / wall:.2f}x the clean file"
    )
    bad.unlink()
    if not args.keep:
        shutil.rmtree(ws, ignore_errors=True)


def with_bad_lines(path: Path) -> Path:
    """A copy of `path` with an invalid UTF-8 byte on the line a third in and broken JSON two thirds in."""
    out = path.with_name(path.stem + "-bad.ndjson")
    with path.open("rb") as src:
        lines = src.readlines()
    n = len(lines)
    lines[n // 3 - 1] = lines[n // 3 - 1].replace(b'"action"', b'"acti\xffon"', 1)
    lines[2 * n // 3 - 1] = b'{"action": "git.clone", "actor":\n'
    with out.open("wb") as dst:
        dst.writelines(lines)
    return out


if __name__ == "__main__":
    main()
