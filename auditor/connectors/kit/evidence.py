"""Pages into the workspace's evidence store: content-addressed, read-only, one `evidence` row each."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.connectors.kit.page import Page
from auditor.workspace.evidence import store_bytes
from auditor.workspace.store import json_rows, utcnow

if TYPE_CHECKING:
    from auditor.workspace.store import Workspace


def page_ref(sha256: str, position: int) -> str:
    """How an event cites the page it came from and its 1-based position in it: sha256:<hex>#17."""
    return f"sha256:{sha256}#{position}"


def store_pages(ws: Workspace, pages: Iterable[Page]) -> dict[str, tuple[Page, Path]]:
    """Keep each body as received (read-only blob named by its SHA-256) and record it once in `evidence`
    with the URL that produced it; returns sha256 -> (first page with that body, blob path), in order."""
    stored: dict[str, tuple[Page, Path]] = {}
    for page in pages:
        sha = hashlib.sha256(page.body).hexdigest()
        if sha not in stored:
            stored[sha] = (page, store_bytes(ws.evidence_dir, page.body, sha))
    if stored:
        now = utcnow()
        rows = [(sha, page.url, str(path), len(page.body), now) for sha, (page, path) in stored.items()]
        cols = {"sha256": "VARCHAR", "source": "VARCHAR", "path": "VARCHAR", "bytes": "BIGINT", "received": "TIMESTAMP"}
        sql, params = json_rows(cols, rows)
        ws.con.execute(
            f"INSERT OR IGNORE INTO evidence SELECT sha256, 'collect', source, path, bytes, received FROM ({sql})",
            params,
        )
    return stored
