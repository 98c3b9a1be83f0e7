"""`auditor rejected`: the lines imports kept aside, with file, line, reason and an excerpt."""

from __future__ import annotations

from typing import Any

import click

from auditor.cli.context import AppContext
from auditor.cli.output import echo_listing, wide_console

FIELDS = ("path", "line", "reason", "excerpt", "format", "imported_at")
EXCERPT = 120


def _excerpt(text: str | None) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


def rejected_rows(con: Any) -> list[dict[str, Any]]:
    """Every rejected line, by import time, file and line; excerpts cut to EXCERPT characters."""
    rows = con.execute(
        "SELECT r.path, r.line_no, r.reason, r.excerpt, i.format, i.imported_at "
        "FROM rejected_lines r LEFT JOIN imports i ON i.import_id = r.import_id "
        "ORDER BY i.imported_at NULLS LAST, r.path, r.line_no"
    ).fetchall()
    return [
        {
            "path": path,
            "line": line,
            "reason": reason,
            "excerpt": _excerpt(excerpt),
            "format": fmt,
            "imported_at": at.isoformat() + "Z" if at else None,
        }
        for path, line, reason, excerpt, fmt, at in rows
    ]


@click.command("rejected")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.pass_obj
def rejected(app: AppContext, fmt: str) -> None:
    """List the lines imports rejected: file, line, reason and an excerpt (at most 120 characters).

    \b
    Example:
      auditor rejected
      auditor rejected --format json | jq '.[] | select(.reason | startswith("timestamp"))'
    """
    rows = rejected_rows(app.workspace().con)
    if echo_listing(rows, FIELDS, fmt):
        return
    out = wide_console()
    if not rows:
        out.print("No rejected lines.")
        return
    from rich.table import Table

    table = Table(title=f"Rejected lines ({len(rows)})")
    for col in ("file:line", "reason", "excerpt"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(f"{r['path']}:{r['line']}", r["reason"], r["excerpt"])
    out.print(table)
