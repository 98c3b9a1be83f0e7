"""Placeholder until the demo lands."""

import click


@click.command("demo")
def demo() -> None:
    """Demo."""
