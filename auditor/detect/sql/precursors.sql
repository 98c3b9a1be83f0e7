-- AN0732 precursors in the look-back before each episode (default 72 h), one row per signal.
-- Input: temp tables episodes(episode_key, platform, actor, identity, first_seen, last_seen) and
-- api_hot (api_rate.sql).
-- Parameters (integers): :lookback_hours, :learning_days.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

WITH signins AS (
    SELECT lower(identity) AS upn, ts, country, city, latitude, longitude, ip, risk_level, outcome
    FROM events
    WHERE platform = 'entra' AND category = 'signin' AND identity IS NOT NULL
),
identity_start AS (
    SELECT upn, min(ts) AS first_signin FROM signins GROUP BY upn
),
country_first AS (
    SELECT upn, country, min(ts) AS first_at FROM signins WHERE country IS NOT NULL GROUP BY upn, country
),
new_country AS (
    -- A country first seen for this identity after its learning period.
    SELECT c.upn, c.first_at AS at, 'new_country' AS kind,
           'first sign-in from ' || c.country || ' for this identity' AS detail
    FROM country_first c JOIN identity_start s ON s.upn = c.upn
    WHERE c.first_at >= s.first_signin + INTERVAL :learning_days DAY
),
ordered AS (
    SELECT upn, ts, country, city, latitude, longitude,
           lag(ts) OVER (PARTITION BY upn ORDER BY ts) AS prev_ts,
           lag(latitude) OVER (PARTITION BY upn ORDER BY ts) AS prev_lat,
           lag(longitude) OVER (PARTITION BY upn ORDER BY ts) AS prev_lon,
           lag(city) OVER (PARTITION BY upn ORDER BY ts) AS prev_city
    FROM signins
    WHERE outcome = 'success' AND latitude IS NOT NULL AND longitude IS NOT NULL
),
travel AS (
    SELECT upn, ts, city, prev_city, prev_ts,
           2 * 6371 * asin(sqrt(
               power(sin(radians(latitude - prev_lat) / 2), 2)
               + cos(radians(prev_lat)) * cos(radians(latitude)) * power(sin(radians(longitude - prev_lon) / 2), 2)
           )) AS km
    FROM ordered
    WHERE prev_ts IS NOT NULL
),
impossible_travel AS (
    -- >= 500 km at >= 800 km/h between consecutive successful sign-ins.
    SELECT upn, ts AS at, 'impossible_travel' AS kind,
           'impossible travel: ' || coalesce(prev_city, '?') || ' to ' || coalesce(city, '?') || ', '
           || CAST(CAST(round(km) AS BIGINT) AS VARCHAR) || ' km in '
           || CAST(CAST(round((epoch(ts) - epoch(prev_ts)) / 60) AS BIGINT) AS VARCHAR) || ' min' AS detail
    FROM travel
    WHERE km >= 500 AND km / greatest((epoch(ts) - epoch(prev_ts)) / 3600.0, 1.0 / 60) >= 800
),
risky_signins AS (
    SELECT upn, ts AS at, 'idp_risk' AS kind,
           'sign-in with IdP risk ' || risk_level || coalesce(' from ' || country, '') AS detail
    FROM signins
    WHERE risk_level IN ('medium', 'high')
),
risk_detections AS (
    SELECT lower(upn) AS upn, detected_at AS at, 'idp_risk' AS kind,
           'IdP risk detection ' || coalesce(event_type, kind) || ' (' || risk_level || ')' AS detail
    FROM identity_risk
    WHERE risk_level IN ('medium', 'high') AND detected_at IS NOT NULL AND upn IS NOT NULL
),
identity_signals AS (
    SELECT * FROM new_country
    UNION ALL SELECT * FROM impossible_travel
    UNION ALL SELECT * FROM risky_signins
    UNION ALL SELECT * FROM risk_detections
),
credential_events AS (
    -- A new credential or grant by the same account: PAT, OAuth authorization, SAML credential
    -- authorization, app installation, GitLab token creation.
    SELECT platform, actor, ts AS at, 'new_credential' AS kind,
           'new credential or grant: ' || action || coalesce(' (' || credential_type || ')', '')
           || coalesce(' app ' || app_id, '') || coalesce(' token ' || credential_id, '') AS detail
    FROM events
    WHERE category = 'credential' AND actor IS NOT NULL
      -- tokens, OAuth and SAML authorisations, app installations; an SSH key alone is routine
      AND action NOT LIKE 'public_key.%' AND action NOT LIKE '%deploy_key%'
),
actor_events AS (
    SELECT ev.platform, ev.actor, ev.ts, ev.credential_id, ev.user_agent, ev.ip
    FROM events ev
    JOIN (SELECT DISTINCT platform, actor FROM episodes) a ON a.platform = ev.platform AND a.actor = ev.actor
),
actor_first AS (
    SELECT platform, actor, min(ts) AS started FROM actor_events GROUP BY platform, actor
),
first_values AS (
    SELECT platform, actor, 'credential ' || credential_id AS what, min(ts) AS first_at
    FROM actor_events WHERE credential_id IS NOT NULL GROUP BY platform, actor, credential_id
    UNION ALL
    SELECT platform, actor, 'user agent "' || substr(user_agent, 1, 80) || '"' AS what, min(ts) AS first_at
    FROM actor_events WHERE user_agent IS NOT NULL GROUP BY platform, actor, user_agent
    UNION ALL
    SELECT platform, actor, 'IP ' || ip AS what, min(ts) AS first_at
    FROM actor_events WHERE ip IS NOT NULL GROUP BY platform, actor, ip
),
first_use AS (
    -- The first use of a credential, client or address by an account with a learned history.
    SELECT f.platform, f.actor, f.first_at AS at, 'first_use' AS kind,
           'first use of ' || f.what || ' by this account' AS detail
    FROM first_values f JOIN actor_first s ON s.platform = f.platform AND s.actor = f.actor
    WHERE f.first_at >= s.started + INTERVAL :learning_days DAY
)
SELECT e.episode_key, s.kind, s.detail, s.at
FROM episodes e
JOIN identity_signals s
  ON s.upn = lower(e.identity)
 AND s.at >= e.first_seen - INTERVAL :lookback_hours HOUR AND s.at <= e.last_seen
UNION ALL
SELECT e.episode_key, c.kind, c.detail, c.at
FROM episodes e
JOIN credential_events c
  ON c.platform = e.platform AND c.actor = e.actor
 AND c.at >= e.first_seen - INTERVAL :lookback_hours HOUR AND c.at <= e.last_seen
UNION ALL
SELECT e.episode_key, f.kind, f.detail, f.at
FROM episodes e
JOIN first_use f
  ON f.platform = e.platform AND f.actor = e.actor
 AND f.at >= e.first_seen - INTERVAL :lookback_hours HOUR AND f.at <= e.last_seen
UNION ALL
SELECT e.episode_key, 'api_rate' AS kind,
       'API request rate ' || CAST(h.requests AS VARCHAR) || ' per hour, against this account''s usual '
       || CAST(CAST(round(h.baseline) AS BIGINT) AS VARCHAR) || ' (hourly p95)' AS detail,
       h.hour AS at
FROM episodes e
JOIN api_hot h
  ON h.platform = e.platform AND h.actor = e.actor
 AND h.hour >= e.first_seen - INTERVAL :lookback_hours HOUR AND h.hour <= e.last_seen
