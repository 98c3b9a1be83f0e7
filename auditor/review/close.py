"""`review status` (completion per reviewer) and `review close` (the campaign's evidence files, including the
revocation plan per entitlement)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.csvsafe import write_rows
from auditor.review.campaign import Campaign, campaign_dir, find_campaign
from auditor.review.model import ReviewError, iso
from auditor.review.plan import Plan, platform_call, revocation_plan
from auditor.workspace.evidence import sha256_file, store_blob
from auditor.workspace.store import Workspace, utcnow

if TYPE_CHECKING:
    import duckdb

# The decision in force per row: the latest import wins (earlier ones stay in the history).
_CURRENT = """
SELECT row_id, arg_max(decision, imported_at) AS decision, arg_max(new_role, imported_at) AS new_role,
       arg_max(justification, imported_at) AS justification, arg_max(self_review, imported_at) AS self_review,
       max(imported_at) AS decided_at, arg_max(source_sha256, imported_at) AS source_sha256
FROM review_decisions WHERE campaign_id = $c GROUP BY row_id
"""
_STATUS = f"""
WITH d AS ({_CURRENT})
SELECT i.reviewer, count(*) AS rows, count(d.row_id) AS decided,
       count(*) FILTER (WHERE d.decision = 'keep') AS keep,
       count(*) FILTER (WHERE d.decision = 'revoke') AS revoke,
       count(*) FILTER (WHERE d.decision = 'modify') AS modify,
       min(d.decided_at) AS first_decision_at, max(d.decided_at) AS last_decision_at
FROM review_rows i LEFT JOIN d ON d.row_id = i.row_id
WHERE i.campaign_id = $c GROUP BY i.reviewer ORDER BY i.reviewer
"""


def status(con: duckdb.DuckDBPyConnection, name: str | None) -> tuple[Campaign, list[dict[str, Any]]]:
    """Per reviewer: rows, decided, pending, percent complete, keep/revoke/modify, first and last decision."""
    campaign = find_campaign(con, name)
    out = []
    for reviewer, rows, decided, keep, revoke, modify, first, last in con.execute(
        _STATUS, {"c": campaign.campaign_id}
    ).fetchall():
        out.append(
            {
                "reviewer": reviewer,
                "rows": rows,
                "decided": decided,
                "pending": rows - decided,
                "complete_pct": round(100 * decided / rows, 1) if rows else 100.0,
                "keep": keep,
                "revoke": revoke,
                "modify": modify,
                "first_decision_at": iso(first) or None,
                "last_decision_at": iso(last) or None,
            }
        )
    return campaign, out


@dataclass
class CloseResult:
    """The evidence a closed campaign left behind."""

    campaign: Campaign
    evidence_dir: Path
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.name,
            "evidence_dir": str(self.evidence_dir),
            "files": [{"name": n, "sha256": s} for n, s in self.files.items()],
            **{
                k: self.summary[k]
                for k in (
                    "rows",
                    "decided",
                    "not_reviewed",
                    "revocations",
                    "modifications",
                    "effective_grants_removed",
                    "accounts_losing_access",
                )
            },
        }


def _write_csv(path: Path, header: list[str], rows: list[tuple[Any, ...]]) -> None:
    """A CSV of `rows` (lists joined by '; '), formula-like cells neutralised (auditor.csvsafe)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        write_rows(
            fh,
            header,
            (["; ".join(v) if isinstance(v, list) else ("" if v is None else v) for v in row] for row in rows),
        )


def _decisions(con: duckdb.DuckDBPyConnection, campaign_id: str) -> list[tuple[Any, ...]]:
    """Every decision ever imported (history), with the row it is about and whether it is in force."""
    return con.execute(
        f"""
        WITH cur AS ({_CURRENT})
        SELECT d.row_id, d.reviewer, i.platform, i.kind, i.scope, i.account, i.team, i.identity, i.role, i.label,
               d.decision, d.new_role, d.justification, d.self_review, strftime(d.imported_at, '%Y-%m-%dT%H:%M:%SZ'),
               d.source_file, d.source_sha256, d.file_row,
               (d.imported_at = cur.decided_at AND d.source_sha256 = cur.source_sha256) AS in_force
        FROM review_decisions d JOIN review_rows i ON i.campaign_id = d.campaign_id AND i.row_id = d.row_id
        JOIN cur ON cur.row_id = d.row_id
        WHERE d.campaign_id = $c ORDER BY i.reviewer, i.platform, i.kind, i.scope, i.account, d.imported_at
        """,
        {"c": campaign_id},
    ).fetchall()


