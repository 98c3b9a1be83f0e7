"""Name who holds a busy workspace: DuckDB's lock-conflict error carries the holder's PID; on Linux
/proc/PID/cmdline names its command."""

from __future__ import annotations

import re
from pathlib import Path

_PID = re.compile(r"\(PID (\d+)\)")
_LOCK_WORDS = ("Could not set lock on file", "Conflicting lock is held")


def is_lock_conflict(message: str) -> bool:
    """True when a DuckDB error says another process holds the database file."""
    return any(word in message for word in _LOCK_WORDS)


def holder(message: str, proc: Path = Path("/proc")) -> str:
    """'process 1234 (auditor detect)', 'process 1234' when its command is unknown, else 'another process'."""
    found = _PID.search(message)
    if not found:
        return "another process"
    pid = found.group(1)
    try:
        raw = (proc / pid / "cmdline").read_bytes()
    except OSError:
        return f"process {pid}"
    args = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    if len(args) >= 3 and args[1:3] == ["-m", "auditor"]:
        args = ["auditor", *args[3:]]
    command = " ".join(args)
    if len(command) > 200:
        command = command[:197] + "..."
    return f"process {pid} ({command})" if command else f"process {pid}"


def busy_message(message: str) -> str:
    """The user-facing text for a lock conflict."""
    return f"the workspace is in use by {holder(message)}; wait for it to finish or stop it, then run this again"
