"""The revocation plan of a closed campaign: per entitlement the exact platform call that carries out the
decision, the effective grants it removes, and per account the restricted repos that become unreachable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from auditor.checks.scope import build_views
from auditor.entitlements.build import build_entitlements

if TYPE_CHECKING:
    import duckdb


def _p(value: str) -> str:
    """A path segment (GitLab takes URL-encoded full paths for :id)."""
    return quote(value, safe="")


def platform_call(
    platform: str, kind: str, scope: str, account: str | None, team: str | None, object_id: str | None,
    decision: str, new_role: str | None,
) -> str:  # fmt: skip
    """The API call (or, where there is none, the console step) that applies a revoke or modify."""
    org = scope.split("/", 1)[0]
    user = account or "?"
    obj = (object_id or "").split(":", 1)[-1]
    modify = decision == "modify"
    if platform == "github":
        if kind == "base_permission":
            return f'PATCH /orgs/{org} {{"default_repository_permission": "{new_role if modify else "none"}"}}'
        if kind == "org_role":
            if modify:
                return (
                    f'PUT /orgs/{org}/memberships/{user} {{"role": "{"admin" if new_role == "owner" else "member"}"}}'
                )
            return f"DELETE /orgs/{org}/memberships/{user}"
        if kind == "team_membership":
            if modify:
                return f'PUT /orgs/{org}/teams/{team}/memberships/{user} {{"role": "{new_role}"}}'
            return f"DELETE /orgs/{org}/teams/{team}/memberships/{user}"
        if kind == "team_repos":
            if modify:
                perm = _gh_perm(new_role)
                each = "for each repo in its reach"
                return f'PUT /orgs/{org}/teams/{team}/repos/OWNER/REPO {{"permission": "{perm}"}} {each}'
            return f"DELETE /orgs/{org}/teams/{team}/repos/OWNER/REPO for each repository in its reach"
        if kind == "team_repo":
            if modify:
                return f'PUT /orgs/{org}/teams/{team}/repos/{scope} {{"permission": "{_gh_perm(new_role)}"}}'
            return f"DELETE /orgs/{org}/teams/{team}/repos/{scope}"
        if kind == "outside_collaborator":
            return f"DELETE /orgs/{org}/outside_collaborators/{user} (or change its role per repository)"
        if kind == "direct_collaborator":
            if modify:
                return f'PUT /repos/{scope}/collaborators/{user} {{"permission": "{_gh_perm(new_role)}"}}'
            return f"DELETE /repos/{scope}/collaborators/{user}"
        if kind == "custom_org_role":
            return f"DELETE /orgs/{org}/organization-roles/users/{user}/ROLE_ID (role {team or ''})".strip()
        if kind == "deploy_key":
            return f"DELETE /repos/{scope}/keys/{obj}"
        if kind == "app_installation":
            return f"Organization settings → GitHub Apps → uninstall, or DELETE /app/installations/ID (app {obj})"
        if kind == "credential":
            if (object_id or "").startswith("fine_grained_pat:"):
                return f'POST /orgs/{org}/personal-access-tokens/{obj} {{"action": "revoke"}}'
            return f"DELETE /orgs/{org}/credential-authorizations/{obj}"
    if platform == "gitlab":
        if kind == "group_membership":
            if modify:
                return f"PUT /groups/{_p(scope)}/members/USER_ID?access_level=LEVEL ({user} → {new_role})"
            return f"DELETE /groups/{_p(scope)}/members/USER_ID ({user})"
        if kind == "project_membership":
            if modify:
                return f"PUT /projects/{_p(scope)}/members/USER_ID?access_level=LEVEL ({user} → {new_role})"
            return f"DELETE /projects/{_p(scope)}/members/USER_ID ({user})"
        if kind == "group_share":
            where = "projects" if "/" in scope else "groups"
            return f"DELETE /{where}/{_p(scope)}/share/GROUP_ID (group {team})"
        if kind == "deploy_token":
            return f"DELETE /projects/{_p(scope)}/deploy_tokens/{obj}"
        if kind == "deploy_key":
            return f"DELETE /projects/{_p(scope)}/deploy_keys/{obj}"
        if kind == "oauth_app":
            return f"DELETE /applications/ID (application {obj})"
        if kind == "credential":
            cred = (object_id or "").split(":", 1)[0]
            if cred == "personal_access_token":
                return f"DELETE /personal_access_tokens/{obj}"
            return f"revoke {cred.replace('_', ' ')} {obj} (owner {user}) in the group or project settings"
    if platform == "entra":
        if kind == "idp_group_membership":
            return f"DELETE /groups/{obj}/members/USER_ID/$ref ({user})"
        if kind == "directory_role":
            return f"DELETE /roleManagement/directory/roleAssignments/ASSIGNMENT_ID (role {team or obj}, {user})"
    return f"{decision} {kind} {scope} {user}"


def _gh_perm(role: str | None) -> str:
    """GitHub's API names read and write pull and push."""
    return {"read": "pull", "write": "push"}.get(role or "", role or "")