OUTCOME_HEADER = [
    "row_id", "entitlement_id", "platform", "kind", "scope", "account", "team", "identity", "role", "entitlement",
    "reach", "recommendation", "recommendation_reason", "reviewer", "routed", "change", "previous_role", "decision",
    "new_role", "justification", "decided_at",
]  # fmt: skip


def _outcomes(con: duckdb.DuckDBPyConnection, campaign: Campaign) -> list[tuple[Any, ...]]:
    """Per frozen row: its final decision (or none)."""
    return con.execute(
        f"""
        WITH cur AS ({_CURRENT})
        SELECT i.row_id, i.entitlement_id, i.platform, i.kind, i.scope, i.account, i.team, i.identity, i.role,
               i.label, i.reach_text, i.recommendation, i.recommendation_reason, i.reviewer, i.reviewer_rule,
               i.change, i.previous_role, cur.decision, cur.new_role, cur.justification,
               strftime(cur.decided_at, '%Y-%m-%dT%H:%M:%SZ'), e.object_id
        FROM review_rows i LEFT JOIN cur ON cur.row_id = i.row_id
        LEFT JOIN (SELECT entitlement_id, any_value(object_id) AS object_id FROM entitlements
                   WHERE list_contains($snaps::VARCHAR[], snapshot_id) GROUP BY ALL) e
               ON e.entitlement_id = i.entitlement_id
        WHERE i.campaign_id = $c ORDER BY i.platform, i.kind, i.scope, i.account
        """,
        {"c": campaign.campaign_id, "snaps": campaign.snapshot_ids},
    ).fetchall()


def _diff(con: duckdb.DuckDBPyConnection, campaign: Campaign) -> list[tuple[Any, ...]]:
    """new / role_changed / removed entitlements against the previous campaign (empty for the first)."""
    if campaign.previous_campaign is None:
        return []
    prev = find_campaign(con, campaign.previous_campaign)
    return con.execute(
        """
        WITH cur AS (SELECT entitlement_id, platform, kind, scope, account, team, role FROM review_rows
                     WHERE campaign_id = $c),
             old AS (SELECT entitlement_id, platform, kind, scope, account, team, role FROM review_rows
                     WHERE campaign_id = $p)
        SELECT CASE WHEN old.entitlement_id IS NULL THEN 'new' WHEN cur.entitlement_id IS NULL THEN 'removed'
                    ELSE 'role_changed' END AS change,
               coalesce(cur.platform, old.platform), coalesce(cur.kind, old.kind), coalesce(cur.scope, old.scope),
               coalesce(cur.account, old.account), coalesce(cur.team, old.team), old.role AS previous_role,
               cur.role AS role
        FROM cur FULL OUTER JOIN old USING (entitlement_id)
        WHERE old.entitlement_id IS NULL OR cur.entitlement_id IS NULL OR old.role IS DISTINCT FROM cur.role
        ORDER BY 1, 2, 3, 4, 5
        """,
        {"c": campaign.campaign_id, "p": prev.campaign_id},
    ).fetchall()


def _plan_rows(outcomes: list[tuple[Any, ...]], plan: Plan) -> list[tuple[Any, ...]]:
    """One row per entitlement to revoke or modify, with its platform call and the grants it removes."""
    out = []
    for o in outcomes:
        decision = o[17]
        if decision not in ("revoke", "modify"):
            continue
        call = platform_call(o[2], o[3], o[4], o[5], o[6], _object_of(o), decision, o[18])
        out.append((o[0], o[9], o[2], o[3], o[4], o[5] or "", o[6] or "", o[8] or "", decision, o[18] or "", call,
                    plan.removed_by_row.get(o[0], 0), o[13], o[19] or ""))  # fmt: skip
    return out


def _object_of(o: tuple[Any, ...]) -> str | None:
    return str(o[21]) if o[21] is not None else None


