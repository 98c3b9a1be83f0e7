"""`review status` (completion per reviewer) and `review close` (the campaign's evidence files)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.review.campaign import Campaign, find_campaign
from auditor.review.model import ReviewError, iso
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
FROM review_items i LEFT JOIN d ON d.row_id = i.row_id
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
            **{k: self.summary[k] for k in ("rows", "decided", "not_reviewed", "revocations", "modifications")},
        }


def _write_csv(path: Path, header: list[str], rows: list[tuple[Any, ...]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["; ".join(v) if isinstance(v, list) else ("" if v is None else v) for v in row])


def _decisions(con: duckdb.DuckDBPyConnection, campaign_id: str) -> list[tuple[Any, ...]]:
    """Every decision ever imported (history), with the row it is about and whether it is in force."""
    return con.execute(
        f"""
        WITH cur AS ({_CURRENT})
        SELECT d.row_id, d.reviewer, i.platform, i.repo, i.account, i.identity, i.role, i.via, d.decision,
               d.new_role, d.justification, d.self_review, strftime(d.imported_at, '%Y-%m-%dT%H:%M:%SZ'),
               d.source_file, d.source_sha256, d.file_row,
               (d.imported_at = cur.decided_at AND d.source_sha256 = cur.source_sha256) AS in_force
        FROM review_decisions d JOIN review_items i ON i.campaign_id = d.campaign_id AND i.row_id = d.row_id
        JOIN cur ON cur.row_id = d.row_id
        WHERE d.campaign_id = $c ORDER BY i.reviewer, i.platform, i.repo, i.account, d.imported_at
        """,
        {"c": campaign_id},
    ).fetchall()


def _outcomes(con: duckdb.DuckDBPyConnection, campaign_id: str) -> list[tuple[Any, ...]]:
    """Per frozen row: its final decision (or none)."""
    return con.execute(
        f"""
        WITH cur AS ({_CURRENT})
        SELECT i.platform, i.repo, i.account, i.identity, i.account_class, i.role, i.via, i.reviewer, i.flags,
               i.change, i.previous_role, cur.decision, cur.new_role, cur.justification,
               strftime(cur.decided_at, '%Y-%m-%dT%H:%M:%SZ')
        FROM review_items i LEFT JOIN cur ON cur.row_id = i.row_id
        WHERE i.campaign_id = $c ORDER BY i.platform, i.repo, i.account
        """,
        {"c": campaign_id},
    ).fetchall()


def _diff(con: duckdb.DuckDBPyConnection, campaign: Campaign) -> list[tuple[Any, ...]]:
    """new / role_changed / removed grants against the previous campaign (empty for the first)."""
    if campaign.previous_campaign is None:
        return []
    prev = find_campaign(con, campaign.previous_campaign)
    return con.execute(
        """
        WITH cur AS (SELECT platform, repo, account, role FROM review_items WHERE campaign_id = $c),
             old AS (SELECT platform, repo, account, role FROM review_items WHERE campaign_id = $p)
        SELECT CASE WHEN old.account IS NULL THEN 'new' WHEN cur.account IS NULL THEN 'removed'
                    ELSE 'role_changed' END AS change,
               coalesce(cur.platform, old.platform), coalesce(cur.repo, old.repo), coalesce(cur.account, old.account),
               old.role AS previous_role, cur.role AS role
        FROM cur FULL OUTER JOIN old USING (platform, repo, account)
        WHERE old.account IS NULL OR cur.account IS NULL OR old.role <> cur.role
        ORDER BY 1, 2, 3, 4
        """,
        {"c": campaign.campaign_id, "p": prev.campaign_id},
    ).fetchall()


def close_campaign(ws: Workspace, name: str | None, force: bool) -> CloseResult:
    """Write the evidence files, keep them in the evidence store, and mark the campaign closed."""
    con = ws.con
    campaign = find_campaign(con, name)
    if campaign.status != "open":
        raise ReviewError(f"campaign {campaign.name} is already closed")
    _, per_reviewer = status(con, campaign.name)
    pending = {r["reviewer"]: r["pending"] for r in per_reviewer if r["pending"]}
    if pending and not force:
        who = ", ".join(f"{k} ({v})" for k, v in pending.items())
        raise ReviewError(
            f"{sum(pending.values())} row(s) have no decision: {who}; import the worksheets, or close with --force "
            "to record them as not reviewed"
        )
    out = campaign.out_dir / "evidence"
    out.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    outcomes = _outcomes(con, campaign.campaign_id)
    decisions = _decisions(con, campaign.campaign_id)
    diff = _diff(con, campaign)
    _write_csv(
        out / "decisions.csv",
        [
            "row_id", "reviewer", "platform", "repo", "account", "identity", "role", "via", "decision", "new_role",
            "justification", "self_review", "decided_at", "source_file", "source_sha256", "file_row", "in_force",
        ],
        decisions,
    )  # fmt: skip
    outcome_header = [
        "platform", "repo", "account", "identity", "account_class", "role", "via", "reviewer", "flags", "change",
        "previous_role", "decision", "new_role", "justification", "decided_at",
    ]  # fmt: skip
    _write_csv(out / "outcomes.csv", outcome_header, outcomes)
    actions = [o for o in outcomes if o[11] in ("revoke", "modify")]
    _write_csv(out / "revocations.csv", outcome_header, actions)
    _write_csv(out / "diff.csv", ["change", "platform", "repo", "account", "previous_role", "role"], diff)
    not_reviewed = [o for o in outcomes if o[11] is None]
    summary: dict[str, Any] = {
        "campaign": campaign.name,
        "campaign_id": campaign.campaign_id,
        "created_at": iso(campaign.created_at),
        "closed_at": iso(now),
        "snapshot_ids": campaign.snapshot_ids,
        "check_run_id": campaign.check_run_id,
        "previous_campaign": campaign.previous_campaign,
        "rows": len(outcomes),
        "decided": len(outcomes) - len(not_reviewed),
        "not_reviewed": len(not_reviewed),
        "revocations": sum(1 for o in actions if o[11] == "revoke"),
        "modifications": sum(1 for o in actions if o[11] == "modify"),
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
    for name_ in ("decisions.csv", "outcomes.csv", "revocations.csv", "diff.csv"):
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
