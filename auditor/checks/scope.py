"""The current inventory the checks read: the latest collected snapshot per (platform, source).

Snapshots are never rewritten, so "current" is the newest snapshot of each collected org, group or
tenant. The `chk_*` temporary views join grants and credentials to repos, account classes and linked
identities once, so each check stays a short query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

VIEWS: list[str] = [
    # Newest snapshot of each collected source (org, group, tenant) per platform.
    """CREATE OR REPLACE TEMP TABLE chk_snapshots AS
       SELECT platform, source, arg_max(snapshot_id, created_at) AS snapshot_id, max(created_at) AS taken_at
       FROM snapshots WHERE kind = 'collect' AND platform IS NOT NULL GROUP BY platform, source""",
    # The reference time per platform: when its newest snapshot was taken.
    """CREATE OR REPLACE TEMP VIEW chk_reference AS
       SELECT platform, max(taken_at) AS taken_at FROM chk_snapshots GROUP BY platform""",
    # Materialised once per run: most access checks and the control causes read it.
    """CREATE OR REPLACE TEMP TABLE chk_grants AS
       SELECT g.platform, g.account, g.repo, g.role, g.via, s.taken_at,
              coalesce(r.restricted, true) AS restricted, r.restricted IS NULL AS repo_unknown, r.tier,
              a.account_class, coalesce(a.is_bot, false) AS is_bot, l.identity_id,
              i.identity_id IS NOT NULL AS identity_exists, i.upn, i.account_enabled, i.user_type, i.employee_type
       FROM grants g
       JOIN chk_snapshots s ON s.snapshot_id = g.snapshot_id AND s.platform = g.platform
       LEFT JOIN repos r ON r.platform = g.platform AND r.full_name = g.repo
       LEFT JOIN accounts a ON a.platform = g.platform AND a.login = g.account
       LEFT JOIN account_links l ON l.platform = g.platform AND l.login = g.account
       LEFT JOIN identities i ON i.identity_id = l.identity_id""",
    """CREATE OR REPLACE TEMP VIEW chk_memberships AS
       SELECT m.*, s.taken_at FROM memberships m
       JOIN chk_snapshots s ON s.snapshot_id = m.snapshot_id AND s.platform = m.platform""",
    """CREATE OR REPLACE TEMP VIEW chk_credentials AS
       SELECT c.*, s.taken_at, a.account_class AS owner_class FROM credentials c
       JOIN chk_snapshots s ON s.snapshot_id = c.snapshot_id AND s.platform = c.platform
       LEFT JOIN accounts a ON a.platform = c.platform AND a.login = c.owner""",
    """CREATE OR REPLACE TEMP VIEW chk_apps AS
       SELECT p.*, s.taken_at FROM apps p
       JOIN chk_snapshots s ON s.snapshot_id = p.snapshot_id AND s.platform = p.platform""",
    """CREATE OR REPLACE TEMP VIEW chk_settings AS
       SELECT t.*, s.taken_at FROM platform_settings t
       JOIN chk_snapshots s ON s.snapshot_id = t.snapshot_id AND s.platform = t.platform""",
    # Gaps of the current snapshots, plus gaps recorded without a snapshot (from imported logs).
    """CREATE OR REPLACE TEMP VIEW chk_gaps AS
       SELECT * FROM coverage_gaps
       WHERE snapshot_id IS NULL OR snapshot_id IN (SELECT snapshot_id FROM chk_snapshots)""",
    # Last activity per account (and per account and repo), from the audit events in the workspace.
    """CREATE OR REPLACE TEMP TABLE chk_activity AS
       SELECT platform, actor AS account, repo, max(ts) AS last_at FROM events
       WHERE actor IS NOT NULL AND platform IN ('github', 'gitlab') GROUP BY platform, actor, repo""",
    """CREATE OR REPLACE TEMP TABLE chk_event_span AS
       SELECT platform, min(ts) AS first_at, max(ts) AS last_at, count(*) AS events FROM events GROUP BY platform""",
    # Scopes (see SCOPE below). An account's scope: the source (GitHub org, GitLab group or instance, Entra
    # tenant) of the current snapshot its grants, memberships or credentials come from; the first by name
    # when several.
    """CREATE OR REPLACE TEMP TABLE chk_account_scope AS
       SELECT platform, account, min(source) AS scope FROM (
           SELECT g.platform, g.account, s.source FROM grants g
           JOIN chk_snapshots s ON s.snapshot_id = g.snapshot_id
           UNION ALL
           SELECT m.platform, m.account, s.source FROM memberships m
           JOIN chk_snapshots s ON s.snapshot_id = m.snapshot_id
           UNION ALL
           SELECT c.platform, c.owner, s.source FROM credentials c
           JOIN chk_snapshots s ON s.snapshot_id = c.snapshot_id
           WHERE c.owner IS NOT NULL)
       GROUP BY platform, account""",
    # Names that are scopes themselves: collected sources, GitHub orgs, GitLab top-level groups, settings scopes.
    """CREATE OR REPLACE TEMP TABLE chk_known_scopes AS
       SELECT platform, source AS scope FROM chk_snapshots
       UNION SELECT platform, scope FROM chk_memberships
             WHERE kind = 'org' OR (kind = 'group' AND NOT contains(scope, '/'))
       UNION SELECT platform, scope FROM chk_settings WHERE NOT contains(scope, '/')""",
    # A platform's scope when a result names neither repo nor account: its one current source, else the platform.
    """CREATE OR REPLACE TEMP TABLE chk_platform_scope AS
       SELECT platform, CASE WHEN count(*) = 1 THEN any_value(source) ELSE platform END AS scope
       FROM chk_snapshots GROUP BY platform""",
]

# The scope a check result belongs to (the unit a control is evaluated and reported per), derived set-based
# from the result `q` joined to chk_account_scope `a`, chk_known_scopes `k` and chk_platform_scope `p`:
#   1. a repository: its owner, the first path segment (GitHub org, GitLab top-level group);
#   2. an account: the source of the current snapshot that holds it (GitHub org, GitLab group or instance);
#      an "account" that is a path (a GitLab deploy token's group or project): its top-level group;
#   3. a resource that is itself a scope (an org, a top-level group, a settings scope): itself;
#   4. otherwise the platform's one current source (org, instance, tenant), or the platform name when it has
#      several or none ('workspace' for results about no platform).
SCOPE = """CASE WHEN q.repo IS NOT NULL AND q.platform IN ('github', 'gitlab') AND contains(q.repo, '/')
                THEN split_part(q.repo, '/', 1)
            WHEN a.scope IS NOT NULL THEN a.scope
            WHEN q.account IS NOT NULL AND q.platform IN ('github', 'gitlab') AND contains(q.account, '/')
                THEN split_part(q.account, '/', 1)
            WHEN k.scope IS NOT NULL THEN k.scope
            ELSE coalesce(p.scope, q.platform, 'workspace') END"""
SCOPE_JOINS = """LEFT JOIN chk_account_scope a ON a.platform = q.platform AND a.account = q.account
LEFT JOIN chk_known_scopes k ON k.platform = q.platform AND k.scope = q.resource
LEFT JOIN chk_platform_scope p ON p.platform = q.platform"""

# Platforms the workspace knows about at all: a check reports not_evaluated for these when its input is
# missing, and stays silent about platforms the organisation does not use.
SEEN_PLATFORMS = """
SELECT DISTINCT platform FROM (
    SELECT platform FROM chk_snapshots UNION ALL SELECT platform FROM repos UNION ALL
    SELECT platform FROM accounts UNION ALL SELECT platform FROM chk_event_span UNION ALL
    SELECT platform FROM log_sources UNION ALL SELECT platform FROM coverage_gaps)
