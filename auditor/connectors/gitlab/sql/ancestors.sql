-- Every group with itself and each of its ancestors that this collection holds.
CREATE OR REPLACE TEMP TABLE gl_anc AS
WITH RECURSIVE anc(group_id, ancestor_id) AS (
    SELECT id, id FROM gl_groups
    UNION ALL
    SELECT a.group_id, g.parent_id FROM anc a JOIN gl_groups g ON g.id = a.ancestor_id
    WHERE g.parent_id IS NOT NULL AND g.parent_id IN (SELECT id FROM gl_groups)
)
SELECT group_id, ancestor_id FROM anc
