"""SQL macros the normalisers share; created per connection, so parsing stays inside DuckDB."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditor.importers.timerule import OUT_OF_RANGE, implausible_sql

if TYPE_CHECKING:
    import duckdb

# Epoch digits -> TIMESTAMP by magnitude: seconds below 1e11 (year 5138), milliseconds below 1e14,
# microseconds below 1e17, nanoseconds above (GitHub's @timestamp is ms; some exporters write ns).
# BETWEEN, not abs(): abs(INT64 min) overflows. Every product stays inside INT64.
AUDITOR_EPOCH = r"""
CREATE OR REPLACE TEMP MACRO auditor_epoch(n) AS (
    CASE
        WHEN n BETWEEN -99999999999 AND 99999999999 THEN make_timestamp(n * 1000000)
        WHEN n BETWEEN -99999999999999 AND 99999999999999 THEN make_timestamp(n * 1000)
        WHEN n BETWEEN -99999999999999999 AND 99999999999999999 THEN make_timestamp(n)
        ELSE make_timestamp(n // 1000)
    END
)
"""

# Fractional epoch values, scaled by the same magnitudes; out of INT64 range -> NULL (try_cast).
AUDITOR_EPOCH_FRACTION = r"""
CREATE OR REPLACE TEMP MACRO auditor_epoch_fraction(d) AS (
    make_timestamp(try_cast(
        CASE WHEN abs(d) < 1e11 THEN d * 1e6 WHEN abs(d) < 1e14 THEN d * 1e3 WHEN abs(d) < 1e17 THEN d
             ELSE d / 1e3 END AS BIGINT))
)
"""

# Any timestamp shape seen in vendor exports -> naive UTC TIMESTAMP (NULL when unparseable):
# epoch s/ms/us/ns (auditor_epoch), ISO 8601 with or without zone and with 0-9 fraction digits,
# and US-style "M/D/YYYY h:mm:ss [AM|PM] [+hh:mm]" (month first, as Azure writes it).
# Never raises: a value DuckDB cannot represent is NULL. The plausible range is checked by the
# normalisers (auditor.importers.timerule), so an implausible time is rejected with its own reason.
AUDITOR_TS = r"""
CREATE OR REPLACE TEMP MACRO auditor_ts(s) AS (
    CASE
        WHEN s IS NULL THEN NULL
        -- epoch digits (the common case: GitHub's @timestamp) without any regex
        WHEN try_cast(s AS BIGINT) IS NOT NULL AND NOT contains(s, '.') AND NOT contains(lower(s), 'e') THEN
            auditor_epoch(try_cast(s AS BIGINT))
        WHEN trim(s) = '' THEN NULL
        WHEN regexp_full_match(trim(s), '[-+]?\d{1,19}') THEN auditor_epoch(try_cast(trim(s) AS BIGINT))
        WHEN regexp_full_match(trim(s), '-?\d+\.\d+') THEN auditor_epoch_fraction(try_cast(trim(s) AS DOUBLE))
        WHEN regexp_matches(s, '^\s*\d{1,2}/\d{1,2}/\d{4}') THEN
            CAST(try_strptime(regexp_replace(trim(s), '\s+', ' ', 'g'), [
                '%m/%d/%Y %I:%M:%S %p %z', '%m/%d/%Y %I:%M:%S %p', '%m/%d/%Y %H:%M:%S %z',
                '%m/%d/%Y %H:%M:%S', '%m/%d/%Y %I:%M %p', '%m/%d/%Y %H:%M', '%m/%d/%Y'
            ]) AS TIMESTAMP)
        ELSE CAST(try_cast(regexp_replace(trim(s), '(\.\d{6})\d+', '\1') AS TIMESTAMPTZ) AS TIMESTAMP)
    END
)
"""

# The timestamp rule for the normalisers' reject CASE: `WHEN _ts IS NULL THEN 'unparseable timestamp'
# WHEN auditor_ts_implausible(_ts) THEN auditor_ts_out_of_range()` (each evaluated once per row).
AUDITOR_TS_IMPLAUSIBLE = f"""
CREATE OR REPLACE TEMP MACRO auditor_ts_implausible(ts) AS ({implausible_sql("ts")})
"""
AUDITOR_TS_OUT_OF_RANGE = f"""
CREATE OR REPLACE TEMP MACRO auditor_ts_out_of_range() AS ('{OUT_OF_RANGE}')
"""

# A parsed time kept only when plausible (for optional times such as a user's createdDateTime).
AUDITOR_TS_PLAUSIBLE = f"""
CREATE OR REPLACE TEMP MACRO auditor_ts_plausible(ts) AS (CASE WHEN NOT {implausible_sql("ts")} THEN ts END)
"""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the shared macros on this connection (TimeZone must already be UTC)."""
    for macro in (
        AUDITOR_EPOCH,
        AUDITOR_EPOCH_FRACTION,
        AUDITOR_TS,
        AUDITOR_TS_IMPLAUSIBLE,
        AUDITOR_TS_OUT_OF_RANGE,
        AUDITOR_TS_PLAUSIBLE,
    ):
        con.execute(macro)
