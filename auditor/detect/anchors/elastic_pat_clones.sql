-- Elastic "High Number of Cloned GitHub Repos From PAT": git.clone of private repositories by OAuth
-- or fine-grained tokens, >= 10 distinct repositories per token within about 6 minutes.
SELECT platform, actor, ts AS first_seen, ts + INTERVAL 6 MINUTE AS last_seen
FROM (
    SELECT platform, actor, ts,
           count(DISTINCT repo) OVER (PARTITION BY credential_id ORDER BY ts
                                      RANGE BETWEEN CURRENT ROW AND INTERVAL 6 MINUTE FOLLOWING) AS repos
    FROM events
    WHERE platform = 'github' AND action = 'git.clone' AND credential_id IS NOT NULL
      AND coalesce(repo_visibility, 'private') <> 'public'
      AND (lower(credential_type) LIKE '%oauth%' OR lower(credential_type) LIKE '%fine-grained%')
) w
WHERE repos >= 10
