-- AN0732, apps as actors: one OAuth app, GitHub App or installation whose tokens for several users pull
-- many restricted repositories from one network within a short window (Heroku/Travis CI, April 2022:
-- each token pulled a handful of repositories, the app pulled dozens). Every per-account episode can stay
-- under its thresholds; the app's is one incident, with the app as its actor ('app:' || app_id: the id is
-- stable, the name is the app owner's text and may change).
-- Network: the same IPv4 /24 (an attacker's host or hosting range rotates addresses inside one), or the
-- same address for anything else (IPv6). A window counts when it holds :min_repos distinct restricted
-- repositories and :min_users distinct token owners; windows are :window_minutes long and start every
-- half window, and overlapping windows merge into one episode (gaps-and-islands: sql/include/islands.sql).
-- Output: view app_downloads (every restricted download through an app, with its network), temp table
-- app_episode_downloads (episode_downloads' columns plus token_owner, the account whose token it was,
-- and network) and view episode_downloads over it.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark; parameters are substituted as integers.

CREATE OR REPLACE TEMP VIEW app_downloads AS
SELECT d.*,
       coalesce(nullif(regexp_extract(d.ip, '^([0-9]+[.][0-9]+[.][0-9]+)[.][0-9]+$', 1), '') || '.0/24', d.ip)
           AS network
FROM download_activity d
WHERE d.app_id IS NOT NULL AND d.ip IS NOT NULL;

CREATE OR REPLACE TEMP TABLE app_episode_downloads AS
WITH downloads AS (SELECT * FROM app_downloads),
half_windows AS (
    SELECT platform, app_id, network, actor, repo, ts,
           CAST(floor(epoch(ts) / (:window_minutes * 30)) AS BIGINT) AS b
    FROM downloads
),
grid AS (
    SELECT platform, app_id, network, actor, repo, ts, b AS w FROM half_windows
    UNION ALL
    SELECT platform, app_id, network, actor, repo, ts, b - 1 AS w FROM half_windows
),
windows AS (
    SELECT platform, app_id, network, w, min(ts) AS burst_start, max(ts) AS burst_end,
           count(DISTINCT repo) AS repos_in_window, count(DISTINCT actor) AS users_in_window
    FROM grid
    GROUP BY platform, app_id, network, w
),
bursts AS (
    SELECT platform, app_id, network, w, burst_start, burst_end, repos_in_window
    FROM windows
    WHERE repos_in_window >= :min_repos AND users_in_window >= :min_users
),
-- @include islands.sql source=bursts partition=platform,app_id,network order=burst_start,w start=burst_start end=burst_end gap_minutes=:window_minutes
,
episodes AS (
    SELECT platform, app_id, network, min(burst_start) AS episode_start, max(burst_end) AS episode_end,
           max(repos_in_window) AS peak_repos
    FROM islands
    GROUP BY platform, app_id, network, island_no
)
SELECT ep.episode_start, ep.peak_repos, d.platform, 'app:' || d.app_id AS actor,
       CAST(NULL AS VARCHAR) AS identity, d.ts, d.repo, d.tier, d.action, d.credential_type, d.credential_id,
       d.app_id, d.ip, d.country, d.user_agent, d.evidence_sha256, d.line_no, d.actor AS token_owner, d.network
FROM episodes ep
JOIN downloads d
  ON d.platform = ep.platform AND d.app_id = ep.app_id AND d.network = ep.network
 AND d.ts >= ep.episode_start AND d.ts <= ep.episode_end;

CREATE OR REPLACE TEMP VIEW episode_downloads AS
SELECT * FROM app_episode_downloads
