"""Tables derived from events after each import: accounts, repos, account links, log sources."""

from __future__ import annotations

import duckdb

from auditor.importers.coverage import refresh_import_gaps

# GitLab audit events name their author by display name only; API and instance logs carry the
# username with the same numeric user id. Name every event by username so one person is one actor.
_GITLAB_USERNAMES = """
UPDATE events SET actor = m.login
FROM (
    SELECT actor_id, arg_max(actor, ts) AS login FROM events
    WHERE platform = 'gitlab' AND source_format = 'gitlab-api-log' AND actor IS NOT NULL
      AND try_cast(actor_id AS BIGINT) > 0
    GROUP BY actor_id
) m
WHERE events.platform = 'gitlab' AND events.source_format = 'gitlab-audit'
  AND events.actor_id = m.actor_id AND events.actor IS DISTINCT FROM m.login
"""

# Accounts seen acting on code platforms (Entra actors are identities, not accounts); rebuilt
# each time because classes are recomputed by detection.
_ACCOUNTS = """
INSERT INTO accounts (platform, login, account_id, email, is_bot, first_seen, last_seen, account_class, class_rule)
SELECT platform, actor, any_value(actor_id), max(actor_email),
       bool_or(actor LIKE '%[bot]' OR actor LIKE '%-bot'), min(ts), max(ts), NULL, NULL
FROM events
WHERE platform IN ('github', 'gitlab') AND actor IS NOT NULL AND actor <> ''
GROUP BY platform, actor
"""

# Accounts a connector listed (latest collection per platform and source) though they never acted:
# the access review needs dormant and bot accounts too. The platform's bot flag wins.
_ACCOUNTS_LISTED = """
WITH latest AS (
    SELECT u.platform, u.login, any_value(u.account_id) AS account_id, any_value(u.email) AS email,
           bool_or(u.is_bot) AS is_bot
    FROM platform_users u
    WHERE u.snapshot_id IN (
        SELECT arg_max(s.snapshot_id, s.created_at) FROM snapshots s
        WHERE s.snapshot_id IN (SELECT DISTINCT snapshot_id FROM platform_users) GROUP BY s.platform, s.source)
    GROUP BY u.platform, u.login
)
INSERT OR REPLACE INTO accounts (platform, login, account_id, email, is_bot, first_seen, last_seen, account_class,
                                 class_rule)
SELECT l.platform, l.login, coalesce(a.account_id, l.account_id), coalesce(a.email, l.email),
       coalesce(l.is_bot, a.is_bot), a.first_seen, a.last_seen, NULL, NULL
FROM latest l LEFT JOIN accounts a ON a.platform = l.platform AND a.login = l.login
"""

# Accounts that hold a grant or membership in the latest collection of their platform and source but
# never acted and were not listed as users (GitHub members and collaborators): without a row they
# would have no class, and class-based checks could not evaluate their access.
_ACCOUNTS_GRANTED = """
WITH latest AS (
    SELECT arg_max(s.snapshot_id, s.created_at) AS snapshot_id FROM snapshots s
    WHERE s.snapshot_id IN (SELECT DISTINCT snapshot_id FROM grants UNION SELECT DISTINCT snapshot_id FROM memberships)
    GROUP BY s.platform, s.source
),
holders AS (
    SELECT platform, account FROM grants WHERE snapshot_id IN (SELECT snapshot_id FROM latest)
    UNION
    SELECT platform, account FROM memberships WHERE snapshot_id IN (SELECT snapshot_id FROM latest)
)
INSERT INTO accounts (platform, login, account_id, email, is_bot, first_seen, last_seen, account_class, class_rule)
SELECT h.platform, h.account, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM holders h
WHERE h.platform IN ('github', 'gitlab')
  AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.platform = h.platform AND a.login = h.account)
"""

