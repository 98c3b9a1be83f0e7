"""`sync()`: one GitLab run end to end (get → transform → load), the only entry the CLI calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.config.models import GitLabSource
from auditor.connectors.gitlab.load import CollectSummary, state_key
from auditor.connectors.kit.state import read_mark
from auditor.workspace.store import Workspace

OVERLAP = timedelta(minutes=5)
Classify = Callable[[dict[str, Any]], tuple[bool, int | None, str]]


def sync(
    ws: Workspace, source: GitLabSource, token: str, since: datetime | None = None, *, classify: Classify
) -> CollectSummary:
    """Collect `source` and load it in one transaction; `classify` says whether a project is restricted
    (and its tier). Audit events from `since`, else the high-water mark less a small overlap."""
    from auditor.connectors.gitlab.collect import collect
    from auditor.connectors.gitlab.load import load_collected
    from auditor.importers.sqlfuncs import install_macros

    scope = "instance" if source.instance else ",".join(source.groups)
    now = datetime.now(UTC).replace(tzinfo=None)
    if since is None:
        mark = read_mark(ws.con, state_key(source.base_url, scope))
        since = mark - OVERLAP if mark else now - timedelta(days=source.audit_initial_days)
    collected = collect(source, token, since, now, lambda p: classify(p)[0])
    install_macros(ws.con)
    return load_collected(ws, collected, classify)
