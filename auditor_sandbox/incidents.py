"""The labelled GitHub incidents (T1213.003), each preceded by its precursor within 72 hours, and
`build_incidents`, which places all seven on the timeline.
"""

from __future__ import annotations

import random

from auditor_sandbox import catalog
from auditor_sandbox.incidents_extra import build_extra_incidents
from auditor_sandbox.incidents_gitlab import departing_export, guest_pat_api
from auditor_sandbox.plan import GITHUB, HOUR_MS, MIN_MS, Context, Event
from auditor_sandbox.scenarios import INCIDENTS, Kit, Timeline, restricted, seed_offset
from auditor_sandbox.tenant import Repo, city_ip


def build_incidents(ctx: Context, tl: Timeline, kit: Kit) -> None:
    """The twelve labelled incidents; each precursor lands within 72 h before its bulk activity."""
    seed = ctx.tenant.seed
    rngs = {name: random.Random(f"acme:{seed}:scenario:{name}") for name in (*INCIDENTS, "low-and-slow-clones")}
    _finance(ctx, kit, tl.incident_days["finance-pat-bulk-clone"], rngs["finance-pat-bulk-clone"])
    _contractor(ctx, kit, tl.incident_days["contractor-zip-download"], rngs["contractor-zip-download"])
    _admin(ctx, kit, tl.incident_days["admin-impossible-travel-clone"], rngs["admin-impossible-travel-clone"])
    _oauth(ctx, kit, tl.incident_days["oauth-app-bulk-api"], rngs["oauth-app-bulk-api"])
    departing_export(ctx, kit, tl.incident_days["gitlab-departing-export"], rngs["gitlab-departing-export"])
    guest_pat_api(ctx, kit, tl.incident_days["gitlab-guest-pat-api"], rngs["gitlab-guest-pat-api"])
    _low_slow(ctx, kit, tl.low_slow, rngs["low-and-slow-clones"])
    build_extra_incidents(ctx, tl.extra_days, kit)


