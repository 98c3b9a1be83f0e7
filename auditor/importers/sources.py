"""SQL that exposes a file's records as relation `src` (spec columns + line_no), per container."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from auditor.importers.csvclean import LINE_COLUMN, CleanCsv
from auditor.importers.formats.base import Container, Format
from auditor.importers.lines import BadLine

MAX_OBJECT = 64 << 20


def sql_str(value: str) -> str:
    """A SQL string literal (paths are user input: quote, never interpolate raw)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Source:
    """`src_sql` yields the spec's columns and line_no; `invalid_sql` (if any) yields unusable lines."""

    src_sql: str
    invalid_sql: str | None
    exact_lines: bool


@dataclass(frozen=True)
class Prepared:
    """The exact path's source plus the lines rejected before SQL could read them."""

    source: Source
    rejected: list[BadLine]


def _read_ndjson(fmt: Format, path: str, spec: str) -> str:
    return (
        f"read_json({sql_str(path)}, format='newline_delimited', records='true', ignore_errors=true, "
        f"maximum_object_size={MAX_OBJECT}, columns={spec})"
    )


def ndjson_fast(fmt: Format, chunks: list[tuple[str, int]]) -> Source:
    """Columnar read of NDJSON chunk files, each numbered WITH ORDINALITY plus the lines before it.

    An unusable line becomes an all-NULL row, so numbering stays aligned with lines; lacking the raw
    line, a record without platform id gets no event_uid (the caller then takes the exact path).
    """
    parts = [
        f"SELECT ordinality + {int(offset)} AS line_no, NULL::VARCHAR AS _raw, * EXCLUDE (ordinality) "
        f"FROM {_read_ndjson(fmt, path, fmt.spec_literal())} WITH ORDINALITY"
        for path, offset in chunks
    ]
    return Source(" UNION ALL ".join(parts), None, True)


BLOCK_LINES = 16384  # the exact path's unit: a block of lines redone when the columnar read came up short


def _raw_lines(evidence: str) -> str:
    return (
        f"read_csv({sql_str(evidence)}, columns={{'raw': 'VARCHAR'}}, delim=chr(1), quote='', "
        f"escape='', header=false, auto_detect=false, max_line_size={MAX_OBJECT}, "
        "strict_mode=false, null_padding=true)"
    )


_STATE = (
    "CASE WHEN raw IS NULL OR trim(raw) = '' THEN 'blank' WHEN NOT json_valid(raw) THEN 'not valid JSON' "
    "WHEN json_type(raw) <> 'OBJECT' THEN 'not a JSON object' ELSE 'ok' END AS state"
)


def stage_lines(con: duckdb.DuckDBPyConnection, evidence: str) -> None:
    """Exact path: every physical line with its number into temp table `staged_lines`."""
    con.execute("DROP TABLE IF EXISTS staged_lines")
    con.execute(
        f"CREATE TEMP TABLE staged_lines AS SELECT line_no, raw, {_STATE} "
        f"FROM (SELECT row_number() OVER () AS line_no, raw FROM {_raw_lines(evidence)})"
    )


def stage_numbered(con: duckdb.DuckDBPyConnection, numbered: str) -> None:
    """Exact path over lines already numbered at LF (lines.write_block_lines) into
    `staged_lines`."""
    con.execute("DROP TABLE IF EXISTS staged_lines")
    con.execute(
        f"CREATE TEMP TABLE staged_lines AS SELECT n AS line_no, raw, {_STATE} "
        f"FROM read_json({sql_str(numbered)}, format='newline_delimited', columns={{'n': 'BIGINT', 'raw': 'VARCHAR'}}, "
        f"maximum_object_size={MAX_OBJECT * 2})"
    )


