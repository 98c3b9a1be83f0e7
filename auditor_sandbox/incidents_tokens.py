"""Stolen-token incidents (issue #15), each in its own shape: a developer's PAT replayed from a VPS on a
Saturday night with no sign-in by its owner there (the VS Code extension 2026 / Slack 2022 shape), a build
account's token that clones every restricted repository and publishes public copies (Shai-Hulud 2025),
and an unlinked GitLab account pulling other groups' projects after its person's risky Entra sign-in.
Each draws from its own RNG, so the other scenarios' days and records stay put."""

from __future__ import annotations

import random

from auditor_sandbox import catalog
from auditor_sandbox.plan import GITHUB, GITLAB_API, HOUR_MS, MIN_MS, Context, Event
from auditor_sandbox.records_gitlab import gitlab_api_log
from auditor_sandbox.scenarios import Kit, restricted
from auditor_sandbox.tenant import GITHUB_ORG, Repo, city_ip

REPLAY = "developer-pat-replay"
WORM = "build-account-worm"
UNLINKED = "gitlab-unlinked-risky-signin"
DEPARTED = "departed-pat-after-disable"
TOKEN_INCIDENTS = (REPLAY, WORM, UNLINKED, DEPARTED)
SATURDAY = 5
PATS = frozenset({"classic_pat", "fine_grained_pat"})
REPLAY_AGENT = "go-git/5.12"  # a script's git client, never the developer's own
WORM_API_AGENT = "octokit-rest.js/20.1.1 octokit-core.js/5.2.0 Node.js/20"
WORM_REPOS = 3  # private repositories the worm republishes as public "-migration" copies
WORM_REPO_ID = 690_100_000  # ids of the public repositories the worm creates (apart from scratch repos)
UNLINKED_PROJECTS = 17


def build_token_scenarios(ctx: Context, kit: Kit) -> None:
    """Place the incidents on their own days (the build account's usual builds run all window)."""
    seed = ctx.tenant.seed
    _pat_replay(ctx, kit, random.Random(f"acme:{seed}:scenario:{REPLAY}"))
    _build_worm(ctx, kit, random.Random(f"acme:{seed}:scenario:{WORM}"))
    _unlinked_gitlab(ctx, kit, random.Random(f"acme:{seed}:scenario:{UNLINKED}"))
    _departed_pat(ctx, kit, random.Random(f"acme:{seed}:scenario:{DEPARTED}"))


def _pat_replay(ctx: Context, kit: Kit, rng: random.Random) -> None:
    """A developer's own PAT (the one their git client uses every weekday) clones dozens of restricted
    repositories from a VPS abroad on a Saturday night; the owner signs in from nowhere near it."""
    p = kit.pick(
        rng,
        REPLAY,
        lambda p: p.account_class == "developer" and p.github is not None and p.github.git.kind in PATS,
        lambda p: p.is_developer and p.github is not None and bool(PATS & {p.github.git.kind, p.github.api.kind}),
        lambda p: p.is_developer and p.github is not None,
    )
    assert p.github is not None
    pat = p.github.git if p.github.git.kind in PATS or p.github.api.kind not in PATS else p.github.api
    day = kit.late_day(rng, SATURDAY)
    city = catalog.HELSINKI_VPS
    ip = city_ip(rng, city)
    start = ctx.local_ms(day, p.home, rng.uniform(22.0, 23.5))
    pool = restricted(ctx, "github")
    repos = rng.sample(pool, min(45, len(pool)))
    actor = kit.gh_actor(p, city, ip, REPLAY_AGENT)
    events, end = kit.git_run(start, repos, (8_000, 25_000), rng, actor, pat)
    kit.add(events)
    kit.person_truth(
        REPLAY,
        "incident",
        p,
        repos,
        start,
        end,
        f"A developer's existing PAT (token {pat.token_id}, the one they use on weekdays) "
        f"cloned {len(repos)} restricted repositories from a VPS network in {city.country} late on a Saturday "
        "with a scripted client; the developer never signed in from there (a replayed token: the VS Code "
        "extension theft, 2026, and Slack, 2022).",
    )


