"""Labelled benign bulk workflows: automation, an approved migration, a new laptop, onboarding."""

from __future__ import annotations

import random

from auditor_sandbox import catalog
from auditor_sandbox.automation import AutomationPlanner
from auditor_sandbox.colour import add_colour, some_admin
from auditor_sandbox.plan import GITHUB, GITLAB_API, GITLAB_AUDIT, HOUR_MS, MIN_MS, Context, Event
from auditor_sandbox.records import ssh_fingerprint
from auditor_sandbox.records_gitlab import bot_pull, gitlab_api_log
from auditor_sandbox.scenarios import Kit, Timeline
from auditor_sandbox.tenant import GITHUB_ORG


def build_benign(ctx: Context, tl: Timeline, kit: Kit, automation: AutomationPlanner) -> None:
    """Ground-truth rows for the automation, plus the one-off benign bulk workflows."""
    bots = ctx.tenant.bots
    first, last = ctx.start_ms, ctx.end_ms - 1
    kit.window_truth(
        "nightly-backup",
        "github",
        bots["backup"].login,
        automation.backup_repos,
        "The backup machine user clones every restricted GitHub repository each night at about 02:00 UTC.",
    )
    kit.window_truth(
        "ci-builds",
        "github",
        bots["ci"].login,
        automation.ci_repos,
        "The CI GitHub App clones repositories for a nightly build and for builds during the working day.",
    )
    kit.window_truth(
        "github-mirror",
        "github",
        bots["gh_mirror"].login,
        automation.gh_mirror_repos,
        "The mirror machine user fetches a fixed set of repositories every six hours.",
    )
    kit.window_truth(
        "gitlab-mirror",
        "gitlab",
        bots["gl_mirror"].login,
        automation.gl_mirror_repos,
        "The GitLab mirror service user pulls a fixed set of projects every four hours.",
    )
    kit.window_truth(
        "weekly-archive-backup",
        "github",
        bots["archive"].login,
        automation.archive_repos,
        "The archive machine user downloads a zip of every restricted GitHub repository each Sunday night.",
    )
    release = ctx.tenant.person("release_eng")
    assert release.github is not None
    kit.person_truth(
        "release-day-fetch",
        "benign",
        release,
        automation.release_repos,
        first,
        last,
        "The release engineer fetches the same two dozen repositories of many teams on every fortnightly release day.",
    )
    seed = ctx.tenant.seed
    _migration(ctx, kit, tl.migration, random.Random(f"acme:{seed}:scenario:gitlab-migration"))
    _new_laptop(ctx, kit, tl.new_laptop, random.Random(f"acme:{seed}:scenario:new-laptop"))
    _onboarding(ctx, kit, tl.onboarding, random.Random(f"acme:{seed}:scenario:onboarding"))
    add_colour(ctx, kit, tl, random.Random(f"acme:{seed}:scenario:colour"))


