"""Five more labelled incidents that need baselines rather than fixed thresholds: an owner's archive
downloads with a fresh classic PAT from a new IP, a developer's out-of-team pulls after impossible
travel, API content scraping at an abnormal token rate, a contractor's low-and-slow pulls, and a
GitLab project export by an external guest."""

from __future__ import annotations

import random

from auditor_sandbox import catalog
from auditor_sandbox.plan import GITHUB, MIN_MS, Context, Event
from auditor_sandbox.scenarios import EXTRA_INCIDENTS, Kit, restricted, seed_offset
from auditor_sandbox.tenant import city_ip


def build_extra_incidents(ctx: Context, days: dict[str, int], kit: Kit) -> None:
    """Place the five incidents on their days, each with its own RNG."""
    seed = ctx.tenant.seed
    rngs = {name: random.Random(f"acme:{seed}:scenario:{name}") for name in EXTRA_INCIDENTS}
    _owner_archive(ctx, kit, days["owner-archive-classic-pat"], rngs["owner-archive-classic-pat"])
    _travel_dev(ctx, kit, days["travel-out-of-team-clones"], rngs["travel-out-of-team-clones"])
    _api_scraper(ctx, kit, days["api-token-content-scraping"], rngs["api-token-content-scraping"])
    _contractor_slow(ctx, kit, days["contractor-low-and-slow"], rngs["contractor-low-and-slow"])
    _guest_export(ctx, kit, days["gitlab-guest-project-export"], rngs["gitlab-guest-project-export"])


def _owner_archive(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    p = ctx.tenant.person("owner_archive")
    assert p.github is not None
    new_ip = city_ip(rng, p.home)
    start = kit.at(day, rng.uniform(17.0, 19.0))
    pat = kit.token("classic_pat", 70_000_011 + seed_offset(ctx), "repo,read:org")
    grant_ts = start - rng.randrange(20, 90) * MIN_MS
    actor = kit.gh_actor(p, p.home, new_ip, "python-requests/2.32.3")
    kit.add(
        [
            kit.signin(rng, p, grant_ts - 4 * MIN_MS, "GitHub Enterprise Cloud", p.home, p.home_ip),
            kit.credential_grant(grant_ts, kit.gh_actor(p, p.home, p.home_ip, p.device[2]), pat),
        ]
    )
    pool = restricted(ctx, "github")
    repos = rng.sample(pool, min(18, len(pool)))
    events, end = kit.clones(
        start, repos, (40_000, 100_000), rng, lambda ts, r: [(GITHUB, ts, kit.gh.zip(ts, actor, r, pat))]
    )
    kit.add(events)
    kit.person_truth(
        "owner-archive-classic-pat",
        "incident",
        p,
        repos,
        start,
        end,
        "An org owner authorised a new classic PAT and used it from an IP never seen for them to download zip "
        "archives of about eighteen restricted repositories.",
    )


def _travel_dev(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    p = ctx.tenant.person("travel_dev")
    assert p.github is not None
    home_ts = kit.at(day, rng.uniform(7.0, 9.0))
    far = catalog.SINGAPORE
    far_ip = city_ip(rng, far)
    far_ts = home_ts + rng.randrange(35, 70) * MIN_MS
    kit.add(
        [
            kit.signin(rng, p, home_ts, "Office 365", p.home, p.home_ip),
            kit.signin(rng, p, far_ts, "GitHub Enterprise Cloud", far, far_ip, device=catalog.DEVICES[1]),
        ]
    )
    pool = restricted(ctx, "github", exclude_team=p.team)
    repos = rng.sample(pool, min(8, len(pool)))
    start = far_ts + rng.randrange(5, 20) * MIN_MS
    actor = kit.gh_actor(p, far, far_ip, p.github.git_agent)
    events, end = kit.git_run(start, repos, (150_000, 300_000), rng, actor, p.github.git)
    kit.add(events)
    kit.person_truth(
        "travel-out-of-team-clones",
        "incident",
        p,
        repos,
        start,
        end,
        "A developer signed in from home and from Singapore within the hour, then cloned eight restricted "
        "repositories of other teams: below any fixed threshold, far above their own and their peers' usual.",
    )


def _api_scraper(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    p = ctx.tenant.person("api_scraper")
    assert p.github is not None
    start = kit.at(day, rng.uniform(10.0, 14.0))
    actor = kit.gh_actor(p, p.home, p.home_ip, "Go-http-client/2.0")
    pool = restricted(ctx, "github", exclude_team=p.team)
    repos = rng.sample(pool, min(6, len(pool)))
    routes = ("/repos/{owner}/{repo}/contents/{path}", "/repos/{owner}/{repo}/git/blobs/{sha}")
    events: list[Event] = []
    ts = start
    for i in range(1_200):
        repo = repos[i * len(repos) // 1_200]
        events.append((GITHUB, ts, kit.gh.api(ts, actor, rng.choice(routes), p.github.api, repo)))
        ts += rng.randrange(400, 1_600)
    kit.add(events)
    kit.person_truth(
        "api-token-content-scraping",
        "incident",
        p,
        repos,
        start,
        ts,
        "A developer's API token read repository contents file by file, about 1,200 requests in twenty minutes "
        "across six other teams' restricted repositories, far above the token's usual rate.",
    )


def _contractor_slow(ctx: Context, kit: Kit, first: int, rng: random.Random) -> None:
    p = ctx.tenant.person("contractor_slow")
    assert p.github is not None
    pool = restricted(ctx, "github", exclude_team=p.team)
    rng.shuffle(pool)
    taken, times = kit.daily_clones(p, range(first, min(first + 6, ctx.days)), pool, p.github.git, rng)
    kit.person_truth(
        "contractor-low-and-slow",
        "incident",
        p,
        taken,
        min(times),
        max(times),
        "A contractor cloned three or four restricted repositories of other teams a day for about a week with "
        "their usual key, never enough in one day to cross a volume threshold.",
    )


def _guest_export(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    p = ctx.tenant.person("guest_pat")
    assert p.gitlab is not None
    team = sorted(
        (r for r in ctx.tenant.repos if r.platform == "gitlab" and r.restricted and r.team == p.team),
        key=lambda r: r.full_name,
    )
    target = team[0] if team else restricted(ctx, "gitlab")[0]
    ip = city_ip(rng, catalog.BUCHAREST)
    start = kit.at(day, rng.uniform(20.0, 22.0))
    kit.add(
        [
            kit.signin(rng, p, start - rng.randrange(10, 40) * MIN_MS, "GitLab", catalog.BUCHAREST, ip),
            kit.gl_event(p, "project_export_file_download_started", start, ip, target, "Export file download started"),
        ]
    )
    kit.person_truth(
        "gitlab-guest-project-export",
        "incident",
        p,
        [target],
        start,
        start,
        "An external guest with Maintainer on one project exported the whole project (repository, issues, "
        "wiki) late in the evening from a country new for them.",
        platform="gitlab",
    )
