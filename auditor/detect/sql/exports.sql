-- AN0732, fourth stage: whole-project exports (GitLab project export downloads, GitHub migration
-- archives) of restricted repositories, one episode per actor and day: one export carries a
-- repository with its history, issues and wiki, so it counts without any volume threshold.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

CREATE OR REPLACE TEMP VIEW episode_downloads AS
SELECT CAST(CAST(d.ts AS DATE) AS TIMESTAMP) AS episode_start, CAST(NULL AS BIGINT) AS peak_repos, d.*
FROM download_activity d
WHERE d.action IN ('project_export_file_download_started', 'migration.download')
