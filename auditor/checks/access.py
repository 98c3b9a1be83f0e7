"""Access checks: who reaches restricted repositories, through which path, and whether they should."""

from __future__ import annotations

from auditor.checks.model import Check, CheckMeta, GapRule
from auditor.checks.sqlparts import GRANT_RESOURCE, READ_ROLES, VIA, WRITE_ROLES

GH_DOCS = "https://docs.github.com/en/organizations"
GL_DOCS = "https://docs.gitlab.com/user/permissions/"
# Account classes come from IdP attributes; a refused /users read hides them.
USERS_GAP = GapRule("%/users%", "entra")


class NonDeveloperRestricted(Check):
    meta = CheckMeta(
        id="access.non_developer_restricted",
        title="Non-developer accounts with access to restricted repositories",
        category="access",
        severity="high",
        rationale="Access to restricted source code should follow need to know; accounts classed as "
        "non-developers (by IdP attributes and behaviour) rarely need it and widen the extraction surface.",
        remediation="Remove the grant (or the team membership giving it), or correct the account's class "
        "rule if the person does develop code.",
        references=[
            f"{GH_DOCS}/managing-user-access-to-your-organizations-repositories",
            GL_DOCS,
        ],
        platforms=["github", "gitlab"],
    )
    hidden_by = (USERS_GAP,)
    sql = f"""
    SELECT platform, {GRANT_RESOURCE} AS resource,
           CASE WHEN account_class IS NULL THEN 'not_evaluated'
                WHEN account_class = 'non_developer' THEN 'fail' ELSE 'pass' END AS status,
           CASE WHEN account_class IS NULL THEN 'the account has no class (not among the classified accounts)'
                ELSE 'class ' || account_class || '; role ' || role || ' via ' || {VIA} END AS detail,
           account, repo
    FROM chk_grants WHERE platform = $platform AND restricted
    """


class OrgOwnersMax(Check):
    meta = CheckMeta(
        id="access.org_owners_max",
        title="Organization or top-level group owners above the configured maximum",
        category="access",
        severity="medium",
        rationale="Owners can read every repository, change any permission and remove audit settings; "
        "every extra owner is an unreviewed path to all restricted code.",
        remediation="Reduce owners to the configured maximum (checks.max_org_owners); give others a "
        "narrower role (member, a custom organization role, or maintainer on specific groups).",
        references=[
            f"{GH_DOCS}/managing-peoples-access-to-your-organization-with-roles/roles-in-an-organization",
            GL_DOCS,
        ],
        platforms=["github", "gitlab"],
    )
    hidden_by = (GapRule("%member%"),)
    sql = """
    WITH orgs AS (
        SELECT platform, scope,
               list_sort(list_distinct(coalesce(list(account) FILTER (WHERE role = 'owner'), []))) AS owners
        FROM chk_memberships
        WHERE platform = $platform AND (kind = 'org' OR (kind = 'group' AND scope NOT LIKE '%/%'))
        GROUP BY platform, scope
    )
    SELECT platform, scope AS resource,
           CASE WHEN len(owners) > $max_org_owners THEN 'fail' ELSE 'pass' END AS status,
           len(owners) || ' owner(s), maximum ' || $max_org_owners || ': ' || array_to_string(owners, ', ') AS detail,
           NULL AS account, NULL AS repo
    FROM orgs
    """


class RepoAdminsMax(Check):
    meta = CheckMeta(
        id="access.repo_admins_max",
        title="Restricted repositories with more admins than the configured maximum",
        category="access",
        severity="medium",
        rationale="Repository admins (GitHub admin, GitLab owner) grant access to others and change "
        "protections; many admins on a restricted repository defeat its review. Org owners (admins of every "
        "repository by ownership alone) are counted by access.org_owners_max instead.",
        remediation="Lower admins to checks.max_repo_admins; use maintain/maintainer for day-to-day work.",
        references=[
            "https://docs.github.com/en/organizations/managing-user-access-to-your-organizations-repositories/"
            "managing-repository-roles/repository-roles-for-an-organization",
            GL_DOCS,
        ],
        platforms=["github", "gitlab"],
    )
    hidden_by = (GapRule("%collaborators%"), GapRule("%member%"))
    sql = """
    WITH admins AS (
        SELECT platform, repo,
               list_sort(coalesce(list(account) FILTER (
                   -- role is the highest over all paths: an org owner's admin comes from ownership
                   WHERE role IN ('admin', 'owner') AND NOT list_contains(via, 'org_owner')),
               []))
                   AS admins
        FROM chk_grants WHERE platform = $platform AND restricted GROUP BY platform, repo
    )
    SELECT platform, repo AS resource,
           CASE WHEN len(admins) > $max_repo_admins THEN 'fail' ELSE 'pass' END AS status,
           len(admins) || ' admin(s) besides org owners, maximum ' || $max_repo_admins ||
               CASE WHEN len(admins) > 0 THEN ': ' || array_to_string(admins, ', ') ELSE '' END AS detail,
           NULL AS account, repo
    FROM admins
    """


