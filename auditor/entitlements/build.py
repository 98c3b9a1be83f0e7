"""Derive the entitlements of the current snapshots in SQL (derive.sql) and persist them once per snapshot.

After `build_entitlements`, these temp tables exist on the connection:
  ent_links   (snapshot_id, platform, entitlement_id, account, repo, role, path)  grants
              each entitlement produces, and by which path (NULL for credentials and apps)
  ent_current (snapshot_id, entitlement_id, platform, kind, scope, account, team, role, object_id, name, source)
  ent_reach   (entitlement_id, repos, by_tier, max_role, accounts, last_activity)
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from auditor.checks.scope import build_views

if TYPE_CHECKING:
    import duckdb

    from auditor.config.models import AuditorConfig
    from auditor.workspace.store import Workspace

# Every platform role, lowest first (GitHub and GitLab interleaved so "write or above" is one comparison).
# A custom role ranks just above triage, below write.
ROLE_ORDER = (
    "minimal_access", "guest", "planner", "read", "reporter", "triage",
    "write", "developer", "maintain", "maintainer", "admin", "owner",
)  # fmt: skip
WRITE_RANK = ROLE_ORDER.index("write") + 1
GITHUB_REPO_ROLES = ("read", "triage", "write", "maintain", "admin")
GITLAB_ROLES = ("guest", "planner", "reporter", "developer", "maintainer", "owner")


def _statements() -> list[str]:
    text = resources.files("auditor.entitlements").joinpath("derive.sql").read_text(encoding="utf-8")
    return [s.strip() for s in text.split("\n;\n") if s.strip()]


# A team's grants on repos at one role, as one reviewable row ("team all-staff → read on 237 repos"):
# added to ent_current and ent_links as kind team_repos (campaigns review these, not one row per repo).
_TEAM_GROUPS = [
    """CREATE OR REPLACE TEMP TABLE ent_team_groups AS
       SELECT ent_id(platform || '|team_repos|' || split_part(scope, '/', 1) || '|' || team || '|'
                     || coalesce(role, '')) AS group_id, entitlement_id, snapshot_id, platform,
              split_part(scope, '/', 1) AS org, team, role
       FROM ent_current WHERE kind = 'team_repo'""",
    """INSERT INTO ent_current SELECT DISTINCT snapshot_id, group_id, platform, 'team_repos', org, NULL, team,
       role, NULL, NULL, 'grouped team_repo entitlements' FROM ent_team_groups""",
    """INSERT INTO ent_links SELECT DISTINCT l.snapshot_id, l.platform, g.group_id, l.account, l.repo, l.role, l.path
       FROM ent_links l JOIN ent_team_groups g ON g.entitlement_id = l.entitlement_id""",
]


def build_entitlements(con: duckdb.DuckDBPyConnection, views: bool = True, team_groups: bool = False) -> None:
    """Create the ent_* temp tables for the current snapshots and write each snapshot's entitlements to the
    `entitlements` table the first time (snapshots are never rewritten, so neither are their entitlements).
    `team_groups` adds the team_repos rows campaigns review (never persisted) before reach is computed once.
    Call inside a transaction; `views=False` when the caller has just built the chk_* views."""
    if views:
        build_views(con)
    *derive, reach = _statements()
    for statement in derive:
        con.execute(statement, {"roles": list(ROLE_ORDER)} if "$roles" in statement else None)
    con.execute(
        "INSERT INTO entitlements SELECT snapshot_id, entitlement_id, platform, kind, scope, account, team, role, "
        "object_id, name, source FROM ent_current "
        "WHERE snapshot_id NOT IN (SELECT DISTINCT snapshot_id FROM entitlements)"
    )
    if team_groups:
        for statement in _TEAM_GROUPS:
            con.execute(statement)
    con.execute(reach, {"roles": list(ROLE_ORDER)})


def refresh_entitlements(ws: Workspace, cfg: AuditorConfig) -> None:
    """Restriction and account classes as configured now, then the entitlements, in one transaction (what
    the listing commands show)."""
    from auditor.classify import classify_accounts
    from auditor.restriction import apply_restriction

    with ws.transaction() as con:
        apply_restriction(ws, cfg.restriction)
        classify_accounts(ws, cfg.account_classes)
        build_entitlements(con)
