-- Effective grants on restricted projects: the highest level over all paths, with every path kept.
INSERT INTO grants
SELECT $snap, 'gitlab', x.username, p.path, gl_role(max(x.level)), list(DISTINCT x.via ORDER BY x.via)
FROM gl_paths x JOIN gl_projects p ON p.id = x.project_id
WHERE p.restricted AND x.level >= 10
GROUP BY x.username, p.path
