"""GitLab (GitLab.com and self-managed) through python-gitlab: inventory and stored audit events."""
