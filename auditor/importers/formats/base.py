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
    # Fields a record must have to be this format: each group names alternatives (any one will do).
    required: tuple[tuple[str, ...], ...] = ()
    # Fields that mark a record of another format (they must be in `spec`): such a record is rejected.
    foreign: tuple[str, ...] = ()
    foreign_kind: str = ""

    def missing_sql(self) -> str:
        """SQL over `src`: the reject reason for the first required field group a record lacks (or the first
        field of another format it carries), else NULL."""
        whens = [
            f"WHEN nullif(CAST(\"{name}\" AS VARCHAR), '') IS NOT NULL "
            f"THEN 'has {name}: {self.foreign_kind or 'another format'}, not {self.name}'"
            for name in self.foreign
        ]
        for group in self.required:
            present = " OR ".join(f"nullif(CAST(\"{name}\" AS VARCHAR), '') IS NOT NULL" for name in group)
            whens.append(f"WHEN NOT ({present}) THEN '{_missing_reason(group)}'")
        return f"CASE {' '.join(whens)} END" if whens else "NULL::VARCHAR"

    def required_text(self) -> str:
        """The required fields as a person reads them: 'action; @timestamp or created_at'."""
        return "; ".join(" or ".join(group) for group in self.required)

    def spec_literal(self) -> str:
        """The spec as a DuckDB struct literal for read_json(columns=...) and from_json()."""
        items = ", ".join(f"'{key}': '{typ}'" for key, typ in self.spec.items())
        return "{" + items + "}"

    def from_json_spec(self) -> str:
        """The spec as a JSON structure string for from_json()."""
        return json.dumps(dict(self.spec))


def _missing_reason(group: tuple[str, ...]) -> str:
    """'missing action', 'missing @timestamp and created_at' (none of the alternatives is there)."""
    names = list(group)
    return "missing " + (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0])
