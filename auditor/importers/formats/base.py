"""What an import format is: how to recognise a record, which fields to read, and the SQL to normalise."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

Record = Mapping[str, Any]


class Container(Enum):
    """How records are laid out in a file."""

    NDJSON = "ndjson"
    JSON_ARRAY = "json_array"
    JSON_VALUE = "json_value"  # Microsoft Graph page: {"value": [...]}
    CSV = "csv"


@dataclass(frozen=True)
class Format:
    """An importable format.

    `spec` maps top-level field names to DuckDB types (VARCHAR or STRUCT(...)); records are read
    through it, so unexpected types never abort an import. `normalise_sql` is a SELECT over a
    relation named `src` (the spec's columns plus `line_no`) that yields the target table's columns
    plus `reject_reason` (NULL when the record is usable).
    """

    name: str
    platform: str
    target: Literal["events", "identities"]
    spec: Mapping[str, str]
    matches: Callable[[Record], bool]
    normalise_sql: str
    csv_columns: Mapping[str, str] | None = None  # CSV header -> spec path ("a" or "a.b")
    description: str = ""

    def spec_literal(self) -> str:
        """The spec as a DuckDB struct literal for read_json(columns=...) and from_json()."""
        items = ", ".join(f"'{key}': '{typ}'" for key, typ in self.spec.items())
        return "{" + items + "}"

    def from_json_spec(self) -> str:
        """The spec as a JSON structure string for from_json()."""
        return json.dumps(dict(self.spec))
