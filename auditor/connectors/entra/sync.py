"""`sync()`: one Entra run end to end (get → transform → load), the only entry the CLI calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auditor.config.models import EntraSource
from auditor.connectors.entra.load import CollectSummary, signins_key
from auditor.connectors.kit.state import read_mark
from auditor.workspace.store import Workspace

OVERLAP = timedelta(minutes=5)


def sync(ws: Workspace, source: EntraSource, credential: object, since: datetime | None = None) -> CollectSummary:
    """Collect `source` with `credential` (sign-ins from `since`, else the high-water mark less a small
    overlap, else `signins_initial_days` ago) and load it in one transaction."""
    from auditor.connectors.entra.collect import collect
    from auditor.connectors.entra.load import load_collected
    from auditor.importers.sqlfuncs import install_macros

    if since is None:
        mark = read_mark(ws.con, signins_key(source.tenant_id))
        now = datetime.now(UTC).replace(tzinfo=None)
        since = mark - OVERLAP if mark else now - timedelta(days=source.signins_initial_days)
    collected = collect(source, credential, since)
    install_macros(ws.con)
    return load_collected(ws, source.tenant_id, collected, since)
