-- AN0732, second stage: low and slow. Restricted repositories an actor pulls for the first time,
-- after its learning period, summed over a trailing 7-day window.
-- Parameters (integers): :learning_days, :min_new_repos.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

CREATE OR REPLACE TEMP VIEW episode_downloads AS
WITH downloads AS (SELECT * FROM download_activity),
first_pulls AS (
    SELECT platform, actor, repo, min(ts) AS first_ts FROM downloads GROUP BY platform, actor, repo
),
actor_start AS (
    SELECT platform, actor, min(ts) AS started FROM downloads GROUP BY platform, actor
),
novel AS (
    SELECT f.platform, f.actor, f.repo, f.first_ts, CAST(f.first_ts AS DATE) AS day
    FROM first_pulls f
    JOIN actor_start s ON s.platform = f.platform AND s.actor = f.actor
    WHERE f.first_ts >= s.started + INTERVAL :learning_days DAY
),
daily AS (
    SELECT platform, actor, day, count(*) AS new_repos FROM novel GROUP BY platform, actor, day
),
windowed AS (
    SELECT platform, actor, day,
           sum(new_repos) OVER (PARTITION BY platform, actor ORDER BY day
                                RANGE BETWEEN INTERVAL 6 DAY PRECEDING AND CURRENT ROW) AS new_in_7d
    FROM daily
),
hot_days AS (
    SELECT platform, actor, CAST(day AS TIMESTAMP) AS hot_at FROM windowed WHERE new_in_7d >= :min_new_repos
),
-- Hot days less than a week apart form one episode.
-- @include islands.sql source=hot_days partition=platform,actor order=hot_at start=hot_at end=hot_at gap_minutes=10080
,
islands_numbered AS (
    SELECT platform, actor, CAST(min(hot_at) AS DATE) AS first_hot, max(hot_at) + INTERVAL 1 DAY AS episode_end
    FROM islands
    GROUP BY platform, actor, island_no
),
suffixes AS (
    -- New repositories from each day of the first hot day's 7-day window up to that hot day.
    SELECT i.platform, i.actor, i.first_hot, i.episode_end, d.day,
           sum(d.new_repos) OVER (PARTITION BY i.platform, i.actor, i.first_hot ORDER BY d.day DESC
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS suffix_new
    FROM islands_numbered i
    JOIN daily d ON d.platform = i.platform AND d.actor = i.actor
     AND d.day >= i.first_hot - INTERVAL 6 DAY AND d.day <= i.first_hot
),
episodes AS (
    -- The episode starts where the anomaly starts: the latest day from which the new repositories up
    -- to the first hot day still reach the threshold, not six days earlier inside normal work.
    SELECT platform, actor, CAST(max(day) AS TIMESTAMP) AS episode_start, max(episode_end) AS episode_end
    FROM suffixes
    WHERE suffix_new >= :min_new_repos
    GROUP BY platform, actor, first_hot
)
SELECT ep.episode_start, CAST(NULL AS BIGINT) AS peak_repos, d.*
FROM episodes ep
JOIN novel n ON n.platform = ep.platform AND n.actor = ep.actor
 AND n.first_ts >= ep.episode_start AND n.first_ts < ep.episode_end
JOIN downloads d ON d.platform = n.platform AND d.actor = n.actor AND d.repo = n.repo AND d.ts = n.first_ts
