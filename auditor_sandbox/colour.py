"""Colour: unlabelled everyday admin noise (scratch repos, GitLab membership changes) that a
detector must not flag.
"""

from __future__ import annotations

import random

from auditor_sandbox.plan import GITHUB, GITLAB_AUDIT, HOUR_MS, MIN_MS, Context, Event
from auditor_sandbox.records_gitlab import gitlab_event, project_entity
from auditor_sandbox.scenarios import Kit, Timeline
from auditor_sandbox.tenant import GITHUB_ORG, Person, Repo


def some_admin(ctx: Context) -> Person:
    """An org owner other than the one the travel incident uses (that one if there is no other)."""
    cast_admin = ctx.tenant.cast["admin_travel"]
    admins = [p for p in ctx.tenant.people if p.account_class == "privileged" and p.index != cast_admin]
    return admins[0] if admins else ctx.tenant.people[cast_admin]


def add_colour(ctx: Context, kit: Kit, tl: Timeline, rng: random.Random) -> None:
    """Scratch repos created and deleted, and GitLab membership changes (no ground truth)."""
    devs = [p for p in ctx.tenant.people if p.account_class == "developer" and p.github is not None]
    for i in range(4):
        p = rng.choice(devs)
        day = rng.randrange(1, ctx.days - 1)
        ts = ctx.local_ms(day, p.home, rng.uniform(10, 16))
        actor = kit.gh_actor(p, p.home, p.office_ip, p.device[2])
        name = f"{GITHUB_ORG}/hackweek-demo-{i + 1}"
        rid = 690_000_000 + i * 17
        kit.add(
            [
                (
                    GITHUB,
                    ts,
                    kit.gh.other(
                        "repo.create", ts, actor, repo=name, repo_id=rid, public_repo=False, visibility="private"
                    ),
                ),
                (
                    GITHUB,
                    ts + 3 * HOUR_MS,
                    kit.gh.other(
                        "repo.destroy",
                        ts + 3 * HOUR_MS,
                        actor,
                        repo=name,
                        repo_id=rid,
                        public_repo=False,
                        visibility="private",
                    ),
                ),
            ]
        )
    admin = some_admin(ctx)
    guest = ctx.tenant.person("guest_pat")
    if admin.gitlab is None or guest.gitlab is None:
        return
    added_day = max(0, tl.incident_days["gitlab-guest-pat-api"] - rng.randrange(10, 25))
    projects = [r for r in ctx.tenant.repos if r.platform == "gitlab" and r.team == guest.team][:2]
    for n, repo in enumerate(projects):
        ts = kit.at(added_day, 10.0) + n * MIN_MS
        kit.add([_member(admin, ts, repo, guest, "member_created", {"add": "user_access", "as": "Developer"})])
    members = [p for p in ctx.tenant.people if p.gitlab is not None and p.account_class == "developer"]
    gl_repos = [r for r in ctx.tenant.repos if r.platform == "gitlab"]
    for _ in range(3):
        who, repo = rng.choice(members), rng.choice(gl_repos)
        ts = kit.at(rng.randrange(1, ctx.days - 1), rng.uniform(8, 17))
        kit.add(
            [
                _member(
                    admin,
                    ts,
                    repo,
                    who,
                    "member_updated",
                    {"change": "access_level", "from": "Developer", "to": "Maintainer"},
                )
            ]
        )


def _member(admin: Person, ts: int, repo: Repo, who: Person, event_type: str, extra: dict[str, object]) -> Event:
    assert admin.gitlab is not None and who.gitlab is not None
    return (
        GITLAB_AUDIT,
        ts,
        gitlab_event(
            event_type,
            ts,
            author_id=admin.gitlab.account_id,
            author_name=admin.display_name,
            author_email=admin.mail,
            ip=admin.office_ip,
            entity=project_entity(repo),
            target=(who.gitlab.account_id, "User", who.display_name),
            message=f"{event_type.replace('_', ' ')}",
            extra=extra,
        ),
    )
