"""A sandbox API server in its own process for the collect benchmarks, so client timings are the client's own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_NAMES = {"graph": "Graph", "github": "GitHub", "gitlab": "GitLab"}


@contextmanager
def sandbox_server(platform: str, *args: str, stop_wait_s: float = 10) -> Iterator[str]:
    """Run `auditor sandbox serve PLATFORM ARGS... --port 0 --quiet`; yield its base URL, terminate it on exit."""
    cmd = [sys.executable, "-m", "auditor", "sandbox", "serve", platform, *args, "--port", "0", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        url = next((line.split()[2] for line in proc.stdout if line.startswith("base URL:")), None)
        if url is None:
            raise SystemExit(f"the sandbox {_NAMES.get(platform, platform)} server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=stop_wait_s)
