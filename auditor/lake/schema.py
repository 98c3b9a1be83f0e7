"""The lake's documented schema (version LAKE_VERSION): which tables, their columns and types, which are
required, and how events are partitioned. Written as `_schema.json` beside the data; README documents it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LAKE_FORMAT = "repo-auditor-lake"
LAKE_VERSION = 1
SCHEMA_FILE = "_schema.json"
EVENT_PARTITIONS = ("platform", "day")  # hive-style folders: events/platform=github/day=2025-09-27/


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type; Parquet carries it as the matching physical/logical type
    required: bool = False  # must be present in every file (and never NULL)


def _cols(spec: str) -> tuple[Column, ...]:
    """'name TYPE [!]' per line; '!' marks a required column."""
    out = []
    for line in spec.strip().splitlines():
        parts = line.split()
        out.append(Column(parts[0], parts[1], required=len(parts) > 2 and parts[2] == "!"))
    return tuple(out)


# The workspace's normalised columns (auditor/workspace/schema.py), less its own bookkeeping (import_id).
TABLES: dict[str, tuple[Column, ...]] = {
    "events": _cols(
        """
        event_uid VARCHAR !
        platform VARCHAR !
        source_format VARCHAR !
        ts TIMESTAMP !
        action VARCHAR !
        category VARCHAR !
        actor VARCHAR
        actor_id VARCHAR
        actor_email VARCHAR
        identity VARCHAR
        org VARCHAR
        repo VARCHAR
        repo_visibility VARCHAR
        ip VARCHAR
        country VARCHAR
        city VARCHAR
        latitude DOUBLE
        longitude DOUBLE
        user_agent VARCHAR
        credential_type VARCHAR
        credential_id VARCHAR
        token_scopes VARCHAR
        app_id VARCHAR
        app_name VARCHAR
        route VARCHAR
        http_method VARCHAR
        status_code INTEGER
        outcome VARCHAR
        risk_level VARCHAR
        target VARCHAR
        bytes BIGINT
        permission VARCHAR
        evidence_sha256 VARCHAR !
        line_no BIGINT !
        """
    ),
    "repos": _cols(
        """
        platform VARCHAR !
        full_name VARCHAR !
        repo_id VARCHAR
        visibility VARCHAR
        archived BOOLEAN
        topics VARCHAR[]
        restricted BOOLEAN
        tier INTEGER
        restriction_reason VARCHAR
        first_seen TIMESTAMP
        last_seen TIMESTAMP
        """
    ),
    "accounts": _cols(
        """
        platform VARCHAR !
        login VARCHAR !
        account_id VARCHAR
        email VARCHAR
        is_bot BOOLEAN
        first_seen TIMESTAMP
        last_seen TIMESTAMP
        account_class VARCHAR
        class_rule VARCHAR
        class_evidence VARCHAR
        """
    ),
    "account_links": _cols(
        """
        platform VARCHAR !
        login VARCHAR !
        identity_id VARCHAR
        upn VARCHAR
        linked_by VARCHAR !
        confidence DOUBLE !
        evidence VARCHAR
        """
    ),
    "identities": _cols(
        """
        identity_id VARCHAR !
        upn VARCHAR
        mail VARCHAR
        display_name VARCHAR
        department VARCHAR
        job_title VARCHAR
        employee_type VARCHAR
        user_type VARCHAR
        account_enabled BOOLEAN
        created_at TIMESTAMP
        source_sha256 VARCHAR
        line_no BIGINT
        manager_id VARCHAR
        last_sign_in TIMESTAMP
        last_non_interactive_sign_in TIMESTAMP
        """
    ),
    "identity_risk": _cols(
        """
        snapshot_id VARCHAR !
        identity_id VARCHAR
        upn VARCHAR
        kind VARCHAR !
        risk_level VARCHAR
        risk_state VARCHAR
        event_type VARCHAR
        detected_at TIMESTAMP
        ip VARCHAR
        country VARCHAR
        """
    ),
    "grants": _cols(
        """
        snapshot_id VARCHAR !
        platform VARCHAR !
        account VARCHAR !
        repo VARCHAR !
        role VARCHAR !
        via VARCHAR[] !
        """
    ),
    "snapshots": _cols(
        """
        snapshot_id VARCHAR !
        kind VARCHAR !
        platform VARCHAR
        source VARCHAR
        created_at TIMESTAMP !
        tool_version VARCHAR
        """
    ),
    "memberships": _cols(
        """
        snapshot_id VARCHAR !
        platform VARCHAR !
        kind VARCHAR !
        scope VARCHAR !
        account VARCHAR !
        role VARCHAR !
        via VARCHAR
        source VARCHAR !
        """
    ),
}


def column_list(table: str) -> str:
    return ", ".join(c.name for c in TABLES[table])


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
