"""What an executive reads: one-sentence incidents, telemetry blind spots, and the five most important actions.

Derived only from data the other builders already read (findings, incident packs, key numbers, coverage,
checks), so the PDF and the analyst page can't disagree. Plain sentences; escaping is the template's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.reports.controls import failing_controls
from auditor.reports.decisions import plain

if TYPE_CHECKING:
    from auditor.incidents import IncidentPack
    from auditor.reports.context import FindingView, ReportContext
    from auditor.reports.metrics import KeyNumber
    from auditor.reports.views import ChecksView

ACTIONS = 5
TOP_INCIDENTS = 5


@dataclass(frozen=True)
class Action:
    title: str
    detail: str


def incident_sentence(f: FindingView) -> str:
    """ "<actor> (<identity>) on <platform>, <date>: <first reason>" — the first reason states the volume."""
    who = f.actor or "an unknown actor"
    if f.identity and f.identity != f.actor:
        who += f" ({f.identity})"
    what = f.reasons[0] if f.reasons else f"touched {len(f.repos)} restricted repositories."
    extra = len(f.reasons) - 1
    tail = f" {extra} more signal{'s' if extra != 1 else ''} in the analyst report." if extra > 0 else ""
    return f"{who} on {f.platform or 'an unknown platform'}, {f.first_seen}: {what}{tail}"


def top_incidents(findings: Sequence[FindingView]) -> list[tuple[FindingView, str]]:
    """The most severe open AN0732 findings (critical/high first), one sentence each."""
    picked = [f for f in findings if f.analytic.startswith("AN0732")][:TOP_INCIDENTS]
    return [(f, incident_sentence(f)) for f in picked]


def blind_spots(
    ctx: ReportContext, numbers: Sequence[KeyNumber], checks: ChecksView, gaps: Sequence[str] = ()
) -> list[str]:
    """Everything the auditor could not see, in plain words (`gaps`: coverage gaps as sentences, see
    `decisions.gap_sentences`), then silent platforms, short retention, uncollected inventory, unevaluated controls.
    No raw endpoint or URL: every sentence goes through `decisions.plain`."""
    spots = list(gaps)
    spots += [f"No {p} events in this workspace: activity there is not covered." for p in ctx.platforms_without_events]
    for s in ctx.log_sources:
        if s.retention_days is not None and s.retention_days < 90:
            spots.append(
                f"{s.platform} {s.source} keeps {s.retention_days} days"
                + (f" (exported to {s.streaming})" if s.streaming else " and is not exported anywhere")
                + "."
            )
    missing = [n.label for n in numbers if n.value is None]
    if missing:
        spots.append(f"Not collected, so not counted: {', '.join(missing)}.")
    if not checks.collected:
        spots.append("Governance checks have not been run (auditor check): no control is shown as passing.")
    else:
        unknown = sorted({c.title for c in checks.controls if c.status == "not_evaluated"})
        if unknown:
            spots.append(
                f"{len(unknown)} control{'s' if len(unknown) != 1 else ''} could not be evaluated because their "
                f"input was not visible: {'; '.join(unknown)}."
            )
    return [plain(spot) for spot in spots]


def top_actions(
    ctx: ReportContext,
    packs: Sequence[IncidentPack],
    numbers: Sequence[KeyNumber],
    checks: ChecksView,
    gaps: Sequence[str] = (),
) -> list[Action]:
    """The five most important actions, incidents first, then access, credentials, telemetry, controls."""
    actions: list[Action] = []
    for pack in packs[:2]:
        first = pack.containment[0] if pack.containment else None
        actions.append(
            Action(
                f"Contain {pack.actor or 'the actor'} ({pack.severity} incident, {len(pack.repos)} restricted repos)",
                (f"{first.action}: {first.how}. " if first else "") + f"Full steps in incident pack {pack.finding_id}.",
            )
        )
    if len(packs) > 2:
        actions.append(
            Action(
                f"Triage {len(packs) - 2} more high or critical incidents",
                "Each has an incident pack in the analyst report and the evidence pack.",
            )
        )
    by_key = {n.key: n for n in numbers}
    nondev = by_key.get("non_developers_with_access")
    if nondev and nondev.value:
        actions.append(
            Action(
                f"Remove restricted-repo access from {nondev.value:,} non-developer accounts",
                "Start with those holding write or admin; the access review lists each grant's path.",
            )
        )
    risky = by_key.get("risky_credentials")
    if risky and risky.value:
        actions.append(
            Action(
                f"Revoke or rotate {risky.value:,} risky credentials",
                "Tokens and keys with write or admin scope and no expiry, a distant expiry, or no recent use.",
            )
        )
    for control in failing_controls(checks.controls)[:2]:
        actions.append(
            Action(
                f"Fix failing control: {control.title}",
                f"{control.reach} fail this {control.severity} check ({', '.join(control.scopes)}). {control.fix}",
            )
        )
    if gaps:
        actions.append(Action("Close a telemetry blind spot", gaps[0]))
    if any(n.value is None for n in numbers):
        actions.append(
            Action(
                "Collect the GitHub and GitLab inventories",
                "auditor collect: without grants and tokens nobody can say who is able to reach the code.",
            )
        )
    if not checks.collected:
        actions.append(Action("Run the governance checks", "auditor check, then re-render this report."))
    if not actions:
        actions.append(Action("Keep the current controls", "No open incident, gap or failing control was found."))
    return actions[:ACTIONS]
