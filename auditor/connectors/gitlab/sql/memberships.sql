-- Group and project memberships: direct, inherited from an ancestor group, or through a shared group.
INSERT INTO memberships
SELECT $snap, 'gitlab', 'group', g.full_path, m.username, gl_role(m.level),
       CASE WHEN a.ancestor_id = a.group_id THEN 'direct' ELSE 'inherited:' || ag.full_path END, $source
FROM gl_anc a JOIN gl_groups g ON g.id = a.group_id JOIN gl_groups ag ON ag.id = a.ancestor_id
JOIN gl_members m ON m.kind = 'group' AND m.target_id = a.ancestor_id
UNION ALL
SELECT $snap, 'gitlab', 'group', g.full_path, m.username, gl_role(least(m.level, s.level)),
       'shared_group:' || s.shared_path, $source
FROM gl_anc a JOIN gl_groups g ON g.id = a.group_id
JOIN gl_shares s ON s.kind = 'group' AND s.target_id = a.ancestor_id
JOIN gl_members m ON m.kind = 'shared' AND m.target_id = s.shared_id
UNION ALL
SELECT $snap, 'gitlab', 'project', p.path, m.username, gl_role(m.level), 'direct', $source
FROM gl_projects p JOIN gl_members m ON m.kind = 'project' AND m.target_id = p.id
UNION ALL
SELECT $snap, 'gitlab', 'project', p.path, m.username, gl_role(least(m.level, s.level)),
       'shared_group:' || s.shared_path, $source
FROM gl_projects p JOIN gl_shares s ON s.kind = 'project' AND s.target_id = p.id
JOIN gl_members m ON m.kind = 'shared' AND m.target_id = s.shared_id
