-- Elastic "Activity on a Private Repository from an Unusual IP": a new-terms rule on (source IP,
-- repository) for git.clone and git.push on private repositories, against 7 days of history. The
-- rule only judges once it has 7 days of history behind it (before that every pair would be new).
WITH git AS (
    SELECT platform, actor, ip, repo, ts,
           lag(ts) OVER (PARTITION BY ip, repo ORDER BY ts) AS previous
    FROM events
    WHERE platform = 'github' AND action IN ('git.clone', 'git.push') AND ip IS NOT NULL
      AND repo IS NOT NULL AND actor IS NOT NULL AND coalesce(repo_visibility, 'private') <> 'public'
),
history AS (
    SELECT min(ts) AS data_start FROM git
)
SELECT g.platform, g.actor, g.ts AS first_seen, g.ts AS last_seen
FROM git g
CROSS JOIN history h
WHERE g.ts >= h.data_start + INTERVAL 7 DAY
  AND (g.previous IS NULL OR g.previous < g.ts - INTERVAL 7 DAY)
