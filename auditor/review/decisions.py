"""`review import`: validate filled worksheets against the frozen rows and record the decisions.

A file is accepted whole or rejected whole: every problem is reported with file, row and reason, and
a rejected file changes nothing. Rows left undecided are not problems: a partial submission records the
decided rows and the rest stay pending. Accepted files are kept in the evidence store (by SHA-256), and each
decision records the reviewer, the file, its row and the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.entitlements.build import GITHUB_REPO_ROLES, GITLAB_ROLES
from auditor.errors import InputError
from auditor.review.campaign import Campaign, find_campaign
from auditor.review.model import DECISIONS, FIXED_COLUMNS, ReviewError, Row
from auditor.review.worksheet import read_rows
from auditor.workspace.evidence import sha256_file, store_blob
from auditor.workspace.store import Workspace, json_rows, utcnow

if TYPE_CHECKING:
    import duckdb

DECISION_COLUMNS = {
    "campaign_id": "VARCHAR",
    "row_id": "VARCHAR",
    "reviewer": "VARCHAR",
    "decision": "VARCHAR",
    "new_role": "VARCHAR",
    "justification": "VARCHAR",
    "self_review": "BOOLEAN",
    "source_file": "VARCHAR",
    "source_sha256": "VARCHAR",
    "file_row": "INTEGER",
    "imported_at": "TIMESTAMP",
}


@dataclass
class FileResult:
    """One worksheet's fate."""

    path: str
    status: str = "rejected"
    campaign: str | None = None
    rows: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    errors: list[tuple[int, str]] = field(default_factory=list)
    sha256: str | None = None
    pending: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "campaign": self.campaign,
            "rows": self.rows,
            "decisions": self.decisions,
            "pending": self.pending,
            "sha256": self.sha256,
            "errors": [{"row": row, "reason": reason} for row, reason in self.errors],
        }


# The roles `modify` may set, per platform and kind; other kinds can only be kept or revoked.
ROLES: dict[tuple[str, str], tuple[str, ...]] = {
    **{("github", k): GITHUB_REPO_ROLES for k in ("team_repo", "team_repos", "direct_collaborator")},
    ("github", "team_membership"): ("member", "maintainer"),
    ("github", "org_role"): ("member", "owner"),
    ("github", "base_permission"): ("none", "read", "write", "admin"),
    **{("gitlab", k): GITLAB_ROLES for k in ("group_membership", "project_membership", "group_share")},
}


def load_rows(con: duckdb.DuckDBPyConnection, campaign_id: str) -> dict[str, Row]:
    names = [f.name for f in fields(Row)]
    rows = con.execute(
        f"SELECT {', '.join(names)} FROM review_rows WHERE campaign_id = ? ORDER BY row_id", [campaign_id]
    ).fetchall()
    return {r[0]: Row(**dict(zip(names, r, strict=True))) for r in rows}