WHERE platform IS NOT NULL
"""

# Requirement name -> (SQL counting rows with ? = platform, what to do about it).
REQUIREMENTS: dict[str, tuple[str, str]] = {
    "inventory": (
        "SELECT count(*) FROM chk_snapshots WHERE platform = ?",
        "no {platform} inventory snapshot in the workspace (run `auditor collect {platform}`)",
    ),
    "identities": (
        "SELECT count(*) FROM identities WHERE ? IS NOT NULL",
        "no IdP identities in the workspace (run `auditor collect entra` or import users)",
    ),
    "events": (
        "SELECT count(*) FROM chk_event_span WHERE platform = ?",
        "no {platform} audit events in the workspace (import or collect the audit log)",
    ),
    "entra_inventory": (
        "SELECT count(*) FROM chk_snapshots WHERE platform = 'entra' AND ? IS NOT NULL",
        "no Entra inventory snapshot in the workspace (run `auditor collect entra`)",
    ),
}


def build_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the chk_* views for this connection."""
    for statement in VIEWS:
        con.execute(statement)


def seen_platforms(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute(SEEN_PLATFORMS).fetchall()}


def missing_inputs(con: duckdb.DuckDBPyConnection, requires: tuple[str, ...], platform: str) -> list[str]:
    """Why a check cannot be evaluated for `platform` (empty when every required input is present)."""
    reasons = []
    for name in requires:
        sql, reason = REQUIREMENTS[name]
        row = con.execute(sql, [platform]).fetchone()
        if not row or not row[0]:
            reasons.append(reason.format(platform=platform))
    return reasons
