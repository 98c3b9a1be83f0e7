-- Datadog "GitHub token used from a new user agent": a new-value rule on the user agent per token
-- (hashed_token/token_id) with 7 days of learning: after a token's first 7 days, the first event
-- with a user agent that token never used before is an alert.
WITH uses AS (
    SELECT platform, actor, credential_id, user_agent, ts,
           min(ts) OVER (PARTITION BY credential_id) AS token_start,
           row_number() OVER (PARTITION BY credential_id, user_agent ORDER BY ts) AS nth
    FROM events
    WHERE platform = 'github' AND credential_id IS NOT NULL AND user_agent IS NOT NULL AND actor IS NOT NULL
)
SELECT platform, actor, ts AS first_seen, ts AS last_seen
FROM uses
WHERE nth = 1 AND ts >= token_start + INTERVAL 7 DAY
