"""One rule for every CSV a person opens in a spreadsheet: a text cell that a spreadsheet would run as a
formula is written as plain text.

A text cell starting with = + - @, a tab or a carriage return gets a leading apostrophe (spreadsheets show
it as text); so does a cell that already starts with an apostrophe, so removing one leading apostrophe
always gives the value back (`unescape`). Numbers are left as they are. JSON copies stay raw.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_START = (*FORMULA_START, "'")


def neutralise(value: Any) -> Any:
    """`value` with a leading apostrophe when it is text starting with a formula character or an apostrophe."""
    if isinstance(value, str) and value.startswith(_ESCAPED_START):
        return "'" + value
    return value


def unescape(value: str) -> str:
    """The value `neutralise` was given (one leading apostrophe removed when it escapes something)."""
    return value[1:] if value.startswith("'") and len(value) > 1 and value[1] in _ESCAPED_START else value


def neutralise_sql(column: str) -> str:
    """The same rule as a DuckDB expression over a VARCHAR column (for COPY ... TO csv)."""
    starts = ", ".join(f"chr({ord(c)})" for c in _ESCAPED_START)
    return f"CASE WHEN left({column}, 1) IN ({starts}) THEN chr(39) || {column} ELSE {column} END"


def write_rows(fh: IO[str], header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> None:
    """A CSV of `rows` (after an optional `header`) with every cell neutralised."""
    writer = csv.writer(fh)
    if header is not None:
        writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
