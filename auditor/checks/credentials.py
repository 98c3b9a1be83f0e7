"""Credential checks: broad, long-lived, unused or misplaced tokens and keys (never their values)."""

from __future__ import annotations

from auditor.checks.model import Check, CheckMeta, GapRule
from auditor.checks.sqlparts import EXPIRING_TOKENS

GH_PAT = "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens"
GL_PAT = "https://docs.gitlab.com/user/profile/personal_access_tokens/"
# Each listing that can be refused, and the credential kinds it alone provides.
TOKEN_GAPS = (
    GapRule("%credential%authorization%", resources="classic_pat:%"),
    GapRule("%credential%authorization%", resources="ssh_key:%"),
    GapRule("%/personal-access-tokens%", resources="fine_grained_pat:%"),
    GapRule("%/personal_access_tokens%", resources="personal_access_token:%"),
    GapRule("%/access_tokens%", resources="group_access_token:%"),
    GapRule("%/access_tokens%", resources="project_access_token:%"),
    GapRule("%deploy_token%", resources="deploy_token:%"),
    GapRule("%keys%", resources="deploy_key:%"),
)
CRED = "kind || ':' || credential_id"
WHO = "coalesce(name || ', ', '') || 'owner ' || coalesce(owner, '?')"


class ClassicPatBroadScope(Check):
    meta = CheckMeta(
        id="credentials.classic_pat_broad_scope",
        title="Classic personal access tokens with repo or admin scopes authorized for the organization",
        category="credentials",
        severity="high",
        rationale="A classic PAT with `repo` reads every private repository its owner can reach, with no "
        "repository selection; admin scopes change the organization. Stolen, it extracts everything.",
        remediation="Replace with a fine-grained PAT limited to the repositories needed, or revoke the "
        "SAML authorization; consider blocking classic PATs in the organization policy.",
        references=[
            GH_PAT,
            "https://docs.github.com/en/rest/orgs/orgs#list-saml-sso-authorizations-for-an-organization",
        ],
        platforms=["github"],
    )
    hidden_by = (GapRule("%credential%authorization%", resources="classic_pat:%"),)
    sql = f"""
    SELECT platform, {CRED} AS resource,
           CASE WHEN scopes IS NULL THEN 'not_evaluated'
                WHEN len([x FOR x IN scopes IF x = 'repo' OR x LIKE 'admin:%' OR x IN ('site_admin', 'delete_repo')])
                     > 0 THEN 'fail' ELSE 'pass' END AS status,
           {WHO} || '; scopes ' || coalesce(array_to_string(scopes, ' '), 'unknown') AS detail,
           owner AS account, NULL AS repo
    FROM chk_credentials WHERE platform = $platform AND kind = 'classic_pat'
    """


class TokenNoExpiry(Check):
    meta = CheckMeta(
        id="credentials.no_expiry",
        title="Tokens with no expiry or expiring more than the allowed lifetime out",
        category="credentials",
        severity="medium",
        rationale="A token that never expires stays valid after its purpose and its owner are gone; long "
        "lifetimes turn one leak into a standing backdoor.",
        remediation="Rotate to tokens expiring within checks.token_max_lifetime_days (default 365); enforce "
        "a maximum lifetime in the organization or instance policy.",
        references=[GH_PAT, GL_PAT],
        platforms=["github", "gitlab"],
    )
    hidden_by = TOKEN_GAPS
    sql = f"""
    SELECT platform, {CRED} AS resource,
           CASE WHEN expires_at IS NULL
                  OR expires_at > taken_at + to_days(CAST($token_max_lifetime_days AS INTEGER)) THEN 'fail'
                ELSE 'pass' END AS status,
           {WHO} || '; ' || CASE WHEN expires_at IS NULL THEN 'no expiry'
                                 ELSE 'expires ' || strftime(expires_at, '%Y-%m-%d') END ||
               ' (maximum ' || $token_max_lifetime_days || ' days)' AS detail,
           owner AS account, NULL AS repo
    FROM chk_credentials WHERE platform = $platform AND kind IN {EXPIRING_TOKENS}
    """


