"""`sync()`: one Entra run end to end (get → transform → load), the only entry the CLI calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auditor.config.models import EntraSource
from auditor.connectors.entra.load import CollectSummary, audits_key, signins_key
from auditor.connectors.kit.state import read_mark
from auditor.workspace.store import Workspace

OVERLAP = timedelta(minutes=5)


def sync(ws: Workspace, source: EntraSource, credential: object, since: datetime | None = None) -> CollectSummary:
    """Collect `source` with `credential` and load it in one transaction. Sign-ins and directory audits
    from `since`, else each from its own high-water mark less a small overlap, else `signins_initial_days`
    ago."""
    from auditor.connectors.entra.collect import collect
    from auditor.connectors.entra.load import load_collected
    from auditor.importers.sqlfuncs import install_macros

    audits_since = since
    if since is None:
        initial = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=source.signins_initial_days)
        mark = read_mark(ws.con, signins_key(source.tenant_id))
        since = mark - OVERLAP if mark else initial
        audit_mark = read_mark(ws.con, audits_key(source.tenant_id))
        audits_since = audit_mark - OVERLAP if audit_mark else initial
    collected = collect(source, credential, since, audits_since)
    install_macros(ws.con)
    return load_collected(ws, source.tenant_id, collected, since)
