"""SQL macros the normalisers share; created per connection, so parsing stays inside DuckDB."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

# Any timestamp shape seen in vendor exports -> naive UTC TIMESTAMP (NULL when unparseable):
# epoch milliseconds or seconds, ISO 8601 with or without zone and with 0-9 fraction digits,
# and US-style "M/D/YYYY h:mm:ss [AM|PM] [+hh:mm]" (month first, as Azure writes it).
AUDITOR_TS = r"""
CREATE OR REPLACE TEMP MACRO auditor_ts(s) AS (
    CASE
        WHEN s IS NULL THEN NULL
        -- epoch digits (the common case: GitHub's @timestamp) without any regex
        WHEN try_cast(s AS BIGINT) IS NOT NULL AND NOT contains(s, '.') AND NOT contains(lower(s), 'e') THEN
            CASE WHEN abs(try_cast(s AS BIGINT)) >= 100000000000
                 THEN make_timestamp(try_cast(s AS BIGINT) * 1000)
                 ELSE make_timestamp(try_cast(s AS BIGINT) * 1000000) END
        WHEN trim(s) = '' THEN NULL
        WHEN regexp_full_match(trim(s), '-?\d{1,18}') THEN
            CASE WHEN abs(try_cast(trim(s) AS BIGINT)) >= 100000000000
                 THEN make_timestamp(try_cast(trim(s) AS BIGINT) * 1000)
                 ELSE make_timestamp(try_cast(trim(s) AS BIGINT) * 1000000) END
        WHEN regexp_full_match(trim(s), '-?\d+\.\d+') THEN
            make_timestamp(CAST(try_cast(trim(s) AS DOUBLE) * 1000000 AS BIGINT))
        WHEN regexp_matches(s, '^\s*\d{1,2}/\d{1,2}/\d{4}') THEN
            CAST(try_strptime(regexp_replace(trim(s), '\s+', ' ', 'g'), [
                '%m/%d/%Y %I:%M:%S %p %z', '%m/%d/%Y %I:%M:%S %p', '%m/%d/%Y %H:%M:%S %z',
                '%m/%d/%Y %H:%M:%S', '%m/%d/%Y %I:%M %p', '%m/%d/%Y %H:%M', '%m/%d/%Y'
            ]) AS TIMESTAMP)
        ELSE CAST(try_cast(regexp_replace(trim(s), '(\.\d{6})\d+', '\1') AS TIMESTAMPTZ) AS TIMESTAMP)
    END
)
"""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the shared macros on this connection (TimeZone must already be UTC)."""
    con.execute(AUDITOR_TS)