def ndjson_exact(fmt: Format) -> Source:
    """Line-accurate read over `staged_lines`: invalid JSON or non-objects are rejected with a reason."""
    # The CASE keeps from_json away from unusable lines even if the planner evaluates it early.
    src = (
        "SELECT line_no, raw AS _raw, unnest(from_json(CASE WHEN state = 'ok' THEN raw ELSE '{}' END, "
        f"{sql_str(fmt.from_json_spec())})) FROM staged_lines WHERE state = 'ok'"
    )
    invalid = (
        "SELECT line_no, state AS reason, left(raw, 200) AS excerpt "
        "FROM staged_lines WHERE state NOT IN ('ok', 'blank')"
    )
    return Source(src, invalid, True)


def json_document(fmt: Format, evidence: str, container: Container) -> Source:
    """A JSON array or a Graph page: record N of the array is reported as line_no N."""
    path = "$[*]" if container is Container.JSON_ARRAY else "$.value[*]"
    arr = (
        f"SELECT unnest(arr) AS elem, unnest(range(1, len(arr) + 1)) AS line_no FROM "
        f"(SELECT json_extract(ltrim(content, chr(65279)), {sql_str(path)}) AS arr "
        f"FROM read_text({sql_str(evidence)}))"
    )
    src = (
        f"SELECT line_no, elem::VARCHAR AS _raw, unnest(from_json(elem, {sql_str(fmt.from_json_spec())})) "
        f"FROM ({arr}) WHERE json_type(elem) = 'OBJECT'"
    )
    invalid = (
        f"SELECT line_no, 'not a JSON object' AS reason, left(elem::VARCHAR, 200) AS excerpt "
        f"FROM ({arr}) WHERE json_type(elem) <> 'OBJECT'"
    )
    return Source(src, invalid, False)


def _csv_expr(key: str, typ: str, header: dict[str, str]) -> str:
    """One spec column from CSV headers; STRUCT columns are packed from 'key.sub' headers."""
    if typ.startswith("STRUCT("):
        subs = [(h, path.split(".", 1)[1]) for path, h in header.items() if path.startswith(key + ".")]
        if not subs:
            return f'NULL::{typ} AS "{key}"'
        inner = typ[len("STRUCT(") : -1]
        fields = []
        for part in _split_struct_fields(inner):
            name = part.split(" ", 1)[0].strip('"')
            col = next((h for h, sub in subs if sub == name), None)
            fields.append(f'"{name}" := ' + (f'"{col}"' if col else "NULL"))
        return f'CAST(struct_pack({", ".join(fields)}) AS {typ}) AS "{key}"'
    col = header.get(key)
    return f'"{col}" AS "{key}"' if col else f'NULL::VARCHAR AS "{key}"'


def _split_struct_fields(inner: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def csv_source(fmt: Format, clean: CleanCsv) -> Source:
    """A CSV export rewritten by clean_csv: header names map to spec paths (identity mapping unless the
    format gives a table); `_raw` is the record as JSON under its original header names."""
    names = _unique(clean.header)
    mapping = fmt.csv_columns or {name: name for name in names}
    header = {path: clean.column(names.index(name)) for name, path in mapping.items() if name in names}
    cols = ", ".join(_csv_expr(key, typ, header) for key, typ in fmt.spec.items())
    columns = "{" + ", ".join(f"'c{k}': 'VARCHAR'" for k in range(len(names))) + "}"
    reader = (
        f"read_csv({sql_str(str(clean.path))}, header=true, delim=',', quote='\"', escape='\"', "
        f"auto_detect=false, columns={{'{LINE_COLUMN}': 'BIGINT', {columns[1:]}, max_line_size={MAX_OBJECT})"
    )
    raw = ", ".join(f"{_ident(name)} := c{k}" for k, name in enumerate(names))
    src = f"SELECT {LINE_COLUMN} AS line_no, CAST(to_json(struct_pack({raw})) AS VARCHAR) AS _raw, {cols} FROM {reader}"
    return Source(src, None, False)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _unique(header: list[str]) -> list[str]:
    """Header names made unique (a repeated or empty name gets a suffix), as DuckDB names CSV columns."""
    out: list[str] = []
    for k, name in enumerate(header):
        base = name or f"column{k}"
        candidate, n = base, 0
        while candidate in out:
            n += 1
            candidate = f"{base}_{n}"
        out.append(candidate)
    return out
