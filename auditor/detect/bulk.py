"""First AN0732 detection: bursts of restricted-repo downloads per actor, scored and explained."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auditor.classify import classify_accounts
from auditor.config.models import AuditorConfig
from auditor.detect.stages import attach_precursors, find_episodes
from auditor.detect.suppress import Activity, approval_for, suppression_reason
from auditor.restriction import apply_restriction
from auditor.workspace.store import Workspace, json_rows, utcnow

ANALYTIC = "AN0732"
FINDING_COLUMNS = {
    "id": "VARCHAR",
    "analytic": "VARCHAR",
    "severity": "VARCHAR",
    "score": "INTEGER",
    "platform": "VARCHAR",
    "actor": "VARCHAR",
    "identity": "VARCHAR",
    "repos": '["VARCHAR"]',
    "first_seen": "TIMESTAMP",
    "last_seen": "TIMESTAMP",
    "reasons": '["VARCHAR"]',
    "evidence": '["VARCHAR"]',
    "suppressed": "BOOLEAN",
    "suppression_reason": "VARCHAR",
    "run_id": "VARCHAR",
    "detected_at": "TIMESTAMP",
}
EVIDENCE_CAP = 50


@dataclass
class DetectionResult:
    """What one `auditor detect` run did, including which signals were unavailable."""

    run_id: str
    findings: int = 0
    open: int = 0
    suppressed: int = 0
    download_events: int = 0
    restricted_repos: int = 0
    unavailable: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "findings": self.findings,
            "open": self.open,
            "suppressed": self.suppressed,
            "download_events": self.download_events,
            "restricted_repos": self.restricted_repos,
            "unavailable_signals": self.unavailable,
        }


def severity_for(score: int) -> str:
    if score >= 85:
        return "critical"
    if score >= 65:
        return "high"
    if score >= 45:
        return "medium"
    if score >= 25:
        return "low"
    return "info"


PRECURSOR_WEIGHT = {"impossible_travel": 15, "new_country": 10, "idp_risk": 10, "new_credential": 10}


def _score(
    kind: str, distinct: int, threshold: int, tier1: int, account_class: str | None, precursors: set[str]
) -> int:
    """Volume over threshold, sensitivity, who the actor is and what preceded it; bounded 0-100."""
    score = 40 + min(30, 30 * (distinct - threshold) // max(threshold, 1))
    if kind == "novelty":  # repos never pulled before, spread over days: volume counts double
        score = 45 + min(25, 2 * (distinct - threshold))
    score += min(25, sum(PRECURSOR_WEIGHT.get(kind, 0) for kind in precursors))
    score += min(15, 5 * tier1)
    if account_class in ("non_developer", "contractor", "external"):
        score += 15
    elif account_class == "privileged":
        score += 10
    return max(0, min(100, score))


ROUTINE_CAP = 20
ROUTINE_MIN_DAYS = 3
ROUTINE_LOOKBACK = timedelta(days=30)


def mark_routine(episodes: list[dict[str, Any]]) -> None:
    """An episode is routine when the same account had episodes of the same kind on at least three
    other days in the previous 30: scheduled automation then scores low from its own history,
    without a suppression. Any precursor keeps the full score. One pass per account, in time order."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for e in episodes:
        groups.setdefault((e["platform"], e["actor"], e["kind"]), []).append(e)
    for group in groups.values():
        group.sort(key=lambda e: e["first_seen"])
        start = 0
        for k, e in enumerate(group):
            while group[start]["first_seen"] < e["first_seen"] - ROUTINE_LOOKBACK:
                start += 1
            day = e["first_seen"].date()
            days = {o["first_seen"].date() for o in group[start:k]} - {day}
            e["routine"] = len(days) >= ROUTINE_MIN_DAYS
            e["routine_days"] = len(days)


