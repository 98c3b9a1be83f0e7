"""Control results: `check_results` of the latest `auditor check` run, grouped to what a person acts on.

One row per control and scope (check, platform, scope), never one per object: the count of objects,
the accounts and repositories it reaches, a sample of at most `SAMPLE` objects and the check's one-line
fix. Per-object results stay complete in the workspace and the evidence pack. The scope is
`check_results.scope` when the check filled it, else derived here: the org (or top-level group) part of
the repository the result names, else the platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from auditor.workspace.store import Workspace

SAMPLE = 10

# The account and the repository a result names: "login on org/repo", "org/repo", or neither (a token,
# an app, a log source). Only these two forms are read; anything else counts as an object only.
_PARTS = """
CASE WHEN contains(resource, ' on ') THEN split_part(resource, ' on ', 1) END AS account,
CASE WHEN contains(resource, ' on ') THEN split_part(resource, ' on ', 2)
     WHEN regexp_matches(resource, '^[^\\s:]+/[^\\s:]+$') THEN resource END AS repo
"""

_CONTROLS_SQL = f"""
WITH r AS (
    SELECT check_id, title, severity, platform, status, scope, resource, detail, {_PARTS}
    FROM check_results WHERE run_id = ? AND status <> 'pass'
),
s AS (
    SELECT *, coalesce(scope, split_part(repo, '/', 1), platform, 'unknown') AS control_scope FROM r
)
SELECT check_id, any_value(title) AS title, any_value(severity) AS severity, platform, control_scope AS scope,
       status, count(*) AS objects, count(DISTINCT account) AS accounts, count(DISTINCT repo) AS repos,
       list(resource || coalesce(': ' || detail, '') ORDER BY resource)[1:{SAMPLE}] AS sample
FROM s GROUP BY check_id, platform, control_scope, status
ORDER BY status = 'not_evaluated', list_position(['critical','high','medium','low','info'], any_value(severity)),
         objects DESC, check_id, platform, scope
"""


@dataclass(frozen=True)
class ControlResult:
    """One control (check) in one scope: its failing (or not evaluated) objects, counted and sampled."""

    check_id: str
    title: str
    severity: str
    platform: str | None
    scope: str
    status: str  # fail | not_evaluated
    objects: int
    accounts: int
    repos: int
    sample: tuple[str, ...]
    fix: str

    @property
    def reach(self) -> str:
        """ "12 accounts, 40 repositories" — or the object count when neither is named."""
        parts = []
        if self.accounts:
            parts.append(f"{self.accounts:,} account{'s' if self.accounts != 1 else ''}")
        if self.repos:
            parts.append(f"{self.repos:,} repositor{'ies' if self.repos != 1 else 'y'}")
        if not parts:
            parts.append(f"{self.objects:,} object{'s' if self.objects != 1 else ''}")
        return ", ".join(parts)

    @property
    def sample_more(self) -> int:
        return max(self.objects - len(self.sample), 0)


@dataclass(frozen=True)
class FailingControl:
    """A control failing somewhere: its scopes merged (for the executive summary)."""

    check_id: str
    title: str
    severity: str
    scopes: tuple[str, ...]
    objects: int
    accounts: int
    repos: int
    fix: str

    @property
    def reach(self) -> str:
        return ControlResult(
            self.check_id, self.title, self.severity, None, "", "fail", self.objects, self.accounts, self.repos, (), ""
        ).reach


@dataclass(frozen=True)
class ManualRequirement:
    label: str
    title: str
    procedure: str


def _fixes() -> dict[str, tuple[str, str]]:
    """check id -> (title, remediation) from the check registry (validated metadata)."""
    from auditor.checks.registry import registry

    return {cid: (c.meta.title, c.meta.remediation) for cid, c in registry().items()}


def _top_causes(ws: Workspace) -> dict[tuple[str, str | None, str], str]:
    """(check id, platform, scope) -> the first cause line of its control finding, without the prefix."""
    rows = ws.con.execute(
        "SELECT substr(analytic, 7), platform, actor, "
        "list_filter(reasons, lambda x: starts_with(x, 'Cause: '))[1] FROM findings "
        "WHERE starts_with(analytic, 'check:') AND actor IS NOT NULL"
    ).fetchall()
    return {(c, p, a): text[len("Cause: ") :] for c, p, a, text in rows if text}


def control_results(ws: Workspace, run_id: str | None) -> tuple[ControlResult, ...]:
    """Failing and not-evaluated results of `run_id`, one row per (check, platform, scope, status)."""
    if run_id is None:
        return ()
    causes = _top_causes(ws)
    cur = ws.con.execute(_CONTROLS_SQL, [run_id])
    names = [d[0] for d in cur.description or ()]
    fixes = _fixes()
    out = []
    for row in cur.fetchall():
        r: dict[str, Any] = dict(zip(names, row, strict=True))
        title, fix = fixes.get(r["check_id"], (r["title"], "see the check's documentation (auditor check --list)"))
        # The control finding's top cause names the entitlement to change ("base permission read gives ...").
        fix = causes.get((r["check_id"], r["platform"], r["scope"])) or fix
        out.append(
            ControlResult(
                check_id=r["check_id"], title=title, severity=r["severity"], platform=r["platform"],
                scope=r["scope"], status=r["status"], objects=int(r["objects"]), accounts=int(r["accounts"]),
                repos=int(r["repos"]), sample=tuple(r["sample"] or ()), fix=fix,
            )
        )  # fmt: skip
    return tuple(out)


def failing_controls(results: tuple[ControlResult, ...]) -> tuple[FailingControl, ...]:
    """Failing results merged per control, in the order of `control_results` (most severe, widest first)."""
    merged: dict[str, list[ControlResult]] = {}
    for c in results:
        if c.status == "fail":
            merged.setdefault(c.check_id, []).append(c)
    return tuple(
        FailingControl(
            check_id=cid, title=rows[0].title, severity=rows[0].severity,
            scopes=tuple(f"{r.platform} {r.scope}" if r.platform and r.platform != r.scope else r.scope for r in rows),
            objects=sum(r.objects for r in rows), accounts=sum(r.accounts for r in rows),
            repos=sum(r.repos for r in rows), fix=rows[0].fix,
        )
        for cid, rows in merged.items()
    )  # fmt: skip


def manual_requirements(frameworks_dir: Path | None) -> tuple[ManualRequirement, ...]:
    """Framework requirements with a manual part, with the procedure the framework file gives for it."""
    from auditor.checks.frameworks import load_frameworks
    from auditor.checks.frameworks import manual_requirements as manual

    return tuple(
        ManualRequirement(label, title, procedure)
        for label, title, procedure in manual(load_frameworks(frameworks_dir))
    )
