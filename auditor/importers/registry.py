"""The explicit list of importable formats, in the order they are tried when sniffing."""

from __future__ import annotations

from auditor.errors import InputError
from auditor.importers.formats.base import Format
from auditor.importers.formats.entra import (
    ENTRA_SIGNIN_CSV,
    ENTRA_SIGNIN_DIAGNOSTIC,
    ENTRA_SIGNIN_GRAPH,
    ENTRA_SIGNIN_LOG_ANALYTICS,
    ENTRA_USERS,
)
from auditor.importers.formats.github import GITHUB_AUDIT
from auditor.importers.formats.gitlab import GITLAB_API_LOG, GITLAB_AUDIT

FORMATS: tuple[Format, ...] = (
    GITHUB_AUDIT,
    GITLAB_AUDIT,
    GITLAB_API_LOG,
    ENTRA_SIGNIN_DIAGNOSTIC,
    ENTRA_SIGNIN_LOG_ANALYTICS,
    ENTRA_SIGNIN_GRAPH,
    ENTRA_SIGNIN_CSV,
    ENTRA_USERS,
)

BY_NAME = {fmt.name: fmt for fmt in FORMATS}


def get_format(name: str) -> Format:
    """Look up a format by its name (for --format); unknown names list the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise InputError(f"unknown format {name!r}; known formats: {', '.join(BY_NAME)}") from None
