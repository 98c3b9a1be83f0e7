"""`review start`: freeze the current snapshot, list grants on restricted repositories, assign reviewers,
compare with the previous campaign, and write one worksheet per reviewer."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.checks.run import run_checks
from auditor.checks.scope import build_views
from auditor.review.model import NAME_PATTERN, Item, ReviewError, row_hash, row_id, safe_file_name
from auditor.review.reviewers import ReviewerIndex
from auditor.review.worksheet import write_csv, write_xlsx
from auditor.workspace.store import Workspace, json_rows, utcnow

if TYPE_CHECKING:
    import duckdb

    from auditor.config.models import AuditorConfig

# Every current grant on a restricted repository, with identity, class, last activity and failed checks.
_ITEMS = """
WITH fails AS (
    SELECT DISTINCT platform, account, repo, check_id FROM check_results
    WHERE run_id = $run AND status = 'fail' AND (account IS NOT NULL OR repo IS NOT NULL)
),
grants AS (SELECT * FROM chk_grants WHERE restricted),
-- A result about a grant flags it; one about an account or a repository flags each of its grants.
flagged AS (
    SELECT platform, account, repo, check_id FROM fails WHERE account IS NOT NULL AND repo IS NOT NULL
    UNION
    SELECT g.platform, g.account, g.repo, f.check_id FROM grants g
    JOIN fails f ON f.platform = g.platform AND f.account = g.account AND f.repo IS NULL
    UNION
    SELECT g.platform, g.account, g.repo, f.check_id FROM grants g
    JOIN fails f ON f.platform = g.platform AND f.repo = g.repo AND f.account IS NULL
),
flags AS (SELECT platform, account, repo, list_sort(list(check_id)) AS flags FROM flagged GROUP BY ALL),
on_repo AS (SELECT platform, account, repo, max(last_at) AS last_at FROM chk_activity GROUP BY ALL),
anywhere AS (SELECT platform, account, max(last_at) AS last_at FROM chk_activity GROUP BY ALL)
SELECT g.platform, g.repo, g.account, coalesce(g.upn, g.identity_id) AS identity, g.account_class, g.role, g.via,
       r.last_at, a.last_at, f.flags
FROM grants g
LEFT JOIN on_repo r ON r.platform = g.platform AND r.account = g.account AND r.repo = g.repo
LEFT JOIN anywhere a ON a.platform = g.platform AND a.account = g.account
LEFT JOIN flags f ON f.platform = g.platform AND f.account = g.account AND f.repo = g.repo
ORDER BY g.platform, g.repo, g.account
"""
ITEM_COLUMNS = {
    "campaign_id": "VARCHAR",
    "row_id": "VARCHAR",
    "reviewer": "VARCHAR",
    "reviewer_rule": "VARCHAR",
    "platform": "VARCHAR",
    "repo": "VARCHAR",
    "account": "VARCHAR",
    "identity": "VARCHAR",
    "account_class": "VARCHAR",
    "role": "VARCHAR",
    "via": '["VARCHAR"]',
    "last_activity": "TIMESTAMP",
    "last_activity_any": "TIMESTAMP",
    "flags": '["VARCHAR"]',
    "change": "VARCHAR",
    "previous_role": "VARCHAR",
    "row_hash": "VARCHAR",
}


@dataclass
class Campaign:
    """A campaign row from the workspace."""

    campaign_id: str
    name: str
    status: str
    snapshot_ids: list[str]
    check_run_id: str | None
    previous_campaign: str | None
    out_dir: Path
    created_at: datetime
    closed_at: datetime | None


@dataclass
class StartResult:
    """What `review start` wrote."""

    campaign: Campaign
    rows: int
    worksheets: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.name,
            "campaign_id": self.campaign.campaign_id,
            "snapshot_ids": self.campaign.snapshot_ids,
            "previous_campaign": self.campaign.previous_campaign,
            "rows": self.rows,
            "changes": self.changes,
            "worksheets": self.worksheets,
            "out_dir": str(self.campaign.out_dir),
        }


_CAMPAIGN_COLS = (
    "campaign_id, name, status, snapshot_ids, check_run_id, previous_campaign, out_dir, created_at, closed_at"
)


def _campaign(row: tuple[Any, ...]) -> Campaign:
    return Campaign(row[0], row[1], row[2], list(row[3]), row[4], row[5], Path(row[6]), row[7], row[8])


def find_campaign(con: duckdb.DuckDBPyConnection, name: str | None) -> Campaign:
    """The named campaign, or (no name) the only open one."""
    if name is not None:
        row = con.execute(f"SELECT {_CAMPAIGN_COLS} FROM review_campaigns WHERE name = ?", [name]).fetchone()
        if row is None:
            raise ReviewError(f"no review campaign named {name!r}")
        return _campaign(row)
    rows = con.execute(
        f"SELECT {_CAMPAIGN_COLS} FROM review_campaigns WHERE status = 'open' ORDER BY created_at"
    ).fetchall()
    if len(rows) != 1:
        names = ", ".join(r[1] for r in rows) or "none"
        raise ReviewError(f"give --name: open campaigns are {names}")
    return _campaign(rows[0])


def _previous(con: duckdb.DuckDBPyConnection) -> Campaign | None:
    row = con.execute(
        f"SELECT {_CAMPAIGN_COLS} FROM review_campaigns WHERE status = 'closed' ORDER BY closed_at DESC LIMIT 1"
    ).fetchone()
    return _campaign(row) if row else None


def _previous_state(con: duckdb.DuckDBPyConnection, campaign_id: str) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(platform, repo, account) -> (role, final decision or '') in a closed campaign."""
    rows = con.execute(
        """
        SELECT i.platform, i.repo, i.account, i.role, coalesce(d.decision, '')
        FROM review_items i
        LEFT JOIN (SELECT row_id, arg_max(decision, imported_at) AS decision FROM review_decisions
                   WHERE campaign_id = ? GROUP BY row_id) d ON d.row_id = i.row_id
        WHERE i.campaign_id = ?
        """,
        [campaign_id, campaign_id],
    ).fetchall()
    return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}


