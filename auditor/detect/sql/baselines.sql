-- AN0732 baselines, one row per episode: the actor's own trailing history, its peer group's, each
-- repository's usual pullers, and the activity in 5 min / 1 h / 24 h / 7 d windows from the start.
-- Input: temp tables episodes(episode_key, platform, actor, identity, first_seen, last_seen) and
-- episode_repos(episode_key, repo); view download_activity. Parameters (integers): :history_days,
-- :learning_days (new-repository counts of an actor's first days are not a baseline).
-- Every join is keyed so its size stays linear in episodes x repositories (no episode x puller product).
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

-- The per-day and first-pull sets every baseline below reads, materialised once (an engine that inlines
-- common table expressions, as Spark does, would otherwise recompute them at each reference).
CREATE OR REPLACE TEMP TABLE actor_day_repos AS
SELECT DISTINCT platform, actor, CAST(ts AS DATE) AS day, repo FROM download_activity;

CREATE OR REPLACE TEMP TABLE actor_daily AS
SELECT platform, actor, day, count(*) AS repos FROM actor_day_repos GROUP BY platform, actor, day;

-- First pull of each (actor, repo).
CREATE OR REPLACE TEMP TABLE actor_repo_first AS
SELECT platform, actor, repo, min(day) AS first_day FROM actor_day_repos GROUP BY platform, actor, repo;

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
    SELECT e.episode_key, e.platform, e.actor, e.first_seen, CAST(e.first_seen AS DATE) AS day,
           coalesce(p.peer, 'unclassified/-') AS peer
    FROM episodes e LEFT JOIN peer_of p ON p.platform = e.platform AND p.actor = e.actor
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
peer_days AS (
    SELECT DISTINCT platform, peer, day FROM ep_peer
),
peer_window AS (
    -- Per peer group and day: its members' daily distinct repositories in the trailing window.
    SELECT pd.platform, pd.peer, pd.day, count(DISTINCT d.actor) AS peers, quantile_cont(d.repos, 0.99) AS peer_p99
    FROM peer_days pd
    JOIN peer_of p ON p.platform = pd.platform AND p.peer = pd.peer
    JOIN actor_daily d
      ON d.platform = p.platform AND d.actor = p.actor
     AND d.day >= pd.day - INTERVAL :history_days DAY AND d.day < pd.day
    GROUP BY pd.platform, pd.peer, pd.day
),
repo_peer_first AS (
    -- When anyone of a peer group (the actor included) first pulled each repository.
    SELECT p.platform, p.repo, coalesce(po.peer, 'unclassified/-') AS peer, min(p.first_day) AS first_day
    FROM actor_repo_first p LEFT JOIN peer_of po ON po.platform = p.platform AND po.actor = p.actor
    GROUP BY p.platform, p.repo, coalesce(po.peer, 'unclassified/-')
),
repo_ranked AS (
    SELECT platform, repo, first_day,
           row_number() OVER (PARTITION BY platform, repo ORDER BY first_day, actor) AS rn
    FROM actor_repo_first
),
repo_early AS (
    -- The second and third accounts ever to pull each repository, by day.
    SELECT platform, repo,
           max(CASE WHEN rn = 2 THEN first_day END) AS second_day,
           max(CASE WHEN rn = 3 THEN first_day END) AS third_day
    FROM repo_ranked WHERE rn <= 3
    GROUP BY platform, repo
),
repo_view AS (
    SELECT er.episode_key, er.repo,
           CASE WHEN own.first_day < ep.day THEN 1 ELSE 0 END AS pulled_before,
           CASE WHEN rpf.first_day < ep.day THEN 1 ELSE 0 END AS peer_pulled,
           -- rare: at most one other account pulled it before the episode's day
           CASE WHEN (CASE WHEN own.first_day < ep.day THEN re.third_day ELSE re.second_day END) IS NULL
                  OR (CASE WHEN own.first_day < ep.day THEN re.third_day ELSE re.second_day END) >= ep.day
                THEN 1 ELSE 0 END AS rare
    FROM episode_repos er
    JOIN ep_peer ep ON ep.episode_key = er.episode_key
    LEFT JOIN actor_repo_first own ON own.platform = ep.platform AND own.actor = ep.actor AND own.repo = er.repo
    LEFT JOIN repo_peer_first rpf ON rpf.platform = ep.platform AND rpf.repo = er.repo AND rpf.peer = ep.peer
    LEFT JOIN repo_early re ON re.platform = ep.platform AND re.repo = er.repo
),
repo_summary AS (
    SELECT episode_key,
           sum(1 - pulled_before) AS first_time_repos,
           sum(1 - peer_pulled) AS outside_peer_repos,
           sum(rare) AS rare_repos
    FROM repo_view
    GROUP BY episode_key
),
windows AS (
    SELECT e.episode_key,
           count(DISTINCT CASE WHEN d.ts <= e.first_seen + INTERVAL 5 MINUTE THEN d.repo END) AS repos_5m,
           count(DISTINCT CASE WHEN d.ts <= e.first_seen + INTERVAL 1 HOUR THEN d.repo END) AS repos_1h,
           count(DISTINCT d.repo) AS repos_24h
    FROM episodes e
    JOIN download_activity d
      ON d.platform = e.platform AND d.actor = e.actor
     AND d.ts >= e.first_seen AND d.ts <= e.first_seen + INTERVAL 24 HOUR
    GROUP BY e.episode_key
),
week AS (
    SELECT e.episode_key, count(DISTINCT d.repo) AS repos_7d
    FROM episodes e
    JOIN actor_day_repos d
      ON d.platform = e.platform AND d.actor = e.actor
     AND d.day >= CAST(e.first_seen AS DATE) AND d.day < CAST(e.first_seen AS DATE) + INTERVAL 7 DAY
    GROUP BY e.episode_key
),
actor_start AS (
    SELECT d.platform, d.actor, min(d.day) AS started
    FROM actor_daily d
    JOIN ep_actors a ON a.platform = d.platform AND a.actor = d.actor
    GROUP BY d.platform, d.actor
),
new_daily AS (
    SELECT p.platform, p.actor, p.first_day AS day, count(*) AS new_repos
    FROM actor_repo_first p
    JOIN actor_start s ON s.platform = p.platform AND s.actor = p.actor
    WHERE p.first_day >= s.started + INTERVAL :learning_days DAY
    GROUP BY p.platform, p.actor, p.first_day
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
       coalesce(pw.peers, 0) AS peers,
       pw.peer_p99,
       coalesce(r.first_time_repos, 0) AS first_time_repos,
       coalesce(r.outside_peer_repos, 0) AS outside_peer_repos,
       coalesce(r.rare_repos, 0) AS rare_repos,
       w.repos_5m, w.repos_1h, w.repos_24h, wk.repos_7d,
       coalesce(n.max_new_day, 0) AS max_new_day,
       ds.started AS data_started
FROM episodes e
JOIN ep_peer ep ON ep.episode_key = e.episode_key
LEFT JOIN own_history h ON h.episode_key = e.episode_key
LEFT JOIN peer_window pw ON pw.platform = ep.platform AND pw.peer = ep.peer AND pw.day = ep.day
LEFT JOIN repo_summary r ON r.episode_key = e.episode_key
LEFT JOIN windows w ON w.episode_key = e.episode_key
LEFT JOIN week wk ON wk.episode_key = e.episode_key
LEFT JOIN own_new n ON n.episode_key = e.episode_key
LEFT JOIN data_start ds ON ds.platform = e.platform
