"""A JSON document (array export, Graph page) is read whole: check it can be before DuckDB tries.

Its records are not lines, so a byte or syntax error cannot be one line-level reject: the file is
refused (exit 2) with the line and column of the first problem and no quote of its content.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from auditor.errors import InputError
from auditor.importers.lines import find_bad_lines
from auditor.importers.sources import sql_str

NO_LINE_LIMIT = 1 << 62


def check_document(path: Path, evidence: Path) -> None:
    """InputError naming `path` and the line when the document is not UTF-8 or not valid JSON."""
    bad = find_bad_lines(evidence, NO_LINE_LIMIT)
    if bad:
        raise InputError(f"line {bad[0].line_no}: {bad[0].reason}; a JSON document cannot be read past it", str(path))
    with duckdb.connect() as con:  # its own connection: an error here must not abort the import's transaction
        row = con.execute(
            f"SELECT json_valid(ltrim(content, chr(65279))) FROM read_text({sql_str(str(evidence))})"
        ).fetchone()
    if row and row[0]:
        return
    try:
        json.loads(evidence.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise InputError(f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})", str(path)) from None
    except RecursionError:
        raise InputError("line 1: JSON nested too deeply to read", str(path)) from None
    raise InputError("line 1: not valid JSON", str(path))
