-- AN0732 credential baselines: each credential's own history of networks, countries and user agents,
-- and its first use from a new one in the look-back before an episode (default 72 h), one row per signal.
-- Credential key: (platform, account, credential id) where the events name one (GitHub token_id or
-- hashed_token, GitLab token id, an SSH key fingerprint or deploy key id when an importer maps one); for
-- an OAuth/GitHub App user token without an id, the app and the account; for a typed credential without
-- an id (a GitLab deploy key), its type and the account. Events with none of these are the account's.
-- Network: an IPv4 address's /24; an IPv6 address's /64 when its first four groups are written out (no
-- '::' among them), otherwise the address itself.
-- A credential's baseline is learned once it has :learning_days of history: a value first seen before
-- that is part of it, so a brand-new credential (token rotation) never fires here.
-- Kinds: credential_new_network, credential_new_country, credential_new_agent; scoring.py weighs them.
-- Input: temp table episodes(episode_key, platform, actor, identity, first_seen, last_seen).
-- Parameters (integers): :lookback_hours, :learning_days.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

WITH cred_rows AS (
    -- Only the episodes' accounts, as precursors.sql's actor_events: the history of their credentials.
    SELECT ev.platform, ev.actor, coalesce(ev.credential_id, 'app ' || ev.app_id, ev.credential_type) AS cred,
           ev.ts, ev.ip, ev.country, ev.user_agent, ev.credential_type, ev.credential_id, ev.app_id
    FROM events ev
    JOIN (SELECT DISTINCT platform, actor FROM episodes) a ON a.platform = ev.platform AND a.actor = ev.actor
    WHERE ev.credential_id IS NOT NULL OR ev.app_id IS NOT NULL OR ev.credential_type IS NOT NULL
),
cred_uses AS (
    -- One row per credential and (address, country, user agent): the networks are derived from these few.
    SELECT platform, actor, cred, ip, country, user_agent, min(ts) AS first_at, count(*) AS uses,
           max(credential_type) AS ctype, max(credential_id) AS cid, max(app_id) AS app
    FROM cred_rows
    GROUP BY platform, actor, cred, ip, country, user_agent
),
cred_events AS (
    SELECT platform, actor, cred, first_at AS ts, uses, country, user_agent, ctype, cid, app,
           coalesce(
               nullif(regexp_extract(ip, '^([0-9]+[.][0-9]+[.][0-9]+)[.][0-9]+$', 1), '') || '.0/24',
               nullif(lower(regexp_extract(ip, '^([0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}):', 1)), '')
                   || '::/64',
               ip
           ) AS network
    FROM cred_uses
),
creds AS (
    SELECT platform, actor, cred, min(ts) AS started, max(ctype) AS ctype, max(cid) AS cid, max(app) AS app
    FROM cred_events
    GROUP BY platform, actor, cred
),
labels AS (
    -- The credential in words, with its type: 'personal access token 4711 (fine-grained)'.
    SELECT platform, actor, cred, started,
           CASE
               WHEN lower(ctype) = 'personal access token' THEN 'personal access token ' || cid || ' (classic)'
               WHEN lower(ctype) = 'fine-grained personal access token'
                   THEN 'personal access token ' || cid || ' (fine-grained)'
               WHEN lower(ctype) = 'personalaccesstoken' THEN 'personal access token ' || cid
               WHEN cid IS NULL AND app IS NOT NULL THEN 'OAuth/GitHub App ' || app || ' token of ' || actor
               WHEN lower(ctype) IN ('oauth access token', 'oauthaccesstoken')
                   THEN 'OAuth token ' || cid || coalesce(' (app ' || app || ')', '')
               WHEN lower(ctype) = 'deploy_key' THEN 'deploy key ' || coalesce(cid, 'of ' || actor)
               WHEN lower(ctype) = 'ssh_key' THEN 'SSH key ' || coalesce(cid, 'of ' || actor)
               ELSE coalesce(ctype, 'credential') || ' ' || coalesce(cid, 'of ' || actor)
                   || coalesce(' (app ' || app || ')', '')
           END AS label
    FROM creds
),
firsts AS (
    -- Per credential and value: first use, uses, and where (a network's country, a country's network).
    SELECT platform, actor, cred, 'network' AS dim, network AS val, min(country) AS place,
           min(ts) AS first_at, sum(uses) AS uses
    FROM cred_events WHERE network IS NOT NULL GROUP BY platform, actor, cred, network
    UNION ALL
    SELECT platform, actor, cred, 'country' AS dim, country AS val, min(network) AS place,
           min(ts) AS first_at, sum(uses) AS uses
    FROM cred_events WHERE country IS NOT NULL GROUP BY platform, actor, cred, country
    UNION ALL
    SELECT platform, actor, cred, 'agent' AS dim, user_agent AS val, min(network) AS place,
           min(ts) AS first_at, sum(uses) AS uses
    FROM cred_events WHERE user_agent IS NOT NULL GROUP BY platform, actor, cred, user_agent
),
fresh AS (
    -- A value first used inside an episode's look-back, after the credential's learning period.
    SELECT e.episode_key, f.platform, f.actor, f.cred, f.dim, f.val, f.place, f.first_at, l.label,
           CAST(floor((epoch(f.first_at) - epoch(l.started)) / 86400) AS BIGINT) AS days
    FROM episodes e
    JOIN firsts f
      ON f.platform = e.platform AND f.actor = e.actor
     AND f.first_at >= e.first_seen - INTERVAL :lookback_hours HOUR AND f.first_at <= e.last_seen
    JOIN labels l ON l.platform = f.platform AND l.actor = f.actor AND l.cred = f.cred
    WHERE f.first_at >= l.started + INTERVAL :learning_days DAY
),
usual AS (
    -- The credential's most used value of the same kind before it: "after 34 days from ...".
    SELECT episode_key, cred, dim, val, usual_val, usual_place
    FROM (
        SELECT n.episode_key, n.cred, n.dim, n.val, p.val AS usual_val, p.place AS usual_place,
               row_number() OVER (PARTITION BY n.episode_key, n.cred, n.dim, n.val ORDER BY p.uses DESC, p.val) AS rn
        FROM fresh n
        JOIN firsts p
          ON p.platform = n.platform AND p.actor = n.actor AND p.cred = n.cred AND p.dim = n.dim
         AND p.first_at < n.first_at
    ) ranked
    WHERE rn = 1
)
SELECT n.episode_key, 'credential_new_' || n.dim AS kind,
       n.label || CASE n.dim
           WHEN 'network' THEN ' first used from network ' || n.val || coalesce(' (' || n.place || ')', '')
               || ' after ' || CAST(n.days AS VARCHAR) || ' days'
               || coalesce(' from ' || u.usual_val || coalesce(' (' || u.usual_place || ')', ''), '')
           WHEN 'country' THEN ' first used from country ' || n.val || coalesce(' (network ' || n.place || ')', '')
               || ' after ' || CAST(n.days AS VARCHAR) || ' days'
               || coalesce(' from ' || u.usual_val || coalesce(' (network ' || u.usual_place || ')', ''), '')
           ELSE ' first used with user agent "' || substr(n.val, 1, 80) || '"'
               || coalesce(' from network ' || n.place, '') || ' after ' || CAST(n.days AS VARCHAR) || ' days'
               || coalesce(' with "' || substr(u.usual_val, 1, 80) || '"', '')
       END AS detail,
       n.first_at AS at
FROM fresh n
LEFT JOIN usual u ON u.episode_key = n.episode_key AND u.cred = n.cred AND u.dim = n.dim AND u.val = n.val
