"""`review start`: freeze the current snapshot, list the entitlements that reach restricted code (with their
reach as context), recommend, assign safe reviewers, compare with the previous campaign, and write one
worksheet per reviewer. Effective grants are the consequence: every one must be covered by a row."""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.checks.scope import build_views
from auditor.classify import classify_accounts
from auditor.entitlements.build import build_entitlements
from auditor.entitlements.listing import ago, label, reach_text
from auditor.restriction import apply_restriction
from auditor.review.model import NAME_PATTERN, ReviewError, Row, row_hash, row_id, worksheet_names
from auditor.review.recommend import Evidence, recommend
from auditor.review.reviewers import OPEN_SEVERE, ReviewerIndex, Subject
from auditor.review.worksheet import write_csv, write_xlsx
from auditor.workspace.store import Workspace, json_rows, utcnow

if TYPE_CHECKING:
    import duckdb

    from auditor.config.models import AuditorConfig

# Entitlements to review: everything that reaches a restricted repo, plus org owners, custom org roles,
# apps and Entra roles and groups whatever their reach. A team's grants on repos are one row per team and
# role (team_repos), not one per repo. Org membership of members is reviewed by manager
# (by owner, their base permission and team rows cover the same grants).
_ROWS = f"""
WITH non_devs AS (
    SELECT l.entitlement_id, count(DISTINCT l.account) AS n FROM ent_links l
    JOIN accounts a ON a.platform = l.platform AND a.login = l.account
    WHERE a.account_class = 'non_developer' GROUP BY ALL
),
flagged AS (
    SELECT who, arg_max(severity || ' finding ' || id, list_position(['high', 'critical'], severity)) AS finding
    FROM ({OPEN_SEVERE}) GROUP BY who
),
reference AS (
    SELECT p.platform, coalesce(s.last_at, p.taken_at) AS at, s.last_at IS NOT NULL AS logs_seen
    FROM chk_reference p LEFT JOIN chk_event_span s ON s.platform = p.platform
)
SELECT e.entitlement_id, e.platform, e.kind, e.scope, e.account, e.team, e.role, e.name, e.object_id,
       r.repos, r.by_tier, r.max_role, r.accounts, r.last_activity,
       coalesce(l.upn, l.identity_id, i2.upn) AS identity,
       coalesce(i.display_name, i2.display_name) AS display_name, coalesce(i.department, i2.department),
       coalesce(mi.upn, mi2.upn) AS manager, a.account_class,
       coalesce(i.account_enabled, i2.account_enabled), (l.identity_id IS NOT NULL AND i.identity_id IS NULL),
       coalesce(f1.finding, f2.finding), coalesce(nd.n, 0), coalesce(ref.logs_seen, false), ref.at
FROM ent_current e JOIN ent_reach r ON r.entitlement_id = e.entitlement_id
LEFT JOIN account_links l ON l.platform = e.platform AND l.login = e.account
LEFT JOIN identities i ON i.identity_id = l.identity_id
LEFT JOIN identities i2 ON e.platform = 'entra' AND i2.upn = e.account
LEFT JOIN identities mi ON mi.identity_id = i.manager_id
LEFT JOIN identities mi2 ON mi2.identity_id = i2.manager_id
LEFT JOIN accounts a ON a.platform = e.platform AND a.login = e.account
LEFT JOIN flagged f1 ON f1.who = e.account
LEFT JOIN flagged f2 ON f2.who = coalesce(l.upn, i2.upn)
LEFT JOIN non_devs nd ON nd.entitlement_id = e.entitlement_id
LEFT JOIN reference ref ON ref.platform = e.platform
WHERE (r.repos > 0 AND e.kind <> 'team_repo' AND (e.kind <> 'org_role' OR e.role = 'owner' OR $by = 'manager'))
   OR (e.kind = 'org_role' AND e.role = 'owner')
   OR e.kind IN ('custom_org_role', 'app_installation', 'oauth_app', 'idp_group_membership', 'directory_role')
ORDER BY e.platform, e.kind, e.scope, coalesce(e.team, ''), coalesce(e.account, '')
"""
# Effective grants on restricted repos in the frozen snapshots, and how many a campaign row covers.
_COVERAGE = """
WITH covered AS (
    SELECT DISTINCT l.platform, l.account, l.repo FROM ent_links l
    JOIN (SELECT unnest($ids::VARCHAR[]) AS entitlement_id) s ON s.entitlement_id = l.entitlement_id
    WHERE l.account IS NOT NULL AND l.path IS NOT NULL
)
SELECT count(*), count(c.account) FROM chk_grants g
LEFT JOIN covered c ON c.platform = g.platform AND c.account = g.account AND c.repo = g.repo
WHERE g.restricted
"""
ROW_COLUMNS = {
    "campaign_id": "VARCHAR", "row_id": "VARCHAR", "entitlement_id": "VARCHAR", "reviewer": "VARCHAR",
    "reviewer_rule": "VARCHAR", "worksheet": "VARCHAR", "platform": "VARCHAR", "kind": "VARCHAR",
    "scope": "VARCHAR", "account": "VARCHAR", "team": "VARCHAR", "role": "VARCHAR", "identity": "VARCHAR",
    "display_name": "VARCHAR", "department": "VARCHAR", "manager": "VARCHAR", "account_class": "VARCHAR",
    "reach": "VARCHAR", "reach_text": "VARCHAR", "last_used": "TIMESTAMP", "recommendation": "VARCHAR",
    "recommendation_reason": "VARCHAR", "change": "VARCHAR", "previous_role": "VARCHAR", "row_hash": "VARCHAR",
    "label": "VARCHAR",
}  # fmt: skip


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
    mode: str | None = None
    effective_grants: int | None = None


