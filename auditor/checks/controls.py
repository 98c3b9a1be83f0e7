"""Control-level results: one verdict per (check, platform, scope), its causes and its finding.

A check evaluates per resource (check_results keeps every row as evidence); people act on controls, so a
failing control becomes ONE finding per (check, platform, scope) whose reasons count what failed, name a
sample of the objects, and, for grant-based checks, name the entitlements (grant paths) that cause the
failures with their reach and what to change. Everything here is set-based SQL over the run's rows.

Accepted risks (`checks.accepted_risks`): a failing result whose resource matches an unexpired accepted
risk of its check is *accepted*. A control whose failing results are all accepted gets a suppressed finding
(with the risks' reasons); otherwise the finding stays open, its counts, sample and causes cover the
results not accepted, and one reason says how many were accepted and why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.checks.registry import registry

if TYPE_CHECKING:
    import duckdb

    from auditor.config.models import AuditorConfig

ANALYTIC_PREFIX = "check:"
SCORE = {"critical": 90, "high": 75, "medium": 55, "low": 35, "info": 15}
SAMPLE = 10  # objects named in a control's reasons and JSON
REPO_SAMPLE = 20  # findings.repos of a control finding
CAUSES_IN_REASONS = 3
CAUSES_IN_JSON = 10


def finding_id(check_id: str, platform: str | None, scope: str) -> str:
    """Stable per (check, platform, scope), so triage status survives re-runs."""
    digest = hashlib.sha256(f"{check_id}|{platform or ''}|{scope}".encode()).hexdigest()
    return "CHK-" + digest[:12]


_FID = "'CHK-' || substr(sha256(check_id || '|' || coalesce(platform, '') || '|' || scope), 1, 12)"


def _n(expr: str, singular: str, plural: str) -> str:
    """SQL: '19,509 grants' / '1 grant'."""
    return f"(format('{{:,}}', CAST({expr} AS BIGINT)) || CASE WHEN {expr} = 1 THEN ' {singular}' ELSE ' {plural}' END)"


def _glob_to_like(pattern: str) -> str:
    """A config glob (only * and ? are wildcards) as an ILIKE pattern with escape character '\\'."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


# Failing results of the run; `accepted` names the accepted risk covering it; `counted` says whether the
# result counts in its control's figures (not accepted, or every failure of the control is accepted).
_FAIL = """
CREATE OR REPLACE TEMP TABLE chk_fail AS
WITH f AS (
    SELECT r.check_id, r.platform, r.scope, r.resource, r.account, r.repo, r.detail,
           (SELECT min(k.reason) FROM chk_risks k
            WHERE k.check_id = r.check_id AND ilike_escape(r.resource, k.pat, '\\')) AS accepted
    FROM check_results r WHERE r.run_id = $run AND r.status = 'fail'
)
SELECT *, accepted IS NULL OR NOT bool_or(accepted IS NULL) OVER (PARTITION BY check_id, platform, scope) AS counted
FROM f
"""