class OutsideCollaborators(Check):
    meta = CheckMeta(
        id="access.outside_collaborators",
        title="Outside collaborators on restricted repositories",
        category="access",
        severity="high",
        rationale="Outside collaborators are not organization members: SSO, 2FA policy and offboarding "
        "through the IdP may not reach them, yet they can clone restricted code.",
        remediation="Remove the collaborator, or make them a member managed by the IdP with a time-bound grant.",
        references=[
            f"{GH_DOCS}/managing-user-access-to-your-organizations-repositories/managing-outside-collaborators"
        ],
        platforms=["github"],
    )
    hidden_by = (GapRule("%outside_collaborators%"), GapRule("%collaborators%"))
    sql = f"""
    SELECT platform, {GRANT_RESOURCE} AS resource,
           CASE WHEN list_contains(via, 'outside_collaborator') OR account IN (
                    SELECT account FROM chk_memberships
                    WHERE platform = $platform AND kind = 'org' AND role = 'outside_collaborator')
                THEN 'fail' ELSE 'pass' END AS status,
           'role ' || role || ' via ' || {VIA} AS detail, account, repo
    FROM chk_grants WHERE platform = $platform AND restricted
    """


class OrgBasePermission(Check):
    meta = CheckMeta(
        id="access.org_base_permission",
        title="Restricted repositories reachable through the organization base permission",
        category="access",
        severity="medium",
        rationale="A base permission gives every organization member access to every repository, so "
        "nobody decided that each of them needs this restricted one.",
        remediation="Set the organization base permission to 'No permission' and grant restricted "
        "repositories to teams.",
        references=[
            f"{GH_DOCS}/managing-user-access-to-your-organizations-repositories/managing-repository-roles/"
            "setting-base-permissions-for-an-organization"
        ],
        platforms=["github"],
    )
    hidden_by = (GapRule("%collaborators%"),)
    sql = """
    SELECT platform, repo AS resource,
           CASE WHEN count(*) FILTER (WHERE list_contains(via, 'org_base')) > 0 THEN 'fail' ELSE 'pass' END AS status,
           count(*) FILTER (WHERE list_contains(via, 'org_base')) || ' of ' || count(*) ||
               ' account(s) reach it through the org base permission' ||
               coalesce(' (' || any_value(role) FILTER (WHERE list_contains(via, 'org_base')) || ')', '') AS detail,
           NULL AS account, repo
    FROM chk_grants WHERE platform = $platform AND restricted GROUP BY platform, repo
    """


class StaleAccess(Check):
    meta = CheckMeta(
        id="access.stale",
        title="Stale access to restricted repositories (no activity for the configured days)",
        category="access",
        severity="medium",
        rationale="Access nobody uses is pure risk: a dormant account or token is a quiet way in, and "
        "its owner would not notice misuse.",
        remediation="Revoke grants unused for checks.stale_days days; re-grant on request.",
        references=[
            "https://docs.github.com/en/organizations/keeping-your-organization-secure/"
            "managing-security-settings-for-your-organization/reviewing-the-audit-log-for-your-organization",
            "https://docs.gitlab.com/user/compliance/audit_events/",
        ],
        platforms=["github", "gitlab"],
    )
    requires = ("inventory", "events")
    # Activity we cannot see (Git events, git operations) makes "no activity" unprovable; seen activity stands.
    hidden_by = (GapRule("%git events%"), GapRule("%repository_git_operation%"))
    gap_turns = frozenset({"fail"})
    sql = """
    WITH acct AS (
        SELECT platform, account, max(last_at) AS last_at FROM chk_activity WHERE platform = $platform
        GROUP BY platform, account
    ),
    per_repo AS (SELECT platform, account, repo, last_at FROM chk_activity WHERE platform = $platform),
    span AS (SELECT first_at FROM chk_event_span WHERE platform = $platform)
    SELECT g.platform, g.account || ' on ' || g.repo AS resource,
           CASE WHEN a.last_at >= g.taken_at - to_days(CAST($stale_days AS INTEGER)) THEN 'pass'
                WHEN (SELECT first_at FROM span) > g.taken_at - to_days(CAST($stale_days AS INTEGER))
                    THEN 'not_evaluated'
                ELSE 'fail' END AS status,
           CASE WHEN a.last_at IS NULL THEN 'no activity in the audit events held (since ' ||
                    strftime((SELECT first_at FROM span), '%Y-%m-%d') || ')'
                ELSE 'last activity ' || strftime(a.last_at, '%Y-%m-%d') ||
                     coalesce(', on this repository ' || strftime(r.last_at, '%Y-%m-%d'), '') END ||
               '; threshold ' || $stale_days || ' days before ' || strftime(g.taken_at, '%Y-%m-%d') AS detail,
           g.account, g.repo
    FROM chk_grants g
    LEFT JOIN acct a ON a.platform = g.platform AND a.account = g.account
    LEFT JOIN per_repo r ON r.platform = g.platform AND r.account = g.account AND r.repo = g.repo
    WHERE g.platform = $platform AND g.restricted
    """


