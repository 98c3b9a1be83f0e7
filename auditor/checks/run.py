"""Run the registered checks over the current inventory, store check_results, and surface failures as findings."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from auditor.checks.frameworks import labels_by_check, load_frameworks
from auditor.checks.registry import LoadedCheck, registry
from auditor.checks.scope import build_views, missing_inputs, seen_platforms
from auditor.classify import classify_accounts
from auditor.errors import ConfigError
from auditor.patterns import any_match
from auditor.restriction import apply_restriction
from auditor.workspace.store import Workspace, json_rows, utcnow

if TYPE_CHECKING:
    import duckdb

    from auditor.config.models import AuditorConfig, CheckSettings

ANALYTIC_PREFIX = "check:"
SCORE = {"critical": 90, "high": 75, "medium": 55, "low": 35, "info": 15}
RESULT_COLUMNS = {
    "run_id": "VARCHAR",
    "snapshot_id": "VARCHAR",
    "check_id": "VARCHAR",
    "title": "VARCHAR",
    "category": "VARCHAR",
    "severity": "VARCHAR",
    "platform": "VARCHAR",
    "resource": "VARCHAR",
    "status": "VARCHAR",
    "detail": "VARCHAR",
    "frameworks": '["VARCHAR"]',
    "evaluated_at": "TIMESTAMP",
    "account": "VARCHAR",
    "repo": "VARCHAR",
}
_PARAM = re.compile(r"\$([a-z_]+)")


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on one resource."""

    check_id: str
    title: str
    category: str
    severity: str
    platform: str | None
    resource: str
    status: str
    detail: str
    account: str | None
    repo: str | None
    frameworks: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "title": self.title,
            "category": self.category,
            "severity": self.severity,
            "platform": self.platform,
            "resource": self.resource,
            "status": self.status,
            "detail": self.detail,
            "account": self.account,
            "repo": self.repo,
            "frameworks": list(self.frameworks),
        }


@dataclass
class CheckRun:
    """What one `auditor check` run found."""

    run_id: str
    evaluated_at: datetime
    snapshot_ids: list[str]
    results: list[CheckResult] = field(default_factory=list)
    findings: int = 0
    skipped: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        """check id -> {pass, fail, not_evaluated} in registry order (checks with no result included)."""
        out: dict[str, dict[str, int]] = {}
        for check_id in registry():
            if check_id not in self.skipped:
                out[check_id] = {"pass": 0, "fail": 0, "not_evaluated": 0}
        for r in self.results:
            out[r.check_id][r.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        reg = registry()
        counts = self.counts()
        return {
            "run_id": self.run_id,
            "evaluated_at": self.evaluated_at.isoformat() + "Z",
            "snapshot_ids": self.snapshot_ids,
            "findings": self.findings,
            "skipped": self.skipped,
            "checks": [
                {
                    "id": cid,
                    "title": reg[cid].meta.title,
                    "category": reg[cid].meta.category,
                    "severity": reg[cid].meta.severity,
                    **counts[cid],
                }
                for cid in counts
            ],
            "results": [r.to_json() for r in self.results],
        }


def finding_id(check_id: str, platform: str | None, resource: str) -> str:
    """Stable per (check, platform, resource), so triage status survives re-runs."""
    digest = hashlib.sha256(f"{check_id}|{platform or ''}|{resource}".encode()).hexdigest()
    return "CHK-" + digest[:12]


def _params(sql: str, settings: CheckSettings, platform: str) -> dict[str, Any]:
    values: dict[str, Any] = {**settings.model_dump(mode="json"), "platform": platform}
    return {name: values[name] for name in sorted(set(_PARAM.findall(sql)))}


def _hiding_gaps(con: duckdb.DuckDBPyConnection, check: LoadedCheck, platform: str) -> list[str]:
    rules = check.impl.hidden_by
    if not rules:
        return []
    rows = con.execute(
        "SELECT DISTINCT g.source || ': needs ' || g.needs FROM chk_gaps g, "
        "(SELECT unnest(?::VARCHAR[]) AS pat, unnest(?::VARCHAR[]) AS plat) r "
        "WHERE g.platform = r.plat AND lower(g.source || ' ' || g.needs) LIKE r.pat ORDER BY 1",
        [[r.pattern.lower() for r in rules], [r.platform or platform for r in rules]],
    ).fetchall()
    return [row[0] for row in rows]


def evaluate(con: duckdb.DuckDBPyConnection, check: LoadedCheck, platform: str, settings: CheckSettings) -> list[Any]:
    """(platform, resource, status, detail, account, repo) rows of one check on one platform."""
    meta, impl = check.meta, check.impl
    missing = missing_inputs(con, impl.requires, platform)
    if missing:
        return [(platform, f"{platform} (all)", "not_evaluated", "; ".join(missing), None, None)]
    rows = [list(r) for r in con.execute(impl.sql, _params(impl.sql, settings, platform)).fetchall()]
    gaps = _hiding_gaps(con, check, platform)
    if gaps:
        note = f" [not evaluated: hidden by coverage gap {gaps[0]}]"
        for row in rows:
            if row[2] in impl.gap_turns:
                row[2], row[3] = "not_evaluated", (row[3] or "") + note
        rows.append([platform, "coverage gaps", "not_evaluated", f"{meta.title} is incomplete: " + "; ".join(gaps)])
        rows[-1] += [None, None]
    return rows


def _collect(con: duckdb.DuckDBPyConnection, cfg: AuditorConfig, labels: dict[str, list[str]], run: CheckRun) -> None:
    seen = seen_platforms(con)
    for check_id, check in registry().items():
        if check_id in cfg.checks.disabled:
            run.skipped.append(check_id)
            continue
        meta = check.meta
        rows: list[Any] = []
        for platform in meta.platforms:
            if platform in seen:
                rows.extend(evaluate(con, check, platform, cfg.checks))
        if not any(p in seen for p in meta.platforms):
            rows.append(
                (
                    None,
                    "workspace",
                    "not_evaluated",
                    f"no {' or '.join(meta.platforms)} data in the workspace",
                    None,
                    None,
                )
            )
        fw = tuple(labels.get(check_id, ()))
        rows.sort(key=lambda r: (r[0] or "", r[2] != "fail", r[1]))
        for platform, resource, status, detail, account, repo in rows:
            run.results.append(
                CheckResult(
                    check_id,
                    meta.title,
                    meta.category,
                    meta.severity,
                    platform,
                    resource,
                    status,
                    detail or "",
                    account,
                    repo,
                    fw,
                )
            )


def run_checks(ws: Workspace, cfg: AuditorConfig) -> CheckRun:
    """Classify repos and accounts (as detection does), run every enabled check, store results and findings,
    all in one transaction."""
    known = registry()
    named = [*cfg.checks.disabled, *(r.check for r in cfg.checks.accepted_risks)]
    unknown = sorted({c for c in named if c not in known})
    if unknown:
        raise ConfigError(f"checks: unknown check id(s) {', '.join(unknown)}; known: {', '.join(known)}")
    frameworks = load_frameworks(cfg.checks.frameworks_dir)
    labels = labels_by_check(frameworks)
    now = utcnow()
    run = CheckRun("checks-" + uuid.uuid4().hex[:12], now, [])
    with ws.transaction() as con:
        apply_restriction(ws, cfg.restriction)
        classify_accounts(ws, cfg.account_classes)
        build_views(con)
        run.snapshot_ids = [r[0] for r in con.execute("SELECT snapshot_id FROM chk_snapshots ORDER BY 1").fetchall()]
        _collect(con, cfg, labels, run)
        snapshot = ",".join(run.snapshot_ids) or None
        rows = [
            (
                run.run_id,
                snapshot,
                r.check_id,
                r.title,
                r.category,
                r.severity,
                r.platform,
                r.resource,
                r.status,
                r.detail,
                list(r.frameworks),
                now,
                r.account,
                r.repo,
            )
            for r in run.results
        ]
        if rows:
            sql, params = json_rows(RESULT_COLUMNS, rows)
            con.execute(f"INSERT INTO check_results ({', '.join(RESULT_COLUMNS)}) {sql}", params)
        run.findings = _write_findings(con, cfg, run)
    return run


def _accepted(cfg: AuditorConfig, result: CheckResult, today: date) -> str | None:
    for risk in cfg.checks.accepted_risks:
        if risk.check != result.check_id or (risk.expires is not None and risk.expires < today):
            continue
        if any_match(result.resource, risk.resources):
            return f"accepted risk: {risk.reason}" + (f" ({risk.ticket})" if risk.ticket else "")
    return None


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
    "status": "VARCHAR",
    "status_note": "VARCHAR",
    "status_changed_at": "TIMESTAMP",
}


