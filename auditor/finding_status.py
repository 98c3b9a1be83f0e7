"""What "open" means for a finding, in one place, as an SQL predicate every report and summary uses.

A finding is open when it is not suppressed and its status asks for work: new, triaged or confirmed, or an
accepted risk whose acceptance has expired (`status_expires` before today). `false_positive`, `resolved` and
an unexpired `accepted_risk` are closed. A NULL status reads as `new` (findings written before statuses).
Swap this module for the checks branch's definition when both land; callers only use `open_sql`.
"""

from __future__ import annotations

OPEN_STATUSES = ("new", "triaged", "confirmed")


def open_sql(alias: str = "") -> str:
    """The open predicate for the `findings` table, columns qualified with `alias` when given."""
    p = f"{alias}." if alias else ""
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    return (
        f"(NOT {p}suppressed AND (coalesce({p}status, 'new') IN ({statuses}) "
        f"OR ({p}status = 'accepted_risk' AND {p}status_expires < current_date)))"
    )
