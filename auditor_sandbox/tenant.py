"""The acme tenant as a pure model: identities, accounts, credentials, teams, repos and automation.

Built only from seeded `random.Random` streams, so the same seed and sizes give the same company.
Nothing here knows about time-series activity or file formats. The dataclasses live in `model`
and are re-exported here.
"""

from __future__ import annotations

import random
from datetime import datetime

from auditor_sandbox import catalog
from auditor_sandbox.model import (
    BUSINESS,
    DOMAIN,
    GITHUB_ACCESS_TYPES,
    GITHUB_ORG,
    GITLAB_GROUP,
    PARTNER_DOMAIN,
    Account,
    Bot,
    Credential,
    Person,
    Repo,
    Tenant,
    ascii_fold,
    city_ip,
    hashed_token,
    make_uuid,
)
from auditor_sandbox.population import (
    Ids,
    apply_lifecycle,
    build_bots,
    build_people,
    choose_cast,
    mark_unlinked_gitlab,
)

__all__ = [
    "BUSINESS",
    "DOMAIN",
    "GITHUB_ACCESS_TYPES",
    "GITHUB_ORG",
    "GITLAB_GROUP",
    "PARTNER_DOMAIN",
    "Account",
    "Bot",
    "Credential",
    "Person",
    "Repo",
    "Tenant",
    "ascii_fold",
    "build_tenant",
    "city_ip",
    "hashed_token",
    "make_uuid",
]


def build_tenant(seed: int, users: int, repos: int, start: datetime, hire_day: int, leave_day: int) -> Tenant:
    """Build the company: people (with accounts and credentials), repos, bots and the scenario cast."""
    if users < 30 or repos < 30:
        raise ValueError("the sandbox tenant needs at least 30 users and 30 repos")
    rng = random.Random(f"acme:{seed}:tenant")
    ids = Ids(seed)
    repo_list = _build_repos(rng, repos)
    gitlab_teams = {r.team for r in repo_list if r.platform == "gitlab"}
    people = build_people(rng, ids, users, start, gitlab_teams)
    team_repos: dict[tuple[str, str], list[Repo]] = {}
    for r in repo_list:
        team_repos.setdefault((r.team, r.platform), []).append(r)
    cast = choose_cast(
        rng, people, {k: len(v) for k, v in team_repos.items()}, random.Random(f"acme:{seed}:cast-extra")
    )
    people = apply_lifecycle(people, cast, start, hire_day, leave_day)
    people = mark_unlinked_gitlab(people, cast, {k: len(v) for k, v in team_repos.items()}, seed)
    return Tenant(
        seed=seed,
        tenant_id=make_uuid(rng),
        org_id=91_000_000 + rng.randrange(1_000_000),
        business_id=12_000 + rng.randrange(1000),
        people=tuple(people),
        repos=tuple(repo_list),
        bots=build_bots(rng, ids),
        cast=cast,
        team_repos={k: tuple(v) for k, v in team_repos.items()},
    )


def _build_repos(rng: random.Random, count: int) -> list[Repo]:
    repos: list[Repo] = []
    used: set[str] = set()
    for team, name, vis in catalog.NON_DEV_REPOS:
        used.add(f"{GITHUB_ORG}/{name}")
        repos.append(Repo(len(repos), "github", f"{GITHUB_ORG}/{name}", name, 0, vis, team, 0, None))
    while len(repos) < count:
        slug, _dept, subgroup, prefix = rng.choice(catalog.DEV_TEAMS)
        platform = "github" if rng.random() < 0.65 else "gitlab"
        tier1 = prefix in catalog.TIER1_PREFIXES or (platform == "gitlab" and subgroup == "core")
        roll = rng.random()
        vis = "private" if roll < 0.70 else "internal" if roll < 0.90 else "public"
        if tier1 and vis == "public":
            vis = "private"
        base = f"{prefix}-{rng.choice(catalog.REPO_COMPONENTS)}"
        name, n = base, 1
        owner = GITHUB_ORG if platform == "github" else f"{GITLAB_GROUP}/{subgroup}"
        while f"{owner}/{name}" in used:
            n += 1
            name = f"{base}-{n}"
        used.add(f"{owner}/{name}")
        repos.append(
            Repo(
                len(repos),
                platform,
                f"{owner}/{name}",
                name,
                0,
                vis,
                slug,
                1 if tier1 else 0,
                subgroup if platform == "gitlab" else None,
            )
        )
    # Ids: GitHub repo ids are large and sparse, GitLab project ids small and dense.
    out: list[Repo] = []
    gl_id = 40
    for r in repos:
        if r.platform == "github":
            rid = 610_000_000 + r.index * 7919 + rng.randrange(7000)
        else:
            gl_id += 1 + rng.randrange(3)
            rid = gl_id
        out.append(Repo(r.index, r.platform, r.full_name, r.name, rid, r.visibility, r.team, r.tier, r.subgroup))
    return out
