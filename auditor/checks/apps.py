"""App and consent checks: integrations that can write everywhere, tenant-wide consent, OAuth restrictions."""

from __future__ import annotations

from auditor.checks.model import Check, CheckMeta, GapRule

# Permission values (GitHub App permission levels) and scopes (OAuth) that can change code or settings.
WRITE_VALUES = (
    "['write', 'admin', 'api', 'write_repository', 'repo', 'admin:org', 'write:org', 'sudo', 'delete_repo', "
    "'admin:repo_hook', 'workflow']"
)
# permissions is JSON text: an object of permission -> level, an array of scopes, or an object with a
# `scopes` array. GitLab's /applications answer has no scopes at all: such an app is not evaluated.
PERMISSION_VALUES = """
    CASE WHEN NOT json_valid(permissions) THEN NULL
         WHEN kind = 'oauth_application' AND json_type(permissions) = 'OBJECT'
              AND json_extract(permissions, '$.scopes') IS NULL THEN NULL
         ELSE list_concat(json_extract_string(permissions, '$.*'), json_extract_string(permissions, '$[*]'),
                          coalesce(json_extract_string(permissions, '$.scopes[*]'), []))
    END"""


class OrgWideWriteApps(Check):
    meta = CheckMeta(
        id="apps.org_wide_write",
        title="OAuth apps and GitHub/GitLab apps with organization-wide write or admin",
        category="apps",
        severity="high",
        rationale="An integration installed on all repositories with write or admin permissions is one "
        "compromised vendor away from every restricted repository.",
        remediation="Install the app on selected repositories only and drop write/admin permissions it does "
        "not need; remove unused OAuth applications.",
        references=[
            "https://docs.github.com/en/apps/using-github-apps/reviewing-and-modifying-installed-github-apps",
            "https://docs.github.com/en/rest/orgs/orgs#list-app-installations-for-an-organization",
            "https://docs.gitlab.com/integration/oauth_provider/",
        ],
        platforms=["github", "gitlab"],
    )
    hidden_by = (GapRule("%installations%"), GapRule("%applications%"))
    sql = f"""
    WITH a AS (
        SELECT platform, kind, app_id, name, reach, permissions, {PERMISSION_VALUES} AS vals
        FROM chk_apps
        WHERE platform = $platform AND kind IN ('github_app_installation', 'oauth_app', 'oauth_application')
    )
    SELECT platform, kind || ':' || app_id AS resource,
           CASE WHEN vals IS NULL OR reach IS NULL THEN 'not_evaluated'
                WHEN reach = 'all' AND list_has_any(vals, {WRITE_VALUES}) THEN 'fail' ELSE 'pass' END AS status,
           coalesce(name, app_id) || '; reach ' || coalesce(reach, 'unknown') || '; permissions ' ||
               coalesce(permissions, 'unknown') AS detail,
           NULL AS account, NULL AS repo
    FROM a
    """


class EntraTenantWideConsent(Check):
    meta = CheckMeta(
        id="apps.entra_tenant_wide_consent",
        title="Entra delegated grants consented for all users (AllPrincipals) on high-privilege scopes",
        category="apps",
        severity="high",
        rationale="Admin consent for all principals lets the application act as any user with these "
        "scopes; a malicious or compromised app then reaches mail, files and the directory of everyone.",
        remediation="Revoke the grant or narrow its scopes; require admin consent workflow and review "
        "applications holding high-privilege delegated scopes (checks.high_privilege_scopes).",
        references=[
            "https://learn.microsoft.com/en-us/graph/api/resources/oauth2permissiongrant",
            "https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/manage-consent-requests",
        ],
        platforms=["entra"],
    )
    hidden_by = (GapRule("%oauth2permissiongrants%"),)
    sql = """
    WITH g AS (
        SELECT platform, app_id, split_part(reach, ':', 1) AS consent,
               list_sort(list_distinct(flatten(list(string_split(trim(coalesce(permissions, '')), ' '))))) AS scopes
        FROM chk_apps WHERE platform = $platform AND kind = 'oauth2_grant' GROUP BY ALL
    ),
    sp AS (SELECT app_id, any_value(name) AS name FROM chk_apps
           WHERE platform = $platform AND kind LIKE 'service_principal:%' GROUP BY app_id)
    SELECT g.platform, g.app_id || CASE WHEN g.consent = 'AllPrincipals' THEN '' ELSE ' (user consent)' END AS resource,
           CASE WHEN g.consent = 'AllPrincipals' AND list_has_any(g.scopes, $high_privilege_scopes) THEN 'fail'
                ELSE 'pass' END AS status,
           coalesce(sp.name, 'application') || '; consent ' || g.consent || '; scopes ' ||
               array_to_string([s FOR s IN g.scopes IF s <> ''], ' ') AS detail,
           NULL AS account, NULL AS repo
    FROM g LEFT JOIN sp ON sp.app_id = g.app_id
    """


class OAuthRestrictionsDisabled(Check):
    meta = CheckMeta(
        id="apps.oauth_restrictions_disabled",
        title="OAuth app access restrictions disabled for the organization",
        category="apps",
        severity="medium",
        rationale="Without OAuth app access restrictions any member can authorize any OAuth app to read "
        "the organization's private repositories with their own access.",
        remediation="Enable OAuth app access restrictions and approve only the apps the organization needs.",
        references=[
            "https://docs.github.com/en/organizations/managing-oauth-access-to-your-organizations-data/"
            "about-oauth-app-access-restrictions"
        ],
        platforms=["github"],
    )
    sql = """
    WITH orgs AS (
        SELECT DISTINCT scope FROM chk_memberships WHERE platform = $platform AND kind = 'org'
        UNION SELECT DISTINCT scope FROM chk_settings WHERE platform = $platform
    ),
    s AS (SELECT scope, lower(arg_max(value, taken_at)) AS value FROM chk_settings
          WHERE platform = $platform AND key = 'oauth_app_restrictions_enabled' GROUP BY scope)
    SELECT $platform AS platform, o.scope AS resource,
           CASE WHEN s.value IN ('true', '1', 'enabled') THEN 'pass'
                WHEN s.value IN ('false', '0', 'disabled') THEN 'fail' ELSE 'not_evaluated' END AS status,
           CASE WHEN s.value IS NULL THEN 'not known: GitHub has no endpoint for it; it is derived from the audit '
                    || 'events org.enable_oauth_app_restrictions / org.disable_oauth_app_restrictions'
                ELSE 'oauth_app_restrictions_enabled = ' || s.value END AS detail,
           NULL AS account, NULL AS repo
    FROM orgs o LEFT JOIN s ON s.scope = o.scope
    """
