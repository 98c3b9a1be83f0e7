"""One exception root that carries where a problem came from (file:line or endpoint)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNUSABLE = 2


class AuditorError(Exception):
    """Root of every error the tool reports to a user; `where` names the file:line or endpoint."""

    exit_code = EXIT_UNUSABLE

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigError(AuditorError):
    """The configuration file is unreadable, has unknown keys or wrong types, or names a missing secret."""


class InputError(AuditorError):
    """An input file cannot be used (unknown format, unreadable, empty)."""


class WorkspaceError(AuditorError):
    """The workspace cannot be opened or migrated."""
