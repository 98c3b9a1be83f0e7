"""Workspace tables (design vocabulary) and the ordered migrations that create and evolve them."""

from __future__ import annotations

from auditor.importers.timerule import OUT_OF_RANGE, implausible_sql

SCHEMA_VERSION = 13

_BAD_TS = implausible_sql("ts")

# Each migration is (version, statements). Never edit a released migration; append a new one.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE snapshots (
                snapshot_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, platform VARCHAR,
                source VARCHAR, created_at TIMESTAMP NOT NULL, tool_version VARCHAR)""",
            """CREATE TABLE evidence (
                sha256 VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, source VARCHAR NOT NULL,
                stored_path VARCHAR NOT NULL, bytes BIGINT NOT NULL, received_at TIMESTAMP NOT NULL)""",
            """CREATE TABLE imports (
                import_id VARCHAR PRIMARY KEY, snapshot_id VARCHAR NOT NULL, path VARCHAR NOT NULL,
                sha256 VARCHAR NOT NULL, format VARCHAR NOT NULL, platform VARCHAR NOT NULL,
                records BIGINT NOT NULL, events BIGINT NOT NULL, duplicates BIGINT NOT NULL,
                rejected BIGINT NOT NULL, first_event_at TIMESTAMP, last_event_at TIMESTAMP,
                imported_at TIMESTAMP NOT NULL)""",
            """CREATE TABLE rejected_lines (
                import_id VARCHAR NOT NULL, evidence_sha256 VARCHAR NOT NULL, path VARCHAR NOT NULL,
                line_no BIGINT NOT NULL, reason VARCHAR NOT NULL, excerpt VARCHAR)""",
            """CREATE TABLE events (
                event_uid VARCHAR NOT NULL, platform VARCHAR NOT NULL, source_format VARCHAR NOT NULL,
                ts TIMESTAMP NOT NULL, action VARCHAR NOT NULL, category VARCHAR NOT NULL,
                actor VARCHAR, actor_id VARCHAR, actor_email VARCHAR, identity VARCHAR, org VARCHAR,
                repo VARCHAR, repo_visibility VARCHAR,
                ip VARCHAR, country VARCHAR, city VARCHAR, latitude DOUBLE, longitude DOUBLE,
                user_agent VARCHAR, credential_type VARCHAR, credential_id VARCHAR, token_scopes VARCHAR,
                app_id VARCHAR, app_name VARCHAR, route VARCHAR, http_method VARCHAR, status_code INTEGER,
                outcome VARCHAR, risk_level VARCHAR, target VARCHAR, bytes BIGINT,
                evidence_sha256 VARCHAR NOT NULL, line_no BIGINT NOT NULL, import_id VARCHAR NOT NULL)""",
            """CREATE TABLE identities (
                identity_id VARCHAR PRIMARY KEY, upn VARCHAR, mail VARCHAR, display_name VARCHAR,
                department VARCHAR, job_title VARCHAR, employee_type VARCHAR, user_type VARCHAR,
                account_enabled BOOLEAN, created_at TIMESTAMP, source_sha256 VARCHAR, line_no BIGINT)""",
            """CREATE TABLE accounts (
                platform VARCHAR NOT NULL, login VARCHAR NOT NULL, account_id VARCHAR, email VARCHAR,
                is_bot BOOLEAN, first_seen TIMESTAMP, last_seen TIMESTAMP,
                account_class VARCHAR, class_rule VARCHAR, PRIMARY KEY (platform, login))""",
            """CREATE TABLE account_links (
                platform VARCHAR NOT NULL, login VARCHAR NOT NULL, identity_id VARCHAR, upn VARCHAR,
                linked_by VARCHAR NOT NULL, confidence DOUBLE NOT NULL, PRIMARY KEY (platform, login))""",
            """CREATE TABLE repos (
                platform VARCHAR NOT NULL, full_name VARCHAR NOT NULL, repo_id VARCHAR,
                visibility VARCHAR, archived BOOLEAN, topics VARCHAR[], restricted BOOLEAN,
                tier INTEGER, restriction_reason VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP,
                PRIMARY KEY (platform, full_name))""",
            """CREATE TABLE grants (
                snapshot_id VARCHAR NOT NULL, platform VARCHAR NOT NULL, account VARCHAR NOT NULL,
                repo VARCHAR NOT NULL, role VARCHAR NOT NULL, via VARCHAR[] NOT NULL)""",
            """CREATE TABLE credentials (
                snapshot_id VARCHAR, platform VARCHAR NOT NULL, kind VARCHAR NOT NULL,
                credential_id VARCHAR NOT NULL, owner VARCHAR, scopes VARCHAR[], created_at TIMESTAMP,
                last_used_at TIMESTAMP, expires_at TIMESTAMP, source VARCHAR)""",
            """CREATE TABLE apps (
                snapshot_id VARCHAR, platform VARCHAR NOT NULL, app_id VARCHAR NOT NULL, name VARCHAR,
                kind VARCHAR, permissions VARCHAR, reach VARCHAR, first_seen TIMESTAMP,
                source VARCHAR)""",
            """CREATE TABLE log_sources (
                platform VARCHAR NOT NULL, source VARCHAR NOT NULL, retention_days INTEGER,
                streaming VARCHAR, first_event_at TIMESTAMP, last_event_at TIMESTAMP, events BIGINT,
                PRIMARY KEY (platform, source))""",
            """CREATE TABLE findings (
                id VARCHAR PRIMARY KEY, analytic VARCHAR NOT NULL, severity VARCHAR NOT NULL,
                score INTEGER NOT NULL, platform VARCHAR, actor VARCHAR, identity VARCHAR,
                repos VARCHAR[] NOT NULL, first_seen TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL,
                reasons VARCHAR[] NOT NULL, evidence VARCHAR[], suppressed BOOLEAN NOT NULL,
                suppression_reason VARCHAR, run_id VARCHAR NOT NULL, detected_at TIMESTAMP NOT NULL)""",
            """CREATE TABLE coverage_gaps (
                platform VARCHAR NOT NULL, source VARCHAR NOT NULL, needs VARCHAR NOT NULL,
                consequence VARCHAR NOT NULL, snapshot_id VARCHAR, recorded_at TIMESTAMP NOT NULL)""",
        ],
    ),
    (
        2,
        [
            "ALTER TABLE identities ADD COLUMN manager_id VARCHAR",
            "ALTER TABLE identities ADD COLUMN last_sign_in TIMESTAMP",
            "ALTER TABLE identities ADD COLUMN last_non_interactive_sign_in TIMESTAMP",
            """CREATE TABLE identity_roles (
                snapshot_id VARCHAR NOT NULL, identity_id VARCHAR NOT NULL, role VARCHAR NOT NULL,
                role_template_id VARCHAR, assignment VARCHAR NOT NULL, scope VARCHAR)""",
            """CREATE TABLE identity_groups (
                snapshot_id VARCHAR NOT NULL, identity_id VARCHAR NOT NULL, group_id VARCHAR NOT NULL,
                group_name VARCHAR NOT NULL)""",
            """CREATE TABLE identity_risk (
                snapshot_id VARCHAR NOT NULL, identity_id VARCHAR, upn VARCHAR, kind VARCHAR NOT NULL,
                risk_level VARCHAR, risk_state VARCHAR, event_type VARCHAR, detected_at TIMESTAMP,
                ip VARCHAR, country VARCHAR)""",
            """CREATE TABLE collect_state (
                source VARCHAR PRIMARY KEY, high_water TIMESTAMP, updated_at TIMESTAMP NOT NULL)""",
        ],
    ),
    (
        3,
        [
            "ALTER TABLE events ADD COLUMN permission VARCHAR",
            "ALTER TABLE accounts ADD COLUMN class_evidence VARCHAR",
            "ALTER TABLE account_links ADD COLUMN evidence VARCHAR",
        ],
    ),
    (
        4,
        [
            "ALTER TABLE findings ADD COLUMN status VARCHAR DEFAULT 'new'",
            "ALTER TABLE findings ADD COLUMN status_note VARCHAR",
            "ALTER TABLE findings ADD COLUMN status_changed_at TIMESTAMP",
        ],
    ),
    (
        5,
        [
            # Identity records a platform keeps itself: GitHub SAML/SCIM external identities
            # (NameID <-> login), GitLab identities (provider, extern_uid). Filled by connectors.
            """CREATE TABLE external_identities (
                snapshot_id VARCHAR, platform VARCHAR NOT NULL, login VARCHAR NOT NULL, provider VARCHAR NOT NULL,
                name_id VARCHAR NOT NULL, source VARCHAR NOT NULL)""",
        ],
    ),
    (
        6,
        [
            # Shared by the GitHub and GitLab connectors, the governance checks and the reports.
            # Settings that shape access (org base permission, 2FA, who creates repos, streaming).
            """CREATE TABLE platform_settings (
                snapshot_id VARCHAR NOT NULL, platform VARCHAR NOT NULL, scope VARCHAR NOT NULL,
                key VARCHAR NOT NULL, value VARCHAR, source VARCHAR NOT NULL)""",
            # Who belongs to an org/team/group/project and with which role (grants are per repo).
            """CREATE TABLE memberships (
                snapshot_id VARCHAR NOT NULL, platform VARCHAR NOT NULL, kind VARCHAR NOT NULL,
                scope VARCHAR NOT NULL, account VARCHAR NOT NULL, role VARCHAR NOT NULL, via VARCHAR,
                source VARCHAR NOT NULL)""",
            "ALTER TABLE credentials ADD COLUMN name VARCHAR",
            "ALTER TABLE credentials ADD COLUMN hint VARCHAR",
            "ALTER TABLE apps ADD COLUMN owner VARCHAR",
            # One row per check and resource per `auditor check` run.
            """CREATE TABLE check_results (
                run_id VARCHAR NOT NULL, snapshot_id VARCHAR, check_id VARCHAR NOT NULL, title VARCHAR NOT NULL,
                category VARCHAR NOT NULL, severity VARCHAR NOT NULL, platform VARCHAR, resource VARCHAR NOT NULL,
                status VARCHAR NOT NULL, detail VARCHAR, frameworks VARCHAR[] NOT NULL,
                evaluated_at TIMESTAMP NOT NULL)""",
        ],
    ),
    (
        7,
        [
            # Repository custom properties per snapshot (GitHub org custom properties; restriction input).
            """CREATE TABLE repo_properties (
                snapshot_id VARCHAR NOT NULL, platform VARCHAR NOT NULL, repo VARCHAR NOT NULL,
                name VARCHAR NOT NULL, value VARCHAR, source VARCHAR NOT NULL)""",
        ],
    ),
    (
        8,
        [
            # Users as the platform lists them (GitLab /users): state, bot, admin, external. Kept per
            # snapshot; `accounts` is rebuilt from events plus the latest snapshot's users.
            """CREATE TABLE platform_users (
                snapshot_id VARCHAR NOT NULL, platform VARCHAR NOT NULL, login VARCHAR NOT NULL,
                account_id VARCHAR, name VARCHAR, email VARCHAR, state VARCHAR, is_bot BOOLEAN, is_admin BOOLEAN,
                is_external BOOLEAN, created_at TIMESTAMP, last_activity_at TIMESTAMP, source VARCHAR NOT NULL)""",
        ],
    ),
    (
        9,
        [
            # The account and repository a check result is about (when it is about one), so that review
            # worksheets can flag grants with the checks they fail.
            "ALTER TABLE check_results ADD COLUMN account VARCHAR",
            "ALTER TABLE check_results ADD COLUMN repo VARCHAR",
            # Access-review campaigns: the frozen snapshot set, one row per grant to review, decisions.
            """CREATE TABLE review_campaigns (
                campaign_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, status VARCHAR NOT NULL,
                snapshot_ids VARCHAR[] NOT NULL, check_run_id VARCHAR, previous_campaign VARCHAR,
                out_dir VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, closed_at TIMESTAMP)""",
            """CREATE TABLE review_items (
                campaign_id VARCHAR NOT NULL, row_id VARCHAR NOT NULL, reviewer VARCHAR NOT NULL,
                reviewer_rule VARCHAR NOT NULL, platform VARCHAR NOT NULL, repo VARCHAR NOT NULL,
                account VARCHAR NOT NULL, identity VARCHAR, account_class VARCHAR, role VARCHAR NOT NULL,
                via VARCHAR[] NOT NULL, last_activity TIMESTAMP, last_activity_any TIMESTAMP, flags VARCHAR[] NOT NULL,
                change VARCHAR NOT NULL, previous_role VARCHAR, row_hash VARCHAR NOT NULL,
                PRIMARY KEY (campaign_id, row_id))""",
            """CREATE TABLE review_decisions (
                campaign_id VARCHAR NOT NULL, row_id VARCHAR NOT NULL, reviewer VARCHAR NOT NULL,
                decision VARCHAR NOT NULL, new_role VARCHAR, justification VARCHAR, self_review BOOLEAN NOT NULL,
                source_file VARCHAR NOT NULL, source_sha256 VARCHAR NOT NULL, file_row INTEGER NOT NULL,
                imported_at TIMESTAMP NOT NULL)""",
        ],
    ),
    (
        10,
        [
            # The role a path gives on a repo where the grant does not tell it (a grant's `via` keeps only the
            # paths, and the grant only the highest role): per account for collaborators and GitLab paths, per
            # team (account NULL) for a team's grant. The org base permission's role is the org setting, an
            # org owner's is admin. `target` is where a GitLab group is shared into (group or project).
            """CREATE TABLE grant_paths (
                snapshot_id VARCHAR NOT NULL, platform VARCHAR NOT NULL, account VARCHAR,
                repo VARCHAR NOT NULL, path VARCHAR NOT NULL, role VARCHAR NOT NULL, target VARCHAR)""",
            # Entitlements per snapshot: what an owner can grant or take away (the unit of review and
            # remediation). Written once per snapshot, derived from memberships, grants, settings,
            # credentials, apps and IdP groups/roles.
            """CREATE TABLE entitlements (
                snapshot_id VARCHAR NOT NULL, entitlement_id VARCHAR NOT NULL, platform VARCHAR NOT NULL,
                kind VARCHAR NOT NULL, scope VARCHAR NOT NULL, account VARCHAR, team VARCHAR, role VARCHAR,
                object_id VARCHAR, name VARCHAR, source VARCHAR, PRIMARY KEY (snapshot_id, entitlement_id))""",
            # Check results carry their scope (org, group, tenant) so a failing control is one result per scope.
            "ALTER TABLE check_results ADD COLUMN scope VARCHAR",
            # Findings lifecycle: accepted_risk expiry and the history of triage notes.
            "ALTER TABLE findings ADD COLUMN status_expires DATE",
            """CREATE TABLE finding_notes (
                finding_id VARCHAR NOT NULL, noted_at TIMESTAMP NOT NULL, author VARCHAR, status VARCHAR NOT NULL,
                note VARCHAR, expires DATE)""",
            # Every detect, check, review and report run, with a JSON summary: trends between runs.
            """CREATE TABLE runs (
                run_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL,
                finished_at TIMESTAMP, summary VARCHAR)""",
            # Entitlement-level campaign rows (review_items stays for campaigns started before this version).
            """CREATE TABLE review_rows (
                campaign_id VARCHAR NOT NULL, row_id VARCHAR NOT NULL, entitlement_id VARCHAR NOT NULL,
                reviewer VARCHAR NOT NULL, reviewer_rule VARCHAR NOT NULL, worksheet VARCHAR NOT NULL,
                platform VARCHAR NOT NULL, kind VARCHAR NOT NULL, scope VARCHAR NOT NULL, account VARCHAR,
                team VARCHAR, role VARCHAR, identity VARCHAR, display_name VARCHAR, department VARCHAR,
                manager VARCHAR, account_class VARCHAR, reach VARCHAR NOT NULL, reach_text VARCHAR NOT NULL,
                last_used TIMESTAMP, recommendation VARCHAR NOT NULL, recommendation_reason VARCHAR NOT NULL,
                change VARCHAR NOT NULL, previous_role VARCHAR, row_hash VARCHAR NOT NULL, label VARCHAR NOT NULL,
                PRIMARY KEY (campaign_id, row_id))""",
            "ALTER TABLE review_campaigns ADD COLUMN mode VARCHAR",
            "ALTER TABLE review_campaigns ADD COLUMN effective_grants BIGINT",
        ],
    ),
    (
        11,
        [
            # The import timestamp rule (auditor.importers.timerule): events an older version stored with
            # an implausible time (infinity, year 0001 or 99999, an epoch read at the wrong magnitude)
            # become rejected lines of their import, and every time span derived from them is recomputed.
            f"""INSERT INTO rejected_lines
                SELECT e.import_id, e.evidence_sha256, coalesce(i.path, ''), e.line_no,
                       '{OUT_OF_RANGE} (moved out of events by schema migration 11)', NULL
                FROM events e LEFT JOIN imports i ON i.import_id = e.import_id WHERE {_BAD_TS}""",
            f"""UPDATE imports SET events = imports.events - m.n, rejected = imports.rejected + m.n
                FROM (SELECT import_id, count(*) AS n FROM events WHERE {_BAD_TS} GROUP BY import_id) m
                WHERE imports.import_id = m.import_id""",
            f"DELETE FROM events WHERE {_BAD_TS}",
            """UPDATE imports SET first_event_at = s.lo, last_event_at = s.hi
                FROM (SELECT i.import_id, min(e.ts) AS lo, max(e.ts) AS hi FROM imports i
                      LEFT JOIN events e ON e.import_id = i.import_id GROUP BY i.import_id) s
                WHERE imports.import_id = s.import_id""",
            """UPDATE log_sources SET first_event_at = s.lo, last_event_at = s.hi, events = s.n
                FROM (SELECT l.platform, l.source, min(e.ts) AS lo, max(e.ts) AS hi, count(e.ts) AS n
                      FROM log_sources l LEFT JOIN events e ON e.platform = l.platform AND e.source_format = l.source
                      GROUP BY l.platform, l.source) s
                WHERE log_sources.platform = s.platform AND log_sources.source = s.source""",
            """UPDATE accounts SET first_seen = s.lo, last_seen = s.hi
                FROM (SELECT a.platform, a.login, min(e.ts) AS lo, max(e.ts) AS hi FROM accounts a
                      LEFT JOIN events e ON e.platform = a.platform AND e.actor = a.login
                      GROUP BY a.platform, a.login) s
                WHERE accounts.platform = s.platform AND accounts.login = s.login""",
            """UPDATE repos SET first_seen = s.lo, last_seen = s.hi
                FROM (SELECT r.platform, r.full_name, min(e.ts) AS lo, max(e.ts) AS hi FROM repos r
                      LEFT JOIN events e ON e.platform = r.platform AND e.repo = r.full_name
                      GROUP BY r.platform, r.full_name) s
                WHERE repos.platform = s.platform AND repos.full_name = s.full_name""",
            f"UPDATE identities SET created_at = NULL WHERE {implausible_sql('created_at')}",
        ],
    ),
    (
        12,
        [
            # Departing and departed people: Entra leave dates and disabled accounts, and a departures CSV.
            # One row per (account or identity, kind); "at" (quoted: a keyword) is NULL when the source gives
            # no date.
            """CREATE TABLE departures (
                platform VARCHAR, login VARCHAR, upn VARCHAR, identity_id VARCHAR, kind VARCHAR NOT NULL,
                "at" TIMESTAMP, detail VARCHAR, source VARCHAR NOT NULL)""",
            "ALTER TABLE identities ADD COLUMN leave_at TIMESTAMP",
        ],
    ),
    (
        13,
        [
            # Directory changes the Entra connector collected (deleted users, and user deletions,
            # disablements and group removals from the directory audit log). Kept across runs (the audit
            # log is read incrementally; Entra forgets deleted users after 30 days); `departures` is
            # derived from it on refresh, so the configured leaver groups apply to past removals too.
            # change_id: the audit record's id, or 'deleted:<object id>' for a deleted user.
            """CREATE TABLE directory_changes (
                change_id VARCHAR PRIMARY KEY, tenant VARCHAR NOT NULL, identity_id VARCHAR, upn VARCHAR,
                kind VARCHAR NOT NULL, "at" TIMESTAMP, group_id VARCHAR, group_name VARCHAR, activity VARCHAR,
                evidence_sha256 VARCHAR, line_no BIGINT)""",
        ],
    ),
]
