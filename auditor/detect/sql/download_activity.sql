-- AN0732, stage 0: one model of download activity across sources (clone/fetch/pull, archive,
-- project export, API content reads), each row with its repository's restriction and tier.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.

CREATE OR REPLACE TEMP VIEW download_activity AS
SELECT e.platform, e.actor, e.identity, e.ts, e.repo, r.tier, e.action, e.credential_type, e.credential_id,
       e.app_id, e.ip, e.country, e.user_agent, e.evidence_sha256, e.line_no
FROM events e
JOIN repos r ON r.platform = e.platform AND r.full_name = e.repo
WHERE e.category = 'download' AND r.restricted AND e.actor IS NOT NULL
