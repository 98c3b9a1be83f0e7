-- AN0732: one row per episode from the downloads a stage assigned to it (view episode_downloads:
-- platform, actor, episode_start, peak_repos and the download_activity columns).
-- Lists are sorted so reasons read the same on every run and engine; evidence is capped at
-- :evidence_cap references (an integer parameter).
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

SELECT platform,
       actor,
       min(ts) AS first_seen,
       max(ts) AS last_seen,
       count(*) AS downloads,
       max(peak_repos) AS peak_repos,
       count(DISTINCT repo) AS distinct_repos,
       list(DISTINCT repo ORDER BY repo) AS repos,
       list(DISTINCT repo ORDER BY repo) FILTER (WHERE tier = 1) AS tier1_repos,
       list(DISTINCT credential_type ORDER BY credential_type) FILTER (WHERE credential_type IS NOT NULL) AS credential_types,
       list(DISTINCT ip ORDER BY ip) FILTER (WHERE ip IS NOT NULL) AS ips,
       list(DISTINCT country ORDER BY country) FILTER (WHERE country IS NOT NULL) AS countries,
       list(DISTINCT app_id ORDER BY app_id) FILTER (WHERE app_id IS NOT NULL) AS app_ids,
       list(DISTINCT credential_id ORDER BY credential_id) FILTER (WHERE credential_id IS NOT NULL) AS credential_ids,
       list(DISTINCT user_agent ORDER BY user_agent) FILTER (WHERE user_agent IS NOT NULL) AS user_agents,
       max(identity) AS event_identity,
       -- the first :evidence_cap evidence references in sort order (a top-N aggregate: no list of every download)
       min(evidence_sha256 || ':' || CAST(line_no AS VARCHAR), :evidence_cap) AS evidence
FROM episode_downloads
GROUP BY platform, actor, episode_start
ORDER BY first_seen
