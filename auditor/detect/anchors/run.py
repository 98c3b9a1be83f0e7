"""Run the published rules (this folder's SQL) and merge each rule's overlapping windows per actor into
alerts, so `auditor eval` can score them exactly like AN0732 findings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from auditor.detect.engine import Engine
from auditor.detect.evaluate import EvalResult, score_alerts

# name -> where it is published (detection-anchors notes)
ANCHORS = {
    "elastic_pat_clones": "Elastic: High Number of Cloned GitHub Repos From PAT",
    "elastic_user_clones": "Elastic: Exfiltration via High Number of Repository Clones by User",
    "secops_nonpublic_burst": "Google SecOps community: >5 non-public repos cloned or zipped in 30 min",
    "secops_pat_then_clones": "Google SecOps community: PAT granted, then >5 clones in 30 min",
    "datadog_pat_many_clones": "Datadog: PAT used to clone >=5 repositories per token and actor in 1 h",
    "datadog_token_new_user_agent": "Datadog: GitHub token used from a new user agent (7-day learning per token)",
    "elastic_private_repo_unusual_ip": "Elastic: Activity on a Private Repository from an Unusual IP (7-day history)",
}


@dataclass(frozen=True)
class AnchorAlert:
    id: str
    platform: str | None
    actor: str | None
    first_seen: datetime
    last_seen: datetime


def _merge(rule: str, rows: list[dict[str, Any]]) -> list[AnchorAlert]:
    rows = sorted(rows, key=lambda r: (r["platform"], r["actor"], r["first_seen"]))
    out: list[AnchorAlert] = []
    for r in rows:
        last = out[-1] if out else None
        if last and last.platform == r["platform"] and last.actor == r["actor"] and r["first_seen"] <= last.last_seen:
            out[-1] = AnchorAlert(
                last.id, last.platform, last.actor, last.first_seen, max(last.last_seen, r["last_seen"])
            )
            continue
        key = f"{rule}|{r['platform']}|{r['actor']}|{r['first_seen'].isoformat()}"
        uid = f"{rule}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
        out.append(AnchorAlert(uid, r["platform"], r["actor"], r["first_seen"], r["last_seen"]))
    return out


def run_anchor(engine: Engine, name: str) -> list[AnchorAlert]:
    sql = resources.files("auditor.detect.anchors").joinpath(f"{name}.sql").read_text(encoding="utf-8")
    return _merge(name, engine.query(sql))


def score_anchors(engine: Engine, truth: dict[str, Any]) -> list[tuple[str, str, EvalResult, int]]:
    """(rule, source, result, alerts) for every published rule on the engine's events."""
    out = []
    for name, source in ANCHORS.items():
        alerts = run_anchor(engine, name)
        out.append((name, source, score_alerts(alerts, truth), len(alerts)))
    return out


def anchor_row(name: str, source: str, result: EvalResult, alerts: int) -> dict[str, Any]:
    """One rule's line of `auditor eval --json` `anchors`. A rule that raised no alert has no precision
    (None, shown as n/a), rather than the vacuous 1.0 that would read as a perfect rule."""
    return {
        "name": name,
        "source": source,
        "precision": round(result.precision, 4) if alerts else None,
        "recall": round(result.recall, 4),
        "alerts": alerts,
        "missed": [s.name for s in result.scenarios if s.expected and not s.got],
        "benign_flagged": [s.name for s in result.scenarios if not s.expected and s.got],
    }
