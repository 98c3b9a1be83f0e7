"""GitHub audit log: streaming/REST NDJSON, the UI's JSON-array export and its CSV export."""

from __future__ import annotations

from auditor.importers.formats.base import Format, Record

SPEC: dict[str, str] = {
    "@timestamp": "VARCHAR",
    "created_at": "VARCHAR",
    "_document_id": "VARCHAR",
    "action": "VARCHAR",
    "actor": "VARCHAR",
    "actor_id": "VARCHAR",
    "actor_ip": "VARCHAR",
    "actor_location": "STRUCT(country_code VARCHAR)",
    "user_agent": "VARCHAR",
    "org": "VARCHAR",
    "business": "VARCHAR",
    "repo": "VARCHAR",
    "repository": "VARCHAR",
    "visibility": "VARCHAR",
    "repository_public": "VARCHAR",
    "public_repo": "VARCHAR",
    "programmatic_access_type": "VARCHAR",
    "hashed_token": "VARCHAR",
    "token_id": "VARCHAR",
    "token_scopes": "VARCHAR",
    "oauth_application_id": "VARCHAR",
    "oauth_application_name": "VARCHAR",
    "integration": "VARCHAR",
    "external_identity_nameid": "VARCHAR",
    "route": "VARCHAR",
    "request_method": "VARCHAR",
    "status_code": "VARCHAR",
    "user": "VARCHAR",
    "team": "VARCHAR",
    "permission": "VARCHAR",
}

# Routes whose responses carry repository content (the API-read form of a download).
CONTENT_ROUTE = r"/(contents|tarball|zipball|git/blobs|git/trees|raw|archive)(/|$|\{)"

NORMALISE = rf"""
SELECT
    CASE WHEN _document_id IS NOT NULL AND _document_id <> '' THEN 'github:' || _document_id
         ELSE 'github:h:' || sha256(_raw)
    END AS event_uid,
    'github' AS platform,
    $format AS source_format,
    _ts AS ts,
    action,
    CASE
        WHEN action IN ('git.clone', 'git.fetch', 'repo.download_zip') THEN 'download'
        WHEN action = 'api.request' AND regexp_matches(coalesce(route, ''), '{CONTENT_ROUTE}') THEN 'download'
        WHEN action = 'api.request' THEN 'api_request'
        WHEN action = 'git.push' THEN 'push'
        WHEN action = 'pull_request.merge' THEN 'merge'
        WHEN split_part(action, '.', 1) IN ('personal_access_token', 'oauth_authorization', 'oauth_access',
             'integration_installation', 'org_credential_authorization', 'public_key', 'deploy_key',
             'oauth_application', 'integration', 'personal_access_token_request') THEN 'credential'
        WHEN action IN ('org.add_member', 'org.update_member', 'org.remove_member', 'team.add_member',
             'team.remove_member', 'repo.add_member', 'repo.remove_member', 'repo.update_member',
             'team.add_repository', 'team.update_repository_permission', 'business.add_admin',
             'org.add_outside_collaborator') THEN 'membership'
        WHEN action IN ('repo.access', 'repo.update_visibility') THEN 'visibility_change'
        ELSE 'other'
    END AS category,
    actor,
    actor_id,
    nullif(external_identity_nameid, '') AS identity,
    org,
    coalesce(repo, repository) AS repo,
    coalesce(visibility,
        CASE WHEN lower(coalesce(repository_public, public_repo)) = 'true' THEN 'public'
             WHEN lower(coalesce(repository_public, public_repo)) = 'false' THEN 'non_public' END
    ) AS repo_visibility,
    actor_ip AS ip,
    actor_location.country_code AS country,
    NULL::VARCHAR AS city,
    NULL::DOUBLE AS latitude,
    NULL::DOUBLE AS longitude,
    user_agent,
    programmatic_access_type AS credential_type,
    coalesce(token_id, hashed_token) AS credential_id,
    token_scopes,
    coalesce(oauth_application_id, integration) AS app_id,
    oauth_application_name AS app_name,
    route,
    request_method AS http_method,
    try_cast(status_code AS INTEGER) AS status_code,
    CASE WHEN try_cast(status_code AS INTEGER) >= 400 THEN 'failure' ELSE 'success' END AS outcome,
    NULL::VARCHAR AS risk_level,
    coalesce("user", team) AS target,
    NULL::BIGINT AS bytes,
    permission,
    line_no,
    CASE
        WHEN action IS NULL OR action = '' THEN 'missing action'
        WHEN coalesce("@timestamp", created_at) IS NULL THEN 'missing @timestamp and created_at'
        WHEN _ts IS NULL THEN 'unparseable timestamp'
        WHEN auditor_ts_implausible(_ts) THEN auditor_ts_out_of_range()
    END AS reject_reason,
    NULL::VARCHAR AS actor_email
FROM (SELECT *, auditor_ts(coalesce("@timestamp", created_at)) AS _ts FROM src) src
"""


def _is_github(record: Record) -> bool:
    action = record.get("action")
    has_time = "@timestamp" in record or "created_at" in record
    return isinstance(action, str) and has_time and "." in action and "entity_type" not in record


GITHUB_AUDIT = Format(
    name="github-audit",
    platform="github",
    target="events",
    spec=SPEC,
    matches=_is_github,
    normalise_sql=NORMALISE,
    description="GitHub org/enterprise audit log (stream, REST, UI JSON or CSV export)",
    required=(("action",), ("@timestamp", "created_at")),
)
