"""The DuckDB workspace: schema, migrations, the evidence store and transactions."""
