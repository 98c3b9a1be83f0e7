"""Benchmark: `auditor review start` (entitlement-level campaign) on the sandbox tenant, default and scaled.

Run: .venv/bin/python bench/review_campaign.py [--users 300 --repos 400 --days 90] [--keep]
Issue #14's target on the 300-person sandbox: <= 10 s and <= 1 GB (the grant-level campaign took 51 s and
1.9 GB). The sandbox is generated and collected through the sandbox API servers first (not timed); the
figures printed are wall time and peak RSS of `review start` in a fresh process, with the human-scale
figures the issue asks for: rows, effective grants, coverage and the largest worksheet.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.import_github import timed  # the shared wall-time/peak-RSS wrapper of the bench folder

OUT = Path(__file__).resolve().parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--repos", type=int, default=400)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--keep", action="store_true", help="keep the sandbox and workspace under bench/out")
    args = parser.parse_args()
    from auditor.cli.demo_build import build_sandbox_workspace

    out = OUT / f"review-{args.users}x{args.repos}"
    shutil.rmtree(out, ignore_errors=True)
    run = build_sandbox_workspace(out, users=args.users, repos=args.repos, days=args.days)
    run.ws.close()
    base = [sys.executable, "-m", "auditor", "--workspace", str(out / "workspace"),
            "--config", str(out / "sandbox" / "auditor.yaml")]  # fmt: skip
    ref_wall, ref_rss, _ = timed([*base, "entitlements", "--format", "json"])
    wall, rss, stdout = timed([*base, "review", "start", "--name", "bench", "--out", str(out / "reviews"), "--json"])
    data = json.loads(stdout)
    largest = max(data["worksheets"], key=lambda w: w["rows"])
    print(f"sandbox: {args.users:,} users, {args.repos:,} repos, {args.days} days")
    print(f"campaign: {data['rows']:,} rows for {len(data['worksheets'])} reviewers; "
          f"{data['effective_grants']:,} effective grants, {data['effective_grants_covered']:,} covered "
          f"({data['coverage_pct']}%); rows are {100 * data['rows'] / max(1, data['effective_grants']):.1f}% of "
          f"the grants; largest worksheet {largest['rows']} rows ({largest['reviewer']})")  # fmt: skip
    print(f"reference (auditor entitlements, the derivation alone): {ref_wall:6.1f} s  peak RSS {ref_rss:7,.0f} MB")
    print(f"auditor review start:                                   {wall:6.1f} s  peak RSS {rss:7,.0f} MB")
    print("target on the 300-person sandbox: <= 10 s and <= 1,024 MB (grant-level campaign before: 51 s, 1.9 GB)")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
