-- Gaps and islands, shared by the episode stages: stages.load_sql expands a line
--   -- @include islands.sql source=R partition=a,b order=c,d start=s end=e gap_minutes=N
-- (N an integer or an integer :parameter; the rest identifiers from our own SQL files) into the CTE
-- `islands`: every row of R with island_no, numbering per partition the runs of rows (in `order`, a
-- total order, so ties cannot number a row into the wrong island) whose start lies within N minutes
-- after the latest end of the rows before them. Callers group by the partition and island_no.
-- Portable SQL: SQLGlot parses it for DuckDB and Spark.
islands AS (
    SELECT *,
           sum(is_new) OVER (PARTITION BY {partition} ORDER BY {order}
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS island_no
    FROM (
        SELECT *,
               CASE WHEN {start} <= max({end}) OVER (
                        PARTITION BY {partition} ORDER BY {order}
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + INTERVAL {gap_minutes} MINUTE
                    THEN 0 ELSE 1 END AS is_new
        FROM {source}
    ) flagged
)
