"""GitLab: audit events (REST JSON array, streaming NDJSON, self-managed audit_json.log) and api_json.log."""

from __future__ import annotations

from auditor.importers.formats.base import Format, Record

AUDIT_SPEC: dict[str, str] = {
    "id": "VARCHAR",
    "created_at": "VARCHAR",
    "time": "VARCHAR",
    "severity": "VARCHAR",
    "event_type": "VARCHAR",
    "event_name": "VARCHAR",
    "author_id": "VARCHAR",
    "author_name": "VARCHAR",
    "entity_id": "VARCHAR",
    "entity_type": "VARCHAR",
    "entity_path": "VARCHAR",
    "target_id": "VARCHAR",
    "target_type": "VARCHAR",
    "target_details": "VARCHAR",
    "ip_address": "VARCHAR",
    "details": (
        "STRUCT(event_name VARCHAR, custom_message VARCHAR, author_name VARCHAR, author_email VARCHAR, "
        "author_username VARCHAR, ip_address VARCHAR, entity_path VARCHAR, target_details VARCHAR, "
        'target_type VARCHAR, "change" VARCHAR, "from" VARCHAR, "to" VARCHAR, "as" VARCHAR)'
    ),
    "meta.user": "VARCHAR",
    "meta.remote_ip": "VARCHAR",
    "meta.caller_id": "VARCHAR",
    "change": "VARCHAR",
    "from": "VARCHAR",
    "to": "VARCHAR",
    "with": "VARCHAR",
    "correlation_id": "VARCHAR",
}

_AUDIT_ACTION = """coalesce(
        nullif(event_type, ''), nullif(event_name, ''), nullif(details.event_name, ''),
        CASE WHEN "change" IS NOT NULL THEN 'change_' || regexp_replace(lower("change"), '[^a-z0-9]+', '_', 'g') END,
        CASE WHEN "with" IS NOT NULL THEN 'user_authenticated' END,
        nullif("meta.caller_id", ''),
        'audit_event')"""

AUDIT_NORMALISE = f"""
SELECT
    CASE WHEN id IS NOT NULL AND id <> '' THEN 'gitlab:audit:' || id
         ELSE 'gitlab:h:' || sha256(_raw)
    END AS event_uid,
    'gitlab' AS platform,
    $format AS source_format,
    _ts AS ts,
    {_AUDIT_ACTION} AS action,
    CASE
        WHEN {_AUDIT_ACTION} = 'repository_git_operation'
             AND coalesce(details.custom_message, '') LIKE '%receive-pack%' THEN 'push'
        WHEN {_AUDIT_ACTION} IN ('repository_git_operation', 'repository_download_operation',
             'project_export_file_download_started') THEN 'download'
        WHEN {_AUDIT_ACTION} LIKE '%access_token%' OR {_AUDIT_ACTION} LIKE '%deploy_token%'
             OR {_AUDIT_ACTION} LIKE '%deploy_key%' OR {_AUDIT_ACTION} LIKE '%oauth%' THEN 'credential'
        WHEN {_AUDIT_ACTION} LIKE 'member_%' OR {_AUDIT_ACTION} LIKE '%_member_%'
             OR {_AUDIT_ACTION} LIKE '%access_level%' THEN 'membership'
        WHEN {_AUDIT_ACTION} LIKE '%visibility%' THEN 'visibility_change'
        WHEN {_AUDIT_ACTION} = 'user_authenticated' THEN 'signin'
        ELSE 'other'
    END AS category,
    coalesce(nullif("meta.user", ''), nullif(details.author_username, ''), author_name, details.author_name) AS actor,
    author_id AS actor_id,
    NULL::VARCHAR AS identity,
    nullif(split_part(coalesce(entity_path, details.entity_path, ''), '/', 1), '') AS org,
    CASE WHEN entity_type = 'Project' THEN coalesce(entity_path, details.entity_path, target_details)
         WHEN target_type = 'Project' THEN coalesce(target_details, details.target_details) END AS repo,
    CASE WHEN "change" = 'visibility' THEN lower("to") END AS repo_visibility,
    coalesce(ip_address, details.ip_address, "meta.remote_ip") AS ip,
    NULL::VARCHAR AS country,
    NULL::VARCHAR AS city,
    NULL::DOUBLE AS latitude,
    NULL::DOUBLE AS longitude,
    NULL::VARCHAR AS user_agent,
    CASE WHEN author_id = '-3' THEN 'deploy_key' END AS credential_type,
    NULL::VARCHAR AS credential_id,
    NULL::VARCHAR AS token_scopes,
    NULL::VARCHAR AS app_id,
    NULL::VARCHAR AS app_name,
    NULL::VARCHAR AS route,
    NULL::VARCHAR AS http_method,
    NULL::INTEGER AS status_code,
    'success' AS outcome,
    NULL::VARCHAR AS risk_level,
    coalesce(target_details, details.target_details) AS target,
    NULL::BIGINT AS bytes,
    details."as" AS permission,
    line_no,
    CASE
        WHEN coalesce(created_at, time) IS NULL THEN 'missing created_at and time'
        WHEN _ts IS NULL THEN 'unparseable timestamp'
        WHEN auditor_ts_implausible(_ts) THEN auditor_ts_out_of_range()
    END AS reject_reason,
    details.author_email AS actor_email
FROM (SELECT *, auditor_ts(coalesce(created_at, time)) AS _ts FROM src) src
"""

