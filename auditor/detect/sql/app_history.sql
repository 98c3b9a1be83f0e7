-- AN0732, apps as actors: per app episode, its token owners (each with the restricted repositories and
-- downloads of theirs in it and their first evidence reference, which links the per-account evidence),
-- the app's name, and the app's own history: days of the previous :history_days on which its tokens for
-- :min_users or more users pulled :min_repos or more distinct restricted repositories from the same
-- network (the same breadth from the same place: a CI or backup app that does this every day is
-- routine; an attacker's network is new), and how many of the episode's repositories the app never
-- pulled before that day.
-- Input: temp tables episodes (episode_key, platform, actor, first_seen, last_seen) and
-- app_episode_downloads, view app_downloads (apps.sql); table events (app names).
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

WITH app_eps AS (
    SELECT platform, actor, episode_start, min(ts) AS first_seen, min(network) AS network
    FROM app_episode_downloads
    GROUP BY platform, actor, episode_start
),
ep AS (
    SELECT e.episode_key, e.platform, e.actor, substr(e.actor, 5) AS app_id, e.first_seen, a.episode_start, a.network
    FROM episodes e
    JOIN app_eps a ON a.platform = e.platform AND a.actor = e.actor AND a.first_seen = e.first_seen
),
owner_rows AS (
    SELECT ep.episode_key, d.token_owner, count(DISTINCT d.repo) AS repos, count(*) AS downloads,
           min(d.evidence_sha256 || ':' || CAST(d.line_no AS VARCHAR)) AS evidence
    FROM ep
    JOIN app_episode_downloads d
      ON d.platform = ep.platform AND d.actor = ep.actor AND d.episode_start = ep.episode_start
    GROUP BY ep.episode_key, d.token_owner
),
owners AS (
    SELECT episode_key, count(*) AS owner_count,
           list(token_owner ORDER BY token_owner) AS owner_logins,
           list(repos ORDER BY token_owner) AS owner_repos,
           list(evidence ORDER BY token_owner) AS owner_evidence
    FROM owner_rows
    GROUP BY episode_key
),
app_days AS (
    SELECT platform, app_id, network, CAST(ts AS DATE) AS day
    FROM app_downloads
    GROUP BY platform, app_id, network, CAST(ts AS DATE)
    HAVING count(DISTINCT repo) >= :min_repos AND count(DISTINCT actor) >= :min_users
),
prior AS (
    SELECT ep.episode_key, count(*) AS prior_days
    FROM ep
    JOIN app_days a
      ON a.platform = ep.platform AND a.app_id = ep.app_id AND a.network = ep.network
     AND a.day >= CAST(ep.first_seen - INTERVAL :history_days DAY AS DATE) AND a.day < CAST(ep.first_seen AS DATE)
    GROUP BY ep.episode_key
),
ep_repos AS (
    SELECT DISTINCT ep.episode_key, ep.platform, ep.app_id, ep.first_seen, d.repo
    FROM ep
    JOIN app_episode_downloads d
      ON d.platform = ep.platform AND d.actor = ep.actor AND d.episode_start = ep.episode_start
),
app_repo_first AS (
    SELECT platform, app_id, repo, min(ts) AS first_ts
    FROM app_downloads
    GROUP BY platform, app_id, repo
),
first_time AS (
    SELECT r.episode_key, count(*) AS first_time_repos
    FROM ep_repos r
    JOIN app_repo_first f ON f.platform = r.platform AND f.app_id = r.app_id AND f.repo = r.repo
    WHERE f.first_ts >= CAST(CAST(r.first_seen AS DATE) AS TIMESTAMP)
    GROUP BY r.episode_key
),
names AS (
    SELECT platform, app_id, max(app_name) AS app_name
    FROM events
    WHERE app_id IS NOT NULL AND app_name IS NOT NULL
    GROUP BY platform, app_id
)
SELECT ep.episode_key, n.app_name, o.owner_count, o.owner_logins, o.owner_repos, o.owner_evidence,
       coalesce(p.prior_days, 0) AS prior_days, coalesce(f.first_time_repos, 0) AS first_time_repos
FROM ep
JOIN owners o ON o.episode_key = ep.episode_key
LEFT JOIN prior p ON p.episode_key = ep.episode_key
LEFT JOIN first_time f ON f.episode_key = ep.episode_key
LEFT JOIN names n ON n.platform = ep.platform AND n.app_id = ep.app_id
