-- AN0732, first stage: bursts of restricted-repository downloads per actor.
-- Windows of :window_minutes start every half window, so every download falls in two of them and
-- any burst spread over one window length is seen whole by at least one window of 1.5 x its length.
-- Distinct repos per window are a hash aggregate (no sliding distinct count over every download),
-- which keeps this linear in the number of downloads.
-- Portable SQL (SQLGlot parses it for the DuckDB and Spark dialects); parameters are
-- :window_minutes and :min_repos, substituted as integers before execution.

CREATE OR REPLACE TEMP VIEW episode_downloads AS
WITH downloads AS (SELECT * FROM download_activity),
half_windows AS (
    SELECT platform, actor, repo, ts, CAST(floor(epoch(ts) / (:window_minutes * 30)) AS BIGINT) AS b
    FROM downloads
),
grid AS (
    SELECT platform, actor, repo, ts, b AS w FROM half_windows
    UNION ALL
    SELECT platform, actor, repo, ts, b - 1 AS w FROM half_windows
),
windows AS (
    SELECT platform, actor, w, min(ts) AS burst_start, max(ts) AS burst_end,
           count(DISTINCT repo) AS repos_in_window
    FROM grid
    GROUP BY platform, actor, w
),
bursts AS (
    SELECT platform, actor, w, burst_start, burst_end, repos_in_window
    FROM windows
    WHERE repos_in_window >= :min_repos
),
-- Bursts of one actor less than a window apart merge into one episode.
-- @include islands.sql source=bursts partition=platform,actor order=burst_start,w start=burst_start end=burst_end gap_minutes=:window_minutes
,
episodes AS (
    SELECT platform, actor, min(burst_start) AS episode_start, max(burst_end) AS episode_end,
           max(repos_in_window) AS peak_repos
    FROM islands
    GROUP BY platform, actor, island_no
)
SELECT ep.episode_start, ep.peak_repos, d.*
FROM episodes ep
JOIN downloads d
  ON d.platform = ep.platform AND d.actor = ep.actor
 AND d.ts >= ep.episode_start AND d.ts <= ep.episode_end