@dataclass
class StartResult:
    """What `review start` wrote."""

    campaign: Campaign
    rows: int
    effective_grants: int = 0
    effective_grants_covered: int = 0
    worksheets: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)
    recommendations: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.name,
            "campaign_id": self.campaign.campaign_id,
            "by": self.campaign.mode,
            "snapshot_ids": self.campaign.snapshot_ids,
            "previous_campaign": self.campaign.previous_campaign,
            "rows": self.rows,
            "effective_grants": self.effective_grants,
            "effective_grants_covered": self.effective_grants_covered,
            "coverage_pct": round(100 * self.effective_grants_covered / self.effective_grants, 2)
            if self.effective_grants
            else 100.0,
            "recommendations": self.recommendations,
            "changes": self.changes,
            "worksheets": self.worksheets,
            "out_dir": str(self.campaign.out_dir),
        }


_CAMPAIGN_COLS = (
    "campaign_id, name, status, snapshot_ids, check_run_id, previous_campaign, out_dir, created_at, closed_at, "
    "mode, effective_grants"
)


def _campaign(row: tuple[Any, ...]) -> Campaign:
    return Campaign(row[0], row[1], row[2], list(row[3]), row[4], row[5], Path(row[6]), row[7], row[8], row[9],
                    row[10])  # fmt: skip


def stored_dir(root: Path, target: Path) -> str:
    """How a campaign folder is recorded: relative to the workspace when inside it, so the record still
    points into the workspace after the workspace folder is moved or copied (issue #12)."""
    try:
        return target.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(target)


def campaign_dir(root: Path, campaign: Campaign) -> Path:
    """The campaign's folder for the workspace at `root`. A relative record is re-based onto the workspace;
    an absolute record from an earlier version that names the default `reviews/<name>` folder of another
    location is re-based too when this workspace has that folder (a moved or copied workspace)."""
    recorded = campaign.out_dir
    if not recorded.is_absolute():
        return root.resolve() / recorded
    here = root.resolve() / "reviews" / campaign.name
    if recorded != here and recorded.parts[-2:] == ("reviews", campaign.name) and here.is_dir():
        return here
    return recorded


def find_campaign(con: duckdb.DuckDBPyConnection, name: str | None) -> Campaign:
    """The named campaign, or (no name) the only open one. Grant-level campaigns of earlier versions are
    refused with a clear message (their rows are kept in `review_items`)."""
    if name is not None:
        row = con.execute(f"SELECT {_CAMPAIGN_COLS} FROM review_campaigns WHERE name = ?", [name]).fetchone()
        if row is None:
            raise ReviewError(f"no review campaign named {name!r}")
        campaign = _campaign(row)
    else:
        rows = con.execute(
            f"SELECT {_CAMPAIGN_COLS} FROM review_campaigns WHERE status = 'open' AND mode IS NOT NULL "
            "ORDER BY created_at"
        ).fetchall()
        if len(rows) != 1:
            names = ", ".join(r[1] for r in rows) or "none"
            raise ReviewError(f"give --name: open campaigns are {names}")
        campaign = _campaign(rows[0])
    if campaign.mode is None:
        raise ReviewError(
            f"campaign {campaign.name} reviews grants (an earlier version); its rows stay in the workspace, "
            "but it can only be read, not imported into or closed, by this version"
        )
    return campaign


