"""Coverage gaps visible from imported logs alone: signals AN0732 needs that the files do not hold."""

from __future__ import annotations

import duckdb

from auditor.workspace.store import utcnow

SOURCE = "imported logs"

# (platform, present-condition, missing-condition, needs, consequence). A gap is recorded when the
# platform has events (present) but none match the signal (missing). All set-based over events.
_RULES: list[tuple[str, str, str, str, str]] = [
    (
        "github",
        "platform = 'github'",
        "platform = 'github' AND action LIKE 'git.%'",
        "GitHub Git events (git.clone/git.fetch): audit-log streaming, or an export with include=git|all within 7 days",
        "clones and fetches are invisible; GitHub keeps Git events only 7 days and not in the UI export",
    ),
    (
        "github",
        "platform = 'github'",
        "platform = 'github' AND action = 'api.request'",
        "GitHub api.request events: enterprise audit-log streaming with API request events enabled",
        "repository content read through the REST API (contents, tarball, zipball) is invisible",
    ),
    (
        "gitlab",
        "platform = 'gitlab'",
        "platform = 'gitlab' AND action = 'repository_git_operation'",
        "GitLab repository_git_operation events: audit event streaming (Ultimate)",
        "git clone/pull of GitLab projects is invisible; GitLab never stores these events",
    ),
    (
        "entra",
        "platform IN ('github', 'gitlab')",
        "platform = 'entra'",
        "Entra ID sign-in logs (Graph export or diagnostic settings)",
        "no login context: new countries, impossible travel and IdP risk cannot be joined to downloads",
    ),
]


def refresh_import_gaps(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the import-derived gaps with what the workspace's events now show."""
    con.execute("DELETE FROM coverage_gaps WHERE source = ?", [SOURCE])
    now = utcnow()
    for platform, present, missing, needs, consequence in _RULES:
        con.execute(
            "INSERT INTO coverage_gaps SELECT ?, ?, ?, ?, NULL, ? "
            f"WHERE EXISTS (SELECT 1 FROM events WHERE {present}) "
            f"AND NOT EXISTS (SELECT 1 FROM events WHERE {missing})",
            [platform, SOURCE, needs, consequence, now],
        )
    con.execute(
        "INSERT INTO coverage_gaps SELECT 'entra', ?, ?, ?, NULL, ? "
        "WHERE EXISTS (SELECT 1 FROM events WHERE platform IN ('github', 'gitlab')) "
        "AND NOT EXISTS (SELECT 1 FROM identities)",
        [
            SOURCE,
            "Entra users (Graph /users with department, jobTitle, employeeType, userType)",
            "account classes come from behaviour only; contractors, guests and non-developers are not known",
            now,
        ],
    )