@dataclass(frozen=True)
class Plan:
    """Per entitlement: (row_id, removed grants); per account: repos that become unreachable."""

    removed_by_row: dict[str, int]
    unreachable: list[tuple[str, str, list[str]]]  # (platform, account, repos)
    removed_total: int


_REMOVED = """
CREATE OR REPLACE TEMP TABLE plan_removed AS
WITH revoked AS (SELECT unnest($ids::VARCHAR[]) AS entitlement_id),
paths AS (
    SELECT l.platform, l.account, l.repo, l.path, bool_or(rv.entitlement_id IS NOT NULL) AS cut
    FROM ent_links l LEFT JOIN revoked rv ON rv.entitlement_id = l.entitlement_id
    LEFT JOIN repos r ON r.platform = l.platform AND r.full_name = l.repo
    WHERE l.account IS NOT NULL AND l.path IS NOT NULL AND coalesce(r.restricted, true) GROUP BY ALL
),
-- Removing an account from the org (revoking its org role) removes every grant but outside collaboration.
org_cut AS (
    SELECT DISTINCT e.platform, e.account FROM ent_current e
    JOIN revoked rv ON rv.entitlement_id = e.entitlement_id WHERE e.kind = 'org_role'
)
SELECT p.platform, p.account, p.repo FROM paths p
LEFT JOIN org_cut o ON o.platform = p.platform AND o.account = p.account
GROUP BY ALL
HAVING bool_and(p.cut OR (o.account IS NOT NULL AND p.path <> 'outside_collaborator'))
"""


def revocation_plan(con: duckdb.DuckDBPyConnection, snapshot_ids: list[str], revoked: dict[str, str]) -> Plan:
    """`revoked`: entitlement_id -> row_id of the rows decided revoke. Links are rebuilt from the campaign's
    own frozen snapshots, so a later collection does not change what the plan says."""
    build_views(con)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE chk_snapshots AS SELECT platform, source, snapshot_id, created_at AS taken_at "
        "FROM snapshots WHERE list_contains($ids::VARCHAR[], snapshot_id)",
        {"ids": snapshot_ids},
    )
    build_entitlements(con, views=False, team_groups=True)
    con.execute(_REMOVED, {"ids": list(revoked)})
    by_row = {
        revoked[eid]: int(n)
        for eid, n in con.execute(
            "SELECT x.entitlement_id, count(DISTINCT (r.platform, r.account, r.repo)) FROM plan_removed r JOIN ("
            "  SELECT entitlement_id, platform, account, repo FROM ent_links UNION ALL "
            "  SELECT e.entitlement_id, e.platform, e.account, p.repo FROM ent_current e JOIN plan_removed p "
            "  ON p.platform = e.platform AND p.account = e.account AND split_part(p.repo, '/', 1) = e.scope "
            "  WHERE e.kind = 'org_role') x ON x.platform = r.platform AND x.account = r.account AND x.repo = r.repo "
            "WHERE list_contains($ids::VARCHAR[], x.entitlement_id) GROUP BY ALL",
            {"ids": list(revoked)},
        ).fetchall()
    }
    unreachable = [
        (p, a, list(repos))
        for p, a, repos in con.execute(
            "SELECT platform, account, list(repo ORDER BY repo) FROM plan_removed GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()
    ]
    total = sum(len(r) for _, _, r in unreachable)
    return Plan({rid: by_row.get(rid, 0) for rid in revoked.values()}, unreachable, total)
