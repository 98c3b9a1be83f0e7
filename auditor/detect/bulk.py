"""AN0732 detection: episodes from the SQL stages, baselines, precursors and context, scored, explained
and written as findings in one transaction (statuses survive re-runs through stable ids)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditor.classify import classify_accounts
from auditor.config.models import AuditorConfig
from auditor.detect.apps import attach_app_context
from auditor.detect.context import (
    UNLINKED_REASON,
    account_context,
    attach_broad_grants,
    identity_gap,
    unavailable_signals,
)
from auditor.detect.departures import (
    Departure,
    DepartureIndex,
    departure_signals,
    load_departures,
    refresh_departures,
)
from auditor.detect.engine import DuckDBEngine, Engine
from auditor.detect.explain import reasons_for
from auditor.detect.replay import attach_owner_signins
from auditor.detect.scoring import baseline_of, mark_routine, score_episode, severity_for
from auditor.detect.stages import attach_history, find_episodes
from auditor.detect.suppress import Activity, approval_for, suppression_reason
from auditor.importers.link_rules import apply_link_rules
from auditor.restriction import apply_restriction
from auditor.runs import findings_summary, record_run
from auditor.workspace.store import Workspace, insert_rows, utcnow

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

_REASONS = list(FINDING_COLUMNS).index("reasons")


def _reasons(row: tuple[object, ...]) -> list[str]:
    value = row[_REASONS]
    return [str(v) for v in value] if isinstance(value, list) else []


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


def build_findings(
    engine: Engine, cfg: AuditorConfig, run_id: str, now: datetime, departures: list[Departure] | None = None
) -> list[tuple[object, ...]]:
    """Every stage, baseline, precursor and context on `engine`; one finding row per kept episode."""
    det = cfg.detection
    episodes = find_episodes(engine, det)
    ctx = account_context(engine)
    leaving = DepartureIndex(departures or [])
    for e in episodes:
        e.key = f"{e.platform}|{e.actor}|{e.first_seen.isoformat()}"
        e.upn = ctx.get((e.platform, e.actor), {}).get("upn") or e.event_identity
        found = leaving.of(e.platform, e.actor, e.upn)
        e.departure = departure_signals(e, found, cfg.departures.window_days)
    attach_history(engine, episodes, det)
    attach_owner_signins(engine, episodes, det)
    attach_broad_grants(engine, episodes)
    identity_gap(engine, episodes, ctx)
    mark_routine(episodes)
    attach_app_context(engine, episodes, det)
    rows: list[tuple[object, ...]] = []
    for e in episodes:
        c = ctx.get((e.platform, e.actor), {})
        repos = list(e.repos)
        baseline = baseline_of(e, det)
        score = score_episode(e, baseline, det, c.get("account_class"))
        e.score = score
        if e.kind == "candidate" and severity_for(score) in ("info", "low"):
            continue  # below the fixed threshold and unremarkable against its baselines
        activity = Activity(
            e.platform,
            e.actor,
            repos,
            e.first_seen,
            e.last_seen,
            e.credential_ids,
            e.app_ids,
            e.ips,
            e.user_agents,
        )
        approval = approval_for(cfg.approved_automation, activity)
        key = f"{ANALYTIC}|{e.platform}|{e.actor}|{e.first_seen.isoformat()}"
        rows.append(
            (
                "AN0732-" + hashlib.sha256(key.encode()).hexdigest()[:12],
                ANALYTIC,
                severity_for(score),
                score,
                e.platform,
                e.actor,
                c.get("upn") or e.event_identity,
                repos,
                e.first_seen,
                e.last_seen,
                reasons_for(e, baseline, det, c),
                list(e.evidence),
                approval is not None,
                suppression_reason(approval) if approval else None,
                run_id,
                now,
            )
        )
    return rows


def run_detection(ws: Workspace, cfg: AuditorConfig, engine: Engine | None = None) -> DetectionResult:
    """Classify repos and accounts, run the stages (on the workspace's DuckDB unless another engine is
    given), and replace this analytic's findings in one transaction."""
    result = DetectionResult(run_id="det-" + uuid.uuid4().hex[:12])
    started = utcnow()
    with ws.transaction() as con:
        result.restricted_repos = apply_restriction(ws, cfg.restriction)
        apply_link_rules(con, cfg.linking)
        refresh_departures(con, cfg.departures)
        classify_accounts(ws, cfg.account_classes)
        eng = engine or DuckDBEngine(con)
        rows = build_findings(eng, cfg, result.run_id, utcnow(), load_departures(con))
        # Finding the same incident again keeps its id, so the analyst's status survives the re-run.
        kept = con.execute(
            "SELECT id, status, status_note, status_changed_at, status_expires FROM findings "
            "WHERE analytic = ? AND status <> 'new'",
            [ANALYTIC],
        ).fetchall()
        con.execute("DELETE FROM findings WHERE analytic = ?", [ANALYTIC])
        insert_rows(con, "findings", FINDING_COLUMNS, rows)
        for fid, status, note, changed, expires in kept:
            con.execute(
                "UPDATE findings SET status = ?, status_note = ?, status_changed_at = ?, status_expires = ? "
                "WHERE id = ?",
                [status, note, changed, expires, fid],
            )
        result.findings = len(rows)
        result.suppressed = sum(1 for r in rows if r[12])
        result.download_events = int(eng.query("SELECT count(*) AS n FROM events WHERE category = 'download'")[0]["n"])
        result.unavailable = unavailable_signals(eng)
        unlinked = sum(1 for r in rows if UNLINKED_REASON in _reasons(r))
        if unlinked:
            result.unavailable.append(
                f"{unlinked} finding(s) on accounts with no IdP identity linked: their sign-in precursors were not "
                "evaluated (auditor coverage counts them; link them with `linking:` in the config)"
            )
        # The run and its summary (open counts, incident ids) commit with the findings: trends between runs.
        summary = {"findings": result.findings, "suppressed": result.suppressed, **findings_summary(con)}
        record_run(con, "detect", started, summary, run_id=result.run_id)
    result.open = result.findings - result.suppressed
    return result
