"""The GitLab endpoints the connector can do without, each with the role, token or tier it needs and
what a refusal costs: the text of the coverage gap recorded when GitLab answers 403 or 404.

Paths name groups and projects by full path ({path}); the requests themselves use numeric ids."""

from __future__ import annotations

from auditor.connectors.kit.endpoints import Endpoint

ADMIN = "an administrator token"
ADMIN_SELF_MANAGED = "an administrator token (self-managed)"

VERSION = Endpoint("version", "GET /api/v4/version", "read_api scope", "GitLab version unknown")
SETTINGS = Endpoint(
    "settings",
    "GET /api/v4/application/settings",
    ADMIN,
    "instance settings that shape access (sign-up, visibility, 2FA, token lifetime) unknown",
)
SHARED_MEMBERS = Endpoint(
    "shared_members",
    "GET /api/v4/groups/{path}/members/all",
    "membership of shared group {path} or an administrator token",
    "who reaches projects through shared_group:{path} is unknown",
)
GROUP_ACCESS_TOKENS = Endpoint(
    "group_tokens",
    "GET /api/v4/groups/{path}/access_tokens",
    "Owner role in group {path}",
    "group access tokens of {path} unknown",
)


def _per_project(key: str, resource: str, what: str) -> Endpoint:
    """A per-project list that needs the Maintainer role; {path} is the project's full path."""
    return Endpoint(
        key,
        f"GET /api/v4/projects/{{path}}/{resource}",
        "Maintainer role in project {path}",
        f"{what} of {{path}} unknown",
    )


PROJECT_ACCESS_TOKENS = _per_project("project_tokens", "access_tokens", "project access tokens")
DEPLOY_KEYS = Endpoint("deploy_keys", "GET /api/v4/deploy_keys", ADMIN, "deploy keys unknown")
PROJECT_DEPLOY_KEYS = _per_project("project_deploy_keys", "deploy_keys", "deploy keys")
PROJECT_DEPLOY_TOKENS = _per_project("project_deploy_tokens", "deploy_tokens", "deploy tokens")
GROUP_DEPLOY_TOKENS = Endpoint(
    "group_deploy_tokens",
    "GET /api/v4/groups/{path}/deploy_tokens",
    "Maintainer role in group {path}",
    "deploy tokens of group {path} unknown",
)
APPLICATIONS = Endpoint("applications", "GET /api/v4/applications", ADMIN, "instance-wide OAuth applications unknown")
STREAMING = Endpoint("streaming", "POST /api/graphql", "GraphQL API access", "streaming destinations unknown")
USERS = Endpoint(
    "users",
    "GET /api/v4/users",
    ADMIN_SELF_MANAGED,
    "users' admin and external flags, e-mail and SAML identities unknown; accounts are linked by audit-event "
    "e-mail only",
)
PERSONAL_ACCESS_TOKENS = Endpoint(
    "personal_access_tokens",
    "GET /api/v4/personal_access_tokens",
    ADMIN_SELF_MANAGED,
    "only the collecting user's own personal access tokens are listed",
)
