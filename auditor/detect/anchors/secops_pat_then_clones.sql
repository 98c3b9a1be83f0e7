-- Google SecOps community rule: a personal access token granted, then > 5 clones by the same user
-- within 30 minutes.
WITH grants AS (
    SELECT platform, actor, ts FROM events
    WHERE platform = 'github' AND actor IS NOT NULL
      AND (action LIKE 'personal_access_token.%' OR action = 'org_credential_authorization.grant')
),
clones AS (
    SELECT platform, actor, ts FROM events WHERE platform = 'github' AND action = 'git.clone'
)
SELECT g.platform, g.actor, g.ts AS first_seen, g.ts + INTERVAL 30 MINUTE AS last_seen
FROM grants g
JOIN clones c ON c.platform = g.platform AND c.actor = g.actor
 AND c.ts >= g.ts AND c.ts <= g.ts + INTERVAL 30 MINUTE
GROUP BY g.platform, g.actor, g.ts
HAVING count(*) > 5
