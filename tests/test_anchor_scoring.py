"""How published rules are scored beside AN0732 in `auditor eval --json` (`anchors`)."""

from __future__ import annotations

from datetime import datetime

from auditor.detect.anchors.run import AnchorAlert, anchor_row
from auditor.detect.evaluate import score_alerts

TRUTH = {
    "scenarios": [
        {"name": "bulk", "label": "incident", "platform": "github", "actor": "eve",
         "start": "2026-08-01T10:00:00Z", "end": "2026-08-01T10:30:00Z"},
        {"name": "ci", "label": "benign", "platform": "github", "actor": "ci-bot",
         "start": "2026-08-01T02:00:00Z", "end": "2026-08-01T02:20:00Z"},
    ]
}  # fmt: skip


def _alert(actor: str, hour: int) -> AnchorAlert:
    return AnchorAlert(f"r-{actor}", "github", actor, datetime(2026, 8, 1, hour, 5), datetime(2026, 8, 1, hour, 15))


def test_a_rule_that_never_fires_has_no_precision_not_a_perfect_one() -> None:
    row = anchor_row("quiet", "somewhere", score_alerts([], TRUTH), 0)
    assert row["precision"] is None and row["recall"] == 0.0
    assert row["missed"] == ["bulk"] and row["benign_flagged"] == []


def test_a_rule_that_fires_is_scored_on_incidents_and_benign_workflows() -> None:
    alerts = [_alert("eve", 10), _alert("ci-bot", 2)]
    row = anchor_row("loud", "somewhere", score_alerts(alerts, TRUTH), len(alerts))
    assert (row["precision"], row["recall"], row["alerts"]) == (0.5, 1.0, 2)
    assert row["missed"] == [] and row["benign_flagged"] == ["ci"]
