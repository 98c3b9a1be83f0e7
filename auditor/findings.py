"""The findings contract: the stable JSON shape other tools parse, and reading findings back."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.workspace.store import Workspace

SEVERITIES = ("info", "low", "medium", "high", "critical")
STATUSES = ("new", "triaged", "false_positive", "confirmed")


def iso_utc(value: datetime) -> str:
    """ISO 8601 UTC with a Z, seconds precision (TIMESTAMP columns are naive UTC)."""
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


@dataclass(frozen=True)
class Finding:
    """One finding of a check or the detector. Field names are a public contract: add, never rename."""

    id: str
    analytic: str
    severity: str
    score: int
    platform: str | None
    actor: str | None
    identity: str | None
    repos: list[str]
    first_seen: datetime
    last_seen: datetime
    reasons: list[str]
    evidence: list[str]
    suppressed: bool
    suppression_reason: str | None
    status: str = "new"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_seen"] = iso_utc(self.first_seen)
        data["last_seen"] = iso_utc(self.last_seen)
        return data


COLUMNS = (
    "id, analytic, severity, score, platform, actor, identity, repos, first_seen, last_seen, "
    "reasons, evidence, suppressed, suppression_reason, coalesce(status, 'new')"
)


def load_findings(ws: Workspace, include_suppressed: bool = True) -> list[Finding]:
    """All findings, most severe and highest score first."""
    where = "" if include_suppressed else "WHERE NOT suppressed"
    rows = ws.con.execute(
        f"SELECT {COLUMNS} FROM findings {where} "
        "ORDER BY suppressed, list_position(['critical','high','medium','low','info'], severity), "
        "score DESC, first_seen, id"
    ).fetchall()
    return [
        Finding(
            id=r[0],
            analytic=r[1],
            severity=r[2],
            score=int(r[3]),
            platform=r[4],
            actor=r[5],
            identity=r[6],
            repos=list(r[7] or []),
            first_seen=r[8],
            last_seen=r[9],
            reasons=list(r[10] or []),
            evidence=list(r[11] or []),
            suppressed=bool(r[12]),
            suppression_reason=r[13],
            status=r[14],
        )
        for r in rows
    ]


def findings_json(findings: list[Finding]) -> str:
    return json.dumps([f.to_json() for f in findings], indent=2, ensure_ascii=False)


def findings_csv(findings: list[Finding]) -> str:
    """CSV with list fields joined by '; '. Cells starting with =,+,-,@ are quoted against formula injection."""
    out = io.StringIO()
    fields = list(Finding.__dataclass_fields__)
    writer = csv.writer(out)
    writer.writerow(fields)
    for finding in findings:
        data = finding.to_json()
        row = []
        for name in fields:
            value = data[name]
            text = "; ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
            if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
                text = "'" + text
            row.append(text)
        writer.writerow(row)
    return out.getvalue()