API_SPEC: dict[str, str] = {
    "time": "VARCHAR",
    "correlation_id": "VARCHAR",
    "method": "VARCHAR",
    "path": "VARCHAR",
    "route": "VARCHAR",
    "status": "VARCHAR",
    "remote_ip": "VARCHAR",
    "ua": "VARCHAR",
    "user_id": "VARCHAR",
    "username": "VARCHAR",
    "meta.user": "VARCHAR",
    "meta.project": "VARCHAR",
    "meta.root_namespace": "VARCHAR",
    "token_type": "VARCHAR",
    "token_id": "VARCHAR",
}

CONTENT_ROUTE = r"/repository/(archive|files|blobs|tree)|/export/download|/snippets/.*/raw"

API_NORMALISE = rf"""
SELECT
    CASE WHEN correlation_id IS NOT NULL AND correlation_id <> ''
         THEN 'gitlab:api:' || correlation_id || ':' || coalesce(time, '')
         ELSE 'gitlab:h:' || sha256(_raw)
    END AS event_uid,
    'gitlab' AS platform,
    $format AS source_format,
    _ts AS ts,
    'api.request' AS action,
    CASE WHEN regexp_matches(coalesce(route, path, ''), '{CONTENT_ROUTE}') THEN 'download'
         ELSE 'api_request' END AS category,
    coalesce(nullif(username, ''), nullif("meta.user", '')) AS actor,
    user_id AS actor_id,
    NULL::VARCHAR AS identity,
    nullif("meta.root_namespace", '') AS org,
    nullif("meta.project", '') AS repo,
    NULL::VARCHAR AS repo_visibility,
    nullif(trim(split_part(remote_ip, ',', 1)), '') AS ip,
    NULL::VARCHAR AS country,
    NULL::VARCHAR AS city,
    NULL::DOUBLE AS latitude,
    NULL::DOUBLE AS longitude,
    ua AS user_agent,
    token_type AS credential_type,
    token_id AS credential_id,
    NULL::VARCHAR AS token_scopes,
    NULL::VARCHAR AS app_id,
    NULL::VARCHAR AS app_name,
    route,
    method AS http_method,
    try_cast(status AS INTEGER) AS status_code,
    CASE WHEN try_cast(status AS INTEGER) >= 400 THEN 'failure' ELSE 'success' END AS outcome,
    NULL::VARCHAR AS risk_level,
    path AS target,
    NULL::BIGINT AS bytes,
    NULL::VARCHAR AS permission,
    line_no,
    CASE
        WHEN time IS NULL THEN 'missing time'
        WHEN _ts IS NULL THEN 'unparseable timestamp'
        WHEN auditor_ts_implausible(_ts) THEN auditor_ts_out_of_range()
        WHEN method IS NULL AND path IS NULL THEN 'missing method and path'
    END AS reject_reason,
    NULL::VARCHAR AS actor_email
FROM (SELECT *, auditor_ts(time) AS _ts FROM src) src
"""


def _is_gitlab_audit(record: Record) -> bool:
    return "entity_type" in record and "author_id" in record and ("created_at" in record or "time" in record)


def _is_gitlab_api(record: Record) -> bool:
    return "route" in record and "method" in record and "time" in record and "path" in record


GITLAB_AUDIT = Format(
    name="gitlab-audit",
    platform="gitlab",
    target="events",
    spec=AUDIT_SPEC,
    matches=_is_gitlab_audit,
    normalise_sql=AUDIT_NORMALISE,
    description="GitLab audit events (REST JSON, streaming NDJSON, audit_json.log)",
    required=(("entity_type", "entity_id", "author_id"), ("created_at", "time")),
)

GITLAB_API_LOG = Format(
    name="gitlab-api-log",
    platform="gitlab",
    target="events",
    spec=API_SPEC,
    matches=_is_gitlab_api,
    normalise_sql=API_NORMALISE,
    description="GitLab self-managed api_json.log (API requests: user, token type, route, IP)",
    required=(("time",), ("method", "path", "route")),
)
