-- AN0732: API request rate per actor and hour against the actor's own trailing baseline.
-- Hot hours: at least :min_requests API requests and :rate_factor times the actor's 95th percentile
-- of hourly requests over the previous 30 days (hours with no requests are not in the baseline, so
-- it errs high). Output temp table api_hot(platform, actor, hour, requests, baseline).
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

CREATE OR REPLACE TEMP TABLE api_hot AS
WITH hourly AS (
    SELECT platform, actor, date_trunc('hour', ts) AS hour, count(*) AS requests
    FROM events
    WHERE action = 'api.request' AND actor IS NOT NULL
    GROUP BY platform, actor, date_trunc('hour', ts)
),
candidates AS (
    SELECT * FROM hourly WHERE requests >= :min_requests
),
baseline AS (
    SELECT c.platform, c.actor, c.hour, c.requests,
           coalesce(quantile_cont(h.requests, 0.95), 0) AS baseline
    FROM candidates c
    LEFT JOIN hourly h
      ON h.platform = c.platform AND h.actor = c.actor
     AND h.hour >= c.hour - INTERVAL 30 DAY AND h.hour < c.hour - INTERVAL 1 HOUR
    GROUP BY c.platform, c.actor, c.hour, c.requests
)
SELECT platform, actor, hour, requests, baseline
FROM baseline
WHERE requests >= :rate_factor * baseline
