"""AN0732 scoring: an episode's volume against its fixed threshold and its baselines (actor, peer group,
repositories), who the actor is, and what preceded it; bounded 0-100 with severity bands.

Credential baselines (credential_baselines.sql): a credential first used from a network, country or user
agent it never used in its history is weak on its own (a rebuilt workstation, a trip, a new office): it
weighs as the account's `first_use` (5, once; both together count once, so nothing is counted twice).
Only with the replay indicator (the owner did not sign in from that network or country, replay.py) do a
new network AND a new country of the credential make `credential_replay`, a strong signal (15) that
lifts the candidate and learning caps and keeps a routine account's episode at its full score. A
brand-new credential has no baseline and fires none of them (token rotation)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

from auditor.config.models import DetectionSettings
from auditor.detect.apps import APP_KIND, app_score
from auditor.detect.episode import Episode

# Identity and credential signals: they keep an episode's full score even when it looks routine.
STRONG_PRECURSOR_WEIGHT = {
    "impossible_travel": 15,
    "new_country": 10,
    "idp_risk": 10,
    "new_credential": 10,
    "credential_replay": 15,  # a credential's new network and country, where its owner did not sign in
    "publication": 15,  # public repositories created by the same account around the downloads (publication.sql)
}
# Signals that are common on their own (a new IP, a new client): they add, but never override routine.
WEAK_PRECURSOR_WEIGHT = {"first_use": 5, "api_rate": 10}
# A credential's first use from a new network, country or user agent: weighs as the account's first_use.
CREDENTIAL_NOVELTY = ("credential_new_network", "credential_new_country", "credential_new_agent")
REPLAY_WEIGHT = 10  # downloads from a network the owner did not sign in from (detect/replay.py): weak, adds up
CLASS_WEIGHT = {"non_developer": 15, "contractor": 15, "external": 15, "privileged": 10}
ROUTINE_CAP = 20
LEARNING_CAP = 40
CANDIDATE_CAP = 40  # below the fixed threshold with no identity or credential signal: low at most
ORDINARY_CAP = 30  # below the fixed threshold and ordinary against the baselines, whatever preceded it
ROUTINE_MIN_DAYS = 1
ROUTINE_LOOKBACK = timedelta(days=35)
MAD_SCALE = 1.4826  # MAD to standard deviation for normal data
ACTOR_FLOOR = 3  # an actor's expected daily repos never drops below this, so quiet accounts don't explode
PEER_FLOOR = 2
NEW_FLOOR = 3  # first pulls of repositories an actor may take up in a day without it meaning anything
MIN_PEERS = 5  # a smaller peer group is no baseline
PEER_TYPICAL_CAP = 40
ESTABLISHED_DAYS = 10  # active days in the history window after which the actor's own pattern outweighs its peers'
# No IdP identity linked: the caps that assume the sign-in context was checked and found clean (learning,
# candidate) give way to this one. Unknown context is worth a look (medium), never high on its own.
UNKNOWN_IDENTITY_CAP = 45


def severity_for(score: int) -> str:
    if score >= 85:
        return "critical"
    if score >= 65:
        return "high"
    if score >= 45:
        return "medium"
    if score >= 25:
        return "low"
    return "info"


@dataclass(frozen=True)
class Baseline:
    """What is normal for this actor and its peers, and how this episode compares."""

    median: float
    mad: float
    expected: float  # median + 3 scaled MADs, floored
    active_days: int
    peer: str | None
    peers: int
    peer_p99: float | None
    first_time: int
    outside_peer: int
    rare: int
    max_new_day: int  # most repositories first pulled on one day of the history
    windows: tuple[int, int, int, int]  # distinct repos in 5 min, 1 h, 24 h, 7 d from the start
    learning: bool  # the data begins too recently to know this actor's normal

    def anomalous(self, distinct: int) -> bool:
        """Above the baselines, and mostly repositories new to the actor or outside its peer group."""
        return self.exceeds(distinct) and (self.first_time * 2 >= distinct or self.outside_peer * 2 >= distinct)

    def peer_typical(self, distinct: int) -> bool:
        """Mostly repositories the actor's peer group pulls routinely (onboarding, a new laptop), unless an
        established account (ESTABLISHED_DAYS active in its history) takes mostly repositories it never pulled:
        that is a break from its own pattern (a worm on a build account, a replayed token), not onboarding."""
        shift = self.active_days >= ESTABLISHED_DAYS and self.first_time * 2 >= distinct
        return self.peers >= MIN_PEERS and self.outside_peer * 4 < distinct and not shift

    def exceeds(self, distinct: int) -> bool:
        """Above the actor's own robust band and the peer group's p99 (when there are peers), or more
        repositories new to the actor than it ever took up on one day of its history."""
        peer_ok = self.peer_p99 is None or distinct > max(self.peer_p99, PEER_FLOOR)
        return (distinct > self.expected and peer_ok) or self.first_time > max(NEW_FLOOR, self.max_new_day)


def baseline_of(e: Episode, det: DetectionSettings) -> Baseline:
    """Robust statistics over the actor's daily distinct repos in the trailing window (zero-filled)."""
    b = e.baseline
    counts = [int(c) for c in (b.get("day_counts") or [])]
    counts += [0] * max(0, det.history_days - len(counts))
    median = float(statistics.median(counts)) if counts else 0.0
    mad = float(statistics.median(abs(c - median) for c in counts)) if counts else 0.0
    expected = max(float(ACTOR_FLOOR), median + 3 * MAD_SCALE * mad)
    data_started = b.get("data_started")
    # In the data's first days nobody's normal is known yet (an old account looks new).
    learning = bool(data_started is not None and e.first_seen < data_started + timedelta(days=det.learning_days))
    p99 = b.get("peer_p99")
    return Baseline(
        median=median,
        mad=mad,
        expected=expected,
        active_days=int(b.get("active_days") or 0),
        peer=b.get("peer"),
        peers=int(b.get("peers") or 0),
        peer_p99=float(p99) if p99 is not None and int(b.get("peers") or 0) >= MIN_PEERS else None,
        first_time=int(b.get("first_time_repos") or 0),
        outside_peer=int(b.get("outside_peer_repos") or 0),
        rare=int(b.get("rare_repos") or 0),
        max_new_day=int(b.get("max_new_day") or 0),
        windows=tuple(int(b.get(k) or 0) for k in ("repos_5m", "repos_1h", "repos_24h", "repos_7d")),  # type: ignore[arg-type]
        learning=learning,
    )