def _reviewer_identities(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """login -> the identities it is linked to on any platform (a reviewer is named by login)."""
    out: dict[str, set[str]] = {}
    for login, ident in con.execute(
        "SELECT login, coalesce(upn, identity_id) FROM account_links WHERE identity_id IS NOT NULL"
    ).fetchall():
        out.setdefault(login, set()).add(ident)
    return out


def _decide(number: int, cells: dict[str, str], row: Row) -> tuple[str | None, str | None, str | None, str | None]:
    """(error, decision, new_role, justification) for a row that has a decision."""
    decision = cells["decision"].strip().lower()
    new_role = cells["new_role"].strip()
    justification = cells["justification"].strip() or None
    if decision not in DECISIONS:
        return (
            f"row {row.row_id}: invalid decision {cells['decision']!r} (keep, revoke, modify or accept)",
            None,
            None,
            None,
        )
    if decision == "accept":
        if row.recommendation not in ("keep", "revoke"):
            return (
                f"row {row.row_id}: no recommendation to accept (it says review); decide keep or revoke",
                None,
                None,
                None,
            )
        return None, row.recommendation, None, justification or f"accepted recommendation: {row.recommendation_reason}"
    if decision != "modify":
        if new_role:
            return f"row {row.row_id}: new_role is only for decision modify", None, None, None
        return None, decision, None, justification
    allowed = ROLES.get((row.platform, row.kind))
    if allowed is None:
        return f"row {row.row_id}: a {row.kind} cannot be modified, only kept or revoked", None, None, None
    if not new_role:
        return f"row {row.row_id}: decision modify needs new_role ({', '.join(allowed)})", None, None, None
    if new_role not in allowed:
        return (
            f"row {row.row_id}: new_role {new_role!r} is not a {row.platform} role for a {row.kind} "
            f"({', '.join(allowed)})",
            None,
            None,
            None,
        )
    if new_role == row.role:
        return f"row {row.row_id}: new_role {new_role!r} is the current role", None, None, None
    return None, "modify", new_role, justification


def _validate_row(
    number: int, cells: dict[str, str], row: Row, campaign: Campaign, mine: dict[str, set[str]]
) -> tuple[list[tuple[int, str]], dict[str, Any] | None]:
    expected = row.cells(campaign.name)
    altered = [c for c in FIXED_COLUMNS if cells[c].strip() != expected[c].strip()]
    if altered:
        shown = "; ".join(f"{c} was {expected[c]!r}, now {cells[c]!r}" for c in altered[:3])
        return [(number, f"row {row.row_id} was altered ({shown})")], None
    if not cells["decision"].strip():
        if cells["new_role"].strip() or cells["justification"].strip():
            return [(number, f"row {row.row_id}: new_role or justification without a decision")], None
        return [], None  # pending: a partial submission
    error, decision, new_role, justification = _decide(number, cells, row)
    if error:
        return [(number, error)], None
    self_review = row.account is not None and (
        row.reviewer == row.account
        or bool(row.identity and row.identity in mine.get(row.reviewer, set()))
        or row.reviewer == row.identity
    )
    if self_review and not cells["justification"].strip():
        return [
            (number, f"row {row.row_id}: self-review ({row.reviewer} reviews own access) needs a justification")
        ], None
    return [], {
        "row_id": row.row_id,
        "reviewer": row.reviewer,
        "decision": decision,
        "new_role": new_role,
        "justification": justification,
        "self_review": self_review,
        "file_row": number,
    }


def _validate_file(con: duckdb.DuckDBPyConnection, path: Path, result: FileResult) -> tuple[Campaign, list[Any]]:
    rows = read_rows(path)
    result.rows = len(rows)
    if not rows:
        raise InputError("no rows to import", str(path))
    names = sorted({cells["campaign"] for _, cells in rows})
    if len(names) != 1:
        raise InputError(f"rows name {len(names)} campaigns ({', '.join(names)}); one worksheet is one campaign")
    result.campaign = names[0]
    try:
        campaign = find_campaign(con, names[0])
    except ReviewError as exc:
        raise InputError(f"row {rows[0][0]}: {exc.message}") from exc
    if campaign.status != "open":
        raise InputError(f"campaign {campaign.name} is closed; decisions can no longer be recorded")
    frozen = load_rows(con, campaign.campaign_id)
    mine = _reviewer_identities(con)
    seen: dict[str, int] = {}
    accepted: list[dict[str, Any]] = []
    for number, cells in rows:
        rid = cells["row_id"].strip()
        row = frozen.get(rid)
        if row is None:
            result.errors.append((number, f"unknown row {rid or '(empty row_id)'}: not in campaign {campaign.name}"))
            continue
        if rid in seen:
            result.errors.append((number, f"row {rid} appears twice (also on row {seen[rid]})"))
            continue
        seen[rid] = number
        errors, decision = _validate_row(number, cells, row, campaign, mine)
        result.errors.extend(errors)
        if decision is not None:
            accepted.append(decision)
        elif not errors:
            result.pending += 1
    return campaign, accepted


def import_worksheets(ws: Workspace, paths: list[Path]) -> list[FileResult]:
    """Validate each file; record the valid ones (one transaction each); rejected files change nothing."""
    results = []
    for path in paths:
        result = FileResult(str(path))
        results.append(result)
        try:
            campaign, accepted = _validate_file(ws.con, path, result)
        except InputError as exc:
            result.errors.append((0, exc.message))
            continue
        if result.errors:
            continue
        result.sha256 = sha256_file(path)
        now = utcnow()
        with ws.transaction() as con:
            stored, _ = store_blob(ws.evidence_dir, path, result.sha256)
            con.execute(
                "INSERT OR IGNORE INTO evidence VALUES (?, 'review_worksheet', ?, ?, ?, ?)",
                [result.sha256, str(path), str(stored), path.stat().st_size, now],
            )
            rows = [
                (
                    campaign.campaign_id,
                    d["row_id"],
                    d["reviewer"],
                    d["decision"],
                    d["new_role"],
                    d["justification"],
                    d["self_review"],
                    str(path),
                    result.sha256,
                    d["file_row"],
                    now,
                )
                for d in accepted
            ]
            sql, params = json_rows(DECISION_COLUMNS, rows)
            con.execute(f"INSERT INTO review_decisions ({', '.join(DECISION_COLUMNS)}) {sql}", params)
        result.status = "imported"
        for d in accepted:
            result.decisions[d["decision"]] = result.decisions.get(d["decision"], 0) + 1
    return results