# Repositories seen in events; the latest stated visibility wins.
_REPOS = """
INSERT OR REPLACE INTO repos
SELECT e.platform, e.repo, NULL,
       coalesce(arg_max(e.repo_visibility, e.ts) FILTER (WHERE e.repo_visibility IS NOT NULL), r.visibility),
       r.archived, r.topics, r.restricted, r.tier, r.restriction_reason, min(e.ts), max(e.ts)
FROM events e LEFT JOIN repos r ON r.platform = e.platform AND r.full_name = e.repo
WHERE e.repo IS NOT NULL AND e.repo <> '' AND e.platform IN ('github', 'gitlab')
GROUP BY e.platform, e.repo, r.visibility, r.archived, r.topics, r.restricted, r.tier, r.restriction_reason
"""

# Identity linking, strongest evidence first: the platform's own identity records (GitHub SAML
# external identities, GitLab identities' extern_uid, from connectors), then the SAML NameID
# carried by GitHub events, then the author e-mail a GitLab event carries matched to a UPN or
# mail. Never display names. Weaker evidence never replaces stronger.
_LINKS_PLATFORM = """
INSERT OR REPLACE INTO account_links (platform, login, identity_id, upn, linked_by, confidence, evidence)
SELECT x.platform, x.login, any_value(i.identity_id), lower(any_value(x.name_id)),
       CASE WHEN x.platform = 'github' THEN 'saml_identity' ELSE 'gitlab_identity' END, 1.0,
       any_value(x.provider) || ' identity ' || any_value(x.name_id) || ' from ' || any_value(x.source)
FROM external_identities x
LEFT JOIN identities i ON lower(i.upn) = lower(x.name_id) OR lower(i.mail) = lower(x.name_id)
                       OR lower(i.identity_id) = lower(x.name_id)
GROUP BY x.platform, x.login
"""

_LINKS_SAML = """
INSERT OR REPLACE INTO account_links (platform, login, identity_id, upn, linked_by, confidence, evidence)
SELECT 'github', e.actor, any_value(i.identity_id), lower(arg_max(e.identity, e.ts)), 'saml_nameid', 0.95,
       'SAML NameID ' || arg_max(e.identity, e.ts) || ' in GitHub audit events (external_identity_nameid)'
FROM events e LEFT JOIN identities i ON lower(i.upn) = lower(e.identity)
WHERE e.platform = 'github' AND e.identity IS NOT NULL AND e.actor IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM account_links l WHERE l.platform = 'github' AND l.login = e.actor
                  AND l.confidence > 0.95)
GROUP BY e.actor
"""

_LINKS_EMAIL = """
INSERT OR REPLACE INTO account_links (platform, login, identity_id, upn, linked_by, confidence, evidence)
SELECT e.platform, e.actor, any_value(i.identity_id), any_value(i.upn), 'email_match', 0.7,
       'author e-mail ' || any_value(e.actor_email) || ' in GitLab audit events is the IdP mail or UPN'
FROM events e JOIN identities i
  ON lower(i.upn) = lower(e.actor_email) OR lower(i.mail) = lower(e.actor_email)
WHERE e.platform = 'gitlab' AND e.actor_email IS NOT NULL AND e.actor IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM account_links l WHERE l.platform = e.platform AND l.login = e.actor
                  AND l.confidence > 0.7)
GROUP BY e.platform, e.actor
"""

# What each log source holds in the workspace; retention and streaming come from connectors later.
_LOG_SOURCES = """
INSERT OR REPLACE INTO log_sources
SELECT platform, source_format, NULL, NULL, min(ts), max(ts), count(*)
FROM events GROUP BY platform, source_format
"""


LINK_STATEMENTS = (_LINKS_PLATFORM, _LINKS_SAML, _LINKS_EMAIL)


def refresh_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute derived tables inside the caller's transaction (set-based; no per-row Python)."""
    con.execute(_GITLAB_USERNAMES)
    con.execute("DELETE FROM accounts")
    for statement in (
        _ACCOUNTS,
        _ACCOUNTS_LISTED,
        _ACCOUNTS_GRANTED,
        _REPOS,
        *LINK_STATEMENTS,
        _LOG_SOURCES,
    ):
        con.execute(statement)
    refresh_import_gaps(con)
