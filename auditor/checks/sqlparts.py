"""SQL fragments the checks share: role levels and credential kinds in the inventory vocabulary."""

from __future__ import annotations

# Roles that can push (GitHub write/maintain/admin; GitLab developer/maintainer/owner).
WRITE_ROLES = "('write', 'maintain', 'admin', 'developer', 'maintainer', 'owner')"
# Roles that can only read (GitHub read/triage; GitLab guest/planner/reporter/minimal access).
READ_ROLES = "('read', 'triage', 'guest', 'planner', 'reporter', 'minimal_access')"
# Bearer tokens with a lifetime (keys and OAuth authorizations have none to set).
EXPIRING_TOKENS = (
    "('classic_pat', 'fine_grained_pat', 'personal_access_token', 'group_access_token', "
    "'project_access_token', 'deploy_token')"
)
GRANT_RESOURCE = "account || ' on ' || repo"
VIA = "array_to_string(via, ', ')"
