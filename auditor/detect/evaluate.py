"""Detection quality against the sandbox's labelled ground truth: per scenario, precision, recall.

A scenario is detected when an open (not suppressed) finding at severity >= medium names its
actor on its platform and overlaps its time span (with an hour's slack either side). Precision
counts every open finding at >= medium that matches no incident as a false positive, so noise on
unlabelled accounts costs as much as a flagged benign workflow.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from auditor.findings import load_findings
from auditor.workspace.store import Workspace


class Alert(Protocol):
    """What scoring needs of an alert: a finding, or an alert of a published rule (anchors)."""

    @property
    def id(self) -> str: ...
    @property
    def platform(self) -> str | None: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def first_seen(self) -> datetime: ...
    @property
    def last_seen(self) -> datetime: ...


ALERTING = ("medium", "high", "critical")
SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    label: str
    expected: bool
    got: bool
    finding_ids: list[str]

    @property
    def ok(self) -> bool:
        return self.expected == self.got


@dataclass
class EvalResult:
    """Per-scenario outcomes and the totals; `to_json` is the `auditor eval --json` contract."""

    scenarios: list[ScenarioResult] = field(default_factory=list)
    unmatched_alerts: list[str] = field(default_factory=list)

    @property
    def true_positives(self) -> int:
        return sum(1 for s in self.scenarios if s.expected and s.got)

    @property
    def false_positives(self) -> int:
        return sum(1 for s in self.scenarios if not s.expected and s.got) + len(self.unmatched_alerts)

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        incidents = sum(1 for s in self.scenarios if s.expected)
        return self.true_positives / incidents if incidents else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "unmatched_alerts": self.unmatched_alerts,
            "scenarios": [
                {
                    "name": s.name,
                    "label": s.label,
                    "expected": s.expected,
                    "got": s.got,
                    "ok": s.ok,
                    "findings": s.finding_ids,
                }
                for s in self.scenarios
            ],
        }


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _matches(finding: Alert, scenario: dict[str, Any]) -> bool:
    if finding.platform != scenario["platform"] or finding.actor != scenario["actor"]:
        return False
    start, end = _time(scenario["start"]) - SLACK, _time(scenario["end"]) + SLACK
    return finding.first_seen <= end and finding.last_seen >= start


def evaluate(ws: Workspace, ground_truth: Path) -> EvalResult:
    """Compare the workspace's findings with a sandbox ground_truth.json."""
    truth = json.loads(ground_truth.read_text(encoding="utf-8"))
    # Only detections count: failed governance checks (analytic check:*) are findings too, but not alerts.
    alerts = [
        f for f in load_findings(ws, include_suppressed=False) if f.severity in ALERTING and f.analytic == "AN0732"
    ]
    return score_alerts(alerts, truth)


def score_alerts(alerts: Sequence[Alert], truth: dict[str, Any]) -> EvalResult:
    """Per-scenario hits, and alerts that match nothing labelled, for any list of alerts."""
    result = EvalResult()
    matched: set[str] = set()
    for scenario in truth["scenarios"]:
        hits = [f.id for f in alerts if _matches(f, scenario)]
        if scenario["label"] == "incident":
            matched.update(hits)
        result.scenarios.append(
            ScenarioResult(scenario["name"], scenario["label"], scenario["label"] == "incident", bool(hits), hits)
        )
    result.unmatched_alerts = [f.id for f in alerts if f.id not in matched and not _benign_hit(f, truth)]
    return result


def _benign_hit(finding: Alert, truth: dict[str, Any]) -> bool:
    """Alerts on a benign scenario are already counted there, not again as unmatched."""
    return any(_matches(finding, s) for s in truth["scenarios"] if s["label"] != "incident")
