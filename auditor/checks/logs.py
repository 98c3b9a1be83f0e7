"""Logging checks (the blind-spot report): is each log AN0732 needs enabled, kept long enough, streamed
where the platform keeps nothing, and what time span the workspace actually holds."""

from __future__ import annotations

from auditor.checks.model import Check, CheckMeta, GapRule

# Streaming settings hold the destinations (stream types or names), 'none', or 'unknown'.
FALSY = "('false', '0', 'disabled', 'off', 'none', '')"
UNKNOWN = "('unknown', '?')"
ON = f"(value IS NOT NULL AND lower(value) NOT IN {FALSY} AND lower(value) NOT IN {UNKNOWN})"
GH_STREAM = (
    "https://docs.github.com/en/enterprise-cloud@latest/admin/monitoring-activity-in-your-enterprise/"
    "reviewing-audit-logs-for-your-enterprise/streaming-the-audit-log-for-your-enterprise"
)


class LogRetention(Check):
    meta = CheckMeta(
        id="logging.retention",
        title="Log sources kept shorter than the configured minimum retention",
        category="logging",
        severity="high",
        rationale="An extraction found months later can only be investigated from logs still kept; "
        "platform defaults (GitHub 180 days, Git events 7, Entra sign-ins 7 or 30) are shorter than a year.",
        remediation="Stream or export the log to a store that keeps it checks.min_log_retention_days days "
        "(default 365) and state that store's retention in checks.stream_retention_days.",
        references=[
            "https://docs.github.com/en/organizations/keeping-your-organization-secure/"
            "managing-security-settings-for-your-organization/reviewing-the-audit-log-for-your-organization",
            "https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-reports-data-retention",
        ],
        platforms=["github", "gitlab", "entra"],
    )
    requires = ()
    sql = """
    SELECT platform, source AS resource,
           CASE WHEN streaming IS NOT NULL AND CAST($stream_retention_days AS INTEGER) IS NULL THEN 'not_evaluated'
                WHEN streaming IS NOT NULL THEN
                    CASE WHEN CAST($stream_retention_days AS INTEGER) >= $min_log_retention_days THEN 'pass'
                         ELSE 'fail' END
                WHEN retention_days IS NULL THEN 'not_evaluated'
                WHEN retention_days >= $min_log_retention_days THEN 'pass' ELSE 'fail' END AS status,
           CASE WHEN streaming IS NOT NULL THEN 'streamed (' || streaming || '); destination keeps ' ||
                    coalesce(CAST($stream_retention_days AS INTEGER) ||
                             ' days (stated in checks.stream_retention_days)',
                             'an unknown time (state it in checks.stream_retention_days)')
                ELSE 'the platform keeps ' || coalesce(retention_days || ' days', 'an unknown time') END ||
               '; minimum ' || $min_log_retention_days || ' days' AS detail,
           NULL AS account, NULL AS repo
    FROM log_sources WHERE platform = $platform
    UNION ALL
    SELECT $platform, 'log sources', 'not_evaluated', 'no log source recorded for this platform', NULL, NULL
    WHERE NOT EXISTS (SELECT 1 FROM log_sources WHERE platform = $platform)
    """


