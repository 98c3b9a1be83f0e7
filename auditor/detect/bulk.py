"""First AN0732 detection: bursts of restricted-repo downloads per actor, scored and explained."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from auditor.classify import classify_accounts
from auditor.config.models import AuditorConfig
from auditor.detect.suppress import approval_for
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


def load_sql(name: str, **ints: int) -> str:
    """Read a packaged SQL stage and substitute integer parameters (never strings)."""
    text = resources.files("auditor.detect").joinpath("sql", name).read_text(encoding="utf-8")
    for key, value in ints.items():
        text = text.replace(f":{key}", str(int(value)))
    return text


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
LOOKBACK_HOURS = 72
LEARNING_DAYS = 14


def _score(distinct: int, threshold: int, tier1: int, account_class: str | None, precursors: set[str]) -> int:
    """Volume over threshold, sensitivity, who the actor is and what preceded it; bounded 0-100."""
    score = 40 + min(30, 30 * (distinct - threshold) // max(threshold, 1))
    score += min(25, sum(PRECURSOR_WEIGHT.get(kind, 0) for kind in precursors))
    score += min(15, 5 * tier1)
    if account_class in ("non_developer", "contractor", "external"):
        score += 15
    elif account_class == "privileged":
        score += 10
    return max(0, min(100, score))


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


def _precursors(ws: Workspace, episodes: list[dict[str, Any]]) -> dict[str, list[tuple[str, str, datetime]]]:
    """Precursor signals per episode key (kind, detail, time), from the precursors SQL stage."""
    if not episodes:
        return {}
    cols = {
        "episode_key": "VARCHAR",
        "platform": "VARCHAR",
        "actor": "VARCHAR",
        "identity": "VARCHAR",
        "first_seen": "TIMESTAMP",
        "last_seen": "TIMESTAMP",
    }
    rows = [(e["key"], e["platform"], e["actor"], e["upn"], e["first_seen"], e["last_seen"]) for e in episodes]
    sql, params = json_rows(cols, rows)
    ws.con.execute(f"CREATE OR REPLACE TEMP TABLE episodes AS {sql}", params)
    stage = load_sql("precursors.sql", lookback_hours=LOOKBACK_HOURS, learning_days=LEARNING_DAYS)
    out: dict[str, list[tuple[str, str, datetime]]] = {}
    for key, kind, detail, at in ws.con.execute(stage + " ORDER BY 4").fetchall():
        out.setdefault(key, []).append((kind, detail, at))
    ws.con.execute("DROP TABLE episodes")
    return out


def _reasons(row: dict[str, Any], cfg: AuditorConfig, ctx: dict[str, Any]) -> list[str]:
    det = cfg.detection
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
    sql = load_sql("bulk_download.sql", window_minutes=det.bulk_window_minutes, min_repos=det.bulk_min_restricted_repos)
    now = utcnow()
    with ws.transaction() as con:
        result.restricted_repos = apply_restriction(ws, cfg.restriction)
        classify_accounts(ws, cfg.account_classes)
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        episodes = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        ctx = _context(ws)
        for row in episodes:
            row["key"] = f"{row['platform']}|{row['actor']}|{row['first_seen'].isoformat()}"
            row["upn"] = ctx.get((row["platform"], row["actor"]), {}).get("upn") or row["event_identity"]
        signals = _precursors(ws, episodes)
        for row in episodes:
            row["precursors"] = signals.get(row["key"], [])
        con.execute("DELETE FROM findings WHERE analytic = ?", [ANALYTIC])
        rows: list[tuple[object, ...]] = []
        for row in episodes:
            c = ctx.get((row["platform"], row["actor"]), {})
            repos = list(row["repos"])
            score = _score(
                row["distinct_repos"],
                det.bulk_min_restricted_repos,
                len(row["tier1_repos"] or []),
                c.get("account_class"),
                {kind for kind, _, _ in row["precursors"]},
            )
            approval = approval_for(
                cfg.approved_automation, row["platform"], row["actor"], repos, row["first_seen"], row["last_seen"]
            )
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
                    f"approved automation '{approval.name}' ({approval.purpose})" if approval else None,
                    result.run_id,
                    now,
                )
            )
            result.findings += 1
            result.suppressed += approval is not None
        if rows:
            sql_rows, params = json_rows(FINDING_COLUMNS, rows)
            con.execute(f"INSERT INTO findings {sql_rows}", params)
        dl = con.execute("SELECT count(*) FROM events WHERE category = 'download'").fetchone()
        result.download_events = int(dl[0]) if dl else 0
    result.open = result.findings - result.suppressed
    result.unavailable = _unavailable(ws)
    return result