class OrphanedAccounts(Check):
    meta = CheckMeta(
        id="access.orphaned",
        title="Orphaned accounts (identity disabled, deleted or not linked) that still have access",
        category="access",
        severity="high",
        rationale="When the IdP identity behind an account is disabled or gone, offboarding did not reach "
        "the code platform; an account linked to nobody cannot be attributed to a person.",
        remediation="Remove the account from the organization or group, or link it (SAML/SCIM) to its owner.",
        references=[
            f"{GH_DOCS}/managing-saml-single-sign-on-for-your-organization/"
            "about-identity-and-access-management-with-saml-single-sign-on",
            "https://docs.gitlab.com/user/group/saml_sso/",
        ],
        platforms=["github", "gitlab"],
    )
    requires = ("inventory", "identities")
    hidden_by = (USERS_GAP, GapRule("%external%identit%"), GapRule("%saml%"))
    sql = """
    WITH acc AS (
        SELECT platform, account, any_value(identity_id) AS identity_id, bool_or(identity_exists) AS identity_exists,
               bool_and(account_enabled) AS enabled, bool_or(is_bot) AS is_bot,
               count(*) AS repos, count(*) FILTER (WHERE restricted) AS restricted_repos
        FROM chk_grants WHERE platform = $platform GROUP BY platform, account
    )
    SELECT platform, account AS resource,
           CASE WHEN is_bot THEN 'pass' WHEN identity_id IS NULL OR NOT identity_exists THEN 'fail'
                WHEN enabled IS NULL THEN 'not_evaluated' WHEN NOT enabled THEN 'fail' ELSE 'pass' END AS status,
           CASE WHEN is_bot THEN 'platform bot account (not a person)'
                WHEN identity_id IS NULL THEN 'not linked to any IdP identity'
                WHEN NOT identity_exists THEN 'linked identity ' || identity_id || ' no longer exists in the IdP'
                WHEN enabled IS NULL THEN 'the IdP does not say whether ' || identity_id || ' is enabled'
                WHEN NOT enabled THEN 'linked identity ' || identity_id || ' is disabled'
                ELSE 'linked to enabled identity ' || identity_id END ||
               '; access to ' || repos || ' repositories (' || restricted_repos || ' restricted)' AS detail,
           account, NULL AS repo
    FROM acc
    """


class GuestContractorWrite(Check):
    meta = CheckMeta(
        id="access.guest_contractor_write",
        title="Guests and contractors with write or admin access",
        category="access",
        severity="high",
        rationale="External and contractor accounts leave with less ceremony than employees; write or "
        "admin lets them change code and settings, not only read it.",
        remediation="Lower the role to read (or reporter) or grant write for a bounded time with an owner.",
        references=[
            "https://learn.microsoft.com/en-us/entra/external-id/user-properties",
            GL_DOCS,
        ],
        platforms=["github", "gitlab"],
    )
    hidden_by = (USERS_GAP,)
    sql = f"""
    SELECT platform, {GRANT_RESOURCE} AS resource,
           CASE WHEN account_class IS NULL THEN 'not_evaluated'
                WHEN role IN {WRITE_ROLES} THEN 'fail'
                WHEN role IN {READ_ROLES} THEN 'pass' ELSE 'not_evaluated' END AS status,
           CASE WHEN account_class IS NULL THEN 'the account has no class'
                WHEN role NOT IN {WRITE_ROLES} AND role NOT IN {READ_ROLES}
                    THEN 'custom role ' || role || ' (its base role is not in the inventory)'
                ELSE 'class ' || account_class || '; role ' || role || ' via ' || {VIA} END AS detail,
           account, repo
    FROM chk_grants
    WHERE platform = $platform AND (account_class IS NULL OR account_class IN ('external', 'contractor'))
    """


class TwoFactorRequired(Check):
    meta = CheckMeta(
        id="access.two_factor_required",
        title="Two-factor authentication not required for organization members",
        category="access",
        severity="high",
        rationale="Without a 2FA requirement a phished or reused password is enough to sign in and clone "
        "every repository the account reaches.",
        remediation="Require two-factor authentication for the organization (or enforce it at the IdP with "
        "SAML SSO) and remove members who do not enable it.",
        references=[
            f"{GH_DOCS}/keeping-your-organization-secure/managing-two-factor-authentication-for-your-organization/"
            "requiring-two-factor-authentication-in-your-organization"
        ],
        platforms=["github"],
    )
    sql = """
    WITH orgs AS (SELECT DISTINCT scope FROM chk_memberships WHERE platform = $platform AND kind = 'org'),
    s AS (SELECT scope, lower(arg_max(value, taken_at)) AS value FROM chk_settings
          WHERE platform = $platform AND key = 'two_factor_requirement_enabled' GROUP BY scope)
    SELECT $platform AS platform, coalesce(o.scope, s.scope) AS resource,
           CASE WHEN s.value = 'true' THEN 'pass' WHEN s.value = 'false' THEN 'fail' ELSE 'not_evaluated' END,
           CASE WHEN s.value IS NULL THEN 'not known: the organization settings need an org owner token'
                ELSE 'two_factor_requirement_enabled = ' || s.value END,
           NULL AS account, NULL AS repo
    FROM orgs o FULL OUTER JOIN s ON s.scope = o.scope
    """