class GitHubStreaming(Check):
    meta = CheckMeta(
        id="logging.github_streaming",
        title="GitHub Git events and api.request events streamed",
        category="logging",
        severity="high",
        rationale="GitHub keeps Git events (clone, fetch) only 7 days and never stores api.request events; "
        "without audit-log streaming, bulk clones and API downloads older than a week are invisible.",
        remediation="Enable enterprise audit-log streaming with Git events and API request events to a SIEM "
        "or storage that keeps them a year.",
        references=[GH_STREAM, "https://docs.github.com/en/rest/enterprise-admin/audit-log"],
        platforms=["github"],
    )
    requires = ()
    hidden_by = (GapRule("%streams%"),)
    gap_turns = frozenset({"fail"})
    sql = f"""
    WITH st AS (
        SELECT bool_or({ON}) AS on_setting, bool_or(lower(value) IN {FALSY}) AS off_setting,
               string_agg(DISTINCT value, ', ') FILTER (WHERE {ON}) AS names
        FROM chk_settings WHERE platform = $platform AND key = 'audit_log_streaming'
    ),
    ls AS (SELECT count(*) FILTER (WHERE streaming IS NOT NULL) AS streamed FROM log_sources
           WHERE platform = $platform),
    ev AS (SELECT count(*) FILTER (WHERE action LIKE 'git.%') AS git,
                  count(*) FILTER (WHERE action = 'api.request') AS api
           FROM events WHERE platform = $platform),
    s AS (SELECT coalesce(on_setting, false) OR streamed > 0 AS streaming_on,
                 coalesce(off_setting, false) AND NOT coalesce(on_setting, false) AND streamed = 0 AS streaming_off,
                 names, git, api
          FROM st, ls, ev),
    kinds(resource, n) AS (SELECT 'git events', git FROM s UNION ALL SELECT 'api.request events', api FROM s)
    SELECT $platform AS platform, k.resource,
           CASE WHEN s.streaming_off THEN 'fail'
                WHEN s.streaming_on AND (k.resource = 'git events' OR k.n > 0) THEN 'pass'
                ELSE 'not_evaluated' END AS status,
           CASE WHEN s.streaming_off THEN 'audit-log streaming is off: '
                    || CASE WHEN k.resource = 'git events' THEN 'GitHub keeps Git events only 7 days'
                            ELSE 'api.request events exist only in streams' END
                WHEN s.streaming_on AND k.resource = 'api.request events' AND k.n = 0
                    THEN 'streaming is on, but no api.request events are in the workspace: enable API request '
                         || 'events on the stream and import it'
                WHEN s.streaming_on THEN 'audit-log streaming is on (' || coalesce(s.names, 'a streamed log source') ||
                     '); ' || k.n || ' such events in the workspace'
                ELSE 'streaming configuration not visible (enterprise owner: GET /enterprises/ENT/audit-log/streams); '
                     || k.n || ' such events in the workspace' END AS detail,
           NULL AS account, NULL AS repo
    FROM kinds k, s
    """


class GitLabGitStreaming(Check):
    meta = CheckMeta(
        id="logging.gitlab_git_streaming",
        title="GitLab repository_git_operation events streamed",
        category="logging",
        severity="high",
        rationale="GitLab never stores repository_git_operation (clone, pull, push) events; only audit "
        "event streaming (Ultimate) delivers them, so without it clones are invisible.",
        remediation="Configure an audit event streaming destination (group or instance) and import it.",
        references=[
            "https://docs.gitlab.com/administration/compliance/audit_event_streaming/",
            "https://docs.gitlab.com/user/compliance/audit_event_types/",
        ],
        platforms=["gitlab"],
    )
    requires = ()
    sql = f"""
    WITH st AS (
        SELECT bool_or({ON}) AS on_setting, bool_or(lower(value) IN {FALSY}) AS off_setting,
               string_agg(DISTINCT value, ', ') FILTER (WHERE {ON}) AS names
        FROM chk_settings WHERE platform = $platform AND key = 'audit_event_streaming'
    ),
    ev AS (SELECT count(*) AS n FROM events WHERE platform = $platform AND action = 'repository_git_operation')
    SELECT $platform AS platform, 'repository_git_operation events' AS resource,
           CASE WHEN coalesce(st.on_setting, false) OR ev.n > 0 THEN 'pass'
                WHEN coalesce(st.off_setting, false) THEN 'fail' ELSE 'not_evaluated' END AS status,
           CASE WHEN ev.n > 0 THEN ev.n || ' streamed git operations in the workspace'
                WHEN coalesce(st.on_setting, false) THEN 'streaming destination(s) configured: ' || st.names
                WHEN coalesce(st.off_setting, false) THEN 'no streaming destination: GitLab never stores git operations'
                ELSE 'streaming destinations not visible (GraphQL, Ultimate) and no streamed git operations imported'
           END AS detail,
           NULL AS account, NULL AS repo
    FROM st, ev
    """


