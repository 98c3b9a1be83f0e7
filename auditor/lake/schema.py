"""The lake's documented schema (version LAKE_VERSION): which tables, their columns and types, which are
required, and how events are partitioned. Written as `_schema.json` beside the data; README documents it.
The tables and columns are the workspace's own spec (auditor/workspace/tables.py)."""

from __future__ import annotations

from typing import Any

from auditor.workspace.tables import TABLES, Column, column_list

LAKE_FORMAT = "repo-auditor-lake"
LAKE_VERSION = 1
SCHEMA_FILE = "_schema.json"
EVENT_PARTITIONS = ("platform", "day")  # hive-style folders: events/platform=github/day=2025-09-27/
__all__ = ["EVENT_PARTITIONS", "LAKE_FORMAT", "LAKE_VERSION", "SCHEMA_FILE", "TABLES", "Column", "column_list",
           "schema_document"]  # fmt: skip


def schema_document() -> dict[str, Any]:
    """The content of `_schema.json`."""
    return {
        "format": LAKE_FORMAT,
        "version": LAKE_VERSION,
        "timestamps": "naive UTC (Parquet TIMESTAMP, isAdjustedToUTC=false); adjusted-to-UTC timestamps are accepted",
        "tables": {
            name: {
                "path": f"{name}/",
                "partition_by": list(EVENT_PARTITIONS) if name == "events" else [],
                "columns": [{"name": c.name, "type": c.type, "required": c.required} for c in cols],
            }
            for name, cols in TABLES.items()
        },
    }