def close_campaign(ws: Workspace, name: str | None, force: bool) -> CloseResult:
    """Write the evidence files (decisions, outcomes, the revocation plan, unreachable repos per account, the
    diff, a summary), keep them in the evidence store, and mark the campaign closed."""
    con = ws.con
    campaign = find_campaign(con, name)
    if campaign.status != "open":
        raise ReviewError(f"campaign {campaign.name} is already closed")
    _, per_reviewer = status(con, campaign.name)
    pending = {r["reviewer"]: r["pending"] for r in per_reviewer if r["pending"]}
    if pending and not force:
        who = ", ".join(f"{k} ({v})" for k, v in list(pending.items())[:10])
        raise ReviewError(
            f"{sum(pending.values())} row(s) have no decision: {who}; import the worksheets, or close with --force "
            "to record them as not reviewed"
        )
    out = campaign_dir(ws.root, campaign) / "evidence"
    out.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    outcomes = _outcomes(con, campaign)
    revoked = {o[1]: o[0] for o in outcomes if o[17] == "revoke"}
    with ws.transaction() as tx:
        plan = revocation_plan(tx, campaign.snapshot_ids, revoked)
    decisions = _decisions(con, campaign.campaign_id)
    diff = _diff(con, campaign)
    _write_csv(
        out / "decisions.csv",
        [
            "row_id", "reviewer", "platform", "kind", "scope", "account", "team", "identity", "role", "entitlement",
            "decision", "new_role", "justification", "self_review", "decided_at", "source_file", "source_sha256",
            "file_row", "in_force",
        ],
        decisions,
    )  # fmt: skip
    _write_csv(out / "outcomes.csv", OUTCOME_HEADER, [o[:21] for o in outcomes])
    actions = _plan_rows(outcomes, plan)
    _write_csv(
        out / "revocations.csv",
        ["row_id", "entitlement", "platform", "kind", "scope", "account", "team", "role", "decision", "new_role",
         "platform_call", "effective_grants_removed", "reviewer", "justification"],
        actions,
    )  # fmt: skip
    _write_csv(
        out / "unreachable.csv",
        ["platform", "account", "restricted_repos_unreachable", "repos"],
        [(p, a, len(repos), repos) for p, a, repos in plan.unreachable],
    )
    _write_csv(out / "diff.csv", ["change", "platform", "kind", "scope", "account", "team", "previous_role", "role"],
               diff)  # fmt: skip
    not_reviewed = [o for o in outcomes if o[17] is None]
    summary: dict[str, Any] = {
        "campaign": campaign.name,
        "campaign_id": campaign.campaign_id,
        "by": campaign.mode,
        "created_at": iso(campaign.created_at),
        "closed_at": iso(now),
        "snapshot_ids": campaign.snapshot_ids,
        "check_run_id": campaign.check_run_id,
        "previous_campaign": campaign.previous_campaign,
        "rows": len(outcomes),
        "decided": len(outcomes) - len(not_reviewed),
        "not_reviewed": len(not_reviewed),
        "revocations": sum(1 for a in actions if a[8] == "revoke"),
        "modifications": sum(1 for a in actions if a[8] == "modify"),
        "effective_grants": campaign.effective_grants,
        "effective_grants_removed": plan.removed_total,
        "accounts_losing_access": len(plan.unreachable),
        "changes": {k: sum(1 for d in diff if d[0] == k) for k in ("new", "removed", "role_changed")},
        "reviewers": per_reviewer,
        "worksheets_imported": [
            {"file": f, "sha256": s, "imported_at": iso(t)}
            for f, s, t in con.execute(
                "SELECT source_file, source_sha256, min(imported_at) FROM review_decisions WHERE campaign_id = ? "
                "GROUP BY ALL ORDER BY 3",
                [campaign.campaign_id],
            ).fetchall()
        ],
    }
    result = CloseResult(campaign, out, summary=summary)
    for name_ in ("decisions.csv", "outcomes.csv", "revocations.csv", "unreachable.csv", "diff.csv"):
        result.files[name_] = sha256_file(out / name_)
    summary["files"] = dict(result.files)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    result.files["summary.json"] = sha256_file(out / "summary.json")
    with ws.transaction() as tx:
        for file_name, sha in result.files.items():
            stored, _ = store_blob(ws.evidence_dir, out / file_name, sha)
            tx.execute(
                "INSERT OR IGNORE INTO evidence VALUES (?, 'review_evidence', ?, ?, ?, ?)",
                [sha, f"review:{campaign.name}/{file_name}", str(stored), (out / file_name).stat().st_size, now],
            )
        tx.execute(
            "UPDATE review_campaigns SET status = 'closed', closed_at = ? WHERE campaign_id = ?",
            [now, campaign.campaign_id],
        )
    return result
