"""The part of GitHub's GraphQL schema the sandbox serves: organization SAML external identities,
repository collaborators with permission sources, deploy keys, and rateLimit."""

from __future__ import annotations

from typing import Any

from auditor_sandbox.github.data import GitHubData
from auditor_sandbox.github.graphql import Obj, QueryError, connection
from auditor_sandbox.inventory_github import role_rank

# PermissionSource.permission only has ADMIN / WRITE / READ (maintain shows as WRITE, triage as READ).
_SOURCE_PERMISSION = {"admin": "ADMIN", "maintain": "WRITE", "write": "WRITE", "triage": "READ", "read": "READ"}


def build_root(data: GitHubData, scopes: frozenset[str] | None) -> Obj:
    """The Query object for one request; `scopes` None means an installation token (no scope checks)."""

    def organization(args: dict[str, Any]) -> Obj | None:
        if args.get("login") != data.org["login"]:
            return None
        return _organization(data, scopes)

    def repository(args: dict[str, Any]) -> Obj | None:
        repo = data.repos.get(f"{args.get('owner')}/{args.get('name')}")
        return _repository(data, repo) if repo is not None else None

    rate = Obj("RateLimit", {"cost": 1, "limit": 5000, "remaining": 4999, "used": 1,
                             "resetAt": "2026-10-01T01:00:00Z", "nodeCount": 0})  # fmt: skip
    return Obj(
        "Query",
        {
            "organization": organization,
            "repository": repository,
            "rateLimit": lambda _args: rate,
            "viewer": Obj("User", {"login": "acme-auditor"}),
        },
    )


def _organization(data: GitHubData, scopes: frozenset[str] | None) -> Obj:
    org = data.org

    def identities(args: dict[str, Any]) -> Obj:
        if scopes is not None and "admin:org" not in scopes:
            granted = ", ".join(f"'{s}'" for s in sorted(scopes))
            raise QueryError(
                "Your token has not been granted the required scopes to execute this query. The 'externalIdentities' "
                f"field requires one of the following scopes: ['admin:org'], but your token has only been granted "
                f"the: [{granted}] scopes. Please modify your token's scopes at: https://github.com/settings/tokens.",
                "INSUFFICIENT_SCOPES",
            )
        rows = data.inv["external_identities"]

        def edge(x: dict[str, Any]) -> Obj:
            node = Obj(
                "ExternalIdentity",
                {
                    "guid": x["guid"],
                    "id": f"EI_{x['guid']}",
                    "samlIdentity": Obj("ExternalIdentitySamlAttributes",
                                        {"nameId": x["name_id"], "username": x["name_id"]}),
                    "scimIdentity": Obj("ExternalIdentityScimAttributes", {"username": x["name_id"]}),
                    "user": Obj("User", {"login": x["login"], "databaseId": data.users.get(x["login"])}),
                },
            )  # fmt: skip
            return Obj("ExternalIdentityEdge", {"node": node})

        return connection("externalIdentities", rows, args, edge)

    provider = Obj(
        "OrganizationIdentityProvider",
        {"ssoUrl": "https://login.microsoftonline.com/acme/saml2", "externalIdentities": identities},
    )
    return Obj(
        "Organization",
        {"login": org["login"], "name": org["name"], "databaseId": org["id"], "samlIdentityProvider": provider},
    )


def _repository(data: GitHubData, repo: dict[str, Any]) -> Obj:
    def collaborators(args: dict[str, Any]) -> Obj:
        affiliation = str(args.get("affiliation") or "ALL")
        if affiliation not in ("ALL", "DIRECT", "OUTSIDE"):
            raise QueryError(f"Argument 'affiliation' on Field 'collaborators' has an invalid value ({affiliation}).")
        access = data.repo_access(repo["full_name"])
        direct = {c["login"] for c in repo["collaborators"]}
        logins = [
            login
            for login in access
            if affiliation == "ALL" or (login in direct and (affiliation == "DIRECT" or login in data.outside_logins))
        ]

        def edge(login: str) -> Obj:
            paths = access[login]
            best = max(paths.values(), key=role_rank)
            return Obj(
                "RepositoryCollaboratorEdge",
                {
                    "permission": best.upper(),
                    "permissionSources": [_source(data, repo, via, role) for via, role in paths.items()],
                    "node": Obj("User", {"login": login, "databaseId": data.users.get(login), "id": f"U_{login}"}),
                },
            )

        return connection("collaborators", logins, args, edge)

    def deploy_keys(args: dict[str, Any]) -> Obj:
        keys = [
            Obj("DeployKey", {"id": f"DK_{k['id']}", "title": k["title"], "key": k["key"], "readOnly": k["read_only"],
                              "verified": k["verified"], "createdAt": k["created_at"]})
            for k in repo["deploy_keys"]
        ]  # fmt: skip
        return connection("deployKeys", keys, args)

    return Obj(
        "Repository",
        {
            "name": repo["name"],
            "nameWithOwner": repo["full_name"],
            "databaseId": repo["id"],
            "visibility": repo["visibility"].upper(),
            "isPrivate": repo["private"],
            "isArchived": repo["archived"],
            "collaborators": collaborators,
            "deployKeys": deploy_keys,
        },
    )


def _source(data: GitHubData, repo: dict[str, Any], via: str, role: str) -> Obj:
    if via.startswith("team:"):
        team = data.teams[via[5:]]
        source = Obj("Team", {"slug": team["slug"], "name": team["name"], "databaseId": team["id"]})
    elif via in ("direct", "outside_collaborator"):
        source = Obj("Repository", {"nameWithOwner": repo["full_name"], "name": repo["name"]})
    else:
        source = Obj("Organization", {"login": data.org["login"], "name": data.org["name"]})
    return Obj("PermissionSource", {"permission": _SOURCE_PERMISSION.get(role, "READ"), "source": source})
