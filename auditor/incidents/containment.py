"""Containment steps for one incident, each naming the exact platform action (REST call or console path).

Pure functions over what the incident pack already gathered: the finding, the actor's org and platform
user id, the identity's object id, the credentials and apps seen in use, and the grants (with their
`via` paths) that make the repos reachable. The steps recommend; nothing here calls a platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from auditor.incidents.model import ContainmentStep

if TYPE_CHECKING:
    from auditor.findings import Finding
    from auditor.incidents.model import AppInvolved, CredentialInvolved


def _enc(path: str) -> str:
    """A GitLab namespace/project path as the URL-encoded `:id` its API accepts."""
    return quote(path, safe="")


def _norm(kind: str) -> str:
    """One spelling for credential kinds from inventories and logs ("Fine-grained personal access token")."""
    return kind.strip().lower().replace("-", "_").replace(" ", "_")


def _github_credential(org: str, cred: CredentialInvolved) -> tuple[str, str] | None:
    kind, cid = _norm(cred.kind), cred.credential_id
    ident = cid or f"ID (not in the logs: list GET /orgs/{org}/credential-authorizations)"
    if kind in ("fine_grained_pat", "fine_grained_personal_access_token", "fine_grained_pat_request"):
        return (
            "Revoke the fine-grained personal access token's access to the organization",
            f'POST /orgs/{org}/personal-access-tokens/{cid or "{pat_id}"} with {{"action": "revoke"}} '
            "(needs a GitHub App installation token)",
        )
    if kind in ("classic_pat", "personal_access_token", "ssh_key", "authentication_token_created_before_2021_04_05"):
        return (
            "Revoke the SAML credential authorization (the token or key then stops working for this org)",
            f"DELETE /orgs/{org}/credential-authorizations/{ident}",
        )
    if kind in ("oauth_authorization", "oauth_access_token"):
        return (
            "Revoke the OAuth grant",
            "the OAuth app's owner: DELETE /applications/{client_id}/grant with the user's token; "
            f"the org owner: deny the app at https://github.com/organizations/{org}/settings/oauth_application_policy",
        )
    if kind in ("github_app_server_to_server_token", "github_app_installation"):
        return (
            "Uninstall or suspend the GitHub App installation",
            f"https://github.com/organizations/{org}/settings/installations, or with the app's JWT "
            "DELETE /app/installations/{installation_id} (suspend: PUT /app/installations/{installation_id}/suspended)",
        )
    if kind == "deploy_key":
        return ("Delete the deploy key", f"DELETE /repos/{{owner}}/{{repo}}/keys/{cid or '{key_id}'}")
    return None


def _gitlab_credential(cred: CredentialInvolved, user_id: str) -> tuple[str, str] | None:
    kind, cid = _norm(cred.kind), cred.credential_id
    if kind in ("personal_access_token", "personalaccesstoken"):
        if cid:
            return ("Revoke the personal access token", f"DELETE /personal_access_tokens/{cid}")
        return (
            "Revoke the user's personal access tokens (the logs give no token id)",
            f"GET /personal_access_tokens?user_id={user_id}&state=active, then DELETE /personal_access_tokens/:id "
            "for each token created or used in the incident window",
        )
    if kind in ("group_access_token", "groupaccesstoken"):
        return ("Revoke the group access token", f"DELETE /groups/:id/access_tokens/{cid or ':token_id'}")
    if kind in ("project_access_token", "projectaccesstoken"):
        return ("Revoke the project access token", f"DELETE /projects/:id/access_tokens/{cid or ':token_id'}")
    if kind in ("deploy_token", "deploytoken"):
        return ("Revoke the deploy token", f"DELETE /projects/:id/deploy_tokens/{cid or ':token_id'}")
    if kind in ("deploy_key", "deploykey"):
        return ("Delete the deploy key", f"DELETE /projects/:id/deploy_keys/{cid or ':key_id'}")
    if kind in ("oauth_application", "oauthaccesstoken", "oauth_access_token"):
        return ("Revoke the OAuth application's access", "DELETE /applications/:id (admin), or the user revokes it")
    return None


def _github_via(org: str, login: str, repo: str, via: str) -> tuple[str, str] | None:
    if via == "direct":
        return ("Remove the direct collaborator grant", f"DELETE /repos/{repo}/collaborators/{login}")
    if via.startswith("team:"):
        slug = via.split(":", 1)[1]
        return (f"Remove the account from team {slug}", f"DELETE /orgs/{org}/teams/{slug}/memberships/{login}")
    if via == "org_base":
        return (
            "Lower the org base permission (affects every member: review first)",
            f'PATCH /orgs/{org} with {{"default_repository_permission": "none"}}',
        )
    if via == "org_owner":
        return ("Demote the org owner to member", f'PUT /orgs/{org}/memberships/{login} with {{"role": "member"}}')
    if via == "outside_collaborator":
        return ("Remove the outside collaborator", f"DELETE /orgs/{org}/outside_collaborators/{login}")
    return None


def _gitlab_via(repo: str, user_id: str, via: str) -> tuple[str, str] | None:
    if via in ("project", "direct"):
        return ("Remove the project membership", f"DELETE /projects/{_enc(repo)}/members/{user_id}")
    if via.startswith(("group:", "inherited:")):
        group = via.split(":", 1)[1]
        return (f"Remove the membership of group {group}", f"DELETE /groups/{_enc(group)}/members/{user_id}")
    if via.startswith("shared_group:"):
        group = via.split(":", 1)[1]
        return (
            f"Stop sharing the project with group {group} (or remove the user from that group)",
            f"DELETE /projects/{_enc(repo)}/share/:group_id (group {group})",
        )
    return None


def containment_steps(
    finding: Finding,
    ctx: dict[str, Any],
    credentials: Sequence[CredentialInvolved],
    apps: Sequence[AppInvolved],
    grants: Sequence[tuple[str, str, tuple[str, ...]]],
) -> list[ContainmentStep]:
    """Ordered steps: stop the account, kill its credentials and apps, end IdP sessions, remove access paths."""
    steps: list[ContainmentStep] = []
    platform, login = finding.platform or "unknown", finding.actor or "unknown"
    org = ctx.get("org") or "{org}"
    user_id = ctx.get("actor_id") or ":user_id"

    def add(plat: str, action: str, target: str, how: str, why: str) -> None:
        steps.append(ContainmentStep(plat, action, target, how, why))

    if platform == "github":
        add(
            "github",
            "Remove the user from the organization (suspend on GHES or with Enterprise Managed Users)",
            login,
            f"DELETE /orgs/{org}/members/{login}; GHES: PUT /users/{login}/suspended",
            "stops every access path through the organization at once",
        )
    elif platform == "gitlab":
        add(
            "gitlab",
            "Block the user",
            login,
            f"POST /users/{user_id}/block (admin; GitLab.com: remove from the group)",
            "a blocked user cannot sign in or use any token",
        )
    for cred in credentials:
        label = f"{cred.kind} {cred.credential_id or '(id unknown)'}" + (f" “{cred.name}”" if cred.name else "")
        why = f"used in {cred.events} events of this incident" if cred.events else "held by the account"
        action = _github_credential(org, cred) if cred.platform == "github" else None
        if cred.platform == "gitlab":
            action = _gitlab_credential(cred, user_id)
        if action:
            add(cred.platform, action[0], label, action[1], why)
    for app in apps:
        name = f"{app.name or app.app_id} ({app.app_id})"
        if app.platform == "github":
            add(
                "github",
                "Revoke the OAuth grant or uninstall the app",
                name,
                f"deny it at https://github.com/organizations/{org}/settings/oauth_application_policy, or "
                "DELETE /applications/{client_id}/grant (app owner); app installation: DELETE /app/installations/{id}",
                f"the incident's events came through it ({app.events})",
            )
        elif app.platform == "gitlab":
            add(
                "gitlab",
                "Revoke the OAuth application",
                name,
                f"DELETE /applications/{app.app_id} (admin)",
                f"the incident's events came through it ({app.events})",
            )
    identity_id = ctx.get("identity_id")
    if identity_id or finding.identity:
        target = finding.identity or identity_id
        add(
            "entra",
            "Revoke the user's sign-in sessions and refresh tokens",
            str(target),
            f"POST /users/{identity_id or finding.identity}/revokeSignInSessions",
            "ends the IdP sessions that SSO into the code platform",
        )
    seen: set[tuple[str, str]] = set()
    for repo, role, vias in grants:
        for via in vias:
            step = _github_via(org, login, repo, via) if platform == "github" else _gitlab_via(repo, user_id, via)
            key = (via, repo if via in ("direct", "project") else "")
            if step and key not in seen:
                seen.add(key)
                add(
                    platform,
                    step[0],
                    f"{login} on {repo} ({role} via {via})",
                    step[1],
                    "removes the access path that made this restricted repository reachable",
                )
    if not grants and platform in ("github", "gitlab"):
        add(
            platform,
            "Find and remove the access paths",
            f"{login} on {len(finding.repos)} repositories",
            f"auditor collect {platform}, then auditor access --account {login}",
            "grants were not collected, so the paths that made the repositories reachable are unknown",
        )
    return steps
