"""Apps as actors (AN0732): the token owners, name and own history of each app episode (apps.sql,
app_history.sql), its score and its reasons. An app episode's actor is `app:<app_id>`; it has no IdP
identity and no account baseline, so the account-level context is replaced by the app's own."""

from __future__ import annotations

from auditor.config.models import DetectionSettings
from auditor.detect.engine import Engine
from auditor.detect.episode import AppContext, Episode
from auditor.detect.stages import EVIDENCE_CAP, load_sql

APP_KIND = "app"
APP_PREFIX = "app:"
APP_BASE = 45  # the breadth the thresholds ask for is already worth a look (medium)


def attach_app_context(engine: Engine, episodes: list[Episode], det: DetectionSettings) -> None:
    """Set `app` (name, owners [(login, repos)], prior_days, first_time_repos) on every app episode, and
    replace the account-level context that does not apply to an app: no IdP identity is expected
    (`identity_unknown` False), repositories new to the app replace the account's first pulls, and the
    app's own history decides routine: prior days of the same breadth from the same network, with
    mostly repositories the app pulled before. Needs the episodes table attach_history loaded."""
    apps = [e for e in episodes if e.kind == APP_KIND]
    if not apps:
        return
    by_key = {e.key: e for e in apps}
    sql = load_sql(
        "app_history.sql",
        history_days=det.history_days,
        min_users=det.app_min_users,
        min_repos=det.app_min_repos,
    )
    for row in engine.query(sql):
        e = by_key.get(row["episode_key"])
        if e is None:
            continue
        owners = list(zip(row["owner_logins"], (int(n) for n in row["owner_repos"]), strict=True))
        e.app = AppContext(row["app_name"], owners, int(row["prior_days"]), int(row["first_time_repos"]))
        # Each owner's first download in the episode leads the evidence: their per-account evidence.
        linked = [str(v) for v in row["owner_evidence"] if v is not None]
        e.evidence = list(dict.fromkeys(linked + e.evidence))[: max(EVIDENCE_CAP, len(linked))]
    for e in apps:
        if e.app is None:
            e.app = AppContext()
        info = e.app
        e.identity_unknown = False
        e.baseline = {**e.baseline, "first_time_repos": info.first_time_repos, "outside_peer_repos": 0}
        familiar = info.first_time_repos * 2 < max(1, int(e.distinct_repos))
        e.routine = info.prior_days >= 1 and familiar
        e.routine_days = info.prior_days


def app_score(e: Episode, det: DetectionSettings) -> int:
    """The base score of an app episode: medium at the thresholds, more for more repositories and owners."""
    owners = len(e.app.owners) if e.app else 0
    distinct = int(e.distinct_repos)
    return APP_BASE + min(15, max(0, distinct - det.app_min_repos)) + min(10, 5 * max(0, owners - det.app_min_users))


def app_label(e: Episode) -> str:
    """'OAuth app "Name" (id 123)' or 'app id 123' when no event named it."""
    app_id = e.actor[len(APP_PREFIX) :]
    name = e.app.name if e.app else None
    return f'app "{name}" (id {app_id})' if name else f"app id {app_id}"


def app_reasons(e: Episode, det: DetectionSettings) -> list[str]:
    """What the app did, whose tokens did it, and what the app's own history says."""
    info = e.app or AppContext()
    owners = info.owners
    minutes = max(1, round((e.last_seen - e.first_seen).total_seconds() / 60))
    ips = e.ips
    lines = [
        f"Through {app_label(e)}, the tokens of {len(owners)} users downloaded {e.distinct_repos} restricted "
        f"repositories ({e.downloads} downloads) within {minutes} minutes from one network "
        f"({', '.join(ips[:3])}{' and more' if len(ips) > 3 else ''}); the thresholds are {det.app_min_users} "
        f"users and {det.app_min_repos} repositories within {det.app_window_minutes} minutes from one IPv4 /24 "
        "or IPv6 address, whatever each account did on its own.",
        "Token owners (restricted repositories each): "
        + ", ".join(f"{login} ({n})" for login, n in owners)
        + "; each owner's first download here leads the evidence, which links their per-account activity.",
    ]
    prior, new = info.prior_days, info.first_time_repos
    lines.append(
        f"App history: on {prior} of the previous {det.history_days} days its tokens pulled this breadth "
        f"({det.app_min_users}+ users, {det.app_min_repos}+ repositories) from this network; {new} of "
        f"{e.distinct_repos} repositories were never pulled through this app before."
    )
    if e.routine:
        lines.append(
            "Routine for this app: the same breadth from the same network on earlier days, mostly repositories "
            "it pulled before, so it scores low (approve it in approved_automation with its app_ids to suppress it)."
        )
    return lines
