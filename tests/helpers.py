"""Small builders for test inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_ndjson(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def gh_event(
    i: int,
    action: str = "git.clone",
    actor: str = "alice",
    repo: str = "acme/r1",
    ts_ms: int = 1_759_000_000_000,
    **extra: Any,
) -> dict[str, Any]:
    """A GitHub audit-log stream record."""
    record: dict[str, Any] = {
        "@timestamp": ts_ms,
        "_document_id": f"doc-{i}",
        "action": action,
        "actor": actor,
        "org": "acme",
        "repo": repo,
        "repository_public": False,
        "visibility": "private",
        "actor_ip": "198.51.100.7",
        "actor_location": {"country_code": "DE"},
    }
    record.update(extra)
    return record
