"""Placeholder until the sandbox generator lands."""

import click


@click.group("sandbox")
def sandbox() -> None:
    """Simulated tenant."""