_CONTROLS = f"""
CREATE OR REPLACE TEMP TABLE chk_controls AS
WITH tot AS (
    SELECT check_id, platform, scope, any_value(title) AS title, any_value(category) AS category,
           any_value(severity) AS severity,
           count(*) FILTER (WHERE status = 'fail') AS failing_all,
           count(*) FILTER (WHERE status = 'pass') AS passing,
           count(*) FILTER (WHERE status = 'not_evaluated') AS not_evaluated
    FROM check_results WHERE run_id = $run GROUP BY check_id, platform, scope
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY check_id, platform, scope, coalesce(account, resource)
                                 ORDER BY resource) AS rn
    FROM chk_fail
),
fl AS (
    SELECT f.check_id, f.platform, f.scope,
           count(*) FILTER (WHERE counted) AS failing,
           count(*) FILTER (WHERE accepted IS NOT NULL) AS accepted,
           list_sort(list_distinct(list(accepted) FILTER (WHERE accepted IS NOT NULL))) AS accepted_reasons,
           count(*) FILTER (WHERE counted AND account IS NOT NULL AND f.repo IS NOT NULL) AS grants,
           count(DISTINCT account) FILTER (WHERE counted) AS accounts,
           count(DISTINCT f.repo) FILTER (WHERE counted) AS repos,
           count(DISTINCT f.repo) FILTER (WHERE counted AND coalesce(rp.restricted, false)) AS restricted_repos,
           (list(resource ORDER BY rn, resource) FILTER (WHERE counted))[1:{SAMPLE}] AS sample,
           (list(resource || ': ' || coalesce(detail, '') ORDER BY rn, resource) FILTER (WHERE counted))[1]
               AS example,
           list_sort(list_distinct(list(f.repo) FILTER (WHERE counted AND f.repo IS NOT NULL)))[1:{REPO_SAMPLE}]
               AS repo_sample,
           CASE WHEN count(*) FILTER (WHERE counted AND (f.account IS NULL OR ac.account_class IS NULL)) = 0
                     AND count(DISTINCT ac.account_class) FILTER (WHERE counted) = 1
                THEN any_value(ac.account_class) FILTER (WHERE counted) END AS cls
    FROM ranked f LEFT JOIN repos rp ON rp.platform = f.platform AND rp.full_name = f.repo
    LEFT JOIN accounts ac ON ac.platform = f.platform AND ac.login = f.account
    GROUP BY f.check_id, f.platform, f.scope
)
SELECT t.*, {_FID.replace("check_id", "t.check_id").replace("platform", "t.platform").replace("scope", "t.scope")}
           AS finding_id,
       CASE WHEN t.failing_all > 0 THEN 'fail' WHEN t.not_evaluated > 0 THEN 'not_evaluated' ELSE 'pass' END
           AS status,
       coalesce(fl.failing, 0) AS failing, coalesce(fl.accepted, 0) AS accepted,
       coalesce(fl.accepted_reasons, []) AS accepted_reasons,
       coalesce(fl.grants, 0) AS grants, coalesce(fl.accounts, 0) AS accounts, coalesce(fl.repos, 0) AS repos,
       coalesce(fl.restricted_repos, 0) AS restricted_repos, coalesce(fl.sample, []) AS sample,
       coalesce(fl.repo_sample, []) AS repo_sample, fl.cls, fl.example
FROM tot t LEFT JOIN fl ON fl.check_id = t.check_id AND fl.platform IS NOT DISTINCT FROM t.platform
                        AND fl.scope = t.scope
"""


def _reach(p: str = "") -> str:
    """SQL: '236 restricted repos' / '40 repos (12 restricted)' from columns {p}repos, {p}restricted_repos."""
    repos, restricted = f"{p}repos", f"{p}restricted_repos"
    return (
        f"CASE WHEN {restricted} = {repos} THEN {_n(repos, 'restricted repo', 'restricted repos')} "
        f"ELSE {_n(repos, 'repo', 'repos')} || CASE WHEN {restricted} > 0 "
        f"THEN ' (' || format('{{:,}}', {restricted}) || ' restricted)' ELSE '' END END"
    )


def _who(p: str = "") -> str:
    """SQL: '100 non-developer accounts' when they share a class ({p}cls), else '100 accounts'."""
    accounts, cls = f"{p}accounts", f"{p}cls"
    return (
        f"CASE WHEN {cls} IS NOT NULL THEN format('{{:,}}', {accounts}) || ' ' || replace({cls}, '_', '-') || "
        f"CASE WHEN {accounts} = 1 THEN ' account' ELSE ' accounts' END ELSE {_n(accounts, 'account', 'accounts')} END"
    )


_MEMBER_ROLES = "coalesce(' (' || nullif(array_to_string(member_roles, '/'), '') || ')', '')"
# What the path is called, and what to change, per path kind (grants' `via` vocabulary).
_LABEL = f"""CASE WHEN path = 'org_base' THEN 'base permission ' || coalesce(base, array_to_string(roles, '/'))
     WHEN path = 'org_owner' THEN 'the organization owner role'
     WHEN starts_with(path, 'team:') THEN 'team ' || substr(path, 6) || {_MEMBER_ROLES}
     WHEN path = 'direct' THEN 'direct collaborator access'
     WHEN path = 'outside_collaborator' THEN 'outside collaborator access'
     WHEN starts_with(path, 'group:') THEN 'membership of group ' || substr(path, 7) || {_MEMBER_ROLES}
     WHEN starts_with(path, 'shared_group:') THEN 'group ' || substr(path, 14) || ' shared with these projects'
     WHEN path = 'project' THEN 'project membership'
     ELSE path END"""