def _fmt_list(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _minutes(a: datetime, b: datetime) -> int:
    return max(1, round((b - a).total_seconds() / 60))


def _ago(at: datetime, start: datetime) -> str:
    minutes = round((start - at).total_seconds() / 60)
    if minutes <= 0:
        return "during the downloads"
    return f"{minutes} min before" if minutes < 120 else f"{round(minutes / 60)} h before"


def _reasons(row: dict[str, Any], cfg: AuditorConfig, ctx: dict[str, Any]) -> list[str]:
    det = cfg.detection
    if row["kind"] == "novelty":
        days = max(1, round((row["last_seen"] - row["first_seen"]).total_seconds() / 86400))
        reasons = [
            f"Pulled {row['distinct_repos']} restricted repositories for the first time over {days} days, "
            f"after a {det.learning_days}-day learning period; the threshold is {det.novel_min_repos_7d} new "
            "repositories in 7 days."
        ]
    else:
        reasons = [
            f"Downloaded {row['distinct_repos']} restricted repositories ({row['downloads']} downloads) "
            f"within {_minutes(row['first_seen'], row['last_seen'])} minutes; the threshold is "
            f"{det.bulk_min_restricted_repos} within {det.bulk_window_minutes} minutes."
        ]
    tier1 = row["tier1_repos"] or []
    if tier1:
        reasons.append(f"Includes {len(tier1)} tier-1 repositories: {_fmt_list(tier1)}.")
    if ctx.get("account_class"):
        reasons.append(f"Account class: {ctx['account_class']} ({ctx['class_rule']}).")
    if row["credential_types"]:
        reasons.append(f"Credential used: {_fmt_list(row['credential_types'])}.")
    if row["app_ids"]:
        reasons.append(f"Through OAuth/GitHub App id(s): {_fmt_list(row['app_ids'])}.")
    where = []
    if row["ips"]:
        where.append(f"IP {_fmt_list(row['ips'], 3)}")
    if row["countries"]:
        where.append(f"country {_fmt_list(row['countries'], 3)}")
    if where:
        reasons.append("From " + "; ".join(where) + ".")
    if row.get("routine") and not row.get("precursors"):
        reasons.append(
            f"Routine for this account: similar activity on {row['routine_days']} other days in the previous "
            "30 days, so it scores low (approve it in approved_automation to suppress it)."
        )
    seen: set[str] = set()
    for _kind, detail, at in row.get("precursors", []):
        text = f"{detail[0].upper()}{detail[1:]}, {_ago(at, row['first_seen'])}."
        if text not in seen and len(seen) < 6:
            seen.add(text)
            reasons.append(text)
    return reasons


def _context(ws: Workspace) -> dict[tuple[str, str], dict[str, Any]]:
    rows = ws.con.execute(
        "SELECT a.platform, a.login, a.account_class, a.class_evidence, l.upn FROM accounts a "
        "LEFT JOIN account_links l ON l.platform = a.platform AND l.login = a.login"
    ).fetchall()
    return {(r[0], r[1]): {"account_class": r[2], "class_rule": r[3], "upn": r[4]} for r in rows}


def _unavailable(ws: Workspace) -> list[str]:
    notes = []
    present = {r[0] for r in ws.con.execute("SELECT DISTINCT platform FROM events").fetchall()}
    if "entra" not in present:
        notes.append("no Entra sign-ins imported: no identity or login context")
    ident = ws.con.execute("SELECT count(*) FROM identities").fetchone()
    if not ident or not ident[0]:
        notes.append("no Entra users imported: account classes come from behaviour only")
    return notes


def run_detection(ws: Workspace, cfg: AuditorConfig) -> DetectionResult:
    """Classify repos and accounts, find bursts, and replace this analytic's findings in one transaction."""
    result = DetectionResult(run_id="det-" + uuid.uuid4().hex[:12])
    det = cfg.detection
    now = utcnow()
    with ws.transaction() as con:
        result.restricted_repos = apply_restriction(ws, cfg.restriction)
        classify_accounts(ws, cfg.account_classes)
        episodes = find_episodes(ws, det)
        ctx = _context(ws)
        for row in episodes:
            row["key"] = f"{row['platform']}|{row['actor']}|{row['first_seen'].isoformat()}"
            row["upn"] = ctx.get((row["platform"], row["actor"]), {}).get("upn") or row["event_identity"]
        attach_precursors(ws, episodes, det)
        mark_routine(episodes)
        # Finding the same incident again keeps its id, so the analyst's status survives the re-run.
        kept = con.execute(
            "SELECT id, status, status_note, status_changed_at FROM findings WHERE analytic = ? AND status <> 'new'",
            [ANALYTIC],
        ).fetchall()
        con.execute("DELETE FROM findings WHERE analytic = ?", [ANALYTIC])
        rows: list[tuple[object, ...]] = []
        for row in episodes:
            c = ctx.get((row["platform"], row["actor"]), {})
            repos = list(row["repos"])
            threshold = det.novel_min_repos_7d if row["kind"] == "novelty" else det.bulk_min_restricted_repos
            score = (
                ROUTINE_CAP
                if row["routine"] and not row["precursors"]
                else _score(
                    row["kind"],
                    row["distinct_repos"],
                    threshold,
                    len(row["tier1_repos"] or []),
                    c.get("account_class"),
                    {kind for kind, _, _ in row["precursors"]},
                )
            )
            activity = Activity(
                row["platform"],
                row["actor"],
                repos,
                row["first_seen"],
                row["last_seen"],
                row["credential_ids"] or [],
                row["app_ids"] or [],
                row["ips"] or [],
                row["user_agents"] or [],
            )
            approval = approval_for(cfg.approved_automation, activity)
            key = f"{ANALYTIC}|{row['platform']}|{row['actor']}|{row['first_seen'].isoformat()}"
            fid = "AN0732-" + hashlib.sha256(key.encode()).hexdigest()[:12]
            rows.append(
                (
                    fid,
                    ANALYTIC,
                    severity_for(score),
                    score,
                    row["platform"],
                    row["actor"],
                    c.get("upn") or row["event_identity"],
                    repos,
                    row["first_seen"],
                    row["last_seen"],
                    _reasons(row, cfg, c),
                    sorted(row["evidence"])[:EVIDENCE_CAP],
                    approval is not None,
                    suppression_reason(approval) if approval else None,
                    result.run_id,
                    now,
                )
            )
            result.findings += 1
            result.suppressed += approval is not None
        if rows:
            sql_rows, params = json_rows(FINDING_COLUMNS, rows)
            con.execute(f"INSERT INTO findings ({', '.join(FINDING_COLUMNS)}) {sql_rows}", params)
        for fid, status, note, changed in kept:
            con.execute(
                "UPDATE findings SET status = ?, status_note = ?, status_changed_at = ? WHERE id = ?",
                [status, note, changed, fid],
            )
        dl = con.execute("SELECT count(*) FROM events WHERE category = 'download'").fetchone()
        result.download_events = int(dl[0]) if dl else 0
    result.open = result.findings - result.suppressed
    result.unavailable = _unavailable(ws)
    return result
