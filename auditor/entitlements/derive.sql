-- Entitlements of the current snapshots (chk_snapshots), the grants each one produces, and its reach.
-- Reads the chk_* views (auditor/checks/scope.py). Statements are separated by a line holding only ';'.

-- An entitlement's id: stable across snapshots, from what identifies it (platform, kind, scope, holder).
CREATE OR REPLACE TEMP MACRO ent_id(entitlement_key) AS 'ENT-' || substr(sha256(entitlement_key), 1, 12)
;
-- Every path by which an account reaches a repo (the grant's `via`), with the role that path gives.
CREATE OR REPLACE TEMP TABLE ent_paths AS
WITH base AS (
    SELECT snapshot_id, scope, any_value(CASE value WHEN 'read' THEN 'read' WHEN 'write' THEN 'write'
           WHEN 'admin' THEN 'admin' END) AS role
    FROM chk_settings WHERE platform = 'github' AND key = 'default_repository_permission' GROUP BY ALL
),
per_account AS (
    SELECT p.snapshot_id, p.platform, p.account, p.repo, p.path, any_value(p.role) AS role, any_value(p.target) AS target
    FROM grant_paths p JOIN chk_snapshots s ON s.snapshot_id = p.snapshot_id AND s.platform = p.platform
    WHERE p.account IS NOT NULL GROUP BY ALL
),
per_team AS (
    SELECT p.snapshot_id, p.platform, p.repo, p.path, any_value(p.role) AS role
    FROM grant_paths p JOIN chk_snapshots s ON s.snapshot_id = p.snapshot_id AND s.platform = p.platform
    WHERE p.account IS NULL GROUP BY ALL
),
via AS (
    SELECT g.snapshot_id, g.platform, g.account, g.repo, unnest(g.via) AS path, g.role
    FROM grants g JOIN chk_snapshots s ON s.snapshot_id = g.snapshot_id AND s.platform = g.platform
)
-- The role of each path: recorded by the connector, else the org owner's admin, the org setting for the
-- base permission, and for snapshots collected before paths were recorded, the grant's (highest) role.
SELECT v.snapshot_id, v.platform, v.account, v.repo, v.path,
       coalesce(a.role, t.role, CASE WHEN v.path = 'org_owner' THEN 'admin' END,
                CASE WHEN v.path = 'org_base' THEN b.role END, v.role) AS role,
       a.target
FROM via v
LEFT JOIN per_account a ON a.snapshot_id = v.snapshot_id AND a.platform = v.platform AND a.account = v.account
     AND a.repo = v.repo AND a.path = v.path
LEFT JOIN per_team t ON t.snapshot_id = v.snapshot_id AND t.platform = v.platform AND t.repo = v.repo AND t.path = v.path
LEFT JOIN base b ON b.snapshot_id = v.snapshot_id AND b.scope = split_part(v.repo, '/', 1) AND v.platform = 'github'

;
-- The source (GitHub org, GitLab instance, Entra tenant) each current snapshot was collected from.
CREATE OR REPLACE TEMP TABLE ent_sources AS
SELECT snapshot_id, platform, source FROM chk_snapshots
;
-- One row per (entitlement, account, repo) it produces; account NULL for repo-level entitlements
-- (team or group grants, deploy keys, apps). Kinds and scopes are the design vocabulary:
--   github: org_role (scope org), base_permission (org), team_membership (org, team), team_repo (repo, team),
--           direct_collaborator (repo), outside_collaborator (org: GitHub removes one from every repo at once)
--   gitlab: group_membership (group path), project_membership (project path), group_share (target, group)
CREATE OR REPLACE TEMP TABLE ent_link_keys AS
SELECT *, ent_id(platform || '|' || kind || '|' || scope || '|' || coalesce(team, '') || '|'
                 || coalesce(holder_account, '')) AS entitlement_id
FROM (
WITH mapped AS (
    SELECT snapshot_id, platform, account, repo, role, split_part(repo, '/', 1) AS org,
        CASE
            WHEN platform = 'github' AND path = 'org_owner' THEN 'org_role'
            WHEN platform = 'github' AND path = 'org_base' THEN 'base_permission'
            WHEN platform = 'github' AND starts_with(path, 'team:') THEN 'team_membership'
            WHEN platform = 'github' AND path = 'direct' THEN 'direct_collaborator'
            WHEN platform = 'github' AND path = 'outside_collaborator' THEN 'outside_collaborator'
            WHEN platform = 'gitlab' AND path = 'project' THEN 'project_membership'
            WHEN platform = 'gitlab' AND starts_with(path, 'group:') THEN 'group_membership'
            WHEN platform = 'gitlab' AND starts_with(path, 'shared_group:') THEN 'group_membership'
            ELSE 'other_path'
        END AS kind,
        path, target
    FROM ent_paths
)
SELECT snapshot_id, platform, kind,
       CASE kind
           WHEN 'org_role' THEN org WHEN 'base_permission' THEN org WHEN 'team_membership' THEN org
           WHEN 'outside_collaborator' THEN org
           WHEN 'group_membership' THEN substr(path, strpos(path, ':') + 1)
           ELSE repo
       END AS scope,
       CASE WHEN kind = 'base_permission' THEN NULL ELSE account END AS holder_account,
       CASE WHEN kind = 'team_membership' THEN substr(path, 6) END AS team,
       account, repo, CASE WHEN kind = 'org_role' THEN 'owner' ELSE role END AS role, path
FROM mapped
UNION ALL
-- The team's or shared group's own grant on the repo (or the group or project it is shared into).
SELECT snapshot_id, platform,
       CASE WHEN platform = 'github' THEN 'team_repo' ELSE 'group_share' END,
       CASE WHEN platform = 'github' THEN repo ELSE coalesce(target, repo) END,
       NULL, substr(path, strpos(path, ':') + 1), account, repo, role, path
FROM ent_paths
WHERE (platform = 'github' AND starts_with(path, 'team:')) OR (platform = 'gitlab' AND starts_with(path, 'shared_group:'))
)
;
-- Repo-bound keys and tokens reach their repo; personal credentials reach what their owner reaches
-- (scopes permitting), computed per account below rather than linked grant by grant.
CREATE OR REPLACE TEMP TABLE ent_credential_keys AS
SELECT c.snapshot_id, c.platform, ent_id(c.platform || '|' || c.kind || '|' || c.credential_id) AS entitlement_id,
       CASE WHEN c.kind IN ('deploy_key', 'deploy_token') THEN c.kind ELSE 'credential' END AS kind,
       CASE WHEN c.kind IN ('deploy_key', 'deploy_token') THEN c.owner ELSE s.source END AS scope,
       c.owner, c.kind AS credential_kind, c.credential_id, c.name, c.scopes, c.last_used_at, c.source
FROM chk_credentials c JOIN ent_sources s ON s.snapshot_id = c.snapshot_id AND s.platform = c.platform
WHERE c.kind <> 'fine_grained_pat_request'
;
-- Apps installed on all repos reach every restricted repo of the org.
CREATE OR REPLACE TEMP TABLE ent_links AS
WITH creds AS (
    SELECT c.snapshot_id, c.platform, c.entitlement_id, NULL AS account, c.owner AS repo,
           CASE WHEN list_contains(c.scopes, 'write') THEN 'write' ELSE 'read' END AS role, NULL AS path
    FROM ent_credential_keys c WHERE c.kind IN ('deploy_key', 'deploy_token')
),
apps AS (
    SELECT a.snapshot_id, a.platform, ent_id(a.platform || '|app|' || a.app_id || '|' || coalesce(a.owner, '')),
           NULL, r.full_name, 'app', NULL
    FROM chk_apps a JOIN repos r ON r.platform = a.platform AND split_part(r.full_name, '/', 1) = a.owner
    WHERE a.platform = 'github' AND a.reach = 'all' AND coalesce(r.restricted, true)
)
SELECT DISTINCT snapshot_id, platform, entitlement_id, account, repo, role, path FROM ent_link_keys
UNION ALL SELECT DISTINCT * FROM creds
UNION ALL SELECT DISTINCT * FROM apps
;
-- The entitlements themselves (one row each), for the current snapshots.
CREATE OR REPLACE TEMP TABLE ent_current AS
WITH path_roles AS (
    SELECT snapshot_id, entitlement_id, platform, kind, scope, holder_account, team,
           arg_max(role, coalesce(list_position($roles, role), 6)) AS role
    FROM ent_link_keys GROUP BY ALL
),
from_paths AS (
    SELECT p.snapshot_id, p.entitlement_id, p.platform, p.kind, p.scope, p.holder_account, p.team,
           CASE WHEN p.kind = 'team_membership' THEN coalesce(m.role, 'member')
                WHEN p.kind = 'org_role' THEN coalesce(o.role, p.role) ELSE p.role END,
           NULL, NULL, 'derived from grant paths'
    FROM path_roles p
    LEFT JOIN chk_memberships m ON m.snapshot_id = p.snapshot_id AND m.platform = p.platform AND m.kind = 'team'
         AND m.scope = p.team AND m.account = p.holder_account AND p.kind = 'team_membership'
    LEFT JOIN (SELECT snapshot_id, account, max(role) AS role FROM chk_memberships
               WHERE platform = 'github' AND kind = 'org' AND role IN ('owner', 'member') GROUP BY ALL) o
         ON o.snapshot_id = p.snapshot_id AND o.account = p.holder_account AND p.kind = 'org_role'
),
-- Memberships with no reach on a restricted repo are entitlements too (an empty team, an org member
-- with no grant): listed with zero reach.
memberships AS (
    SELECT m.snapshot_id, m.platform,
           CASE WHEN m.kind = 'org' AND m.role = 'outside_collaborator' THEN 'outside_collaborator'
                WHEN m.kind = 'org' THEN 'org_role' WHEN m.kind = 'team' THEN 'team_membership'
                WHEN m.kind = 'group' THEN 'group_membership' WHEN m.kind = 'project' THEN 'project_membership'
                ELSE 'custom_org_role' END AS kind,
           CASE WHEN m.kind IN ('org', 'team') OR m.kind = 'org_role' THEN s.source ELSE m.scope END AS scope,
           CASE WHEN m.kind = 'org_role' AND starts_with(m.account, 'team:') THEN NULL ELSE m.account END AS account,
           CASE WHEN m.kind = 'team' THEN m.scope
                WHEN m.kind = 'org_role' AND starts_with(m.account, 'team:') THEN substr(m.account, 6) END AS team,
           m.role, m.source
    FROM chk_memberships m JOIN ent_sources s ON s.snapshot_id = m.snapshot_id AND s.platform = m.platform
    -- GitLab lists inherited and shared memberships per subgroup: the entitlement is the direct one.
    WHERE NOT (m.platform = 'gitlab' AND coalesce(m.via, 'direct') <> 'direct')
),
extra_memberships AS (
    SELECT snapshot_id,
           ent_id(platform || '|' || kind || '|' || scope || '|' || coalesce(team, '') || '|' || coalesce(account, ''))
               AS entitlement_id,
           platform, kind, scope, account, team, arg_max(role, coalesce(list_position($roles, role), 6)) AS role,
           NULL, NULL, any_value(source)
    FROM memberships GROUP BY ALL
),
credentials AS (
    SELECT snapshot_id, entitlement_id, platform, kind, scope, CASE WHEN kind = 'credential' THEN owner END, NULL,
           nullif(array_to_string(scopes, ' '), ''), credential_kind || ':' || credential_id, name, source
    FROM ent_credential_keys
),
apps AS (
    SELECT a.snapshot_id, ent_id(a.platform || '|app|' || a.app_id || '|' || coalesce(a.owner, '')),
           a.platform, CASE WHEN a.platform = 'github' THEN 'app_installation' ELSE 'oauth_app' END,
           coalesce(a.owner, s.source), NULL, NULL, a.reach, a.kind || ':' || a.app_id, a.name, a.source
    FROM chk_apps a JOIN ent_sources s ON s.snapshot_id = a.snapshot_id AND s.platform = a.platform
    WHERE a.platform IN ('github', 'gitlab')
),
idp AS (
    SELECT g.snapshot_id, ent_id('entra|idp_group_membership|' || s.source || '|' || g.group_name || '|' || g.identity_id),
           'entra', 'idp_group_membership', s.source, coalesce(i.upn, g.identity_id), g.group_name, 'member',
           g.group_id, g.group_name, 'graph groups/' || g.group_id || '/members'
    FROM identity_groups g JOIN ent_sources s ON s.snapshot_id = g.snapshot_id AND s.platform = 'entra'
    LEFT JOIN identities i ON i.identity_id = g.identity_id
    UNION ALL
    SELECT r.snapshot_id,
           ent_id('entra|directory_role|' || s.source || '|' || r.role || '|' || r.assignment || '|' || r.identity_id),
           'entra', 'directory_role', s.source, coalesce(i.upn, r.identity_id), NULL,
           r.role || CASE WHEN r.assignment = 'active' THEN '' ELSE ' (' || r.assignment || ')' END,
           r.role_template_id, r.role, 'graph directory roles and PIM eligibility schedules'
    FROM identity_roles r JOIN ent_sources s ON s.snapshot_id = r.snapshot_id AND s.platform = 'entra'
    LEFT JOIN identities i ON i.identity_id = r.identity_id
)
SELECT DISTINCT ON (snapshot_id, entitlement_id) *
FROM (SELECT * FROM from_paths UNION ALL SELECT * FROM extra_memberships UNION ALL SELECT * FROM credentials
      UNION ALL SELECT * FROM apps UNION ALL SELECT * FROM idp)
     t(snapshot_id, entitlement_id, platform, kind, scope, account, team, role, object_id, name, source)
ORDER BY snapshot_id, entitlement_id, source = 'derived from grant paths' DESC
;
-- Reach: restricted repos by tier, highest role, accounts covered, last activity of the covered accounts
-- on the covered repos (credentials: also when the platform last saw them used). Org roles and personal
-- credentials reach everything their account reaches: aggregated once per account, not linked per grant.
CREATE OR REPLACE TEMP TABLE ent_reach AS
WITH restricted AS (
    SELECT platform, full_name, tier FROM repos WHERE coalesce(restricted, true)
),
account_repos AS (
    SELECT p.snapshot_id, p.platform, p.account, p.repo, arg_max(p.role, coalesce(list_position($roles, p.role), 6)) AS role,
           any_value(r.tier) AS tier
    FROM ent_paths p JOIN restricted r ON r.platform = p.platform AND r.full_name = p.repo
    GROUP BY ALL
),
by_account AS (
    SELECT e.entitlement_id, a.platform, a.account, a.repo, a.role, a.tier
    FROM ent_current e
    JOIN account_repos a ON a.snapshot_id = e.snapshot_id AND a.platform = e.platform AND a.account = e.account
    WHERE e.kind IN ('org_role', 'credential')
),
linked AS (
    SELECT l.entitlement_id, l.platform, l.account, l.repo, l.role, r.tier
    FROM ent_links l JOIN restricted r ON r.platform = l.platform AND r.full_name = l.repo
    WHERE l.entitlement_id NOT IN (SELECT entitlement_id FROM ent_current WHERE kind IN ('org_role', 'credential'))
    UNION ALL
    SELECT * FROM by_account
),
repo_level AS (
    SELECT entitlement_id, repo, any_value(tier) AS tier FROM linked GROUP BY ALL
),
tiers AS (
    SELECT entitlement_id, list({'tier': tier_name, 'repos': n} ORDER BY tier_name) AS by_tier, sum(n) AS repos
    FROM (SELECT entitlement_id, coalesce('tier' || tier, 'untiered') AS tier_name, count(*) AS n
          FROM repo_level GROUP BY ALL)
    GROUP BY entitlement_id
),
activity AS (
    SELECT l.entitlement_id, max(a.last_at) AS last_at
    FROM (SELECT DISTINCT entitlement_id, platform, account, repo FROM linked WHERE account IS NOT NULL) l
    JOIN chk_activity a ON a.platform = l.platform AND a.account = l.account AND a.repo = l.repo
    GROUP BY l.entitlement_id
)
SELECT e.entitlement_id, coalesce(t.repos, 0) AS repos,
       t.by_tier,
       m.max_role, coalesce(m.accounts, 0) AS accounts,
       CASE WHEN c.last_used_at IS NULL THEN a.last_at ELSE greatest(c.last_used_at, coalesce(a.last_at, c.last_used_at)) END AS last_activity
FROM ent_current e
LEFT JOIN tiers t ON t.entitlement_id = e.entitlement_id
LEFT JOIN (SELECT entitlement_id, arg_max(role, coalesce(list_position($roles, role), 6)) AS max_role,
                  count(DISTINCT account) AS accounts FROM linked GROUP BY ALL) m ON m.entitlement_id = e.entitlement_id
LEFT JOIN activity a ON a.entitlement_id = e.entitlement_id
LEFT JOIN (SELECT entitlement_id, max(last_used_at) AS last_used_at FROM ent_credential_keys GROUP BY ALL) c
     ON c.entitlement_id = e.entitlement_id
