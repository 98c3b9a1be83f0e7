"""Benchmark: `auditor check` and `auditor review start` over a large synthetic inventory.

Run: .venv/bin/python bench/checks_review.py [--accounts 5000 --repos 2000 --grants 40 --events 1000000]
 or: .venv/bin/python bench/checks_review.py --workspace COPY_OF_DEMO_WS --config demo-out/sandbox/auditor.yaml
Issue #7 states no figure; the reference printed alongside is one plain DuckDB aggregate over the same
grants joined to activity (what any per-grant check at least has to read). The inventory is written
set-based straight into a fresh workspace (generation is not timed) under bench/out.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.import_github import timed  # the shared wall-time/peak-RSS wrapper of the bench folder

OUT = Path(__file__).resolve().parent / "out"


def build(ws_dir: Path, accounts: int, repos: int, grants: int, events: int) -> None:
    from auditor.workspace.store import Workspace

    shutil.rmtree(ws_dir, ignore_errors=True)
    ws = Workspace.open(ws_dir)
    con = ws.con
    with ws.transaction():
        con.execute(
            "INSERT INTO snapshots VALUES ('snap-gh', 'collect', 'github', 'acme', TIMESTAMP '2026-11-20', 'b')"
        )
        con.execute(
            "INSERT INTO repos (platform, full_name, visibility, topics) SELECT 'github', 'acme/r' || i, "
            "CASE WHEN i % 10 = 0 THEN 'public' ELSE 'private' END, [] FROM range(?) t(i)",
            [repos],
        )
        con.execute(
            "INSERT INTO identities (identity_id, upn, department, employee_type, user_type, account_enabled) "
            "SELECT 'id' || i, 'u' || i || '@acme.example', CASE WHEN i % 7 = 0 THEN 'Sales' ELSE 'Engineering' END, "
            "CASE WHEN i % 31 = 0 THEN 'Contractor' ELSE 'Employee' END, 'Member', i % 53 <> 0 FROM range(?) t(i)",
            [accounts],
        )
        con.execute(
            "INSERT INTO accounts (platform, login, is_bot) SELECT 'github', 'u' || i, false FROM range(?) t(i)",
            [accounts],
        )
        con.execute(
            "INSERT INTO account_links SELECT 'github', 'u' || i, 'id' || i, 'u' || i || '@acme.example', 'saml', "
            "0.95, NULL FROM range(?) t(i) WHERE i % 97 <> 0",
            [accounts],
        )
        con.execute(
            "INSERT INTO grants SELECT DISTINCT 'snap-gh', 'github', 'u' || a, "
            "'acme/r' || ((a * 7919 + g * 104729) % ?), "
            "CASE WHEN g % 9 = 0 THEN 'admin' WHEN g % 3 = 0 THEN 'write' ELSE 'read' END, "
            "CASE WHEN g % 11 = 0 THEN ['org_base'] WHEN g % 13 = 0 THEN ['outside_collaborator'] "
            "ELSE ['team:t' || (g % 50)] END FROM range(?) x(a), range(?) y(g)",
            [repos, accounts, grants],
        )
        con.execute(
            "INSERT INTO memberships SELECT 'snap-gh', 'github', 'team', 't' || (i % 50), 'u' || i, "
            "CASE WHEN i < 100 THEN 'maintainer' ELSE 'member' END, NULL, 'b' FROM range(?) t(i)",
            [accounts],
        )
        con.execute(
            "INSERT INTO credentials (snapshot_id, platform, kind, credential_id, owner, scopes, created_at, "
            "last_used_at, expires_at, source) SELECT 'snap-gh', 'github', 'classic_pat', i::VARCHAR, 'u' || i, "
            "CASE WHEN i % 2 = 0 THEN ['repo'] ELSE ['read:org'] END, TIMESTAMP '2025-01-01', "
            "TIMESTAMP '2026-11-01' - to_days(CAST(i % 200 AS INTEGER)), NULL, 'b' FROM range(?) t(i)",
            [accounts],
        )
        con.execute(
            "INSERT INTO events (event_uid, platform, source_format, ts, action, category, actor, repo, "
            "evidence_sha256, line_no, import_id) SELECT 'e' || i, 'github', 'b', "
            "TIMESTAMP '2026-11-20' - to_minutes(CAST(i % 259200 AS INTEGER)), "
            "CASE WHEN i % 5 = 0 THEN 'repo.create' ELSE 'git.clone' END, 'download', 'u' || (i % ?), "
            "'acme/r' || (i % ?), 'sha', i, 'b' FROM range(?) t(i)",
            [accounts, repos, events],
        )
        n = con.execute("SELECT count(*) FROM grants").fetchone()
    ws.close()
    print(f"inventory: {accounts:,} accounts, {repos:,} repos, {n[0] if n else 0:,} grants, {events:,} events")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--repos", type=int, default=2000)
    parser.add_argument("--grants", type=int, default=40, help="grants per account")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--workspace",
        type=Path,
        default=None,
        help="Only time `auditor check` on this workspace (a copy!) and print "
        "the control figures, e.g. a copy of the demo workspace; --config for its config.",
    )
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args()
    if args.workspace:
        config = ["--config", str(args.config)] if args.config else []
        wall, rss, _ = timed([sys.executable, "-m", "auditor", "--workspace", str(args.workspace), *config, "check"])
        print(f"auditor check: {wall:6.1f} s  peak RSS {rss:7,.0f} MB")
        control_figures(args.workspace)
        return
    OUT.mkdir(exist_ok=True)
    ws = OUT / "checks-workspace"
    build(ws, args.accounts, args.repos, args.grants, args.events)

    ref_sql = (
        "SELECT count(*) FROM grants g LEFT JOIN (SELECT actor, max(ts) m FROM events GROUP BY actor) a "
        "ON a.actor = g.account WHERE a.m IS NULL OR a.m < TIMESTAMP '2026-08-22'"
    )
    db = ws / "auditor.duckdb"
    ref = [sys.executable, "-c", f"import duckdb; print(duckdb.connect({str(db)!r}).sql({ref_sql!r}).fetchall())"]
    ref_wall, ref_rss, _ = timed(ref)
    check_wall, check_rss, _ = timed([sys.executable, "-m", "auditor", "--workspace", str(ws), "check"])
    json_wall, json_rss, _ = timed([sys.executable, "-m", "auditor", "--workspace", str(ws), "check", "--json"])
    review = [sys.executable, "-m", "auditor", "--workspace", str(ws), "review", "start", "--name", "bench", "--json"]
    review_wall, review_rss, _ = timed(review)
    print(f"reference (one grants x activity aggregate): {ref_wall:6.1f} s  peak RSS {ref_rss:7,.0f} MB")
    print(f"auditor check (22 checks, results + controls): {check_wall:6.1f} s  peak RSS {check_rss:7,.0f} MB")
    print(f"auditor check --json (every result printed):   {json_wall:6.1f} s  peak RSS {json_rss:7,.0f} MB")
    print(f"auditor review start (checks + worksheets):   {review_wall:6.1f} s  peak RSS {review_rss:7,.0f} MB")
    control_figures(ws)


def control_figures(ws_dir: Path) -> None:
    """What people get from the last check run: per-resource results vs controls vs check findings."""
    import duckdb

    con = duckdb.connect(str(ws_dir / "auditor.duckdb"), read_only=True)
    run = con.execute("SELECT run_id FROM check_results ORDER BY evaluated_at DESC LIMIT 1").fetchone()
    if not run:
        print("no check run in the workspace")
        return
    results, failing = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'fail') FROM check_results WHERE run_id = ?", [run[0]]
    ).fetchone() or (0, 0)
    controls, failing_controls = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE failing) FROM (SELECT bool_or(status = 'fail') AS failing "
        "FROM check_results WHERE run_id = ? GROUP BY check_id, platform, scope)",
        [run[0]],
    ).fetchone() or (0, 0)
    from auditor.findings import OPEN_SQL

    findings, open_ = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {OPEN_SQL}) FROM findings WHERE starts_with(analytic, 'check:')"
    ).fetchone() or (0, 0)
    print(
        f"per-resource results: {results:,} ({failing:,} failing) -> controls (check x platform x scope): "
        f"{controls:,} ({failing_controls:,} failing) -> check findings: {findings:,} ({open_:,} open)"
    )
    top = con.execute(
        "SELECT reasons[1], reasons[2] FROM findings WHERE starts_with(analytic, 'check:') "
        "ORDER BY score DESC, len(reasons[1]) DESC LIMIT 1"
    ).fetchone()
    if top:
        print(f"largest control finding: {top[0]}\n  {top[1]}")


if __name__ == "__main__":
    main()