_ACTION = """CASE WHEN path = 'org_base' THEN 'set the base permission to none and grant repos through teams'
     WHEN path = 'org_owner' THEN 'demote the owners who do not need to administer the organization'
     WHEN starts_with(path, 'team:') THEN 'remove them from team ' || substr(path, 6) ||
          ', or lower the team''s role on these repos'
     WHEN path = 'direct' THEN 'remove the direct collaborators (grant through a reviewed team if needed)'
     WHEN path = 'outside_collaborator' THEN 'remove the outside collaborators, or make them IdP-managed members '
          || 'with time-bound grants'
     WHEN starts_with(path, 'group:') THEN 'remove them from group ' || substr(path, 7) ||
          ', or lower their role in it'
     WHEN starts_with(path, 'shared_group:') THEN 'unshare group ' || substr(path, 14) ||
          ' from these projects, or lower the share''s role'
     WHEN path = 'project' THEN 'remove them as members of these projects'
     ELSE 'remove the grant' END"""

_CAUSES = f"""
CREATE OR REPLACE TEMP TABLE chk_causes AS
WITH fg AS (
    SELECT f.check_id, f.platform, f.scope, f.account, f.repo, g.role, g.restricted, g.account_class,
           len(g.via) AS paths, unnest(g.via) AS path
    FROM chk_fail f JOIN chk_grants g ON g.platform = f.platform AND g.account = f.account AND g.repo = f.repo
    WHERE f.counted
),
mem AS (
    SELECT platform, account, CASE WHEN kind = 'team' THEN 'team:' ELSE 'group:' END || scope AS path,
           max(role) AS mrole
    FROM chk_memberships WHERE kind IN ('team', 'group') GROUP BY ALL
),
base AS (
    SELECT platform, scope, arg_max(value, taken_at) AS base FROM chk_settings
    WHERE key = 'default_repository_permission' GROUP BY ALL
),
agg AS (
    SELECT fg.check_id, fg.platform, fg.scope, fg.path, count(*) AS grants,
           count(*) FILTER (WHERE fg.paths = 1) AS sole_path,
           count(DISTINCT fg.account) AS accounts, count(DISTINCT fg.repo) AS repos,
           count(DISTINCT fg.repo) FILTER (WHERE fg.restricted) AS restricted_repos,
           list_sort(list_distinct(list(fg.role))) AS roles,
           list_sort(list_distinct(list(m.mrole) FILTER (WHERE m.mrole IS NOT NULL))) AS member_roles,
           CASE WHEN count(*) FILTER (WHERE fg.account_class IS NULL) = 0 AND count(DISTINCT fg.account_class) = 1
                THEN any_value(fg.account_class) END AS cls
    FROM fg LEFT JOIN mem m ON m.platform = fg.platform AND m.account = fg.account AND m.path = fg.path
    GROUP BY ALL
),
named AS (
    SELECT agg.*, b.base FROM agg LEFT JOIN base b ON b.platform = agg.platform AND b.scope = agg.scope
)
SELECT check_id, platform, scope, path, grants, sole_path, accounts, repos, restricted_repos,
       {_LABEL} || ' gives ' || {_who()} || ' ' ||
           CASE WHEN path = 'org_base' AND base IS NOT NULL THEN base WHEN path = 'org_owner' THEN 'admin'
                ELSE array_to_string(roles, '/') END || ' on ' || {_reach()} AS cause,
       {_ACTION} AS remediation,
       row_number() OVER (PARTITION BY check_id, platform, scope ORDER BY grants DESC, path) AS rank
FROM named
"""

_SUMMARY = f"""c.title || ' in ' || c.scope || ': ' || CASE
    WHEN c.grants = c.failing AND c.grants > 0
        THEN {_n("c.failing", "grant fails", "grants fail")} || ': ' || {_who("c.")} || ' on ' || {_reach("c.")}
    WHEN c.repos > 0 AND c.accounts = 0
        THEN {_n("c.failing", "result fails", "results fail")} || ' on ' || {_n("c.repos", "repo", "repos")}
    WHEN c.accounts > 0 AND c.repos = 0
        THEN {_n("c.failing", "result fails", "results fail")} || ' for ' || {_n("c.accounts", "account", "accounts")}
    ELSE {_n("c.failing", "result fails", "results fail")} END
    || ' (' || format('{{:,}}', c.passing) || ' pass, ' || format('{{:,}}', c.not_evaluated) || ' not evaluated)'"""

