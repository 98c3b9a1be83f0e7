"""Benchmark: collect a 3,000-project sandbox GitLab instance into the workspace with the real python-gitlab.

Run: .venv/bin/python bench/collect_gitlab.py [--projects 3000] [--mode instance|group]
Prints the HTTP requests made, wall time and peak RSS of this (client) process. Issue #6 states no
time target; the sibling GitHub issue's is a 2,000-repo inventory in under 60 s, shown for scale.
The server runs in its own process so client timings and memory are the client's own.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serve import sandbox_server  # the server process shared by the collect benchmarks

OUT = Path(__file__).resolve().parent / "out"
TOKEN = "bench-token"
REFERENCE = "no target in issue #6; GitHub sibling: 2,000 repos < 60 s"


def build_instance(projects: int) -> Path:
    from auditor_sandbox.inventory_gitlab import build_gitlab_inventory, scale_tenant, write_gitlab_inventory

    tenant_dir = OUT / f"gitlab-{projects}"
    shutil.rmtree(tenant_dir, ignore_errors=True)
    tenant, start, end = scale_tenant(projects)
    inventory = build_gitlab_inventory(tenant, start, end)
    write_gitlab_inventory(tenant_dir, inventory)
    return tenant_dir


def collect(url: str, mode: str) -> dict[str, Any]:
    from auditor.config.models import GitLabSource, Restriction
    from auditor.connectors.gitlab.collect import collect as run_collect
    from auditor.connectors.gitlab.load import load_collected
    from auditor.importers.sqlfuncs import install_macros
    from auditor.restriction import classify_repo
    from auditor.workspace.store import Workspace

    rules = Restriction()

    def classify(p: dict[str, Any]) -> tuple[bool, int | None, str]:
        return classify_repo(rules, p["path_with_namespace"], p.get("visibility"), list(p.get("topics") or []))

    ws_dir = OUT / "gitlab-workspace"
    shutil.rmtree(ws_dir, ignore_errors=True)
    ws = Workspace.open(ws_dir)
    source = GitLabSource(base_url=url, instance=mode == "instance", groups=[] if mode == "instance" else ["acme"])
    start = time.perf_counter()
    collected = run_collect(source, TOKEN, datetime(2026, 7, 1), datetime(2026, 10, 1), lambda p: classify(p)[0])
    fetched = time.perf_counter() - start
    install_macros(ws.con)
    summary = load_collected(ws, collected, classify)
    total = time.perf_counter() - start
    ws.close()
    return {"summary": summary, "fetch_s": fetched, "total_s": total, "projects": len(collected.projects)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=3000)
    parser.add_argument("--mode", choices=("instance", "group"), default="instance")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.build_only:
        build_instance(args.projects)
        return
    t0 = time.perf_counter()
    # Built in a child process so this process's peak RSS is the collection's alone.
    subprocess.run([sys.executable, __file__, "--build-only", "--projects", str(args.projects)], check=True)
    tenant = OUT / f"gitlab-{args.projects}"
    print(f"sandbox instance built in {time.perf_counter() - t0:.1f} s ({tenant})")
    with sandbox_server("gitlab", str(tenant), "--token", TOKEN) as url:
        result = collect(url, args.mode)
    summary = result["summary"]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"mode:              {args.mode} (administrator token)")
    print(f"projects:          {result['projects']:,}")
    print(f"grants:            {summary.counts['grants']:,}   memberships: {summary.counts['memberships']:,}")
    print(f"HTTP requests:     {summary.requests:,}")
    print(
        f"wall time:         {result['total_s']:.1f} s (HTTP {result['fetch_s']:.1f} s, load "
        f"{result['total_s'] - result['fetch_s']:.1f} s)   reference: {REFERENCE}"
    )
    print(f"peak RSS (client): {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
