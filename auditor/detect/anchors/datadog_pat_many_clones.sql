-- Datadog "PAT granted and used to clone a large amount of repositories": git.clone by a classic or
-- fine-grained personal access token, >= 5 distinct repositories per token (hashed_token/token_id)
-- and actor within one hour (5 is the rule's medium case, 10 its high).
SELECT platform, actor, ts AS first_seen, ts + INTERVAL 1 HOUR AS last_seen
FROM (
    SELECT platform, actor, ts,
           count(DISTINCT repo) OVER (PARTITION BY credential_id, actor ORDER BY ts
                                      RANGE BETWEEN CURRENT ROW AND INTERVAL 1 HOUR FOLLOWING) AS repos
    FROM events
    WHERE platform = 'github' AND action = 'git.clone' AND credential_id IS NOT NULL AND actor IS NOT NULL
      AND lower(credential_type) LIKE '%personal access token%'
) w
WHERE repos >= 5