_FINDINGS = f"""
INSERT INTO findings (id, analytic, severity, score, platform, actor, identity, repos, first_seen, last_seen, reasons,
                      evidence, suppressed, suppression_reason, run_id, detected_at, status, status_note,
                      status_changed_at, status_expires)
WITH causes AS (
    SELECT check_id, platform, scope, list('Cause: ' || cause || ' → ' || remediation ORDER BY rank) AS lines
    FROM chk_causes WHERE rank <= {CAUSES_IN_REASONS} GROUP BY ALL
),
remedies AS (SELECT unnest(CAST($ids AS VARCHAR[])) AS check_id, unnest(CAST($remedies AS VARCHAR[])) AS remediation),
ref AS (SELECT platform, taken_at FROM chk_reference)
SELECT c.finding_id, '{ANALYTIC_PREFIX}' || c.check_id, c.severity,
       CASE c.severity {" ".join(f"WHEN '{k}' THEN {v}" for k, v in SCORE.items())} END,
       c.platform, c.scope, NULL, c.repo_sample, coalesce(p.first_seen, $now), $now,
       list_filter(list_concat(
           [{_SUMMARY}],
           coalesce(k.lines, []),
           [CASE WHEN len(c.sample) > 0 THEN 'Sample (' || len(c.sample) || ' of ' || format('{{:,}}', c.failing) ||
                 '): ' || array_to_string(c.sample, '; ') END,
            CASE WHEN c.accepted > 0 THEN {_n("c.accepted", "failing result", "failing results")} ||
                 ' accepted as risk: ' || array_to_string(c.accepted_reasons, '; ') END,
            'Remediation: ' || r.remediation]), lambda x: x IS NOT NULL),
       ['check_results run ' || $run || ' (check_id ' || c.check_id || ', scope ' || c.scope || ')'],
       c.failing_all = c.accepted,
       CASE WHEN c.failing_all = c.accepted THEN 'accepted risk: ' || array_to_string(c.accepted_reasons, '; ') END,
       $run, $now,
       CASE WHEN p.status = 'resolved' AND ref.taken_at > p.status_changed_at THEN 'new'
            ELSE coalesce(p.status, 'new') END,
       p.status_note, p.status_changed_at, p.status_expires
FROM chk_controls c
LEFT JOIN chk_previous p ON p.id = c.finding_id
LEFT JOIN causes k ON k.check_id = c.check_id AND k.platform IS NOT DISTINCT FROM c.platform AND k.scope = c.scope
LEFT JOIN remedies r ON r.check_id = c.check_id
LEFT JOIN ref ON ref.platform = c.platform
WHERE c.failing_all > 0
"""

# A control marked resolved that still fails in a snapshot taken after the mark is reopened, with a note.
_REOPENED = """
INSERT INTO finding_notes (finding_id, noted_at, author, status, note, expires)
SELECT f.id, $now, 'auditor check', 'new',
       'reopened: still failing in the snapshot of ' || strftime(ref.taken_at, '%Y-%m-%d %H:%M') || ' UTC', NULL
FROM findings f JOIN chk_previous p ON p.id = f.id JOIN chk_reference ref ON ref.platform = f.platform
WHERE f.run_id = $run AND p.status = 'resolved' AND f.status = 'new'
"""


@dataclass(frozen=True)
class Cause:
    """An entitlement (grant path) behind a control's failing grants, with its reach and the change to make."""

    path: str
    grants: int
    sole_path: int
    accounts: int
    repos: int
    restricted_repos: int
    cause: str
    remediation: str

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "grants": self.grants,
            "sole_path": self.sole_path,
            "accounts": self.accounts,
            "repos": self.repos,
            "restricted_repos": self.restricted_repos,
            "cause": self.cause,
            "remediation": self.remediation,
        }


