"""Run the registered checks over the current inventory, store check_results, and surface failures as findings."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from auditor.checks.controls import ANALYTIC_PREFIX, SCORE, Control, finding_id, load_controls, write_controls
from auditor.checks.frameworks import labels_by_check, load_frameworks
from auditor.checks.model import STATUSES
from auditor.checks.registry import LoadedCheck, registry
from auditor.checks.scope import SCOPE, SCOPE_JOINS, build_views, missing_inputs, seen_platforms
from auditor.classify import classify_accounts
from auditor.errors import ConfigError
from auditor.restriction import apply_restriction
from auditor.workspace.store import Workspace, utcnow

if TYPE_CHECKING:
    import duckdb

    from auditor.config.models import AuditorConfig, CheckSettings

__all__ = ["ANALYTIC_PREFIX", "SCORE", "CheckResult", "CheckRun", "finding_id", "load_results", "run_checks"]

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
    scope: str | None = None

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
            "scope": self.scope,
        }


@dataclass
class CheckRun:
    """What one `auditor check` run found."""

    run_id: str
    evaluated_at: datetime
    snapshot_ids: list[str]
    results: list[CheckResult] = field(default_factory=list)  # as loaded (see run_checks `load`)
    findings: int = 0
    skipped: list[str] = field(default_factory=list)
    tally: dict[str, dict[str, int]] = field(default_factory=dict)  # check id -> status -> count
    controls: list[Control] = field(default_factory=list)  # per (check, platform, scope)

    def counts(self) -> dict[str, dict[str, int]]:
        """check id -> {pass, fail, not_evaluated} in registry order (checks with no result included)."""
        return {
            check_id: {status: self.tally.get(check_id, {}).get(status, 0) for status in STATUSES}
            for check_id in registry()
            if check_id not in self.skipped
        }

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
            "controls": [c.to_json() for c in self.controls],
            "results": [r.to_json() for r in self.results],
        }


def _params(sql: str, settings: CheckSettings, platform: str) -> dict[str, Any]:
    values: dict[str, Any] = {**settings.model_dump(mode="json"), "platform": platform}
    return {name: values[name] for name in sorted(set(_PARAM.findall(sql)))}


def _hiding_gaps(con: duckdb.DuckDBPyConnection, check: LoadedCheck, platform: str) -> list[tuple[str, str]]:
    """(gap text, resource pattern it hides) for every coverage gap matching one of the check's rules."""
    rules = check.impl.hidden_by
    if not rules:
        return []
    rows = con.execute(
        "SELECT DISTINCT g.source || ': needs ' || g.needs, r.res FROM chk_gaps g, "
        "(SELECT unnest(?::VARCHAR[]) AS pat, unnest(?::VARCHAR[]) AS plat, unnest(?::VARCHAR[]) AS res) r "
        "WHERE g.platform = r.plat AND lower(g.source || ' ' || g.needs) LIKE r.pat ORDER BY 1, 2",
        [[r.pattern.lower() for r in rules], [r.platform or platform for r in rules], [r.resources for r in rules]],
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


# One check's rows go straight from its query into check_results; a hiding gap turns the statuses the
# check names (`gap_turns`) into not_evaluated and says why. No per-row Python.
_STORE = (
    """
INSERT INTO check_results (run_id, snapshot_id, check_id, title, category, severity, platform, resource, status,
                           detail, frameworks, evaluated_at, account, repo, scope)
SELECT $w_run, $w_snap, $w_check, $w_title, $w_category, $w_severity, q.platform, q.resource,
       CASE WHEN q.hidden THEN 'not_evaluated' ELSE q.status END,
       coalesce(q.detail, '') || CASE WHEN q.hidden THEN $w_note ELSE '' END,
       CAST($w_frameworks AS VARCHAR[]), $w_now, q.account, q.repo, """
    + SCOPE.replace("{", "{{").replace("}", "}}")
    + """
FROM (SELECT *, list_contains(CAST($w_turns AS VARCHAR[]), status)
                 AND len([p FOR p IN CAST($w_hides AS VARCHAR[]) IF resource LIKE p]) > 0 AS hidden
      FROM ({sql}) c(platform, resource, status, detail, account, repo)) q
"""
    + SCOPE_JOINS
    + "\n"
)


_ONE_ROW = "SELECT $w_a::VARCHAR, $w_b::VARCHAR, 'not_evaluated', $w_c::VARCHAR, NULL, NULL"


def _store(con: duckdb.DuckDBPyConnection, check: LoadedCheck, platform: str | None, ctx: dict[str, Any]) -> None:
    """Evaluate one check on one platform (None: none of its platforms is in the workspace) into check_results."""
    meta, impl = check.meta, check.impl
    base = {
        "w_run": ctx["run"],
        "w_snap": ctx["snap"],
        "w_now": ctx["now"],
        "w_check": meta.id,
        "w_title": meta.title,
        "w_category": meta.category,
        "w_severity": meta.severity,
        "w_frameworks": ctx["labels"].get(meta.id, []),
        "w_turns": [],
        "w_hides": [],
        "w_note": "",
    }

    def one_row(where: str | None, resource: str, detail: str) -> None:
        con.execute(_STORE.format(sql=_ONE_ROW), {**base, "w_a": where, "w_b": resource, "w_c": detail})

    if platform is None:
        one_row(None, "workspace", f"no {' or '.join(meta.platforms)} data in the workspace")
        return
    missing = missing_inputs(con, impl.requires, platform)
    if missing:
        one_row(platform, f"{platform} (all)", "; ".join(missing))
        return
    gaps = _hiding_gaps(con, check, platform)
    if gaps:
        base["w_turns"] = sorted(impl.gap_turns)
        base["w_hides"] = sorted({res for _, res in gaps})
        base["w_note"] = f" [not evaluated: hidden by coverage gap {gaps[0][0]}]"
    con.execute(_STORE.format(sql=impl.sql), {**_params(impl.sql, ctx["settings"], platform), **base})
    if gaps:
        base["w_turns"], base["w_hides"], base["w_note"] = [], [], ""
        texts = sorted({text for text, _ in gaps})
        one_row(platform, "coverage gaps", f"{meta.title} is incomplete: " + "; ".join(texts))


def _evaluate_all(
    con: duckdb.DuckDBPyConnection, cfg: AuditorConfig, labels: dict[str, list[str]], run: CheckRun
) -> None:
    seen = seen_platforms(con)
    ctx: dict[str, Any] = {
        "run": run.run_id,
        "snap": ",".join(run.snapshot_ids) or None,
        "now": run.evaluated_at,
        "labels": labels,
        "settings": cfg.checks,
    }
    for check_id, check in registry().items():
        if check_id in cfg.checks.disabled:
            run.skipped.append(check_id)
            continue
        platforms: list[str | None] = [p for p in check.meta.platforms if p in seen]
        for platform in platforms or [None]:
            _store(con, check, platform, ctx)


def load_results(con: duckdb.DuckDBPyConnection, run_id: str, problems_only: bool = False) -> list[CheckResult]:
    """A run's results in registry order; per check by platform, failures first, then by resource."""
    where = " AND status <> 'pass'" if problems_only else ""
    rows = con.execute(
        # frameworks as one string: DuckDB's Python conversion of list columns is several times slower
        "SELECT check_id, title, category, severity, platform, resource, status, detail, account, repo, "
        "array_to_string(frameworks, chr(31)), scope "
        f"FROM check_results WHERE run_id = ?{where} "
        "ORDER BY list_position(?::VARCHAR[], check_id), coalesce(platform, ''), status <> 'fail', resource",
        [run_id, list(registry())],
    ).fetchall()
    return [
        CheckResult(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            tuple(r[10].split("\x1f")) if r[10] else (),
            r[11],
        )
        for r in rows
    ]


def run_checks(ws: Workspace, cfg: AuditorConfig, load: Literal["all", "problems", "none"] = "all") -> CheckRun:
    """Classify repos and accounts (as detection does), run every enabled check, store results and findings,
    all in one transaction. `load` says which results to read back into `CheckRun.results` (every result,
    only fail/not_evaluated, or none: counts are always there)."""
    known = registry()
    named = [*cfg.checks.disabled, *(r.check for r in cfg.checks.accepted_risks)]
    unknown = sorted({c for c in named if c not in known})
    if unknown:
        raise ConfigError(f"checks: unknown check id(s) {', '.join(unknown)}; known: {', '.join(known)}")
    frameworks = load_frameworks(cfg.checks.frameworks_dir)
    labels = labels_by_check(frameworks)
    run = CheckRun("checks-" + uuid.uuid4().hex[:12], utcnow(), [])
    with ws.transaction() as con:
        apply_restriction(ws, cfg.restriction)
        classify_accounts(ws, cfg.account_classes)
        build_views(con)
        run.snapshot_ids = [r[0] for r in con.execute("SELECT snapshot_id FROM chk_snapshots ORDER BY 1").fetchall()]
        _evaluate_all(con, cfg, labels, run)
        run.findings = write_controls(con, cfg, run.run_id, run.evaluated_at)
        run.controls = load_controls(con)
        for check_id, status, n in con.execute(
            "SELECT check_id, status, count(*) FROM check_results WHERE run_id = ? GROUP BY ALL", [run.run_id]
        ).fetchall():
            run.tally.setdefault(check_id, {})[status] = int(n)
        if load != "none":
            run.results = load_results(con, run.run_id, problems_only=load == "problems")
    return run
