"""The reports' form of "open" (`open_sql(alias)`): the one definition in `auditor.findings`, qualified by a
table alias."""

from __future__ import annotations

from auditor.findings import open_sql as _open_sql


def open_sql(alias: str = "") -> str:
    """The open predicate for the `findings` table, columns qualified with `alias` when given."""
    return _open_sql(prefix=f"{alias}." if alias else "")
