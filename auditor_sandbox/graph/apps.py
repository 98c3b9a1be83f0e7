"""Enterprise apps of the sandbox directory: service principals, delegated consents, app role assignments.

The story the data tells: GitHub Enterprise Cloud and GitLab are gallery apps assigned to their
"... Users" groups; Microsoft first-party apps exist as in every tenant; "CodeLens Insights" - the
third-party app of the OAuth incident, from a foreign publisher tenant - holds a tenant-wide
(AllPrincipals) consent to high-privilege Graph scopes, the incident developer's own consent, and an
application permission. Admins consented to Microsoft Graph Command Line Tools for themselves.
"""

from __future__ import annotations

from typing import Any

from auditor_sandbox import catalog
from auditor_sandbox.graph.directory import APP_GROUPS, Directory, account_class

MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
FIRST_PARTY = {
    "Microsoft Graph": GRAPH_APP_ID,
    "Office 365 Exchange Online": "00000002-0000-0ff1-ce00-000000000000",
    "Office 365": catalog.APPS["Office 365"],
    "Microsoft Teams": catalog.APPS["Microsoft Teams"],
    "Microsoft Graph Command Line Tools": "14d82eec-204b-4c2f-b7e8-296a70dab67e",
}
THIRD_PARTY = "CodeLens Insights"
TENANT_WIDE_SCOPE = "Directory.ReadWrite.All Mail.Read"
FILES_READ_ALL = "01d4889c-1287-42c6-ac1f-5d1e02578ef6"  # Microsoft Graph application permission
ADMIN_CLI_SCOPE = "User.Read.All Group.Read.All Directory.Read.All RoleManagement.Read.Directory AuditLog.Read.All"


def add_apps(d: Directory) -> None:
    """Fill in service principals, oauth2PermissionGrants and appRoleAssignedTo per resource."""
    sps: dict[str, dict[str, Any]] = {}
    for name, app_id in FIRST_PARTY.items():
        sps[name] = _sp(d, name, app_id, MICROSOFT_TENANT, "Microsoft Services", "AzureADMultipleOrgs")
    sps["Microsoft Graph"]["appRoles"] = [_role(FILES_READ_ALL, "Files.Read.All", "Application")]
    for group_name, app in APP_GROUPS.items():
        sps[app] = _sp(d, app, catalog.APPS[app], d.tenant_id, "Acme Corp", "AzureADMyOrg")
        sps[app]["appRoleAssignmentRequired"] = True
        sps[app]["appRoles"] = [_role(d.object_id("app-role", app, "User"), "User", "User")]
        sps[app]["tags"] = ["WindowsAzureActiveDirectoryCustomSingleSignOnApplication", f"group:{group_name}"]
    sps[THIRD_PARTY] = _sp(
        d, THIRD_PARTY, d.object_id("app", THIRD_PARTY), d.object_id("tenant", THIRD_PARTY), "CodeLens Labs",
        "AzureADMultipleOrgs",
    )  # fmt: skip
    d.service_principals = list(sps.values())
    graph = sps["Microsoft Graph"]["id"]
    codelens = sps[THIRD_PARTY]["id"]

    d.grants.append(_grant(d, codelens, "AllPrincipals", None, graph, TENANT_WIDE_SCOPE))
    oauth_actor = d.incidents.get("oauth-app-bulk-api")
    if oauth_actor is not None:
        d.grants.append(
            _grant(d, codelens, "Principal", oauth_actor[0], graph, "openid profile offline_access User.Read")
        )
    cli = sps["Microsoft Graph Command Line Tools"]["id"]
    for u in d.users:
        if account_class(u) == "privileged":
            d.grants.append(_grant(d, cli, "Principal", str(u["id"]), graph, ADMIN_CLI_SCOPE))
    gitlab_group = next(g for g in d.groups if g["displayName"] == "GitLab Users")
    for user_id in d.members[gitlab_group["id"]]:
        d.grants.append(_grant(d, sps["GitLab"]["id"], "Principal", user_id, graph, "openid profile email"))

    names = {str(u["id"]): str(u.get("displayName") or u["userPrincipalName"]) for u in d.users}
    for group in d.groups:
        assigned_app = APP_GROUPS.get(str(group["displayName"]))
        if assigned_app is None:
            continue
        resource = sps[assigned_app]
        role = resource["appRoles"][0]["id"]
        _assign(d, resource, role, group["id"], "Group", str(group["displayName"]))
        for user_id in d.members[group["id"]]:  # guests are assigned one by one, not via the group
            if account_class(d.user(user_id) or {}) == "external":
                _assign(d, resource, role, user_id, "User", names[user_id])
    _assign(d, sps["Microsoft Graph"], FILES_READ_ALL, codelens, "ServicePrincipal", THIRD_PARTY)


def _sp(d: Directory, name: str, app_id: str, owner: str, publisher: str, audience: str) -> dict[str, Any]:
    verified = owner == MICROSOFT_TENANT
    return {
        "id": d.object_id("service-principal", name),
        "appId": app_id,
        "displayName": name,
        "servicePrincipalType": "Application",
        "appOwnerOrganizationId": owner,
        "accountEnabled": True,
        "appRoleAssignmentRequired": False,
        "publisherName": publisher,
        "verifiedPublisher": {
            "displayName": publisher if verified else None,
            "verifiedPublisherId": None,
            "addedDateTime": None,
        },
        "signInAudience": audience,
        "servicePrincipalNames": [app_id],
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "appRoles": [],
    }


def _role(role_id: str, value: str, member_type: str) -> dict[str, Any]:
    return {
        "id": role_id,
        "value": value,
        "displayName": value,
        "allowedMemberTypes": [member_type],
        "isEnabled": True,
        "description": f"{value} ({member_type.lower()} access).",
        "origin": "Application",
    }


def _grant(d: Directory, client: str, consent: str, principal: str | None, resource: str, scope: str) -> dict[str, Any]:
    return {
        "id": d.opaque_id("grant", client, consent, principal or "", resource),
        "clientId": client,
        "consentType": consent,
        "principalId": principal,
        "resourceId": resource,
        "scope": scope,
    }


def _assign(d: Directory, resource: dict[str, Any], role: str, principal: str, kind: str, name: str) -> None:
    d.app_role_assigned_to.setdefault(resource["id"], []).append(
        {
            "id": d.opaque_id("app-role-assignment", resource["id"], principal, role),
            "appRoleId": role,
            "createdDateTime": d.stamp(200),
            "deletedDateTime": None,
            "principalId": principal,
            "principalType": kind,
            "principalDisplayName": name,
            "resourceId": resource["id"],
            "resourceDisplayName": resource["displayName"],
        }
    )
