-- GitLab access level -> role name (a temporary macro for this connection).
CREATE OR REPLACE TEMP MACRO gl_role(x) AS
    CASE x WHEN 50 THEN 'owner' WHEN 40 THEN 'maintainer' WHEN 30 THEN 'developer' WHEN 20 THEN 'reporter'
           WHEN 15 THEN 'planner' WHEN 10 THEN 'guest' WHEN 5 THEN 'minimal_access' ELSE 'level_' || x END
