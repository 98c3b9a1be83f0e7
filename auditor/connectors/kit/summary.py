"""What one connector run reports: the same shape (and the same table) for every platform.

A subclass names its platform and adds its own fields; `to_json()` is the stable `--json` contract and
`render()` is the human table. Neither may crash on a platform's missing field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from auditor.connectors.gaps import Gap


@dataclass
class CollectSummary:
    """Counts per resource, the gaps, and the snapshot the run wrote."""

    snapshot_id: str
    counts: dict[str, int] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)

    platform: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def head(self) -> dict[str, object]:
        """Fields that identify the source (JSON, before `counts`)."""
        return {}

    def tail(self) -> dict[str, object]:
        """Fields about what the run brought in (JSON, after `counts`)."""
        return {}

    def title(self) -> str:
        """The source in words: 'GitHub acme-corp'."""
        return " ".join([self.label, *(str(v) for v in self.head().values())])

    def notes(self) -> list[str]:
        """Sentences under the counts (new events, requests)."""
        return []

    def to_json(self) -> dict[str, object]:
        return {
            "snapshot_id": self.snapshot_id,
            "platform": self.platform,
            **self.head(),
            "counts": dict(self.counts),
            **self.tail(),
            "coverage_gaps": [g.to_json() for g in self.gaps],
        }

    def render(self, out: Any) -> None:
        """Print the run as a table of counts, then its notes and every coverage gap, on rich console `out`."""
        from rich.markup import escape
        from rich.table import Table

        out.print(escape(f"{self.title()} (snapshot {self.snapshot_id})"), soft_wrap=True)
        table = Table()
        table.add_column("resource")
        table.add_column("count", justify="right")
        for key, value in self.counts.items():
            table.add_row(key.replace("_", " "), str(value))
        out.print(table)
        for note in self.notes():
            out.print(escape(note), soft_wrap=True)
        if not self.gaps:
            out.print("No coverage gaps.")
        for gap in self.gaps:
            text = escape(f"{gap.source}: {gap.consequence}. Needs: {gap.needs}.")
            out.print(f"[yellow]coverage gap:[/yellow] {text}", soft_wrap=True)
