-- AN0732 aftermath: code made public by the episode's own account around its downloads, the exfiltration
-- step of the 2025 Shai-Hulud worm (it pulled every repository a build token could read, then pushed
-- them into new public repositories). One row per public repository created, or repository made public,
-- from an hour before the episode to :after_hours after it.
-- Input: temp table episodes(episode_key, platform, actor, identity, first_seen, last_seen).
-- Parameters (integers): :after_hours.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

WITH published AS (
    SELECT platform, actor, ts AS at, repo, category
    FROM events
    WHERE actor IS NOT NULL AND repo IS NOT NULL AND lower(repo_visibility) = 'public'
      AND coalesce(outcome, 'success') <> 'failure'
      AND (category = 'visibility_change' OR action IN ('repo.create', 'project_created', 'project.create'))
)
SELECT e.episode_key, 'publication' AS kind,
       CASE WHEN p.category = 'visibility_change' THEN 'made repository ' || p.repo || ' public'
            ELSE 'created public repository ' || p.repo END AS detail,
       p.at
FROM episodes e
JOIN published p
  ON p.platform = e.platform AND p.actor = e.actor
 AND p.at >= e.first_seen - INTERVAL 1 HOUR AND p.at <= e.last_seen + INTERVAL :after_hours HOUR
