-- AN0732 baselines, one row per episode: the actor's own trailing history, its peer group's, each
-- repository's usual pullers, and the activity in 5 min / 1 h / 24 h / 7 d windows from the start.
-- Input: temp tables episodes(episode_key, platform, actor, identity, first_seen, last_seen) and
-- episode_repos(episode_key, repo); view download_activity. Parameters (integers): :history_days,
-- :learning_days (new-repository counts of an actor's first days are not a baseline).
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

WITH ep_actors AS (
    SELECT DISTINCT platform, actor FROM episodes
),
peer_of AS (
    -- Peer group: same platform, account class and department (department from the linked identity).
    SELECT a.platform, a.login AS actor,
           coalesce(a.account_class, 'unclassified') || '/' || coalesce(i.department, '-') AS peer
    FROM accounts a
    LEFT JOIN account_links l ON l.platform = a.platform AND l.login = a.login
    LEFT JOIN identities i ON i.identity_id = l.identity_id
),
ep_peer AS (
    SELECT e.episode_key, e.platform, e.actor, e.first_seen, p.peer
    FROM episodes e LEFT JOIN peer_of p ON p.platform = e.platform AND p.actor = e.actor
),
actor_daily AS (
    SELECT platform, actor, CAST(ts AS DATE) AS day, count(DISTINCT repo) AS repos
    FROM download_activity
    GROUP BY platform, actor, CAST(ts AS DATE)
),
own_history AS (
    SELECT e.episode_key, count(*) AS active_days, max(d.repos) AS max_day,
           list(d.repos ORDER BY d.day) AS day_counts
    FROM episodes e
    JOIN actor_daily d
      ON d.platform = e.platform AND d.actor = e.actor
     AND d.day >= CAST(e.first_seen - INTERVAL :history_days DAY AS DATE) AND d.day < CAST(e.first_seen AS DATE)
    GROUP BY e.episode_key
),
peer_history AS (
    SELECT ep.episode_key, count(DISTINCT d.actor) AS peers, quantile_cont(d.repos, 0.99) AS peer_p99
    FROM ep_peer ep
    JOIN peer_of p ON p.platform = ep.platform AND p.peer = ep.peer AND p.actor <> ep.actor
    JOIN actor_daily d
      ON d.platform = p.platform AND d.actor = p.actor
     AND d.day >= CAST(ep.first_seen - INTERVAL :history_days DAY AS DATE) AND d.day < CAST(ep.first_seen AS DATE)
    GROUP BY ep.episode_key
),
pairs AS (
    -- First and last pull of each (actor, repo) for the repositories the episodes touched.
    SELECT d.platform, d.actor, d.repo, min(d.ts) AS first_ts, max(d.ts) AS last_ts
    FROM download_activity d
    WHERE d.repo IN (SELECT repo FROM episode_repos)
    GROUP BY d.platform, d.actor, d.repo
),
repo_view AS (
    SELECT er.episode_key, er.repo,
           max(CASE WHEN p.actor = e.actor AND p.first_ts < e.first_seen THEN 1 ELSE 0 END) AS pulled_before,
           count(DISTINCT CASE WHEN p.actor <> e.actor AND p.first_ts < e.first_seen THEN p.actor END) AS other_pullers,
           max(CASE WHEN p.actor <> e.actor AND p.first_ts < e.first_seen AND po.peer = ep.peer THEN 1 ELSE 0 END)
               AS peer_pulled
    FROM episode_repos er
    JOIN episodes e ON e.episode_key = er.episode_key
    JOIN ep_peer ep ON ep.episode_key = er.episode_key
    LEFT JOIN pairs p ON p.platform = e.platform AND p.repo = er.repo
    LEFT JOIN peer_of po ON po.platform = p.platform AND po.actor = p.actor
    GROUP BY er.episode_key, er.repo
),
repo_summary AS (
    SELECT episode_key,
           sum(1 - pulled_before) AS first_time_repos,
           sum(CASE WHEN peer_pulled = 0 THEN 1 ELSE 0 END) AS outside_peer_repos,
           sum(CASE WHEN other_pullers <= 1 THEN 1 ELSE 0 END) AS rare_repos,
           median(other_pullers) AS median_other_pullers
    FROM repo_view
    GROUP BY episode_key
),
windows AS (
    SELECT e.episode_key,
           count(DISTINCT CASE WHEN d.ts <= e.first_seen + INTERVAL 5 MINUTE THEN d.repo END) AS repos_5m,
           count(DISTINCT CASE WHEN d.ts <= e.first_seen + INTERVAL 1 HOUR THEN d.repo END) AS repos_1h,
           count(DISTINCT CASE WHEN d.ts <= e.first_seen + INTERVAL 24 HOUR THEN d.repo END) AS repos_24h,
           count(DISTINCT d.repo) AS repos_7d,
           count(*) AS downloads_7d
    FROM episodes e
    JOIN download_activity d
      ON d.platform = e.platform AND d.actor = e.actor
     AND d.ts >= e.first_seen AND d.ts <= e.first_seen + INTERVAL 7 DAY
    GROUP BY e.episode_key
),
actor_start AS (
    SELECT d.platform, d.actor, min(d.ts) AS started
    FROM download_activity d
    JOIN ep_actors a ON a.platform = d.platform AND a.actor = d.actor
    GROUP BY d.platform, d.actor
),
actor_pairs AS (
    SELECT d.platform, d.actor, d.repo, min(d.ts) AS first_ts
    FROM download_activity d
    JOIN ep_actors a ON a.platform = d.platform AND a.actor = d.actor
    GROUP BY d.platform, d.actor, d.repo
),
new_daily AS (
    SELECT p.platform, p.actor, CAST(p.first_ts AS DATE) AS day, count(*) AS new_repos
    FROM actor_pairs p
    JOIN actor_start s ON s.platform = p.platform AND s.actor = p.actor
    WHERE p.first_ts >= s.started + INTERVAL :learning_days DAY
    GROUP BY p.platform, p.actor, CAST(p.first_ts AS DATE)
),
own_new AS (
    -- The most repositories this actor pulled for the first time on one day of its history.
    SELECT e.episode_key, max(n.new_repos) AS max_new_day
    FROM episodes e
    JOIN new_daily n
      ON n.platform = e.platform AND n.actor = e.actor
     AND n.day >= CAST(e.first_seen - INTERVAL :history_days DAY AS DATE) AND n.day < CAST(e.first_seen AS DATE)
    GROUP BY e.episode_key
),
data_start AS (
    SELECT platform, min(ts) AS started FROM download_activity GROUP BY platform
)
SELECT e.episode_key,
       coalesce(h.active_days, 0) AS active_days,
       coalesce(h.max_day, 0) AS max_day,
       h.day_counts,
       ep.peer,
       coalesce(ph.peers, 0) AS peers,
       ph.peer_p99,
       coalesce(r.first_time_repos, 0) AS first_time_repos,
       coalesce(r.outside_peer_repos, 0) AS outside_peer_repos,
       coalesce(r.rare_repos, 0) AS rare_repos,
       r.median_other_pullers,
       w.repos_5m, w.repos_1h, w.repos_24h, w.repos_7d, w.downloads_7d,
       coalesce(n.max_new_day, 0) AS max_new_day,
       ds.started AS data_started,
       s.started AS actor_started
FROM episodes e
JOIN ep_peer ep ON ep.episode_key = e.episode_key
LEFT JOIN own_history h ON h.episode_key = e.episode_key
LEFT JOIN peer_history ph ON ph.episode_key = e.episode_key
LEFT JOIN repo_summary r ON r.episode_key = e.episode_key
LEFT JOIN windows w ON w.episode_key = e.episode_key
LEFT JOIN own_new n ON n.episode_key = e.episode_key
LEFT JOIN data_start ds ON ds.platform = e.platform
LEFT JOIN actor_start s ON s.platform = e.platform AND s.actor = e.actor