def _finance(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    p = ctx.tenant.person("finance_pat")
    assert p.github is not None
    city = catalog.BUCHAREST
    ip = city_ip(rng, city)
    device = catalog.DEVICES[1]
    start = kit.at(day, rng.uniform(12.5, 15.0))
    pre = start - rng.randrange(20, 40) * HOUR_MS
    kit.add(
        [
            kit.signin(rng, p, pre, "Office 365", city, ip, device=device),
            kit.signin(rng, p, pre + 4 * MIN_MS, "GitHub Enterprise Cloud", city, ip, device=device),
        ]
    )
    pat = kit.token("classic_pat", 70_000_001 + seed_offset(ctx), "repo,read:org")
    grant_ts = start - rng.randrange(8, 20) * MIN_MS
    kit.add([kit.credential_grant(grant_ts, kit.gh_actor(p, city, ip, device[2]), pat)])
    repos = rng.sample(restricted(ctx, "github"), min(35, len(restricted(ctx, "github"))))
    actor = kit.gh_actor(p, city, ip, "git/2.45.1")
    events, end = kit.git_run(start, repos, (25_000, 60_000), rng, actor, pat)
    kit.add(events)
    kit.person_truth(
        "finance-pat-bulk-clone",
        "incident",
        p,
        repos,
        start,
        end,
        "A Finance employee's account signed in from a new country, authorised a classic PAT for SAML "
        "and cloned dozens of restricted repositories with it within half an hour.",
    )


def _contractor(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    p = ctx.tenant.person("contractor_zip")
    assert p.github is not None
    start = kit.at(day, rng.uniform(18.0, 21.0))
    pat = kit.token("fine_grained_pat", 70_000_002 + seed_offset(ctx))
    pre = start - rng.randrange(6, 48) * HOUR_MS
    kit.add([kit.pat_granted(pre, kit.gh_actor(p, p.home, p.home_ip, p.device[2]), pat, p.github.login)])
    ip = city_ip(rng, p.home)
    api_actor = kit.gh_actor(p, p.home, ip, "python-requests/2.32.3")
    pool = restricted(ctx, "github", exclude_team=p.team)
    repos = rng.sample(pool, min(25, len(pool)))

    def make(ts: int, r: Repo) -> list[Event]:
        return [
            (GITHUB, ts, kit.gh.api(ts, api_actor, "/repos/{owner}/{repo}/zipball/{ref}", pat, r, status=302)),
            (GITHUB, ts + 350, kit.gh.zip(ts + 350, api_actor, r, pat)),
        ]

    events, end = kit.clones(start, repos, (60_000, 130_000), rng, make)
    kit.add(events)
    kit.person_truth(
        "contractor-zip-download",
        "incident",
        p,
        repos,
        start,
        end + 350,
        "A contractor was granted a fine-grained PAT and used it to download zip archives of restricted "
        "repositories outside their team over about forty minutes.",
    )


def _admin(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    p = ctx.tenant.person("admin_travel")
    assert p.github is not None
    berlin_ts = kit.at(day, rng.uniform(19.0, 20.0))
    far = catalog.SINGAPORE
    far_ip = city_ip(rng, far)
    far_ts = berlin_ts + HOUR_MS + rng.randrange(0, 10) * MIN_MS
    kit.add(
        [
            kit.signin(rng, p, berlin_ts, "Office 365", p.home, p.home_ip),
            kit.signin(rng, p, far_ts, "GitHub Enterprise Cloud", far, far_ip, device=catalog.DEVICES[1]),
        ]
    )
    pat = kit.token("classic_pat", 70_000_003 + seed_offset(ctx), "repo,admin:org,read:org")
    grant_ts = far_ts + rng.randrange(5, 15) * MIN_MS
    kit.add([kit.credential_grant(grant_ts, kit.gh_actor(p, far, far_ip, catalog.DEVICES[1][2]), pat)])
    pool = restricted(ctx, "github")
    tier1 = [r for r in pool if r.tier == 1]
    rest = [r for r in pool if r.tier == 0]
    rng.shuffle(tier1)
    rng.shuffle(rest)
    repos = (tier1[:20] + rest)[: min(60, len(pool))]
    rng.shuffle(repos)
    start = grant_ts + rng.randrange(10, 25) * MIN_MS
    actor = kit.gh_actor(p, far, far_ip, "git/2.46.0")
    events, end = kit.git_run(start, repos, (35_000, 80_000), rng, actor, pat)
    kit.add(events)
    kit.person_truth(
        "admin-impossible-travel-clone",
        "incident",
        p,
        repos,
        start,
        end,
        "An org owner signed in from Berlin and from Singapore an hour apart, then cloned about sixty "
        "restricted repositories, tier-1 included, during the night.",
    )


def _oauth(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    p = ctx.tenant.person("oauth_dev")
    assert p.github is not None
    app = ("CodeLens Insights", 99_012_345)
    token = kit.token("oauth", 70_000_004 + seed_offset(ctx), "repo,read:org", app)
    start = kit.at(day, rng.uniform(13.0, 16.0))
    pre = start - rng.randrange(2, 30) * HOUR_MS
    kit.add([kit.oauth_consent(pre, kit.gh_actor(p, p.home, p.office_ip, p.device[2]), app)])
    city = catalog.ASHBURN
    ips = [city_ip(rng, city) for _ in range(3)]
    pool = restricted(ctx, "github", exclude_team=p.team)
    repos = rng.sample(pool, min(30, len(pool)))

    def make(ts: int, r: Repo) -> list[Event]:
        actor = kit.gh_actor(p, city, rng.choice(ips), "CodeLensInsights/2.3")
        evs: list[Event] = [
            (GITHUB, ts, kit.gh.api(ts, actor, "/repos/{owner}/{repo}/tarball/{ref}", token, r, status=302))
        ]
        for i in range(rng.randrange(1, 4)):
            evs.append(
                (
                    GITHUB,
                    ts + 900 * (i + 1),
                    kit.gh.api(ts + 900 * (i + 1), actor, "/repos/{owner}/{repo}/contents/{path}", token, r),
                )
            )
        if rng.random() < 0.5:
            evs.append((GITHUB, ts + 5_000, kit.gh.git("git.clone", ts + 5_000, actor, r, token)))
        return evs

    events, end = kit.clones(start, repos, (30_000, 90_000), rng, make)
    kit.add(events)
    kit.person_truth(
        "oauth-app-bulk-api",
        "incident",
        p,
        repos,
        start,
        end + 5_000,
        "A developer consented to a never-seen OAuth app whose token then pulled tarballs and contents of "
        "about thirty restricted repositories and cloned some of them from cloud servers.",
    )


def _low_slow(ctx: Context, kit: Kit, window: tuple[int, int], rng: random.Random) -> None:
    p = ctx.tenant.person("low_slow")
    assert p.github is not None
    first, length = window
    pat = kit.token("fine_grained_pat", 70_000_005 + seed_offset(ctx))
    pre = kit.at(first, 0) - rng.randrange(30, 60) * HOUR_MS
    pre = max(pre, ctx.day_ms(1))
    kit.add([kit.pat_granted(pre, kit.gh_actor(p, p.home, p.home_ip, p.device[2]), pat, p.github.login)])
    pool = restricted(ctx, "github", exclude_team=p.team)
    rng.shuffle(pool)
    taken, times = kit.daily_clones(p, range(first, first + length), pool, pat, rng)
    kit.person_truth(
        "low-and-slow-clones",
        "incident",
        p,
        taken,
        min(times),
        max(times),
        "A developer cloned three or four restricted repositories a day from outside their team for "
        f"{length} days with a new fine-grained PAT, staying under volume thresholds.",
    )
