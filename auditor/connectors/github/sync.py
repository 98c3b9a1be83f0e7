"""`sync()`: one GitHub run end to end (get → transform → load), the only entry the CLI calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from auditor.config.models import GitHubSource
from auditor.connectors.github.load import CollectSummary, audit_state_key
from auditor.connectors.kit.state import read_mark
from auditor.workspace.store import Workspace


def sync(ws: Workspace, source: GitHubSource, token: str | None, since: datetime | None = None) -> CollectSummary:
    """Collect `source` (token, or App auth from the source when `token` is None) and load it in one
    transaction; audit events from `since`, else the high-water mark, else `audit_log_initial_days` ago."""
    from auditor.connectors.github.collect import collect
    from auditor.connectors.github.load import load_collected
    from auditor.importers.sqlfuncs import install_macros

    if since is None:
        mark = read_mark(ws.con, audit_state_key(source.org, source.enterprise))
        now = datetime.now(UTC).replace(tzinfo=None)
        since = mark if mark else now - timedelta(days=source.audit_log_initial_days)
    ghes = urlsplit(source.base_url).path.rstrip("/").endswith("/api/v3")  # GHES; cloud hosts have no path
    collected = collect(source, token, since)
    install_macros(ws.con)
    return load_collected(ws, source.base_url, collected, since, ghes)
