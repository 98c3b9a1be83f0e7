"""The one timestamp rule enforced at import: a record's time must be plausible or the line is rejected.

Plausible means from 1990-01-01 (before any of the platforms kept audit logs) to one day after now
(clock skew between a platform and this machine). Anything else — `infinity`, year 0001, year 99999,
an epoch value read at the wrong magnitude — is a line-level reject with this reason, never an event.
Migration 11 applies the same rule to rows an older version stored.
"""

from __future__ import annotations

PLAUSIBLE_FROM = "1990-01-01"
PLAUSIBLE_SLACK = "1 day"
OUT_OF_RANGE = f"timestamp out of range (plausible: {PLAUSIBLE_FROM} to now + {PLAUSIBLE_SLACK})"


def implausible_sql(col: str) -> str:
    """SQL that is true when TIMESTAMP `col` breaks the rule (NULL stays NULL: unparseable is its own reason)."""
    return (
        f"(NOT isfinite({col}) OR {col} < TIMESTAMP '{PLAUSIBLE_FROM}' "
        f"OR {col} > CAST(now() AS TIMESTAMP) + INTERVAL '{PLAUSIBLE_SLACK}')"
    )
