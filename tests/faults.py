"""Run the CLI with a fault injected, as a separate process: `python -m tests.faults FAULT ARGS...`.

FAULT is `enospc-commit` (every workspace transaction fails at COMMIT with DuckDB's "No space left on
device" IO error, after rolling back as DuckDB does) or `enospc-write` (copying a file into the evidence
store fails with OSError ENOSPC). The fault lives only in this test process; production code has no hook.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import duckdb

from auditor.cli import main
from auditor.workspace.store import Workspace


@contextlib.contextmanager
def _failing_commit(self: Workspace) -> Iterator[duckdb.DuckDBPyConnection]:
    self.con.execute("BEGIN TRANSACTION")
    try:
        yield self.con
    finally:
        self.con.execute("ROLLBACK")
    raise duckdb.IOException(
        f'IO Error: Could not write file "{self.root}/auditor.duckdb.wal": No space left on device'
    )


def _failing_copy(src: Any, dst: Any, **_: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))


if __name__ == "__main__":
    fault = sys.argv.pop(1)
    if fault == "enospc-commit":
        Workspace.transaction = _failing_commit  # type: ignore[method-assign]
    elif fault == "enospc-write":
        shutil.copyfile = _failing_copy  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown fault {fault}")
    sys.argv[0] = "auditor"
    main()