def start_campaign(ws: Workspace, cfg: AuditorConfig, name: str, out_dir: Path | None) -> StartResult:
    """Run the checks (for flags), then freeze and write the campaign in one transaction."""
    if not NAME_PATTERN.match(name):
        raise ReviewError(f"campaign name {name!r}: use letters, digits, '.', '_' or '-' (e.g. 2026-Q4)")
    if ws.con.execute("SELECT 1 FROM review_campaigns WHERE name = ?", [name]).fetchone():
        raise ReviewError(f"a review campaign named {name!r} already exists")
    check_run = run_checks(ws, cfg, load="none")
    target = (out_dir or ws.root / "reviews" / name).resolve()
    if target.exists() and any(target.iterdir()):
        raise ReviewError(f"output directory is not empty: {target}")
    campaign_id = "review-" + uuid.uuid4().hex[:12]
    created = target.exists()
    try:
        with ws.transaction() as con:
            result = _start(ws, con, cfg, name, campaign_id, check_run.run_id, target)
    except BaseException:
        if not created:
            shutil.rmtree(target, ignore_errors=True)
        raise
    return result


def _start(
    ws: Workspace,
    con: duckdb.DuckDBPyConnection,
    cfg: AuditorConfig,
    name: str,
    campaign_id: str,
    check_run_id: str,
    target: Path,
) -> StartResult:
    build_views(con)
    snapshots = [r[0] for r in con.execute("SELECT snapshot_id FROM chk_snapshots ORDER BY 1").fetchall()]
    grants = con.execute(_ITEMS, {"run": check_run_id}).fetchall()
    if not grants:
        raise ReviewError("no grants on restricted repositories in the current inventory (run `auditor collect`)")
    previous = _previous(con)
    before = _previous_state(con, previous.campaign_id) if previous else {}
    reviewers = ReviewerIndex(con, cfg.review)
    items: list[Item] = []
    changes = {"new": 0, "role_changed": 0, "unchanged": 0, "removed": 0}
    for platform, repo, account, identity, cls, role, via, last_repo, last_any, flags in grants:
        reviewer, rule = reviewers.assign(platform, repo, account, via)
        prev = before.get((platform, repo, account))
        change = "new" if prev is None else ("role_changed" if prev[0] != role else "unchanged")
        if previous is None:
            change = "first_review"
        else:
            changes[change] += 1
        marks = list(flags or [])
        if prev is not None and prev[1] == "revoke":
            marks.append("revoke_not_applied")
        draft = Item(
            row_id(platform, repo, account), reviewer, rule, platform, repo, account, identity, cls, role,
            tuple(via), last_repo, last_any, tuple(marks), change,
            prev[0] if prev and prev[0] != role else None, "",
        )  # fmt: skip
        cells = draft.cells(name)
        items.append(replace(draft, row_hash=row_hash(campaign_id, cells)))
    current = {(i.platform, i.repo, i.account) for i in items}
    removed = sorted(k for k in before if k not in current)
    changes["removed"] = len(removed)
    con.execute(
        "INSERT INTO review_campaigns VALUES (?, ?, 'open', ?, ?, ?, ?, ?, NULL)",
        [campaign_id, name, snapshots, check_run_id, previous.name if previous else None, str(target), utcnow()],
    )
    sql, params = json_rows(ITEM_COLUMNS, [(campaign_id, *_item_row(i)) for i in items])
    con.execute(f"INSERT INTO review_items ({', '.join(ITEM_COLUMNS)}) {sql}", params)
    campaign = find_campaign(con, name)
    result = StartResult(campaign, len(items), changes=changes if previous else {})
    target.mkdir(parents=True, exist_ok=True)
    by_reviewer: dict[str, list[Item]] = {}
    for item in items:
        by_reviewer.setdefault(item.reviewer, []).append(item)
    removed_rows = [
        {"platform": p, "repo": r, "account": a, "previous_role": before[(p, r, a)][0]} for p, r, a in removed
    ]
    for reviewer, rows in sorted(by_reviewer.items()):
        stem = target / safe_file_name(reviewer)
        xlsx, csv_path = stem.with_suffix(".xlsx"), stem.with_suffix(".csv")
        repos = {i.repo for i in rows}
        mine = [r for r in removed_rows if r["repo"] in repos]
        write_xlsx(xlsx, name, reviewer, [i.cells(name) for i in rows], mine)
        write_csv(csv_path, [i.cells(name) for i in rows])
        result.worksheets.append({"reviewer": reviewer, "rows": len(rows), "xlsx": str(xlsx), "csv": str(csv_path)})
    return result


def _item_row(i: Item) -> tuple[object, ...]:
    return (
        i.row_id, i.reviewer, i.reviewer_rule, i.platform, i.repo, i.account, i.identity, i.account_class, i.role,
        list(i.via), i.last_activity, i.last_activity_any, list(i.flags), i.change, i.previous_role, i.row_hash,
    )  # fmt: skip