def _migration(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    """An approved two-day migration: the migration bot lists and clones every GitLab project."""
    bot = ctx.tenant.bots["migration"]
    projects = [r for r in ctx.tenant.repos if r.platform == "gitlab"]
    rng.shuffle(projects)
    ip = bot.ips[0]
    events: list[Event] = []
    times: list[int] = []
    half = (len(projects) + 1) // 2
    for offset, batch in ((0, projects[:half]), (1, projects[half:])):
        ts = kit.at(day + offset, rng.uniform(9.0, 10.0))
        for _page in range(-(-len(projects) // 100)):
            events.append(
                (
                    GITLAB_API,
                    ts,
                    gitlab_api_log(
                        rng,
                        ts,
                        user_id=bot.account_id,
                        username=bot.login,
                        ip=ip,
                        agent="python-gitlab/4.11.1",
                        kind="projects",
                        project=None,
                        auth_kind="PersonalAccessToken",
                        token_id=bot.credential.token_id,
                    ),
                )
            )
            ts += rng.randrange(1_000, 4_000)
        for repo in batch:
            ts += rng.randrange(20_000, 90_000)
            events.append((GITLAB_AUDIT, ts, bot_pull(bot, ts, repo, ip, "http")))
            times.append(ts)
    kit.add(events)
    kit.truth(
        "gitlab-migration",
        "benign",
        "gitlab",
        bot.login,
        None,
        projects,
        min(times),
        max(times),
        "An approved one-off migration: the migration service user cloned every GitLab project in a two-day "
        "window that auditor.yaml allows.",
    )


def _weekday(ctx: Context, day: int) -> int:
    while not ctx.is_workday(day) and day + 1 < ctx.days:
        day += 1
    return day


def _new_laptop(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    """A developer sets up a new laptop: new device sign-in, new SSH key, clones of own team's repos."""
    p = ctx.tenant.person("new_laptop")
    acct = p.github
    assert acct is not None
    day = _weekday(ctx, day)
    device = next(d for d in catalog.DEVICES if d[0] != p.device[0])
    t0 = ctx.local_ms(day, p.home, rng.uniform(9.0, 10.0))
    key = kit.token("ssh_key", 75_000_000 + day)
    events: list[Event] = [
        kit.signin(rng, p, t0, "Office 365", p.home, p.office_ip, device=device),
        kit.signin(rng, p, t0 + 3 * MIN_MS, "GitHub Enterprise Cloud", p.home, p.office_ip, device=device),
        (
            GITHUB,
            t0 + 15 * MIN_MS,
            kit.gh.other(
                "public_key.create",
                t0 + 15 * MIN_MS,
                kit.gh_actor(p, p.home, p.office_ip, device[2]),
                fingerprint=ssh_fingerprint(rng),
                title="new-macbook",
            ),
        ),
    ]
    team = [r for r in ctx.tenant.team_repos.get((p.team or "", "github"), ())]
    repos = rng.sample(team, min(12, len(team)))
    actor = kit.gh_actor(p, p.home, p.office_ip, "git/2.46.0")
    clones, end = kit.git_run(t0 + 20 * MIN_MS, repos, (30_000, 60_000), rng, actor, key)
    kit.add(events + clones)
    kit.person_truth(
        "new-laptop-clones",
        "benign",
        p,
        repos,
        t0 + 20 * MIN_MS,
        end,
        "A developer set up a new laptop: new device, new SSH key, then cloned their own team's "
        "repositories within about ten minutes.",
    )


def _onboarding(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    """A new hire joins: added to the org and team, first sign-ins, then clones the team's repos."""
    p = ctx.tenant.person("new_hire")
    acct = p.github
    assert acct is not None
    admin = some_admin(ctx)
    t0 = ctx.local_ms(day, p.home, 8.0)
    admin_actor = kit.gh_actor(admin, admin.home, admin.office_ip, admin.device[2])
    events: list[Event] = [
        (GITHUB, t0, kit.gh.other("org.add_member", t0, admin_actor, user=acct.login, permission="read")),
        (
            GITHUB,
            t0 + 2 * MIN_MS,
            kit.gh.other(
                "team.add_member", t0 + 2 * MIN_MS, admin_actor, team=f"{GITHUB_ORG}/{p.team}", user=acct.login
            ),
        ),
        kit.signin(rng, p, t0 + 70 * MIN_MS, "Office 365", p.home, p.office_ip),
        kit.signin(rng, p, t0 + 75 * MIN_MS, "GitHub Enterprise Cloud", p.home, p.office_ip),
        (
            GITHUB,
            t0 + 90 * MIN_MS,
            kit.gh.other(
                "public_key.create",
                t0 + 90 * MIN_MS,
                kit.gh_actor(p, p.home, p.office_ip, p.device[2]),
                fingerprint=ssh_fingerprint(rng),
                title="work-laptop",
            ),
        ),
    ]
    repos = list(ctx.tenant.team_repos.get((p.team or "", "github"), ()))
    actor = kit.gh_actor(p, p.home, p.office_ip, acct.git_agent)
    start = t0 + 2 * HOUR_MS
    clones, end = kit.git_run(start, repos, (90_000, 300_000), rng, actor, acct.git)
    kit.add(events + clones)
    kit.person_truth(
        "new-hire-onboarding",
        "benign",
        p,
        repos,
        start,
        end,
        "A new hire was added to the organisation and their team on their first day and cloned the "
        "team's repositories.",
    )