def _build_worm(ctx: Context, kit: Kit, rng: random.Random) -> None:
    """The build account's usual workday builds all window; on one afternoon its token clones every
    restricted repository within half an hour and publishes public copies (Shai-Hulud, 2025)."""
    bot = ctx.tenant.bots["build"]
    gh_repos = ctx.tenant.repos_on("github")
    usual = sorted(restricted(ctx, "github"), key=lambda r: r.full_name)
    builds = rng.sample(usual, min(6, len(usual)))
    actor = ctx.gh.actor(bot.login, bot.account_id, bot.ips[0], bot.city.country, bot.agent)
    events: list[Event] = []
    for day in range(ctx.days):
        if not ctx.is_workday(day):
            continue
        for _ in range(rng.randrange(2, 4)):
            ts = kit.at(day, rng.uniform(7.0, 18.0))
            runs, _ = kit.git_run(
                ts, rng.sample(builds, rng.randrange(1, 3)), (3_000, 9_000), rng, actor, bot.credential
            )
            events.extend(runs)
    day = kit.late_day(rng, rng.randrange(0, 5))
    targets = [r for r in gh_repos if r.restricted]
    rng.shuffle(targets)
    start = kit.at(day, rng.uniform(13.0, 16.0))
    gap = max(2_000, 25 * MIN_MS // max(1, len(targets)))
    worm, end = kit.git_run(start, targets, (gap // 2, gap * 3 // 2), rng, actor, bot.credential)
    events.extend(worm)
    api_actor = ctx.gh.actor(bot.login, bot.account_id, bot.ips[0], bot.city.country, WORM_API_AGENT)
    published = ["Shai-Hulud"] + [f"{r.name}-migration" for r in sorted(targets, key=lambda r: -r.tier)[:WORM_REPOS]]
    ts = end
    for i, name in enumerate(published):
        ts += rng.randrange(20_000, 60_000)
        events.append(
            (
                GITHUB,
                ts,
                kit.gh.other(
                    "repo.create",
                    ts,
                    api_actor,
                    repo=f"{GITHUB_ORG}/{name}",
                    repo_id=WORM_REPO_ID + i * 13,
                    public_repo=True,
                    visibility="public",
                ),
            )
        )
    kit.add(events)
    kit.truth(
        WORM,
        "incident",
        "github",
        bot.login,
        None,
        targets,
        start,
        ts,
        f"The build machine user's token, which clones a handful of repositories for builds every workday, "
        f"cloned all {len(targets)} restricted repositories within half an hour and then created public "
        f"repositories ({', '.join(published)}): a self-spreading package worm on a build runner (Shai-Hulud, 2025).",
    )


def _unlinked_gitlab(ctx: Context, kit: Kit, rng: random.Random) -> None:
    """A risky Entra sign-in by a developer whose GitLab account nothing links to them (private e-mail, no
    SAML identity), then clones of other groups' projects from the same address within about 20 minutes."""
    p = next(q for q in ctx.tenant.people if q.gitlab_unlinked)
    assert p.gitlab is not None
    own = {r.subgroup for r in ctx.tenant.team_repos.get((p.team or "", "gitlab"), ())}
    projects = sorted((r for r in ctx.tenant.repos_on("gitlab") if r.restricted), key=lambda r: r.full_name)
    pool = [r for r in projects if r.subgroup not in own] or [r for r in projects if r.team != p.team]
    repos = rng.sample(pool, min(UNLINKED_PROJECTS, len(pool)))
    day = kit.late_day(rng, rng.randrange(0, 5))
    city = catalog.HELSINKI_VPS
    ip = city_ip(rng, city)
    start = kit.at(day, rng.uniform(9.0, 15.0))
    signin_ts = start - rng.randrange(10, 40) * MIN_MS
    kit.add(
        [
            kit.signin(
                rng,
                p,
                signin_ts,
                "GitLab",
                city,
                ip,
                risk="high",
                risk_events=("anomalousToken", "unfamiliarFeatures"),
                device=catalog.DEVICES[2],
            )
        ]
    )

    def make(ts: int, r: Repo) -> list[Event]:
        return [
            kit.gl_event(p, "repository_git_operation", ts, ip, r, {"protocol": "http", "action": "git-upload-pack"})
        ]

    events, end = kit.clones(start, repos, (45_000, 80_000), rng, make)
    kit.add(events)
    kit.person_truth(
        UNLINKED,
        "incident",
        p,
        repos,
        start,
        end,
        f"A developer's Entra sign-in to GitLab was rated high risk (anomalous token, unfamiliar features) from "
        f"a VPS in {city.country}; within {round((end - signin_ts) / HOUR_MS * 60)} minutes their GitLab account, "
        f"registered with a private e-mail and no SAML identity, cloned {len(repos)} projects of other groups "
        "from the same address: nothing on the GitLab side names the person.",
        platform="gitlab",
    )


def _departed_pat(ctx: Context, kit: Kit, rng: random.Random) -> None:
    """Two days after the departing developer's leave date (Entra disabled; GitLab blocked only later, at
    offboarding), their personal access token downloads archives of restricted projects over the API."""
    p = ctx.tenant.person("departing_dev")
    acct = p.gitlab
    assert acct is not None and p.active_until is not None
    day = p.active_until + 2
    if day >= ctx.days - 1:
        return  # the leave date falls at the window's end: no room for use after it
    token = next((c for c in (acct.api, acct.git) if c.kind == "PersonalAccessToken"), acct.api)
    ip = city_ip(rng, p.home)
    start = ctx.local_ms(day, p.home, rng.uniform(21.0, 23.0))
    pool = sorted((r for r in ctx.tenant.repos_on("gitlab") if r.restricted), key=lambda r: r.full_name)
    repos = rng.sample(pool, min(12, len(pool)))

    def make(ts: int, r: Repo) -> list[Event]:
        api = gitlab_api_log(
            rng,
            ts,
            user_id=acct.account_id,
            username=acct.login,
            ip=ip,
            agent="curl/8.5.0",
            kind="archive",
            project=r,
            auth_kind="PersonalAccessToken",
            token_id=token.token_id,
        )
        download = kit.gl_event(p, "repository_download_operation", ts + 40, ip, r, "Repository Download Started")
        return [(GITLAB_API, ts, api), download]

    events, end = kit.clones(start, repos, (30_000, 120_000), rng, make)
    kit.add(events)
    kit.person_truth(
        DEPARTED,
        "incident",
        p,
        repos,
        start,
        end + 40,
        "Two days after a developer's leave date, with their Entra account disabled but their GitLab account not "
        f"yet blocked, their personal access token (token {token.token_id}) downloaded archives of {len(repos)} "
        "restricted projects over the API from a home address late in the evening.",
        platform="gitlab",
    )