class TokenUnused(Check):
    meta = CheckMeta(
        id="credentials.unused",
        title="Tokens and keys unused for the configured days",
        category="credentials",
        severity="low",
        rationale="A credential nobody uses can be revoked at no cost; left in place it is an unmonitored way in.",
        remediation="Revoke credentials unused for checks.token_unused_days days.",
        references=[GH_PAT, GL_PAT],
        platforms=["github", "gitlab"],
    )
    hidden_by = TOKEN_GAPS
    sql = f"""
    SELECT platform, {CRED} AS resource,
           CASE WHEN coalesce(last_used_at, created_at) IS NULL THEN 'not_evaluated'
                -- keys: the platforms do not report last use, so "never used" cannot be told from "unknown"
                WHEN last_used_at IS NULL AND kind IN ('deploy_key', 'ssh_key') THEN 'not_evaluated'
                WHEN coalesce(last_used_at, created_at) < taken_at - to_days(CAST($token_unused_days AS INTEGER))
                    THEN 'fail' ELSE 'pass' END AS status,
           {WHO} || '; ' || CASE WHEN last_used_at IS NOT NULL THEN 'last used ' || strftime(last_used_at, '%Y-%m-%d')
                                 WHEN kind IN ('deploy_key', 'ssh_key') THEN 'the platform does not report when a key '
                                      || 'was last used'
                                 WHEN created_at IS NOT NULL THEN 'never used since created ' ||
                                      strftime(created_at, '%Y-%m-%d')
                                 ELSE 'the platform reports neither creation nor last use' END ||
               ' (threshold ' || $token_unused_days || ' days)' AS detail,
           CASE WHEN kind <> 'deploy_key' THEN owner END AS account,
           CASE WHEN kind = 'deploy_key' THEN owner END AS repo
    FROM chk_credentials
    WHERE platform = $platform AND (kind IN {EXPIRING_TOKENS} OR kind IN ('ssh_key', 'deploy_key'))
    """


class GitLabTokenNonDeveloper(Check):
    meta = CheckMeta(
        id="credentials.gitlab_token_non_developer",
        title="GitLab tokens with api or write_repository scope held by non-developers",
        category="credentials",
        severity="high",
        rationale="api and write_repository scopes read and change every project the holder can reach; "
        "a non-developer rarely needs either, so the token is excess access.",
        remediation="Revoke the token or reissue it with read_api/read_repository only.",
        references=[GL_PAT, "https://docs.gitlab.com/user/project/settings/project_access_tokens/"],
        platforms=["gitlab"],
    )
    hidden_by = (*TOKEN_GAPS, GapRule("%/users%", "entra"))
    sql = f"""
    SELECT platform, {CRED} AS resource,
           CASE WHEN NOT list_has_any(coalesce(scopes, []), ['api', 'write_repository']) THEN 'pass'
                WHEN owner_class IS NULL THEN 'not_evaluated'
                WHEN owner_class = 'non_developer' THEN 'fail' ELSE 'pass' END AS status,
           {WHO} || ' (class ' || coalesce(owner_class, 'unknown') || '); scopes ' ||
               coalesce(array_to_string(scopes, ' '), 'unknown') AS detail,
           owner AS account, NULL AS repo
    FROM chk_credentials
    WHERE platform = $platform
      AND kind IN ('personal_access_token', 'group_access_token', 'project_access_token')
    """


class DeployKeyWrite(Check):
    meta = CheckMeta(
        id="credentials.deploy_key_write",
        title="Deploy keys with write access",
        category="credentials",
        severity="medium",
        rationale="A deploy key belongs to no person and is rarely rotated; with write access a copied "
        "key can push code to the repository without any user's sign-in.",
        remediation="Make the key read-only, or replace it with a GitHub App / project access token that expires.",
        references=[
            "https://docs.github.com/en/authentication/connecting-to-github-with-ssh/managing-deploy-keys",
            "https://docs.gitlab.com/user/project/deploy_keys/",
        ],
        platforms=["github", "gitlab"],
    )
    hidden_by = (GapRule("%keys%"),)
    sql = f"""
    SELECT platform, {CRED} AS resource,
           CASE WHEN scopes IS NULL THEN 'not_evaluated'
                WHEN list_contains(scopes, 'write') THEN 'fail' ELSE 'pass' END AS status,
           coalesce(name || ' ', '') || 'on ' || coalesce(owner, '?') || ': ' ||
               coalesce(array_to_string(scopes, ', '), 'access unknown') AS detail,
           NULL AS account, owner AS repo
    FROM chk_credentials WHERE platform = $platform AND kind = 'deploy_key'
    """
