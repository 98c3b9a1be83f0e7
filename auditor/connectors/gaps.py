"""Coverage gaps of the live connectors: one shape for every platform, printed and stored the same way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.workspace.store import utcnow

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class Gap:
    """A coverage gap: what could not be seen (an endpoint or log), what it needs, and what it costs."""

    source: str
    needs: str
    consequence: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "needs": self.needs, "consequence": self.consequence}


def replace_gaps(
    con: duckdb.DuckDBPyConnection, platform: str, prefix: str, gaps: Iterable[Gap], snapshot_id: str
) -> None:
    """Replace the gaps one connector run owns (sources starting with `prefix`) by `gaps`, each source
    written as prefix + gap.source, so a re-run never leaves a gap that has since been closed."""
    con.execute("DELETE FROM coverage_gaps WHERE platform = ? AND starts_with(source, ?)", [platform, prefix])
    now = utcnow()
    for g in gaps:
        con.execute(
            "INSERT INTO coverage_gaps VALUES (?, ?, ?, ?, ?, ?)",
            [platform, prefix + g.source, g.needs, g.consequence, snapshot_id, now],
        )
