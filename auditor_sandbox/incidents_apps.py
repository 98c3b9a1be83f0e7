"""Apps as actors: a third-party OAuth app whose tokens for several developers pull a few restricted
repositories each from one cloud network at night (the shape of the Heroku and Travis CI token theft,
April 2022: each token pulled a handful of repositories, the app pulled dozens), and its benign
look-alike, a GitHub App cloning one repository about a hundred times within minutes, every day.
Both draw from their own RNGs, so the other scenarios' days and records stay put."""

from __future__ import annotations

import random

from auditor_sandbox import catalog
from auditor_sandbox.plan import GITHUB, HOUR_MS, MIN_MS, Context, Event
from auditor_sandbox.scenarios import Kit, restricted, seed_offset
from auditor_sandbox.tenant import Repo

APP_INCIDENT = "oauth-app-across-users"
APP_BENIGN = "github-app-one-repo-daily"
APP = ("PipelineHub", 99_077_001)  # a third-party OAuth app several developers consented to
OWNERS = 5


def build_app_scenarios(ctx: Context, kit: Kit) -> None:
    """Place the incident on its own day and the look-alike on every day of the window."""
    seed = ctx.tenant.seed
    _app_across_users(ctx, kit, random.Random(f"acme:{seed}:scenario:{APP_INCIDENT}"))
    _one_repo_daily(ctx, kit, random.Random(f"acme:{seed}:scenario:{APP_BENIGN}"))


def _app_across_users(ctx: Context, kit: Kit, rng: random.Random) -> None:
    history = min(20, ctx.days // 3)
    first, last = history + 3, ctx.days - 2
    day = rng.randrange(first, last + 1)
    cast = set(ctx.tenant.cast.values())
    devs = [p for p in ctx.tenant.people if p.account_class == "developer" and p.github and p.index not in cast]
    owners = rng.sample(devs, min(OWNERS, len(devs)))
    kit.taken.update(p.index for p in owners)
    pool = restricted(ctx, "github")
    repos = rng.sample(pool, min(len(pool), 4 * len(owners)))
    network = f"{catalog.ASHBURN.ip_prefix}.{rng.randrange(1, 255)}"
    agent = "PipelineHub/4.1 (+git)"
    start = kit.at(day, rng.uniform(1.0, 4.0))
    events: list[Event] = []
    ts, taken = start, list[Repo]()
    for i, p in enumerate(owners):
        assert p.github is not None
        token = kit.token("oauth", 70_000_021 + i + seed_offset(ctx), "repo,read:org", APP)
        consent = kit.at(max(0, day - rng.randrange(10, 40)), rng.uniform(10.0, 11.0))  # weeks before, at work
        events.append(kit.oauth_consent(consent, kit.gh_actor(p, p.home, p.office_ip, p.device[2]), APP))
        mine = repos[len(taken) : len(taken) + (4 if i < 2 else 3)]
        for repo in mine:
            actor = kit.gh_actor(p, catalog.ASHBURN, f"{network}.{rng.randrange(10, 14)}", agent)
            events.append((GITHUB, ts, kit.gh.git("git.clone", ts, actor, repo, token)))
            ts += rng.randrange(40_000, 80_000)
        taken += mine
    kit.add(events)
    kit.truth(
        APP_INCIDENT,
        "incident",
        "github",
        f"app:{APP[1]}",
        None,
        taken,
        start,
        ts,
        f"The tokens that {len(owners)} developers had granted a third-party OAuth app were used from one cloud "
        f"network at night to clone three or four restricted repositories each ({len(taken)} in all): every "
        "account stays under its own thresholds; the app is the actor (Heroku/Travis CI, April 2022).",
    )


def _one_repo_daily(ctx: Context, kit: Kit, rng: random.Random) -> None:
    bot = ctx.tenant.bots["ci"]
    repo = rng.choice(sorted(restricted(ctx, "github"), key=lambda r: r.full_name))
    events: list[Event] = []
    for day in range(ctx.days):
        ts = ctx.day_ms(day) + 5 * HOUR_MS + rng.randrange(30 * MIN_MS)
        ip = rng.choice(bot.ips)
        actor = ctx.gh.actor(bot.login, bot.account_id, ip, bot.city.country, bot.agent, is_bot=bot.is_bot)
        for _ in range(100):  # about 100 clones in 8-12 minutes
            events.append((GITHUB, ts, ctx.gh.git("git.clone", ts, actor, repo, bot.credential)))
            ts += rng.randrange(4_000, 8_000)
    kit.add(events)
    kit.window_truth(
        APP_BENIGN,
        "github",
        bot.login,
        [repo],
        "The CI GitHub App clones one monorepo about a hundred times within ten minutes every morning (a build "
        "matrix): one repository, however often, is no bulk access.",
    )
