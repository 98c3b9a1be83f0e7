-- AN0732 replay context: did the owner's IdP identity sign in from the network the episode's downloads
-- came from? One row per episode with an identity and download IPs: how many of its IPs the owner signed
-- in from (or from their country) in the :lookback_hours before and during it, and the owner's last
-- sign-in before it (within :history_days).
-- Input: temp tables episodes(episode_key, platform, actor, identity, first_seen, last_seen) and
-- episode_ips(episode_key, ip, country). Parameters (integers): :lookback_hours, :history_days.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

WITH signins AS (
    SELECT lower(identity) AS upn, ts, ip, country, city
    FROM events
    WHERE platform = 'entra' AND category = 'signin' AND identity IS NOT NULL AND outcome = 'success'
),
ep AS (
    SELECT episode_key, lower(identity) AS upn, first_seen, last_seen FROM episodes WHERE identity IS NOT NULL
),
near AS (
    SELECT ep.episode_key, s.ip, s.country
    FROM ep
    JOIN signins s ON s.upn = ep.upn
     AND s.ts >= ep.first_seen - INTERVAL :lookback_hours HOUR AND s.ts <= ep.last_seen
),
matched AS (
    SELECT i.episode_key,
           count(DISTINCT i.ip) AS ips,
           count(DISTINCT CASE WHEN n.ip = i.ip THEN i.ip END) AS ips_signed_in,
           count(DISTINCT CASE WHEN n.country = i.country THEN i.ip END) AS ips_same_country,
           count(n.episode_key) AS near_signins
    FROM episode_ips i
    JOIN ep ON ep.episode_key = i.episode_key
    LEFT JOIN near n ON n.episode_key = i.episode_key
    GROUP BY i.episode_key
),
last_before AS (
    SELECT episode_key, ts, ip, country, city
    FROM (
        SELECT ep.episode_key, s.ts, s.ip, s.country, s.city,
               row_number() OVER (PARTITION BY ep.episode_key ORDER BY s.ts DESC, s.ip) AS rn
        FROM ep
        JOIN signins s ON s.upn = ep.upn
         AND s.ts <= ep.first_seen AND s.ts >= ep.first_seen - INTERVAL :history_days DAY
    ) ranked
    WHERE rn = 1
)
SELECT m.episode_key, m.ips, m.ips_signed_in, m.ips_same_country, m.near_signins,
       l.ts AS last_signin_at, l.ip AS last_signin_ip, l.country AS last_signin_country, l.city AS last_signin_city
FROM matched m
LEFT JOIN last_before l ON l.episode_key = m.episode_key