@dataclass(frozen=True)
class Control:
    """One check on one scope: the verdict people act on."""

    check_id: str
    title: str
    category: str
    severity: str
    platform: str | None
    scope: str
    status: str
    failing: int
    passing: int
    not_evaluated: int
    accepted: int
    finding_id: str | None
    sample: list[str]
    example: str | None  # the first failing result, "resource: detail"
    causes: list[Cause] = field(default_factory=list)

    @property
    def top_cause(self) -> str:
        """The top grant path with its reach and change; else the first failure's own detail."""
        if self.causes:
            return f"{self.causes[0].cause} → {self.causes[0].remediation}"
        if self.example and self.failing:
            return ("e.g. " if self.failing > 1 else "") + self.example
        return ""

    def to_json(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "title": self.title,
            "category": self.category,
            "severity": self.severity,
            "platform": self.platform,
            "scope": self.scope,
            "status": self.status,
            "failing": self.failing,
            "passing": self.passing,
            "not_evaluated": self.not_evaluated,
            "accepted": self.accepted,
            "finding_id": self.finding_id,
            "causes": [c.to_json() for c in self.causes],
            "sample": self.sample,
            "example": self.example,
        }


def write_controls(con: duckdb.DuckDBPyConnection, cfg: AuditorConfig, run_id: str, now: datetime) -> int:
    """Aggregate the run's results into controls and replace the check findings (one per failing control);
    triage status, notes and first_seen carry over by id. Returns the number of check findings."""
    today = now.date()
    risks = [
        (risk.check, _glob_to_like(pattern), f"{risk.reason}" + (f" ({risk.ticket})" if risk.ticket else ""))
        for risk in cfg.checks.accepted_risks
        if risk.expires is None or risk.expires >= today
        for pattern in risk.resources
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE chk_risks AS SELECT unnest(?::VARCHAR[]) AS check_id, "
        "unnest(?::VARCHAR[]) AS pat, unnest(?::VARCHAR[]) AS reason",
        [[r[0] for r in risks], [r[1] for r in risks], [r[2] for r in risks]],
    )
    con.execute(_FAIL, {"run": run_id})
    con.execute(_CONTROLS, {"run": run_id})
    con.execute(_CAUSES)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE chk_previous AS SELECT id, first_seen, coalesce(status, 'new') AS status, "
        "status_note, status_changed_at, status_expires FROM findings WHERE starts_with(analytic, ?)",
        [ANALYTIC_PREFIX],
    )
    con.execute("DELETE FROM findings WHERE starts_with(analytic, ?)", [ANALYTIC_PREFIX])
    reg = registry()
    con.execute(
        _FINDINGS,
        {"run": run_id, "now": now, "ids": list(reg), "remedies": [c.meta.remediation for c in reg.values()]},
    )
    con.execute(_REOPENED, {"run": run_id, "now": now})
    row = con.execute("SELECT count(*) FROM findings WHERE starts_with(analytic, ?)", [ANALYTIC_PREFIX]).fetchone()
    return int(row[0]) if row else 0


def load_controls(con: duckdb.DuckDBPyConnection) -> list[Control]:
    """The controls of the run just written (chk_controls, chk_causes): registry order, then platform, scope."""
    causes: dict[tuple[str, str | None, str], list[Cause]] = {}
    for r in con.execute(
        "SELECT check_id, platform, scope, path, grants, sole_path, accounts, repos, restricted_repos, cause, "
        f"remediation FROM chk_causes WHERE rank <= {CAUSES_IN_JSON} ORDER BY check_id, platform, scope, rank"
    ).fetchall():
        causes.setdefault((r[0], r[1], r[2]), []).append(
            Cause(r[3], int(r[4]), int(r[5]), int(r[6]), int(r[7]), int(r[8]), r[9], r[10])
        )
    rows = con.execute(
        "SELECT check_id, title, category, severity, platform, scope, status, failing, passing, not_evaluated, "
        "accepted, CASE WHEN failing_all > 0 THEN finding_id END, sample, example FROM chk_controls "
        "ORDER BY list_position(?::VARCHAR[], check_id), coalesce(platform, ''), scope",
        [list(registry())],
    ).fetchall()
    return [
        Control(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            int(r[7]),
            int(r[8]),
            int(r[9]),
            int(r[10]),
            r[11],
            list(r[12]),
            r[13],
            causes.get((r[0], r[4], r[5]), []),
        )
        for r in rows
    ]
