-- Every path by which a user reaches a project: direct membership, membership of the namespace or an
-- ancestor, or membership of a group shared with either (capped at the share's access level).
CREATE OR REPLACE TEMP TABLE gl_paths AS
SELECT p.id AS project_id, m.username, m.level, 'project' AS via, p.path AS target
FROM gl_projects p JOIN gl_members m ON m.kind = 'project' AND m.target_id = p.id
UNION ALL
SELECT p.id, m.username, m.level, 'group:' || g.full_path, g.full_path
FROM gl_projects p JOIN gl_anc a ON a.group_id = p.namespace_id JOIN gl_groups g ON g.id = a.ancestor_id
JOIN gl_members m ON m.kind = 'group' AND m.target_id = a.ancestor_id
UNION ALL
SELECT p.id, m.username, least(m.level, s.level), 'shared_group:' || s.shared_path, g.full_path
FROM gl_projects p JOIN gl_anc a ON a.group_id = p.namespace_id JOIN gl_groups g ON g.id = a.ancestor_id
JOIN gl_shares s ON s.kind = 'group' AND s.target_id = a.ancestor_id
JOIN gl_members m ON m.kind = 'shared' AND m.target_id = s.shared_id
UNION ALL
SELECT p.id, m.username, least(m.level, s.level), 'shared_group:' || s.shared_path, p.path
FROM gl_projects p JOIN gl_shares s ON s.kind = 'project' AND s.target_id = p.id
JOIN gl_members m ON m.kind = 'shared' AND m.target_id = s.shared_id
