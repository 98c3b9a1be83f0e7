"""Benchmark: the whole inventory of a 2,000-repo, 1,500-member sandbox org through the GitHub connector.

Run: .venv/bin/python bench/collect_github.py [--repos 2000 --members 1500]
Targets (issue #5): the batched path (org-level REST lists + GraphQL collaborators and deploy keys,
many repos per query) makes >= 10x fewer HTTP requests than a one-REST-call-per-repo path on the
same org, and the whole inventory (collect + load into the workspace) takes < 60 s. The server
runs in its own process (`auditor sandbox serve github`), so timings are the client's own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._serve import sandbox_server  # the server process shared by the collect benchmarks

OUT = Path(__file__).resolve().parent / "out"
TOKEN = "bench-token"
TARGET_S = 60.0
TARGET_RATIO = 10.0


def build_org(out: Path, repos: int, members: int) -> dict[str, int]:
    """A scale-mode inventory (org base permission none) written as OUT/inventory/github.json."""
    from auditor_sandbox.generate import END
    from auditor_sandbox.inventory_github import INVENTORY_FILE, build_github_inventory, write_inventory
    from auditor_sandbox.tenant import build_tenant

    # ~65% of tenant repos are on GitHub; ~70% of people are GitHub org members.
    tenant = build_tenant(7, int(members * 1.55), int(repos * 1.55), END - timedelta(days=30), 5, 20)
    inv = build_github_inventory(tenant, now=END, base_permission="none", max_repos=repos, max_members=members,
                                 parent_pulls=False)  # fmt: skip
    if len(inv["repos"]) < repos or len([m for m in inv["members"] if m["role"]]) < members:
        raise SystemExit("tenant too small for the requested size")
    grants = write_inventory(out / INVENTORY_FILE, inv)
    return {"repos": len(inv["repos"]), "members": len(inv["members"]), "grants": grants, "teams": len(inv["teams"])}


def batched(url: str, ws_dir: Path) -> dict[str, float]:
    """The connector as `auditor collect github` runs it, then the load into a fresh workspace."""
    from auditor.config.models import GitHubSource
    from auditor.connectors.github.collect import GitHubCollector, build_api
    from auditor.connectors.github.load import load_collected
    from auditor.importers.sqlfuncs import install_macros
    from auditor.workspace.store import Workspace

    source = GitHubSource(base_url=url, org="acme-corp", enterprise="acme")
    start = time.perf_counter()
    api, app_auth = build_api(source, TOKEN)
    collected = GitHubCollector(source, api, datetime(2026, 9, 30), app_auth).run()
    collect_s = time.perf_counter() - start
    ws = Workspace.open(ws_dir)
    install_macros(ws.con)
    summary = load_collected(ws, url, collected, datetime(2026, 9, 30), ghes=False)
    total_s = time.perf_counter() - start
    grants = ws.con.execute("SELECT count(*) FROM grants").fetchone()
    ws.close()
    return {"requests": api.requests, "collect_s": collect_s, "total_s": total_s,
            "grants": float(grants[0] if grants else 0), "graphql": float(len(collected.graphql_pages)),
            "gaps": float(len(summary.gaps))}  # fmt: skip


def per_repo(url: str) -> dict[str, float]:
    """The same org-level lists, then one REST call per repo (and page) for direct collaborators and
    one for deploy keys, the way a client without GraphQL batching reads them."""
    from auditor.config.models import GitHubSource
    from auditor.connectors.github.collect import GitHubCollector, build_api

    source = GitHubSource(base_url=url, org="acme-corp", enterprise="acme")
    start = time.perf_counter()
    api, app_auth = build_api(source, TOKEN)

    class PerRepo(GitHubCollector):
        def _collaborators(self) -> None:
            for repo in self.out.items("repos"):
                if repo.get("visibility") == "public":
                    continue
                name = repo["full_name"]
                self.out.pages.setdefault("per_repo", []).extend(
                    [*self.api.pages(f"/repos/{name}/collaborators", {"affiliation": "direct"}),
                     *self.api.pages(f"/repos/{name}/keys")]
                )  # fmt: skip

    PerRepo(source, api, datetime(2026, 9, 30), app_auth).run()
    return {"requests": float(api.requests), "collect_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=2000)
    parser.add_argument("--members", type=int, default=1500)
    args = parser.parse_args()
    out = OUT / "github-scale"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    t = time.perf_counter()
    size = build_org(out, args.repos, args.members)
    print(f"sandbox org: {size['repos']:,} repos, {size['members']:,} members, {size['teams']} teams, "
          f"{size['grants']:,} ground-truth grants (built in {time.perf_counter() - t:.1f} s)")  # fmt: skip
    with sandbox_server("github", str(out), "--token", TOKEN, "--rate-limit", "100000000") as url:
        fast = batched(url, out / "workspace")
        slow = per_repo(url)
    ratio = slow["requests"] / fast["requests"]
    rows = [
        ("batched (REST lists + GraphQL, 50 repos/query)", f"{fast['requests']:,.0f}", f"{fast['collect_s']:.1f} s",
         f"{fast['total_s']:.1f} s"),
        ("per-repo REST (collaborators + keys)", f"{slow['requests']:,.0f}", f"{slow['collect_s']:.1f} s", "-"),
    ]  # fmt: skip
    print(f"\n{'path':<50} {'HTTP requests':>14} {'collect':>9} {'collect+load':>13}")
    for row in rows:
        print(f"{row[0]:<50} {row[1]:>14} {row[2]:>9} {row[3]:>13}")
    verdict_ratio = "met" if ratio >= TARGET_RATIO else "MISSED"
    verdict_time = "met" if fast["total_s"] < TARGET_S else "MISSED"
    print(f"\nrequests: {ratio:.1f}x fewer (target >= {TARGET_RATIO:.0f}x: {verdict_ratio}); "
          f"whole inventory {fast['total_s']:.1f} s (target < {TARGET_S:.0f} s: {verdict_time}); "
          f"{fast['grants']:,.0f} grants stored, {fast['graphql']:.0f} GraphQL queries")  # fmt: skip
    print(json.dumps({"batched": fast, "per_repo": slow, "ratio": ratio, "size": size}))


if __name__ == "__main__":
    main()
