-- Elastic "Exfiltration via High Number of Repository Clones by User": >= 25 git.clone by one user
-- within about 9 minutes (any repository, any account).
SELECT platform, actor, ts AS first_seen, ts + INTERVAL 9 MINUTE AS last_seen
FROM (
    SELECT platform, actor, ts,
           count(*) OVER (PARTITION BY platform, actor ORDER BY ts
                          RANGE BETWEEN CURRENT ROW AND INTERVAL 9 MINUTE FOLLOWING) AS clones
    FROM events
    WHERE platform = 'github' AND action = 'git.clone' AND actor IS NOT NULL
) w
WHERE clones >= 25
