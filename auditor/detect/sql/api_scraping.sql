-- AN0732, third stage: content reads through the API during hot hours (see api_rate.sql).
-- Consecutive hot hours of one actor form one episode. Input: temp table api_hot.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

CREATE OR REPLACE TEMP VIEW episode_downloads AS
WITH hot_hours AS (
    SELECT platform, actor, hour, hour + INTERVAL 1 HOUR AS hour_end FROM api_hot
),
-- An hour that starts where the one before ends continues its episode (a gap of 0 minutes).
-- @include islands.sql source=hot_hours partition=platform,actor order=hour start=hour end=hour_end gap_minutes=0
,
episodes AS (
    SELECT platform, actor, min(hour) AS episode_start, max(hour_end) AS episode_end
    FROM islands
    GROUP BY platform, actor, island_no
)
SELECT ep.episode_start, CAST(NULL AS BIGINT) AS peak_repos, d.*
FROM episodes ep
JOIN download_activity d
  ON d.platform = ep.platform AND d.actor = ep.actor
 AND d.ts >= ep.episode_start AND d.ts < ep.episode_end
 AND d.action = 'api.request'
