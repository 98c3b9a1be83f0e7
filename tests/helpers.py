"""Small builders for test inputs, and the CLI sandbox server run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def served(platform: str, *args: str) -> Iterator[str]:
    """Run `auditor sandbox serve PLATFORM ARGS...` in a subprocess and yield the base URL it prints;
    terminate it on exit."""
    cmd = [sys.executable, "-m", "auditor", "sandbox", "serve", platform, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        yield next(line.split()[2] for line in proc.stdout if line.startswith("base URL:"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def read_ndjson(path: Path) -> Iterator[dict[str, Any]]:
    """The records of an NDJSON file, one per line (the sandbox's logs)."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def epoch_ms(iso: str) -> int:
    """Epoch milliseconds of an ISO 8601 time ('Z' or an offset), as the sandbox's ground truth writes it."""
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


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


def run_auditor(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m auditor ARGS` in `cwd` with the workspace `cwd/ws` and no config from the environment."""
    merged = {**os.environ, "AUDITOR_WORKSPACE": str(cwd / "ws"), **env}
    merged.pop("AUDITOR_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], cwd=cwd, env=merged, capture_output=True, text=True, timeout=120
    )


def smallest_tenant(factory: Any, name: str) -> Path:
    """The smallest sandbox tenant the generator builds (30 users, 30 repos, 14 days), in a fresh folder."""
    from auditor_sandbox.generate import generate_tenant

    out: Path = factory.mktemp(name)
    generate_tenant(out, users=30, repos=30, days=14)
    return out
