-- AN0732, third stage: content reads through the API during hot hours (see api_rate.sql).
-- Consecutive hot hours of one actor form one episode. Input: temp table api_hot.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

CREATE OR REPLACE TEMP VIEW episode_downloads AS
WITH islands AS (
    SELECT platform, actor, hour,
           CASE WHEN lag(hour) OVER (PARTITION BY platform, actor ORDER BY hour) = hour - INTERVAL 1 HOUR
                THEN 0 ELSE 1 END AS is_new
    FROM api_hot
),
episodes AS (
    SELECT platform, actor, min(hour) AS episode_start, max(hour) + INTERVAL 1 HOUR AS episode_end
    FROM (
        SELECT platform, actor, hour,
               sum(is_new) OVER (PARTITION BY platform, actor ORDER BY hour
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS episode_no
        FROM islands
    ) numbered
    GROUP BY platform, actor, episode_no
)
SELECT ep.episode_start, CAST(NULL AS BIGINT) AS peak_repos, d.*
FROM episodes ep
JOIN download_activity d
  ON d.platform = ep.platform AND d.actor = ep.actor
 AND d.ts >= ep.episode_start AND d.ts < ep.episode_end
 AND d.action = 'api.request'
