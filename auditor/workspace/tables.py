"""The normalised workspace tables, declared once: each column's name, DuckDB type and whether it is
required. The Parquet lake schema (auditor/lake/schema.py), the importer's column lists and the
connectors' inserts read them from here; tests/test_table_specs.py holds the migrated DDL to them.

Migrations (auditor/workspace/schema.py) stay append-only history: a new column is added there and here."""

from __future__ import annotations

from dataclasses import dataclass


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
        leave_at TIMESTAMP
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


BOOKKEEPING = {"events": ("import_id",)}  # workspace-only columns, not part of the spec
PROVENANCE = ("evidence_sha256", "line_no")  # where an event came from: set by the loader, not a normaliser


def columns(table: str, without: tuple[str, ...] = ()) -> tuple[Column, ...]:
    """The spec's columns of `table`, in order, less `without`."""
    return tuple(c for c in TABLES[table] if c.name not in without)


def column_list(table: str, without: tuple[str, ...] = ()) -> str:
    """'a, b, c': the column names of `table` for SELECT and INSERT lists."""
    return ", ".join(c.name for c in columns(table, without))


def column_types(table: str, names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """{name: DuckDB type} for `names` of `table` (KeyError for a name the spec lacks)."""
    spec = {c.name: c.type for c in TABLES[table]}
    return {name: spec[name] for name in names}


def row_types(table: str, names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`column_types` in the shape `json_rows` reads rows with (a list type X[] as '["X"]')."""
    return {name: f'["{t[:-2]}"]' if t.endswith("[]") else t for name, t in column_types(table, names).items()}