def _write_findings(con: duckdb.DuckDBPyConnection, cfg: AuditorConfig, run: CheckRun) -> int:
    """Replace the check findings: one per failed (check, resource); triage status and first_seen carry over."""
    previous = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT id, first_seen, coalesce(status, 'new'), status_note, status_changed_at FROM findings "
            "WHERE starts_with(analytic, ?)",
            [ANALYTIC_PREFIX],
        ).fetchall()
    }
    con.execute("DELETE FROM findings WHERE starts_with(analytic, ?)", [ANALYTIC_PREFIX])
    identities = {
        (r[0], r[1]): r[2]
        for r in con.execute(
            "SELECT platform, login, coalesce(upn, identity_id) FROM account_links WHERE identity_id IS NOT NULL"
        ).fetchall()
    }
    reg = registry()
    rows: list[tuple[object, ...]] = []
    seen: set[str] = set()
    for r in run.results:
        if r.status != "fail":
            continue
        fid = finding_id(r.check_id, r.platform, r.resource)
        if fid in seen:
            continue
        seen.add(fid)
        first, status, note, changed = previous.get(fid, (run.evaluated_at, "new", None, None))
        reason = _accepted(cfg, r, run.evaluated_at.date())
        rows.append(
            (
                fid,
                ANALYTIC_PREFIX + r.check_id,
                r.severity,
                SCORE[r.severity],
                r.platform,
                r.account,
                identities.get((r.platform or "", r.account or "")),
                [r.repo] if r.repo else [],
                first,
                run.evaluated_at,
                [f"{r.title}: {r.resource}: {r.detail}", f"Remediation: {reg[r.check_id].meta.remediation}"],
                [f"check_results run {run.run_id}"],
                reason is not None,
                reason,
                run.run_id,
                run.evaluated_at,
                status,
                note,
                changed,
            )
        )
    if rows:
        sql, params = json_rows(FINDING_COLUMNS, rows)
        con.execute(f"INSERT INTO findings ({', '.join(FINDING_COLUMNS)}) {sql}", params)
    return len(rows)
