"""Plain-language reasons for an AN0732 finding: what happened, against which baselines, who the
actor is, and what preceded it. Event fields in here are attacker-controlled text; renderers escape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from auditor.config.models import DetectionSettings
from auditor.detect.apps import APP_KIND, app_reasons
from auditor.detect.context import UNLINKED_REASON
from auditor.detect.episode import Episode
from auditor.detect.replay import credential_phrase, network_reason
from auditor.detect.scoring import Baseline, credential_replay

MAX_PRECURSOR_LINES = 6


def _fmt_list(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _minutes(a: datetime, b: datetime) -> int:
    return max(1, round((b - a).total_seconds() / 60))


def _ago(at: datetime, start: datetime) -> str:
    minutes = round((start - at).total_seconds() / 60)
    if minutes <= 0:
        return "during the activity"
    return f"{minutes} min before" if minutes < 120 else f"{round(minutes / 60)} h before"


def _when(at: datetime, e: Episode) -> str:
    """When a signal happened relative to the episode: before it, during it, or after its last download."""
    if at > e.last_seen:
        minutes = round((at - e.last_seen).total_seconds() / 60)
        return f"{minutes} min after the last download" if minutes < 120 else f"{round(minutes / 60)} h after it"
    return _ago(at, e.first_seen)


def _num(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _what(e: Episode, det: DetectionSettings) -> str:
    kind, n = e.kind, e.distinct_repos
    span = _minutes(e.first_seen, e.last_seen)
    if kind == "novelty":
        days = max(1, round((e.last_seen - e.first_seen).total_seconds() / 86400))
        return (
            f"Pulled {n} restricted repositories for the first time over {days} days, after a "
            f"{det.learning_days}-day learning period; the threshold is {det.novel_min_repos_7d} new repositories "
            "in 7 days."
        )
    if kind == "api_rate":
        return (
            f"Read the contents of {n} restricted repositories through the API: {e.downloads} requests in "
            f"{span} minutes."
        )
    if kind == "export":
        return f"Exported {n} restricted project(s) as whole-project archives: {_fmt_list(list(e.repos))}."
    text = (
        f"Downloaded {n} restricted repositories ({e.downloads} downloads) within {span} minutes; the fixed "
        f"threshold is {det.bulk_min_restricted_repos} within {det.bulk_window_minutes} minutes"
    )
    return text + (" (below it: baselines and context decide)." if kind == "candidate" else ".")


def _baseline_lines(e: Episode, b: Baseline, det: DetectionSettings) -> list[str]:
    n = e.distinct_repos
    w5, w1h, w24h, w7d = b.windows
    lines = [
        f"Distinct restricted repositories from the start: {w5} in 5 min, {w1h} in 1 h, {w24h} in 24 h, {w7d} in 7 d."
    ]
    own = (
        f"{b.active_days} active days in the previous {det.history_days}; daily median {_num(b.median)}, "
        f"MAD {_num(b.mad)}, so up to {_num(b.expected)} a day is usual"
    )
    if b.peer_p99 is not None:
        own += f"; peer group {b.peer} ({b.peers} accounts) daily p99 is {_num(b.peer_p99)}"
    lines.append(f"Baseline: {own}.")
    if b.first_time or b.outside_peer:
        lines.append(
            f"{b.first_time} of {n} repositories were never pulled by this account before; {b.outside_peer} were "
            f"not pulled by anyone in its peer group; {b.rare} are rarely pulled (at most one other account); its "
            f"most first pulls on one day before were {b.max_new_day}."
        )
    if b.learning:
        cap = (
            "scored at most medium: its sign-in context is unknown"
            if e.identity_unknown
            else "scored at most low unless identity or credential signals preceded it"
        )
        lines.append(
            f"The data begins less than {det.learning_days} days before this activity, so this account's baseline "
            f"is still learning: {cap}."
        )
    return lines


def reasons_for(e: Episode, b: Baseline, det: DetectionSettings, ctx: dict[str, Any]) -> list[str]:
    """The reasons list of one finding, most important first."""
    # An app's own context (owners, its history) replaces the account baselines.
    reasons = app_reasons(e, det) if e.kind == APP_KIND else [_what(e, det), *_baseline_lines(e, b, det)]
    tier1 = e.tier1_repos
    if tier1:
        reasons.append(f"Includes {len(tier1)} tier-1 repositories: {_fmt_list(tier1)}.")
    if ctx.get("account_class"):
        reasons.append(f"Account class: {ctx['account_class']} ({ctx['class_rule']}).")
    if e.identity_unknown:
        reasons.append(UNLINKED_REASON)
    for text, _ in e.departure:
        reasons.append(f"Departing person: {text}.")
    broad = e.broad_grant_repos
    if broad:
        reasons.append(
            f"Access to {len(broad)} of these repositories comes only through a broad grant "
            f"({_fmt_list(sorted({v for _, v in broad}), 3)}), not a team or direct grant."
        )
    if e.credential_types or e.credential_ids:
        reasons.append(f"Credential used: {credential_phrase(e)}.")
    if e.app_ids:
        reasons.append(f"Through OAuth/GitHub App id(s): {_fmt_list(e.app_ids)}.")
    where = []
    if e.ips:
        where.append(f"IP {_fmt_list(e.ips, 3)}")
    if e.countries:
        where.append(f"country {_fmt_list(e.countries, 3)}")
    if where:
        reasons.append("From " + "; ".join(where) + ".")
    network = network_reason(e, det.precursor_lookback_hours)
    if network:
        reasons.append(network)
    if credential_replay(e):  # the credential baselines' new network and country, with the replay indicator
        reasons.append(
            f"Credential replay: {credential_phrase(e)} used from a network and a country outside the credential's "
            "own history, where its owner did not sign in (details below)."
        )
    if e.routine and e.score <= 20 and e.kind != APP_KIND:
        reasons.append(
            f"Routine for this account: similar activity on {e.routine_days} other day(s) in the previous 35 "
            "days, mostly repositories it pulled before, so it scores low (approve it in approved_automation to "
            "suppress it)."
        )
    published = sum(1 for kind, _, _ in e.precursors if kind == "publication")
    if published:
        noun = "repository" if published == 1 else "repositories"
        reasons.append(
            f"Published: {published} {noun} created public or made public by this account around the "
            "downloads (below, with times): code placed outside the organisation's access control, the "
            "exfiltration step of the 2025 Shai-Hulud worm."
        )
    seen: set[str] = set()
    for _kind, detail, at in e.precursors:
        text = f"{detail[0].upper()}{detail[1:]}, {_when(at, e)}."
        if text not in seen and len(seen) < MAX_PRECURSOR_LINES:
            seen.add(text)
            reasons.append(text)
    return reasons
