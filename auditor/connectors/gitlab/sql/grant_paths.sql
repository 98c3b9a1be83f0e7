-- The role each path gives (a grant keeps only the highest); `target` is where a group is shared into.
INSERT INTO grant_paths
SELECT DISTINCT $snap, 'gitlab', x.username, p.path, x.via, gl_role(x.level), x.target
FROM gl_paths x JOIN gl_projects p ON p.id = x.project_id
WHERE p.restricted AND x.level >= 10
