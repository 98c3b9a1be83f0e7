"""Progress and verbosity: a spinner on stderr for long work (only on a terminal, never with --quiet), and
`--verbose` logging. The global flags are set once per invocation by the root command."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# Libraries whose logs -vv shows too (the connectors' HTTP clients and SDKs).
THIRD_PARTY_LOGGERS = ("github", "gitlab", "urllib3", "httpx", "azure", "msgraph", "kiota_http", "duckdb")


@dataclass
class Verbosity:
    """--quiet (no progress) and --verbose (0: none, 1: the tool's logs, 2: also its libraries')."""

    quiet: bool = False
    verbose: int = 0


STATE = Verbosity()
_active: list[Callable[[str], None]] = []  # the running spinner's update, so nested work reuses it


def configure(quiet: bool, verbose: int) -> None:
    """Apply the global flags: remember them and, with --verbose, send log records to stderr."""
    STATE.quiet, STATE.verbose = quiet, verbose
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger("auditor")
        root.addHandler(handler)
        root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
        if verbose > 1:
            for name in THIRD_PARTY_LOGGERS:
                lib = logging.getLogger(name)
                lib.addHandler(handler)
                lib.setLevel(logging.DEBUG)


def progress_console() -> Any:
    """A rich Console on stderr that stays silent with --quiet or when stderr is not a terminal (a pipe, a log
    file, a CI job), so progress never lands in captured output."""
    from auditor.cli.output import console

    out = console(stderr=True)
    if STATE.quiet or not out.is_terminal:
        out.quiet = True
    return out


@contextmanager
def progress(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner with `message` on stderr while the block runs; yields a function that changes the message.
    Silent with --quiet or off a terminal; inside another spinner it updates that one (rich allows one).
    Each message is also logged (auditor.progress, INFO), which --verbose shows with a timestamp."""
    log = logging.getLogger("auditor.progress")
    if _active:
        _active[-1](message)
        yield _active[-1]
        return
    out = progress_console()
    log.info(message)
    if out.quiet:

        def log_only(text: str) -> None:
            log.info(text)

        _active.append(log_only)
        try:
            yield log_only
        finally:
            _active.pop()
        return
    with out.status(message) as status:

        def update(text: str) -> None:
            log.info(text)
            status.update(text)

        _active.append(update)
        try:
            yield update
        finally:
            _active.pop()
