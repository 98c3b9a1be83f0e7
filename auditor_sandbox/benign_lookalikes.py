"""Benign look-alikes of the stolen-token incidents (issue #15): each shares one surface feature with an
incident (many clones, a new client, a new country, a new token, every repository) but not its substance,
so only the detection's logic, never the approval list, may keep it below medium. Each draws from its
own RNG, so the other scenarios' days and records stay put."""

from __future__ import annotations

import random
from datetime import timedelta

from auditor_sandbox import catalog
from auditor_sandbox.plan import MIN_MS, Context, Event
from auditor_sandbox.scenarios import Kit, restricted, seed_offset
from auditor_sandbox.tenant import Person, Repo, city_ip

APP_UNAPPROVED = "github-app-one-repo-unapproved"
REBUILD = "workstation-rebuild"
CONFERENCE = "conference-new-country-mfa"
ROTATION = "pat-rotation"
WEEKLY_MIRROR = "weekly-mirror-all-repos"
LOOKALIKES = (APP_UNAPPROVED, REBUILD, CONFERENCE, ROTATION, WEEKLY_MIRROR)
PREVIEW_APP = ("acme-docs-preview[bot]", 41_900_077)  # a GitHub App installed on the org, in no approval
REBUILD_AGENT = "git/2.47.1"  # the new git of a rebuilt workstation (a new OS image)
SATURDAY = 5


def build_lookalikes(ctx: Context, kit: Kit) -> None:
    """The five look-alikes; the app and the mirror run all window, the others on one day (or a few)."""
    seed = ctx.tenant.seed
    rngs = {name: random.Random(f"acme:{seed}:scenario:{name}") for name in LOOKALIKES}
    _app_unapproved(ctx, kit, rngs[APP_UNAPPROVED])
    _rebuild(ctx, kit, rngs[REBUILD])
    _conference(ctx, kit, rngs[CONFERENCE])
    _rotation(ctx, kit, rngs[ROTATION])
    _weekly_mirror(ctx, kit, rngs[WEEKLY_MIRROR])


def _team_repos(ctx: Context, p: Person) -> list[Repo]:
    return list(ctx.tenant.team_repos.get((p.team or "", "github"), ()))


def _developer(p: Person) -> bool:
    return p.account_class == "developer" and p.github is not None


def _app_unapproved(ctx: Context, kit: Kit, rng: random.Random) -> None:
    """A docs-preview GitHub App that no approval names clones one repository about a hundred times within
    minutes every day: however often, one repository is no bulk access."""
    login, account_id = PREVIEW_APP
    token = kit.token("app_token", 70_000_031 + seed_offset(ctx))
    repo = rng.choice(sorted(restricted(ctx, "github"), key=lambda r: r.full_name))
    ips = [f"{catalog.CI_RUNNER_CITY.ip_prefix}.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}" for _ in range(8)]
    events: list[Event] = []
    for day in range(ctx.days):
        ts = kit.at(day, rng.uniform(6.0, 7.0))
        actor = ctx.gh.actor(
            login, account_id, rng.choice(ips), catalog.CI_RUNNER_CITY.country, "git/2.46.0", is_bot=True
        )
        runs, _ = kit.git_run(ts, [repo] * rng.randrange(90, 111), (3_000, 7_000), rng, actor, token)
        events.extend(runs)
    kit.add(events)
    kit.window_truth(
        APP_UNAPPROVED,
        "github",
        login,
        [repo],
        "A docs-preview GitHub App, in no approved-automation rule, clones one repository about a hundred times "
        "within ten minutes every morning (one preview build per open pull request): one repository, however "
        "often, is no bulk access.",
    )


def _rebuild(ctx: Context, kit: Kit, rng: random.Random) -> None:
    """A developer's workstation is rebuilt: a new OS and git version at their usual office address, then
    clones of the team repositories they pull every week, with their usual credential."""
    p = kit.pick(rng, REBUILD, lambda p: _developer(p) and len(_team_repos(ctx, p)) >= 4, _developer)
    assert p.github is not None
    day = kit.late_day(rng, rng.randrange(0, 5))
    device = next(d for d in catalog.DEVICES if d[0] != p.device[0])
    t0 = ctx.local_ms(day, p.home, rng.uniform(9.0, 10.5))
    team = _team_repos(ctx, p) or restricted(ctx, "github")
    repos = rng.sample(team, min(8, len(team)))
    actor = kit.gh_actor(p, p.home, p.office_ip, REBUILD_AGENT)
    clones, end = kit.git_run(t0 + 25 * MIN_MS, repos, (40_000, 120_000), rng, actor, p.github.git)
    kit.add(
        [
            kit.signin(rng, p, t0, "Office 365", p.home, p.office_ip, device=device),
            kit.signin(rng, p, t0 + 4 * MIN_MS, "GitHub Enterprise Cloud", p.home, p.office_ip, device=device),
            *clones,
        ]
    )
    kit.person_truth(
        REBUILD,
        "benign",
        p,
        repos,
        t0 + 25 * MIN_MS,
        end,
        f"A developer's workstation was rebuilt: a new operating system and git ({REBUILD_AGENT}) at their usual "
        "office address, their usual credential, then clones of their own team's repositories.",
    )


