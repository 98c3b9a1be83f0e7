"""DuckDB stage SQL to Spark SQL: SQLGlot's transpiler plus the few rewrites where its output would run
differently (or not at all) on Spark. Every Spark-only fix lives here, so the stage files stay one copy.

Rewrites (AST level, before SQLGlot generates Spark SQL):
- `list(DISTINCT x [ORDER BY x])` -> `array_sort(collect_set(x))`: SQLGlot drops the ORDER BY and
  Spark's collect_list order is arbitrary. Under a FILTER an empty result is NULL, as DuckDB's is.
- `list(x ORDER BY k)` -> `transform(array_sort(collect_list(struct(k, x))), s -> s.v)` (ordered by k).
- `count(DISTINCT x) OVER (...)` -> `size(collect_set(x) OVER (...))`: Spark has no DISTINCT in
  window aggregates.
- `min(x, n)` (DuckDB's top-n list of the n smallest values) -> `slice(array_sort(collect_list(x)), 1, n)`.
- `quantile_cont(x, p)` / `median(x)` -> `percentile(x, p)` (exact, linearly interpolated like DuckDB's).
- `epoch(ts)` -> seconds as DOUBLE with the microseconds (SQLGlot's unix_timestamp truncates).
- `CREATE [OR REPLACE] TEMP TABLE t AS q` -> a statement the engine materialises (cached DataFrame
  registered as temp view t); Spark has no temporary tables.

Not covered (none of the stages uses them; to_spark raises rather than mistranslate):
`list(DISTINCT x ORDER BY y)` with y other than x. Spark's collect_* skip NULL elements where
DuckDB's list keeps them; no stage lists a nullable value without filtering NULLs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import sqlglot
from sqlglot import exp

from auditor.errors import AuditorError


class SqlPortabilityError(AuditorError):
    """A stage uses a DuckDB construct this module cannot translate faithfully to Spark."""


@dataclass(frozen=True)
class SparkStatement:
    """One Spark SQL statement; `materialise_as` names the temp view a cached result replaces, `view`
    the temp view the statement defines."""

    sql: str
    materialise_as: str | None = None
    view: str | None = None


def _spark(node: exp.Expression) -> str:
    return node.sql(dialect="spark")


def _template(sql: str) -> exp.Expression:
    return cast(exp.Expression, sqlglot.parse_one(sql, read="spark"))


def _unwrap_list(agg: exp.ArrayAgg) -> tuple[exp.Expression, bool, list[exp.Ordered]]:
    """(value, distinct, order keys) of a DuckDB list()/array_agg()."""
    inner = agg.this
    order: list[exp.Ordered] = []
    if isinstance(inner, exp.Order):
        order = list(inner.expressions)
        inner = inner.this
    distinct = isinstance(inner, exp.Distinct)
    if isinstance(inner, exp.Distinct):
        if len(inner.expressions) != 1:
            raise SqlPortabilityError(f"list(DISTINCT ...) of several expressions: {agg.sql('duckdb')}")
        inner = inner.expressions[0]
    return inner, distinct, order


def _list_to_spark(agg: exp.ArrayAgg, where: exp.Where | None) -> exp.Expression:
    value, distinct, order = _unwrap_list(agg)
    flt = f" FILTER ({_spark(where)})" if where is not None else ""
    v = _spark(value)
    if distinct:
        if order and not (len(order) == 1 and order[0].this == value and not order[0].args.get("desc")):
            raise SqlPortabilityError(f"list(DISTINCT x ORDER BY other) has no Spark form here: {agg.sql('duckdb')}")
        collected = f"collect_set({v}){flt}"
        result = f"array_sort({collected})"
    elif order:
        if len(order) != 1 or order[0].args.get("desc"):
            raise SqlPortabilityError(f"list(x ORDER BY ...) supports one ascending key: {agg.sql('duckdb')}")
        k = _spark(order[0].this)
        collected = f"collect_list(struct({k} AS k, {v} AS v)){flt}"
        result = f"transform(array_sort({collected}), s -> s.v)"
    else:
        collected = f"collect_list({v}){flt}"
        result = collected
    if where is not None:
        # DuckDB's list() over no rows is NULL; Spark's collect_* gives an empty array.
        result = f"CASE WHEN size({collected}) = 0 THEN NULL ELSE {result} END"
    return _template(result)


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg):
        return _list_to_spark(node.this, node.expression)
    if isinstance(node, exp.ArrayAgg) and not isinstance(node.parent, exp.Filter):
        return _list_to_spark(node, None)
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Count) and isinstance(node.this.this, exp.Distinct):
        (value,) = node.this.this.expressions
        window = node.copy()
        window.set("this", exp.Anonymous(this="collect_set", expressions=[value.copy()]))
        return exp.Anonymous(this="size", expressions=[window])
    if isinstance(node, exp.Min) and node.args.get("count") is not None:
        return _template(f"slice(array_sort(collect_list({_spark(node.this)})), 1, {_spark(node.args['count'])})")
    if isinstance(node, exp.PercentileCont) and not isinstance(node.parent, exp.WithinGroup):
        return exp.Anonymous(this="percentile", expressions=[node.this.copy(), node.expression.copy()])
    if isinstance(node, exp.Median):
        return exp.Anonymous(this="percentile", expressions=[node.this.copy(), exp.Literal.number("0.5")])
    if isinstance(node, exp.TimeToUnix):
        return _template(f"CAST(unix_micros(CAST({_spark(node.this)} AS TIMESTAMP)) AS DOUBLE) / 1000000")
    return node


def _temp_table(stmt: exp.Expression) -> str | None:
    """The name of a `CREATE TEMP TABLE name AS query`, else None."""
    if not isinstance(stmt, exp.Create) or str(stmt.args.get("kind", "")).upper() != "TABLE":
        return None
    props = stmt.args.get("properties")
    temporary = props is not None and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions)
    return stmt.this.name if temporary and stmt.expression is not None else None


def to_spark(sql: str) -> list[SparkStatement]:
    """Every statement of a DuckDB-dialect script as Spark SQL (comments dropped)."""
    out: list[SparkStatement] = []
    for stmt in sqlglot.parse(sql, read="duckdb"):
        if stmt is None:
            continue
        stmt = cast(exp.Expression, stmt)
        table = _temp_table(stmt)
        body = stmt.expression if table is not None else stmt
        assert body is not None
        rewritten = body.copy().transform(_rewrite)
        view = (
            stmt.this.name
            if isinstance(stmt, exp.Create) and str(stmt.args.get("kind", "")).upper() == "VIEW"
            else None
        )
        out.append(SparkStatement(rewritten.sql(dialect="spark", comments=False), table, view))
    return out
