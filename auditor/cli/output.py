"""Shared output helpers: JSON to stdout, rich tables and status to stderr-safe consoles."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pathlib import Path

    from auditor.findings import Finding
    from auditor.workspace.store import Workspace


def echo_json(data: Any) -> None:
    """One JSON document on stdout (for scripting)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def echo_jsonl(records: Iterable[Any]) -> None:
    """One compact JSON object per line, written as each is produced (JSON Lines, streamable)."""
    for record in records:
        click.echo(json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str))


def echo_machine(ws: Workspace, items: Sequence[Finding], fmt: str, frameworks_dir: Path | None) -> None:
    """Findings as one SARIF 2.1.0 log (`sarif`) or as OCSF JSON Lines (`ocsf`)."""
    from auditor.outputs.rules import check_rules

    rules = check_rules(frameworks_dir)
    if fmt == "sarif":
        from auditor.outputs.sarif import findings_sarif

        echo_json(findings_sarif(items, rules))
    else:
        from auditor.outputs.ocsf import findings_ocsf

        echo_jsonl(findings_ocsf(ws, list(items), rules))


def echo_listing(rows: Sequence[dict[str, Any]], fields: Sequence[str], fmt: str) -> bool:
    """Print `rows` as JSON or CSV and return True; False means the caller draws its table. CSV cells that a
    spreadsheet would run as a formula are neutralised (auditor.csvsafe); JSON stays raw."""
    if fmt == "json":
        echo_json(list(rows))
        return True
    if fmt == "csv":
        import csv
        import io

        from auditor.csvsafe import neutralise

        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(fields))
        writer.writeheader()
        writer.writerows({k: neutralise(v) for k, v in row.items()} for row in rows)
        click.echo(out.getvalue(), nl=False)
        return True
    return False


def _console_class() -> Any:
    """rich's Console, showing bidirectional control characters as `<U+XXXX>` (auditor.bidi) in every string
    it renders (printed text, table cells and titles), so "\u202eevil" cannot read as "live"."""
    from rich.console import Console

    from auditor.bidi import visible

    class SafeConsole(Console):
        def render_str(self, text: str, *args: Any, **kwargs: Any) -> Any:
            return super().render_str(visible(text), *args, **kwargs)

    return SafeConsole


# Output to a pipe, a file or a CI log is not cut: rich would assume 80 columns and fold ids, paths and names.
UNLIMITED_WIDTH = 4096


def console(stderr: bool = False) -> Any:
    """A rich Console (imported lazily so `auditor --help` stays fast): the terminal's width on a terminal,
    else full width (UNLIMITED_WIDTH), so lines in a log or a pipe are never wrapped at 80 columns."""
    cls = _console_class()
    probe = cls(stderr=stderr, highlight=False)
    return probe if probe.is_terminal else cls(stderr=stderr, highlight=False, width=UNLIMITED_WIDTH)


def wide_console() -> Any:
    """A Console for wide tables on stdout (the same rule as `console`)."""
    return console()


def findings_table(findings: Sequence[Finding], title: str, suppression_column: bool) -> Any:
    """A rich Table of findings, most severe first (as given)."""
    from rich.table import Table

    table = Table(title=title)
    columns = ["severity", "score", "actor", "identity", "repos", "first seen (UTC)"]
    for col in columns + (["suppressed"] if suppression_column else []):
        table.add_column(col)
    for f in findings:
        row = [
            f.severity,
            str(f.score),
            f.actor or "",
            f.identity or "",
            str(len(f.repos)),
            f.first_seen.isoformat(sep=" ", timespec="minutes"),
        ]
        table.add_row(*row, *([f.suppression_reason or ""] if suppression_column else []))
    return table