def _conference(ctx: Context, kit: Kit, rng: random.Random) -> None:
    """A developer at a conference abroad: an MFA sign-in from the conference city, then a few of their own
    team's repositories. Uses a traveller's own work trip, so their usual activity is there too."""
    history = min(20, ctx.days // 3)
    cast = set(ctx.tenant.cast.values())
    travellers = [
        (p, trip)
        for p in ctx.tenant.people
        if _developer(p)
        and p.index not in cast | kit.taken
        and not p.gitlab_unlinked
        and (trip := ctx.trip(p)) is not None
        and trip[2].country != p.home.country
        and len(_team_repos(ctx, p)) >= 3
    ]
    late = [t for t in travellers if t[1][0] >= history + 3] or travellers
    if late:
        p, (day, _last, city, ip) = rng.choice(late)
        kit.taken.add(p.index)
    else:  # a small tenant: a conference in a city nobody else goes to
        p = kit.pick(rng, CONFERENCE, _developer)
        day, city = kit.late_day(rng, rng.randrange(0, 5)), catalog.COPENHAGEN
        ip = city_ip(rng, city)
    assert p.github is not None
    t0 = ctx.local_ms(day, city, rng.uniform(8.0, 9.0))
    team = _team_repos(ctx, p) or restricted(ctx, "github")
    repos = rng.sample(team, min(rng.randrange(3, 5), len(team)))
    actor = kit.gh_actor(p, city, ip, p.github.git_agent)
    start = t0 + rng.randrange(60, 180) * MIN_MS
    clones, end = kit.git_run(start, repos, (60_000, 300_000), rng, actor, p.github.git)
    kit.add(
        [
            kit.signin(rng, p, t0, "Office 365", city, ip, mfa=True),
            kit.signin(rng, p, t0 + 3 * MIN_MS, "GitHub Enterprise Cloud", city, ip, mfa=True),
            *clones,
        ]
    )
    kit.person_truth(
        CONFERENCE,
        "benign",
        p,
        repos,
        start,
        end,
        f"A developer at a conference in {city.name} ({city.country}, a country new for them) signed in with "
        f"MFA from there, then cloned {len(repos)} of their own team's repositories.",
    )


def _rotation(ctx: Context, kit: Kit, rng: random.Random) -> None:
    """A developer rotates their token: a new fine-grained PAT granted at the office, then their usual two
    or three pulls a day of their team's repositories with it, from the usual place, for a week."""
    p = kit.pick(rng, ROTATION, lambda p: _developer(p) and len(_team_repos(ctx, p)) >= 3, _developer)
    assert p.github is not None
    day = kit.late_day(rng, rng.randrange(0, 5))
    new = kit.token("fine_grained_pat", 70_000_032 + seed_offset(ctx))
    granted = ctx.local_ms(day, p.home, rng.uniform(9.0, 10.0))
    events = [kit.pat_granted(granted, kit.gh_actor(p, p.home, p.office_ip, p.device[2]), new, p.github.login)]
    team = _team_repos(ctx, p) or restricted(ctx, "github")
    actor = kit.gh_actor(p, p.home, p.office_ip, p.github.git_agent)
    used: set[Repo] = set()
    times: list[int] = []
    for d in range(day, min(ctx.days, day + 7)):
        if not ctx.is_workday(d):
            continue
        ts = ctx.local_ms(d, p.home, rng.uniform(10.0, 12.0)) + (20 * MIN_MS if d == day else 0)
        picked = rng.sample(team, min(rng.randrange(2, 4), len(team)))
        runs, last = kit.git_run(
            ts, picked, (600_000, 3_600_000), rng, actor, new, action=rng.choice(("git.fetch", "git.clone"))
        )
        events.extend(runs)
        used.update(picked)
        times += [ts, last]
    kit.add(events)
    kit.person_truth(
        ROTATION,
        "benign",
        p,
        sorted(used, key=lambda r: r.full_name),
        min(times),
        max(times),
        f"A developer rotated their token: a new fine-grained PAT (token {new.token_id}) granted at the office, "
        "then their usual two or three pulls a day of their own team's repositories with it, from the usual place.",
    )


def _weekly_mirror(ctx: Context, kit: Kit, rng: random.Random) -> None:
    """The disaster-recovery mirror clones every GitHub repository each Saturday night from its one address."""
    bot = ctx.tenant.bots["dr_mirror"]
    repos = sorted(ctx.tenant.repos_on("github"), key=lambda r: r.full_name)
    actor = ctx.gh.actor(bot.login, bot.account_id, bot.ips[0], bot.city.country, bot.agent)
    events: list[Event] = []
    for day in range(ctx.days):
        if (ctx.start + timedelta(days=day)).weekday() != SATURDAY:
            continue
        runs, _ = kit.git_run(kit.at(day, 1.0 + rng.uniform(0, 0.2)), repos, (2_000, 6_000), rng, actor, bot.credential)
        events.extend(runs)
    kit.add(events)
    kit.window_truth(
        WEEKLY_MIRROR,
        "github",
        bot.login,
        [r for r in repos if r.restricted],
        "The disaster-recovery mirror (a machine user in no approved-automation rule) clones every GitHub "
        "repository each Saturday night from its one data-centre address.",
    )
