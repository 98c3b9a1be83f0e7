"""Benchmark: ~100,000 Entra sign-ins from the sandbox Graph server into the workspace.

Run: .venv/bin/python bench/collect_entra.py [--users 420]
Target (issue #3): <= 20 s for 100,000 sign-ins, printed next to the raw HTTP transfer alone.
The server runs in its own process so client timings are the client's own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serve import sandbox_server  # the server process shared by the collect benchmarks

OUT = Path(__file__).resolve().parent / "out"
TOKEN = "bench-token"
TARGET_S = 20.0
SINCE = "2026-06-01T00:00:00Z"


def raw_transfer(url: str) -> tuple[float, int]:
    """GET every sign-in page (interactive and non-interactive) with urllib: the floor for any client."""
    start = time.perf_counter()
    count = 0
    filters = [
        f"/v1.0/auditLogs/signIns?$filter=createdDateTime%20ge%20{SINCE}&$top=1000",
        f"/beta/auditLogs/signIns?$filter=createdDateTime%20ge%20{SINCE}%20and%20signInEventTypes/any(t:%20t%20eq%20"
        "'nonInteractiveUser')&$top=1000",
    ]
    for first in filters:
        next_url: str | None = url + first
        while next_url:
            request = urllib.request.Request(next_url, headers={"Authorization": f"Bearer {TOKEN}"})
            with urllib.request.urlopen(request) as response:
                doc = json.loads(response.read())
            count += len(doc["value"])
            next_url = doc.get("@odata.nextLink")
    return time.perf_counter() - start, count


def collect_into_workspace(url: str) -> tuple[float, int]:
    from auditor.config.models import EntraSource
    from auditor.connectors.entra.auth import AsyncStaticTokenCredential, EntraCredentials
    from auditor.connectors.entra.collect import collect
    from auditor.connectors.entra.load import load_collected
    from auditor.importers.sqlfuncs import install_macros
    from auditor.workspace.store import Workspace

    ws_dir = OUT / "entra-workspace"
    shutil.rmtree(ws_dir, ignore_errors=True)
    since = datetime.fromisoformat(SINCE[:-1])
    start = time.perf_counter()
    ws = Workspace.open(ws_dir)
    source = EntraSource(tenant_id="acme", graph_url=url, arm_url=url)
    collected = collect(
        source, EntraCredentials(AsyncStaticTokenCredential(TOKEN), AsyncStaticTokenCredential(TOKEN)), since
    )
    install_macros(ws.con)
    summary = load_collected(ws, "acme", collected, since)
    ws.close()
    elapsed = time.perf_counter() - start
    shutil.rmtree(ws_dir, ignore_errors=True)
    return elapsed, summary.signins_imported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=420, help="tenant size (420 users ~ 100,000 sign-ins)")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    tenant = OUT / f"entra-tenant-{args.users}"
    if not tenant.exists():
        from auditor_sandbox.generate import generate_tenant

        print(f"generating a {args.users}-user tenant ...", flush=True)
        generate_tenant(tenant, users=args.users)
    with sandbox_server("graph", "--dir", str(tenant), "--token", TOKEN, stop_wait_s=30) as url:
        raw_s, raw_n = raw_transfer(url)
        col_s, col_n = collect_into_workspace(url)
    print(f"\n{'':46}{'wall s':>8}{'sign-ins':>10}{'per s':>10}")
    print(f"{'raw HTTP transfer (urllib, json.loads per page)':46}{raw_s:8.2f}{raw_n:10,}{raw_n / raw_s:10,.0f}")
    print(f"{'collect + load into workspace (whole tenant)':46}{col_s:8.2f}{col_n:10,}{col_n / col_s:10,.0f}")
    per_100k = col_s * 100_000 / max(col_n, 1)
    verdict = "meets" if per_100k <= TARGET_S else "MISSES"
    print(f"\n{per_100k:.1f} s per 100,000 sign-ins; {verdict} the target (<= {TARGET_S:.0f} s per 100,000)")


if __name__ == "__main__":
    main()
