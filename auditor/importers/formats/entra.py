"""Microsoft Entra ID: sign-ins (Graph JSON, diagnostic-settings NDJSON, Log Analytics, portal CSV) and users."""

from __future__ import annotations

from auditor.importers.formats.base import Format, Record

_LOCATION = (
    "STRUCT(city VARCHAR, state VARCHAR, countryOrRegion VARCHAR, "
    "geoCoordinates STRUCT(latitude VARCHAR, longitude VARCHAR))"
)

# Sign-in fields as Graph names them; diagnostic exports nest the same names under `properties`.
SIGNIN_FIELDS: dict[str, str] = {
    "id": "VARCHAR",
    "createdDateTime": "VARCHAR",
    "userPrincipalName": "VARCHAR",
    "userId": "VARCHAR",
    "userDisplayName": "VARCHAR",
    "appId": "VARCHAR",
    "appDisplayName": "VARCHAR",
    "ipAddress": "VARCHAR",
    "clientAppUsed": "VARCHAR",
    "isInteractive": "VARCHAR",
    "userAgent": "VARCHAR",
    "resourceDisplayName": "VARCHAR",
    "servicePrincipalName": "VARCHAR",
    "status": "STRUCT(errorCode VARCHAR)",
    "location": _LOCATION,
    "riskLevelDuringSignIn": "VARCHAR",
    "conditionalAccessStatus": "VARCHAR",
}

_PROPS = "STRUCT(" + ", ".join(f'"{k}" {v}' for k, v in SIGNIN_FIELDS.items()) + ")"

DIAGNOSTIC_SPEC: dict[str, str] = {
    "time": "VARCHAR",
    "category": "VARCHAR",
    "resultType": "VARCHAR",
    "callerIpAddress": "VARCHAR",
    "correlationId": "VARCHAR",
    "properties": _PROPS,
}

LOG_ANALYTICS_SPEC: dict[str, str] = {
    "TimeGenerated": "VARCHAR",
    "CreatedDateTime": "VARCHAR",
    "Category": "VARCHAR",
    "Type": "VARCHAR",
    "Id": "VARCHAR",
    "CorrelationId": "VARCHAR",
    "UserPrincipalName": "VARCHAR",
    "UserId": "VARCHAR",
    "UserDisplayName": "VARCHAR",
    "AppId": "VARCHAR",
    "AppDisplayName": "VARCHAR",
    "IPAddress": "VARCHAR",
    "ClientAppUsed": "VARCHAR",
    "IsInteractive": "VARCHAR",
    "UserAgent": "VARCHAR",
    "ResourceDisplayName": "VARCHAR",
    "ServicePrincipalName": "VARCHAR",
    "ResultType": "VARCHAR",
    "LocationDetails": "VARCHAR",
    "RiskLevelDuringSignIn": "VARCHAR",
}

CSV_SPEC: dict[str, str] = {**SIGNIN_FIELDS, "location_text": "VARCHAR", "status_text": "VARCHAR"}

# Portal download (Sign-in logs > Download > CSV) header -> CSV_SPEC path.
PORTAL_CSV_COLUMNS: dict[str, str] = {
    "Date (UTC)": "createdDateTime",
    "Date": "createdDateTime",
    "Request ID": "id",
    "User agent": "userAgent",
    "User ID": "userId",
    "User": "userDisplayName",
    "Username": "userPrincipalName",
    "Application": "appDisplayName",
    "Application ID": "appId",
    "Resource": "resourceDisplayName",
    "IP address": "ipAddress",
    "Location": "location_text",
    "Status": "status_text",
    "Sign-in error code": "status.errorCode",
    "Client app": "clientAppUsed",
    "Conditional Access": "conditionalAccessStatus",
    "Risk level (during sign-in)": "riskLevelDuringSignIn",
}