def strong_precursors(e: Episode) -> set[str]:
    return {kind for kind, _, _ in e.precursors if kind in STRONG_PRECURSOR_WEIGHT} | credential_replay(e)


def credential_replay(e: Episode) -> set[str]:
    """{'credential_replay'} when a credential of the episode was first used from a new network and a new
    country, and its owner did not sign in from there (replay.py): a replayed token, not a trip."""
    kinds = {kind for kind, _, _ in e.precursors}
    fresh = {"credential_new_network", "credential_new_country"} <= kinds
    return {"credential_replay"} if fresh and e.replay else set()


def mark_routine(episodes: list[Episode]) -> None:
    """An episode is routine when the same account had an episode of the same kind on another day in
    the previous 35 days and most of its repositories are ones it has pulled before: scheduled
    automation (daily, weekly, fortnightly) then scores low from its own history, without a suppression.
    Identity or credential precursors keep the full score; novelty is never routine."""
    groups: dict[tuple[str, str, str], list[Episode]] = {}
    for e in episodes:
        groups.setdefault((e.platform, e.actor, e.kind), []).append(e)
    for (_, _, kind), group in groups.items():
        group.sort(key=lambda e: e.first_seen)
        start = 0
        for k, e in enumerate(group):
            while group[start].first_seen < e.first_seen - ROUTINE_LOOKBACK:
                start += 1
            days = {o.first_seen.date() for o in group[start:k]} - {e.first_seen.date()}
            first_time = int(e.baseline.get("first_time_repos") or 0)
            familiar = first_time * 2 < max(1, e.distinct_repos)
            e.routine = kind != "novelty" and len(days) >= ROUTINE_MIN_DAYS and familiar
            e.routine_days = len(days)


def score_episode(e: Episode, b: Baseline, det: DetectionSettings, account_class: str | None) -> int:
    """Score 0-100; see the module docstring. `e` carries kind, distinct_repos, tier1_repos, precursors."""
    distinct, kind = int(e.distinct_repos), e.kind
    strong = strong_precursors(e)
    if e.routine and not strong:
        return ROUTINE_CAP
    if kind == "burst":
        threshold = det.bulk_min_restricted_repos
        score = 40 + min(30, 30 * (distinct - threshold) // max(threshold, 1))
    elif kind == "novelty":  # repos never pulled before, spread over days: volume counts double
        score = 45 + min(25, 2 * (distinct - det.novel_min_repos_7d))
    elif kind == APP_KIND:  # one app's tokens for several users, one network: the app is the actor
        score = app_score(e, det)
    elif kind == "api_rate":
        score = 45
    elif kind == "export":  # a whole project with its history, issues and wiki
        score = 30 + (10 if b.first_time else 0)
    else:  # candidate: below the fixed threshold, so only baselines and identity context can lift it
        score = 20
        if b.exceeds(distinct):
            score += 15
        if b.first_time * 2 >= distinct:
            score += 10
        if b.outside_peer * 2 >= distinct:
            score += 10
    weights = [STRONG_PRECURSOR_WEIGHT.get(k, 0) for k in strong]
    weak = [kind for kind, _, _ in e.precursors if kind in WEAK_PRECURSOR_WEIGHT]
    novel = any(kind in CREDENTIAL_NOVELTY for kind, _, _ in e.precursors)
    weak += ["first_use"] if novel and "first_use" not in weak else []  # counted once with the account's
    weights += [WEAK_PRECURSOR_WEIGHT[k] for k in sorted(set(weak))]
    weights.append(5 if weak.count("first_use") >= 2 else 0)
    weights.append(REPLAY_WEIGHT if e.replay else 0)
    score += min(25, sum(weights))
    departing = min(25, sum(int(w) for _, w in e.departure))
    score += departing
    score += min(15, 5 * len(e.tier1_repos))
    score += CLASS_WEIGHT.get(account_class or "", 0)
    if e.broad_grant_repos:
        score += 5
    if kind == "candidate" and not b.anomalous(distinct):
        score = min(score, ORDINARY_CAP)
    if not (strong or departing):
        # Caps for "nothing in the identity context": unknown context (no IdP identity linked) is not clean.
        caps = ([LEARNING_CAP] if b.learning else []) + ([CANDIDATE_CAP] if kind == "candidate" else [])
        if caps:
            score = min(score, UNKNOWN_IDENTITY_CAP if e.identity_unknown else min(caps))
        if kind in ("burst", "candidate") and b.peer_typical(distinct):
            score = min(score, PEER_TYPICAL_CAP)
    return max(0, min(100, score))
