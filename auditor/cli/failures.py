"""Turn failures of the machine (not of the tool) into a user-facing AuditorError: a full disk while
writing the workspace or an output file, and a workspace another process holds open."""

from __future__ import annotations

import errno
from typing import Any

import click

from auditor.errors import WorkspaceError
from auditor.workspace.lock import busy_message, is_lock_conflict

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_FULL_WORDS = ("No space left on device", "Disk quota exceeded", "File too large")


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from or during (no cycles)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_duckdb_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb")


def disk_full(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) is ENOSPC/EDQUOT/EFBIG, or DuckDB's IO error reporting one."""
    for item in _chain(exc):
        if isinstance(item, OSError) and item.errno in _FULL_ERRNOS:
            return True
        if _is_duckdb_error(item) and any(word in str(item) for word in _FULL_WORDS):
            return True
    return False


def translate(exc: Exception, workspace: str | None) -> WorkspaceError | None:
    """The AuditorError to report for `exc`, or None when it is not a known failure of the machine."""
    where = workspace or "the workspace"
    if disk_full(exc):
        return WorkspaceError(
            f"disk full (no space left on device) while writing; the workspace {where} keeps its state from "
            "before this command: free space and run it again"
        )
    for item in _chain(exc):
        if _is_duckdb_error(item) and is_lock_conflict(str(item)):
            return WorkspaceError(busy_message(str(item)), workspace)
    return None


class AuditorGroup(click.Group):
    """The root group: known failures of the machine raised by any command become a clear exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            workspace = getattr(ctx.obj, "workspace_dir", None)
            translated = translate(exc, workspace)
            if translated is None:
                raise
            raise translated from exc