_COMMON = """
SELECT
    'entra:' || coalesce(sign_category, 'signin') || ':' || coalesce(nullif(sid, ''),
        'h:' || sha256(_raw)) AS event_uid,
    'entra' AS platform,
    $format AS source_format,
    _ts AS ts,
    coalesce(sign_category, 'SignInLogs') AS action,
    'signin' AS category,
    coalesce(nullif(upn, ''), nullif(sp_name, ''), nullif(app_name, '')) AS actor,
    user_id AS actor_id,
    nullif(upn, '') AS actor_email,
    nullif(upn, '') AS identity,
    NULL::VARCHAR AS org,
    NULL::VARCHAR AS repo,
    NULL::VARCHAR AS repo_visibility,
    nullif(ip, '') AS ip,
    nullif(country, '') AS country,
    nullif(city, '') AS city,
    try_cast(lat AS DOUBLE) AS latitude,
    try_cast(lon AS DOUBLE) AS longitude,
    user_agent,
    client_app AS credential_type,
    NULL::VARCHAR AS credential_id,
    NULL::VARCHAR AS token_scopes,
    app_id,
    app_name,
    NULL::VARCHAR AS route,
    NULL::VARCHAR AS http_method,
    NULL::INTEGER AS status_code,
    CASE WHEN error_code IS NULL OR error_code IN ('', '0', 'Success') THEN 'success' ELSE 'failure' END AS outcome,
    lower(nullif(risk, '')) AS risk_level,
    resource AS target,
    NULL::BIGINT AS bytes,
    NULL::VARCHAR AS permission,
    line_no,
    CASE
        WHEN created IS NULL THEN 'missing createdDateTime and time'
        WHEN _ts IS NULL THEN 'unparseable timestamp'
        WHEN auditor_ts_implausible(_ts) THEN auditor_ts_out_of_range()
    END AS reject_reason
FROM (SELECT *, auditor_ts(created) AS _ts FROM ({shape})) s
"""


def _signins(shape: str) -> str:
    """The common sign-in normaliser over one source shape."""
    return _COMMON.replace("{shape}", shape)


def _camel_shape(p: str, envelope: bool) -> str:
    """Shape Graph-named sign-in fields (prefixed by `p`, e.g. 'properties.') into the common columns."""
    category = "category" if envelope else "'SignInLogs'"
    created = f"coalesce({p}createdDateTime, time)" if envelope else f"{p}createdDateTime"
    ip = f"coalesce({p}ipAddress, callerIpAddress)" if envelope else f"{p}ipAddress"
    error = f"coalesce({p}status.errorCode, resultType)" if envelope else f"{p}status.errorCode"
    corr = "correlationId" if envelope else "NULL"
    return f"""SELECT line_no, _raw, {category} AS sign_category, {p}id AS sid, {created} AS created,
        {p}userPrincipalName AS upn, {p}userId AS user_id, {p}appId AS app_id, {p}appDisplayName AS app_name,
        {ip} AS ip, {p}clientAppUsed AS client_app, {p}userAgent AS user_agent,
        {p}resourceDisplayName AS resource, {p}servicePrincipalName AS sp_name, {error} AS error_code,
        {p}location.city AS city, {p}location.countryOrRegion AS country,
        {p}location.geoCoordinates.latitude AS lat, {p}location.geoCoordinates.longitude AS lon,
        {p}riskLevelDuringSignIn AS risk, {corr} AS corr FROM src"""


_LOG_ANALYTICS_SHAPE = """SELECT line_no, _raw, coalesce(Category, Type) AS sign_category, Id AS sid,
    coalesce(CreatedDateTime, TimeGenerated) AS created, UserPrincipalName AS upn, UserId AS user_id,
    AppId AS app_id, AppDisplayName AS app_name, IPAddress AS ip, ClientAppUsed AS client_app,
    UserAgent AS user_agent, ResourceDisplayName AS resource, ServicePrincipalName AS sp_name,
    ResultType AS error_code, json_extract_string(LocationDetails, '$.city') AS city,
    json_extract_string(LocationDetails, '$.countryOrRegion') AS country,
    json_extract_string(LocationDetails, '$.geoCoordinates.latitude') AS lat,
    json_extract_string(LocationDetails, '$.geoCoordinates.longitude') AS lon,
    RiskLevelDuringSignIn AS risk, CorrelationId AS corr FROM src"""

# Portal CSV: Location is "City, State, CC"; Status is "Success"/"Failure"/"Interrupted".
_CSV_SHAPE = """SELECT line_no, _raw, 'SignInLogs' AS sign_category, id AS sid, createdDateTime AS created,
    userPrincipalName AS upn, userId AS user_id, appId AS app_id, appDisplayName AS app_name,
    ipAddress AS ip, clientAppUsed AS client_app, userAgent AS user_agent,
    resourceDisplayName AS resource, NULL AS sp_name,
    coalesce(status.errorCode, CASE WHEN status_text = 'Success' THEN '0' END, status_text) AS error_code,
    trim(split_part(location_text, ',', 1)) AS city,
    trim(list_last(string_split(location_text, ','))) AS country, NULL AS lat, NULL AS lon,
    riskLevelDuringSignIn AS risk, NULL AS corr FROM src"""


def _is_diagnostic(record: Record) -> bool:
    category = record.get("category")
    return isinstance(category, str) and "SignIn" in category


