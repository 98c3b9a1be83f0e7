-- AN0732, first stage: bursts of restricted-repository downloads per actor.
-- Portable SQL (SQLGlot parses it for the DuckDB and Spark dialects); parameters are
-- :window_minutes and :min_repos, substituted as integers before execution.

CREATE OR REPLACE TEMP VIEW episode_downloads AS
WITH downloads AS (SELECT * FROM download_activity),
anchored AS (
    -- For each download, the distinct restricted repos the same actor pulled in the next window.
    SELECT platform, actor, ts,
           count(DISTINCT repo) OVER (
               PARTITION BY platform, actor ORDER BY ts
               RANGE BETWEEN CURRENT ROW AND INTERVAL :window_minutes MINUTE FOLLOWING
           ) AS repos_in_window
    FROM downloads
),
bursts AS (
    SELECT platform, actor, ts AS burst_start, ts + INTERVAL :window_minutes MINUTE AS burst_end,
           repos_in_window
    FROM anchored
    WHERE repos_in_window >= :min_repos
),
islands AS (
    -- Overlapping bursts of one actor merge into one episode (gaps-and-islands).
    SELECT platform, actor, burst_start, burst_end, repos_in_window,
           CASE WHEN burst_start <= max(burst_end) OVER (
                    PARTITION BY platform, actor ORDER BY burst_start
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                THEN 0 ELSE 1 END AS is_new
    FROM bursts
),
episodes AS (
    SELECT platform, actor, min(burst_start) AS episode_start, max(burst_end) AS episode_end,
           max(repos_in_window) AS peak_repos
    FROM (
        SELECT platform, actor, burst_start, burst_end, repos_in_window,
               sum(is_new) OVER (PARTITION BY platform, actor ORDER BY burst_start
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS episode_no
        FROM islands
    ) numbered
    GROUP BY platform, actor, episode_no
)
SELECT ep.episode_start, ep.peak_repos, d.*
FROM episodes ep
JOIN downloads d
  ON d.platform = ep.platform AND d.actor = ep.actor
 AND d.ts >= ep.episode_start AND d.ts <= ep.episode_end
