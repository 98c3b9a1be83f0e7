"""Shared output helpers: JSON to stdout, rich tables and status to stderr-safe consoles."""

from __future__ import annotations

import json
from typing import Any

import click


def echo_json(data: Any) -> None:
    """One JSON document on stdout (for scripting)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def console(stderr: bool = False) -> Any:
    """A rich Console; imported lazily so `auditor --help` stays fast."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)