def list_campaigns(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every campaign with its completion and decisions (newest first)."""
    rows = con.execute(
        """
        WITH cur AS (SELECT campaign_id, row_id, arg_max(decision, imported_at) AS decision
                     FROM review_decisions GROUP BY ALL)
        SELECT c.name, c.status, coalesce(c.mode, 'grants (earlier version)'), c.created_at, c.closed_at,
               count(r.row_id), count(cur.decision), count(*) FILTER (WHERE cur.decision = 'revoke'),
               count(DISTINCT r.reviewer), c.effective_grants
        FROM review_campaigns c
        LEFT JOIN review_rows r ON r.campaign_id = c.campaign_id
        LEFT JOIN cur ON cur.campaign_id = r.campaign_id AND cur.row_id = r.row_id
        GROUP BY ALL ORDER BY c.created_at DESC
        """
    ).fetchall()
    out = []
    for name, st, mode, created, closed, n, decided, revokes, reviewers, grants in rows:
        out.append(
            {
                "name": name, "status": st, "by": mode, "created_at": _iso(created), "closed_at": _iso(closed),
                "rows": n, "decided": decided, "complete_pct": round(100 * decided / n, 1) if n else 0.0,
                "revocations": revokes, "reviewers": reviewers, "effective_grants": grants,
            }
        )  # fmt: skip
    return out


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


def _previous(con: duckdb.DuckDBPyConnection) -> Campaign | None:
    row = con.execute(
        f"SELECT {_CAMPAIGN_COLS} FROM review_campaigns WHERE status = 'closed' AND mode IS NOT NULL "
        "ORDER BY closed_at DESC LIMIT 1"
    ).fetchone()
    return _campaign(row) if row else None


def _previous_state(con: duckdb.DuckDBPyConnection, campaign_id: str) -> dict[str, tuple[str | None, str]]:
    """entitlement_id -> (role, final decision or '') in a closed campaign."""
    rows = con.execute(
        """
        SELECT r.entitlement_id, r.role, coalesce(d.decision, '')
        FROM review_rows r
        LEFT JOIN (SELECT row_id, arg_max(decision, imported_at) AS decision FROM review_decisions
                   WHERE campaign_id = $c GROUP BY row_id) d ON d.row_id = r.row_id
        WHERE r.campaign_id = $c
        """,
        {"c": campaign_id},
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def start_campaign(
    ws: Workspace, cfg: AuditorConfig, name: str, out_dir: Path | None, by: str | None = None
) -> StartResult:
    """Freeze and write the campaign in one transaction; nothing is left behind when it fails."""
    if not NAME_PATTERN.match(name):
        raise ReviewError(f"campaign name {name!r}: use letters, digits, '.', '_' or '-' (e.g. 2026-Q4)")
    if ws.con.execute("SELECT 1 FROM review_campaigns WHERE name = ?", [name]).fetchone():
        raise ReviewError(f"a review campaign named {name!r} already exists")
    target = (out_dir or ws.root / "reviews" / name).resolve()
    if target.exists() and any(target.iterdir()):
        raise ReviewError(f"output directory is not empty: {target}")
    campaign_id = "review-" + uuid.uuid4().hex[:12]
    created = target.exists()
    try:
        with ws.transaction() as con:
            apply_restriction(ws, cfg.restriction)
            classify_accounts(ws, cfg.account_classes)
            build_views(con)
            build_entitlements(con, views=False, team_groups=True)
            result = _start(con, cfg, name, campaign_id, target, by or cfg.review.by, stored_dir(ws.root, target))
    except BaseException:
        if not created:
            shutil.rmtree(target, ignore_errors=True)
        raise
    return result


def _rows(con: duckdb.DuckDBPyConnection, cfg: AuditorConfig, by: str, before: dict[str, tuple[str | None, str]],
          previous: Campaign | None) -> list[Row]:  # fmt: skip
    reviewers = ReviewerIndex(con, cfg.review, by)
    drafts = []
    for (eid, platform, kind, scope, account, team, role, name, object_id, repos, by_tier, max_role, accounts, last,
         identity, display, department, manager, cls, enabled, deleted, finding, non_devs, logs_seen,
         reference) in con.execute(_ROWS, {"by": by}).fetchall():  # fmt: skip
        tiers = {t["tier"]: int(t["repos"]) for t in by_tier or []}
        now = reference or utcnow()
        prev = before.get(eid)
        evidence = Evidence(
            kind, role, max_role, int(repos), account, cls, last, enabled, bool(deleted), finding, int(non_devs),
            bool(logs_seen), previous.name if previous and prev and prev[1] == "revoke" else None,
        )  # fmt: skip
        rec, reason = recommend(evidence, now, cfg.review.unused_days)
        change = "first_review" if previous is None else "new" if prev is None else (
            "role_changed" if prev[0] != role else "unchanged")  # fmt: skip
        reach = {"repos": int(repos), "by_tier": tiers, "max_role": max_role, "accounts": int(accounts)}
        drafts.append(
            Row(
                row_id(eid), eid, "", "", "", platform, kind, scope, account, team, role, identity, display,
                department, manager, cls, json.dumps(reach, sort_keys=True),
                reach_text(int(repos), tiers, max_role, int(accounts), ago(last, now)), last, rec, reason, change,
                prev[0] if prev and prev[0] != role else None, "", label(kind, scope, team, role, name, object_id),
            )
        )  # fmt: skip
    subjects = [Subject(r.entitlement_id, r.platform, r.kind, r.scope, r.account, r.team, r.identity) for r in drafts]
    assigned = reviewers.assign_all(subjects)
    return [replace(r, reviewer=who, reviewer_rule=why) for r, (who, why) in zip(drafts, assigned, strict=True)]


def _start(
    con: duckdb.DuckDBPyConnection,
    cfg: AuditorConfig,
    name: str,
    campaign_id: str,
    target: Path,
    by: str,
    recorded: str,
) -> StartResult:
    snapshots = [r[0] for r in con.execute("SELECT snapshot_id FROM chk_snapshots ORDER BY 1").fetchall()]
    previous = _previous(con)
    before = _previous_state(con, previous.campaign_id) if previous else {}
    rows = _rows(con, cfg, by, before, previous)
    if not rows:
        raise ReviewError("no entitlements reach restricted repositories in the current inventory "
                          "(run `auditor collect`)")  # fmt: skip
    grants, covered = con.execute(_COVERAGE, {"ids": [r.entitlement_id for r in rows]}).fetchone() or (0, 0)
    stems = worksheet_names(sorted({r.reviewer for r in rows}))
    rows = [replace(r, worksheet=stems[r.reviewer]) for r in rows]
    rows = [replace(r, row_hash=row_hash(campaign_id, r.cells(name))) for r in rows]
    check_run = con.execute("SELECT arg_max(run_id, evaluated_at) FROM check_results").fetchone()
    con.execute(
        "INSERT INTO review_campaigns (campaign_id, name, status, snapshot_ids, check_run_id, previous_campaign, "
        "out_dir, created_at, closed_at, mode, effective_grants) VALUES (?, ?, 'open', ?, ?, ?, ?, ?, NULL, ?, ?)",
        [campaign_id, name, snapshots, check_run[0] if check_run else None, previous.name if previous else None,
         recorded, utcnow(), by, int(grants)],
    )  # fmt: skip
    sql, params = json_rows(ROW_COLUMNS, [(campaign_id, *_row_values(r)) for r in rows])
    con.execute(f"INSERT INTO review_rows ({', '.join(ROW_COLUMNS)}) {sql}", params)
    campaign = replace(find_campaign(con, name), out_dir=target)
    result = StartResult(campaign, len(rows), int(grants), int(covered))
    for r in rows:
        result.recommendations[r.recommendation] = result.recommendations.get(r.recommendation, 0) + 1
    if previous is not None:
        current = {r.entitlement_id for r in rows}
        for r in rows:
            result.changes[r.change] = result.changes.get(r.change, 0) + 1
        result.changes["removed"] = sum(1 for eid in before if eid not in current)
    target.mkdir(parents=True, exist_ok=True)
    by_reviewer: dict[str, list[Row]] = {}
    for r in rows:
        by_reviewer.setdefault(r.reviewer, []).append(r)
    for reviewer, mine in sorted(by_reviewer.items()):
        stem = stems[reviewer]
        xlsx, csv_path = target / f"{stem}.xlsx", target / f"{stem}.csv"
        cells = [r.cells(name) for r in _reading_order(mine)]
        write_xlsx(xlsx, name, reviewer, cells)
        write_csv(csv_path, cells)
        result.worksheets.append({"reviewer": reviewer, "rows": len(mine), "xlsx": str(xlsx), "csv": str(csv_path)})
    return result


def _reading_order(rows: list[Row]) -> list[Row]:
    """Revocations first (what needs a decision most), then by account and entitlement."""
    rank = {"revoke": 0, "review": 1, "keep": 2}
    return sorted(rows, key=lambda r: (rank.get(r.recommendation, 3), r.account or "", r.label))


def _row_values(r: Row) -> tuple[object, ...]:
    return (
        r.row_id, r.entitlement_id, r.reviewer, r.reviewer_rule, r.worksheet, r.platform, r.kind, r.scope,
        r.account, r.team, r.role, r.identity, r.display_name, r.department, r.manager, r.account_class, r.reach,
        r.reach_text, r.last_used, r.recommendation, r.recommendation_reason, r.change, r.previous_role, r.row_hash,
        r.label,
    )  # fmt: skip