def _is_log_analytics(record: Record) -> bool:
    category = record.get("Category") or record.get("Type")
    return isinstance(category, str) and "SignIn" in category and "category" not in record


_SIGNIN_MARKERS = ("appId", "appDisplayName", "ipAddress", "clientAppUsed", "status")


def _is_graph_signin(record: Record) -> bool:
    return "createdDateTime" in record and any(k in record for k in _SIGNIN_MARKERS)


def _is_portal_csv(record: Record) -> bool:
    return ("Date (UTC)" in record or "Date" in record) and "Username" in record and "IP address" in record


ENTRA_SIGNIN_DIAGNOSTIC = Format(
    name="entra-signin-diagnostic",
    platform="entra",
    target="events",
    spec=DIAGNOSTIC_SPEC,
    matches=_is_diagnostic,
    normalise_sql=_signins(_camel_shape("properties.", envelope=True)),
    description="Entra sign-ins from diagnostic settings (Event Hub, storage; every sign-in category)",
    required=(("category",), ("properties", "time")),
)

ENTRA_SIGNIN_LOG_ANALYTICS = Format(
    name="entra-signin-loganalytics",
    platform="entra",
    target="events",
    spec=LOG_ANALYTICS_SPEC,
    matches=_is_log_analytics,
    normalise_sql=_signins(_LOG_ANALYTICS_SHAPE),
    description="Entra sign-ins from Log Analytics (SigninLogs tables, PascalCase columns)",
    required=(("Category", "Type"), ("CreatedDateTime", "TimeGenerated")),
)

ENTRA_SIGNIN_GRAPH = Format(
    name="entra-signin-graph",
    platform="entra",
    target="events",
    spec=SIGNIN_FIELDS,
    matches=_is_graph_signin,
    normalise_sql=_signins(_camel_shape("", envelope=False)),
    description="Entra sign-ins from Microsoft Graph /auditLogs/signIns",
    required=(("createdDateTime",), ("id", "userPrincipalName", "appId", "ipAddress")),
)

ENTRA_SIGNIN_CSV = Format(
    name="entra-signin-csv",
    platform="entra",
    target="events",
    spec=CSV_SPEC,
    matches=_is_portal_csv,
    normalise_sql=_signins(_CSV_SHAPE),
    csv_columns=PORTAL_CSV_COLUMNS,
    description="Entra sign-ins downloaded as CSV from the portal",
    required=(("createdDateTime",), ("userPrincipalName", "ipAddress", "id")),
)

USERS_SPEC: dict[str, str] = {
    "id": "VARCHAR",
    "userPrincipalName": "VARCHAR",
    "mail": "VARCHAR",
    "displayName": "VARCHAR",
    "department": "VARCHAR",
    "jobTitle": "VARCHAR",
    "employeeType": "VARCHAR",
    "userType": "VARCHAR",
    "accountEnabled": "VARCHAR",
    "createdDateTime": "VARCHAR",
    "employeeLeaveDateTime": "VARCHAR",
    # Sign-in fields: only to refuse a sign-in record read as a user (`foreign` below).
    "ipAddress": "VARCHAR",
    "appId": "VARCHAR",
    "clientAppUsed": "VARCHAR",
}

USERS_NORMALISE = """
SELECT
    id AS identity_id,
    userPrincipalName AS upn,
    mail,
    displayName AS display_name,
    department,
    jobTitle AS job_title,
    employeeType AS employee_type,
    userType AS user_type,
    try_cast(accountEnabled AS BOOLEAN) AS account_enabled,
    auditor_ts_plausible(auditor_ts(createdDateTime)) AS created_at,
    auditor_ts_plausible(auditor_ts(employeeLeaveDateTime)) AS leave_at,
    line_no,
    CASE
        WHEN id IS NULL OR id = '' THEN 'missing id'
        WHEN userPrincipalName IS NULL OR userPrincipalName = '' THEN 'missing userPrincipalName'
    END AS reject_reason
FROM src
"""


def _is_users(record: Record) -> bool:
    return "userPrincipalName" in record and "id" in record and not any(k in record for k in _SIGNIN_MARKERS)


ENTRA_USERS = Format(
    name="entra-users",
    platform="entra",
    target="identities",
    spec=USERS_SPEC,
    matches=_is_users,
    normalise_sql=USERS_NORMALISE,
    description="Entra users from Microsoft Graph /users (department, jobTitle, employeeType, userType)",
    required=(("id",), ("userPrincipalName",)),
    foreign=("ipAddress", "appId", "clientAppUsed"),
    foreign_kind="a sign-in record",
)