class EntraSigninExport(Check):
    meta = CheckMeta(
        id="logging.entra_signin_export",
        title="Entra sign-in logs exported by a diagnostic setting",
        category="logging",
        severity="medium",
        rationale="Entra keeps sign-ins 7 days (Free) or 30 days (P1/P2); without a diagnostic-setting "
        "export, the login context of an older download (country, device, risk) is lost.",
        remediation="Add a diagnostic setting exporting SignInLogs and NonInteractiveUserSignInLogs to Log "
        "Analytics, storage or Event Hub.",
        references=[
            "https://learn.microsoft.com/en-us/entra/identity/monitoring-health/howto-configure-diagnostic-settings",
            "https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-reports-data-retention",
        ],
        platforms=["entra"],
    )
    requires = ()
    hidden_by = (GapRule("%diagnosticsettings%"), GapRule("%export unknown%"))
    gap_turns = frozenset({"fail"})
    sql = """
    SELECT platform, source AS resource,
           CASE WHEN streaming IS NOT NULL THEN 'pass' ELSE 'fail' END AS status,
           CASE WHEN streaming IS NOT NULL THEN 'exported: ' || streaming
                ELSE 'no export: Entra keeps sign-ins ' || coalesce(retention_days || ' days', 'a short time') END
               AS detail,
           NULL AS account, NULL AS repo
    FROM log_sources WHERE platform = $platform
    UNION ALL
    SELECT $platform, 'sign-in logs', 'not_evaluated', 'no Entra sign-in log source recorded', NULL, NULL
    WHERE NOT EXISTS (SELECT 1 FROM log_sources WHERE platform = $platform)
    """


class LogTimeSpan(Check):
    meta = CheckMeta(
        id="logging.time_span",
        title="Time span of each needed log actually present in the workspace",
        category="logging",
        severity="medium",
        rationale="Detection baselines and stale-access checks need history the workspace really holds, "
        "not what the platform could keep; a missing or short log is a blind spot for AN0732.",
        remediation="Import or collect each log so the workspace holds checks.min_log_span_days days "
        "(default 90); stream the logs the platform does not keep.",
        references=["https://attack.mitre.org/techniques/T1213/003/"],
        platforms=["github", "gitlab", "entra"],
    )
    requires = ()
    sql = """
    WITH families(platform, family) AS (VALUES
        ('github', 'audit log (web and API events)'), ('github', 'Git events'), ('github', 'api.request events'),
        ('gitlab', 'audit events'), ('gitlab', 'repository_git_operation events'), ('gitlab', 'API log'),
        ('entra', 'sign-in logs')),
    ev AS (
        SELECT platform,
               CASE WHEN platform = 'entra' THEN 'sign-in logs'
                    WHEN platform = 'github' AND action LIKE 'git.%' THEN 'Git events'
                    WHEN action = 'api.request' AND platform = 'github' THEN 'api.request events'
                    WHEN action = 'api.request' THEN 'API log'
                    WHEN action = 'repository_git_operation' THEN 'repository_git_operation events'
                    WHEN platform = 'github' THEN 'audit log (web and API events)'
                    ELSE 'audit events' END AS family,
               min(ts) AS first_at, max(ts) AS last_at, count(*) AS n
        FROM events WHERE platform = $platform GROUP BY ALL
    )
    SELECT f.platform, f.family AS resource,
           CASE WHEN ev.n IS NULL THEN 'fail'
                WHEN date_diff('day', ev.first_at, ev.last_at) >= $min_log_span_days THEN 'pass' ELSE 'fail' END
               AS status,
           CASE WHEN ev.n IS NULL THEN 'no events of this log in the workspace'
                ELSE ev.n || ' events from ' || strftime(ev.first_at, '%Y-%m-%d') || ' to ' ||
                     strftime(ev.last_at, '%Y-%m-%d') || ' (' || date_diff('day', ev.first_at, ev.last_at) ||
                     ' days)' END || '; minimum ' || $min_log_span_days || ' days' AS detail,
           NULL AS account, NULL AS repo
    FROM families f LEFT JOIN ev ON ev.platform = f.platform AND ev.family = f.family
    WHERE f.platform = $platform
    """
