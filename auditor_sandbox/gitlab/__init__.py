"""A sandbox GitLab API server (REST /api/v4 and GraphQL) serving a generated acme instance on 127.0.0.1.

`serve_gitlab(sandbox_dir)` serves `inventory/gitlab.json` and the stored audit events of
`gitlab/audit-events.ndjson` the way GitLab does, for the real python-gitlab client.
"""

from auditor_sandbox.gitlab.server import Faults, GitLabServer, serve_gitlab

__all__ = ["Faults", "GitLabServer", "serve_gitlab"]
