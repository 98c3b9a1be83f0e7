-- Google SecOps community rule: > 5 distinct non-public repositories cloned or zip-downloaded by one
-- user within 30 minutes.
SELECT platform, actor, ts AS first_seen, ts + INTERVAL 30 MINUTE AS last_seen
FROM (
    SELECT platform, actor, ts,
           count(DISTINCT repo) OVER (PARTITION BY platform, actor ORDER BY ts
                                      RANGE BETWEEN CURRENT ROW AND INTERVAL 30 MINUTE FOLLOWING) AS repos
    FROM events
    WHERE platform = 'github' AND action IN ('git.clone', 'repo.download_zip') AND actor IS NOT NULL
      AND coalesce(repo_visibility, 'private') <> 'public'
) w
WHERE repos > 5
