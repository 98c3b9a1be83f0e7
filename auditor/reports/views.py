"""Analyst views read with set-based SQL: per account, per restricted repo, and check results by framework.

Each view degrades to "not collected" (an empty tuple plus a flag) when its input table is empty; the
templates then say so instead of showing an empty table that could read as "nothing wrong".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.finding_status import open_sql
from auditor.reports.context import fmt_ts
from auditor.reports.controls import ControlResult, control_results

if TYPE_CHECKING:
    from auditor.workspace.store import Workspace

SEVERITY_RANK_SQL = "list_position(['critical','high','medium','low','info'], severity)"

_LATEST_GRANTS = (
    "latest AS (SELECT g.platform, arg_max(g.snapshot_id, coalesce(s.created_at, TIMESTAMP '1970-01-01')) "
    "AS snapshot_id FROM grants g LEFT JOIN snapshots s USING (snapshot_id) GROUP BY 1), "
    "cur AS (SELECT g.* FROM grants g JOIN latest l USING (platform, snapshot_id))"
)


@dataclass(frozen=True)
class AccountRow:
    platform: str
    login: str
    identity: str | None
    account_class: str | None
    class_rule: str | None
    restricted_repos: int | None  # None: grants not collected
    downloads: int
    repos_downloaded: int
    open_findings: int
    worst: str | None
    last_seen: str


@dataclass(frozen=True)
class RepoRow:
    platform: str
    repo: str
    tier: int | None
    visibility: str | None
    accounts: int | None  # None: grants not collected
    admins: int | None
    downloads: int
    downloaders: int
    open_findings: int


@dataclass(frozen=True)
class RequirementRow:
    framework: str
    requirement: str
    passed: int
    failed: int
    not_evaluated: int

    @property
    def status(self) -> str:
        return "fail" if self.failed else ("not_evaluated" if self.not_evaluated else "pass")


@dataclass(frozen=True)
class ChecksView:
    run_id: str | None
    evaluated_at: str | None
    totals: tuple[tuple[str, int], ...]  # (status, count)
    requirements: tuple[RequirementRow, ...]
    controls: tuple[ControlResult, ...]  # fail and not_evaluated, one row per control and scope (counted, sampled)

    @property
    def collected(self) -> bool:
        return self.run_id is not None


def _count(ws: Workspace, table: str) -> int:
    row = ws.con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def accounts_view(ws: Workspace) -> tuple[AccountRow, ...]:
    """Every platform account with its class, reach into restricted repos, downloads and open findings."""
    has_grants = _count(ws, "grants") > 0
    rows = ws.con.execute(
        f"WITH {_LATEST_GRANTS}, "
        "reach AS (SELECT c.platform, c.account, count(DISTINCT c.repo) AS n FROM cur c JOIN repos r "
        "  ON r.platform = c.platform AND r.full_name = c.repo AND r.restricted GROUP BY 1, 2), "
        "dl AS (SELECT e.platform, e.actor, count(*) AS n, count(DISTINCT e.repo) AS repos FROM events e "
        "  JOIN repos r ON r.platform = e.platform AND r.full_name = e.repo AND r.restricted "
        "  WHERE e.category = 'download' GROUP BY 1, 2), "
        f"fi AS (SELECT platform, actor, count(*) AS n, min({SEVERITY_RANK_SQL}) AS worst FROM findings "
        f"  WHERE {open_sql()} GROUP BY 1, 2) "
        "SELECT a.platform, a.login, l.upn, a.account_class, a.class_rule, reach.n, coalesce(dl.n, 0), "
        "coalesce(dl.repos, 0), coalesce(fi.n, 0), fi.worst, a.last_seen "
        "FROM accounts a LEFT JOIN account_links l USING (platform, login) "
        "LEFT JOIN reach ON reach.platform = a.platform AND reach.account = a.login "
        "LEFT JOIN dl ON dl.platform = a.platform AND dl.actor = a.login "
        "LEFT JOIN fi ON fi.platform = a.platform AND fi.actor = a.login "
        "ORDER BY coalesce(fi.worst, 9), fi.n DESC NULLS LAST, dl.n DESC NULLS LAST, a.platform, a.login"
    ).fetchall()
    names = ("critical", "high", "medium", "low", "info")
    return tuple(
        AccountRow(
            platform=r[0], login=r[1], identity=r[2], account_class=r[3], class_rule=r[4],
            restricted_repos=(int(r[5] or 0) if has_grants else None), downloads=int(r[6]),
            repos_downloaded=int(r[7]), open_findings=int(r[8]), worst=names[r[9] - 1] if r[9] else None,
            last_seen=fmt_ts(r[10]),
        )
        for r in rows
    )  # fmt: skip


def repos_view(ws: Workspace) -> tuple[RepoRow, ...]:
    """Every restricted repository: who can reach it (when grants were collected), downloads, findings."""
    has_grants = _count(ws, "grants") > 0
    rows = ws.con.execute(
        f"WITH {_LATEST_GRANTS}, "
        "acc AS (SELECT platform, repo, count(DISTINCT account) AS n, "
        "  count(DISTINCT account) FILTER (WHERE role IN ('admin', 'owner', 'maintainer')) AS admins "
        "  FROM cur GROUP BY 1, 2), "
        "dl AS (SELECT platform, repo, count(*) AS n, count(DISTINCT actor) AS actors FROM events "
        "  WHERE category = 'download' AND repo IS NOT NULL GROUP BY 1, 2), "
        "fi AS (SELECT platform, unnest(repos) AS repo, count(*) AS n FROM findings "
        f"  WHERE {open_sql()} GROUP BY 1, 2) "
        "SELECT r.platform, r.full_name, r.tier, r.visibility, acc.n, acc.admins, coalesce(dl.n, 0), "
        "coalesce(dl.actors, 0), coalesce(fi.n, 0) FROM repos r "
        "LEFT JOIN acc ON acc.platform = r.platform AND acc.repo = r.full_name "
        "LEFT JOIN dl ON dl.platform = r.platform AND dl.repo = r.full_name "
        "LEFT JOIN fi ON fi.platform = r.platform AND fi.repo = r.full_name "
        "WHERE r.restricted ORDER BY fi.n DESC NULLS LAST, r.tier NULLS LAST, dl.n DESC NULLS LAST, 1, 2"
    ).fetchall()
    return tuple(
        RepoRow(
            platform=r[0], repo=r[1], tier=r[2], visibility=r[3],
            accounts=(int(r[4] or 0) if has_grants else None), admins=(int(r[5] or 0) if has_grants else None),
            downloads=int(r[6]), downloaders=int(r[7]), open_findings=int(r[8]),
        )
        for r in rows
    )  # fmt: skip


def checks_view(ws: Workspace) -> ChecksView:
    """The latest `auditor check` run: totals, each framework requirement's worst status, the non-passing rows."""
    latest: Any = ws.con.execute(
        "SELECT run_id, max(evaluated_at) FROM check_results GROUP BY 1 ORDER BY 2 DESC, 1 DESC LIMIT 1"
    ).fetchone()
    if latest is None:
        return ChecksView(None, None, (), (), ())  # no check run yet
    run_id = latest[0]
    totals = ws.con.execute(
        "SELECT status, count(*) FROM check_results WHERE run_id = ? GROUP BY 1 ORDER BY 1", [run_id]
    ).fetchall()
    reqs = ws.con.execute(
        "WITH f AS (SELECT unnest(frameworks) AS fw, status FROM check_results WHERE run_id = ?) "
        "SELECT CASE WHEN contains(fw, ':') THEN split_part(fw, ':', 1) ELSE fw END, "
        "CASE WHEN contains(fw, ':') THEN substr(fw, strpos(fw, ':') + 1) ELSE '' END, "
        "count(*) FILTER (WHERE status = 'pass'), count(*) FILTER (WHERE status = 'fail'), "
        "count(*) FILTER (WHERE status NOT IN ('pass', 'fail')) FROM f GROUP BY 1, 2 ORDER BY 1, 2",
        [run_id],
    ).fetchall()
    return ChecksView(
        run_id=run_id,
        evaluated_at=fmt_ts(latest[1]),
        totals=tuple((str(s), int(n)) for s, n in totals),
        requirements=tuple(RequirementRow(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in reqs),
        controls=control_results(ws, run_id),
    )
