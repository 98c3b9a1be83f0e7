"""The GitHub endpoints the connector reads, each with the scope or plan it needs and what a refusal
costs: the text of the coverage gap recorded when GitHub answers 403 or 404."""

from __future__ import annotations

from auditor.connectors.kit.endpoints import Endpoint

__all__ = ["Endpoint"]  # paths hold {org} / {enterprise}


OUTSIDE = Endpoint(
    "outside_collaborators",
    "/orgs/{org}/outside_collaborators",
    "read:org scope as an organization owner",
    "outside collaborators unknown: their direct grants cannot be told from members'",
)
TEAMS = Endpoint("teams", "/orgs/{org}/teams", "read:org scope", "team membership and team repository grants unknown")
PROPERTIES = Endpoint(
    "properties",
    "/orgs/{org}/properties/values",
    "read:org scope; repository custom properties (GitHub Team or Enterprise plan)",
    "repository custom properties unknown: restriction rules on them cannot apply",
)
INSTALLATIONS = Endpoint(
    "installations",
    "/orgs/{org}/installations",
    "admin:org scope as an organization owner",
    "GitHub App installations and their permissions unknown",
)
CREDENTIAL_AUTHORIZATIONS = Endpoint(
    "credential_authorizations",
    "/orgs/{org}/credential-authorizations",
    "read:org scope as an organization owner, with SAML single sign-on (GitHub Enterprise Cloud)",
    "classic PATs and SSH keys authorised for the org unknown (scopes, last use, expiry)",
)
FINE_GRAINED = Endpoint(
    "fine_grained_pats",
    "/orgs/{org}/personal-access-tokens",
    "a GitHub App installation token with organization_personal_access_tokens: read (app_id, private_key_file, "
    "installation_id)",
    "fine-grained PATs with access to the org unknown",
)
PAT_REQUESTS = Endpoint(
    "pat_requests",
    "/orgs/{org}/personal-access-token-requests",
    "a GitHub App installation token with organization_personal_access_token_requests: read",
    "pending fine-grained PAT requests unknown",
)
ORG_ROLES = Endpoint(
    "organization_roles",
    "/orgs/{org}/organization-roles",
    "read:org scope as an organization owner (custom organization roles: GitHub Enterprise Cloud)",
    "custom organization roles and who holds them unknown",
)
IDENTITIES = Endpoint(
    "external_identities",
    "graphql organization.samlIdentityProvider.externalIdentities",
    "admin:org scope, SAML single sign-on configured (GitHub Enterprise Cloud)",
    "GitHub logins cannot be linked to IdP identities from SAML records; linking falls back to audit-log NameIDs",
)
COLLABORATORS = Endpoint(
    "collaborators",
    "graphql repository.collaborators(affiliation: DIRECT), deployKeys",
    "repo and read:org scopes",
    "direct collaborators and deploy keys unknown: grants cover owners, base permission and teams only",
)
AUDIT_LOG = Endpoint(
    "audit_log",
    "/orgs/{org}/audit-log",
    "read:audit_log scope as an organization owner (GitHub Enterprise Cloud or Enterprise Server)",
    "no GitHub audit events collected: downloads, token use and grants cannot be detected from this source",
)
ENTERPRISE_AUDIT_LOG = Endpoint(
    "audit_log",
    "/enterprises/{enterprise}/audit-log",
    "read:audit_log scope as an enterprise owner (GitHub Enterprise Cloud)",
    "no GitHub audit events collected: downloads, token use and grants cannot be detected from this source",
)
STREAMS = Endpoint(
    "audit_log_streams",
    "/enterprises/{enterprise}/audit-log/streams",
    "admin:enterprise scope as an enterprise owner (GitHub Enterprise Cloud)",
    "audit-log streaming state unknown: git events may be kept only 7 days",
)
