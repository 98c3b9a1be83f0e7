"""SQL that a connector keeps in `.sql` files next to its code (package data), run in order."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_PARAM = re.compile(r"\$([a-z_]+)")


def sql_file(package: str, name: str) -> str:
    """The text of `sql/NAME` in `package`."""
    return resources.files(package).joinpath("sql", name).read_text(encoding="utf-8")


def run_sql_files(
    con: duckdb.DuckDBPyConnection, package: str, names: Sequence[str], params: Mapping[str, object]
) -> None:
    """Execute each file in order, binding the `$name` parameters it uses from `params` (values, never text)."""
    for name in names:
        text = sql_file(package, name)
        used = {key: params[key] for key in set(_PARAM.findall(text))}
        if used:
            con.execute(text, used)
        else:
            con.execute(text)
