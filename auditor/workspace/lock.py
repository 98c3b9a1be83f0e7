"""Name who holds a busy workspace: DuckDB's lock-conflict error carries the holder's PID; on Linux
/proc/PID/cmdline names its command. `workspace_lock` holds a workspace for a whole multi-step command."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from auditor.errors import WorkspaceError

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


LOCK_FILE = "auditor.lock"


@contextmanager
def workspace_lock(root: Path, command: str) -> Iterator[Path]:
    """Hold the workspace's lock file (`ROOT/auditor.lock`, an exclusive advisory lock) for a whole multi-step
    command such as `auditor run`; a second holder gets a WorkspaceError naming the first (PID, command, since).
    The lock goes with the process: a killed run never leaves a stale lock behind."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        held_by = os.read(fd, 500).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        raise WorkspaceError(
            f"the workspace is locked by {held_by}; a scheduled run overlaps the previous one: wait for it to finish "
            "(or stop it), then run this again",
            str(path),
        ) from exc
    try:
        started = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()} ({command}) since {started}\n".encode())
        yield path
    finally:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
