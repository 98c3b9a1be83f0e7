"""The labelled GitLab incidents: a departing developer's exports and a guest's PAT-driven API pulls."""

from __future__ import annotations

import random

from auditor_sandbox import catalog
from auditor_sandbox.plan import GITLAB_API, GITLAB_AUDIT, HOUR_MS, MIN_MS, Context, Event
from auditor_sandbox.records_gitlab import gitlab_api_log, gitlab_event
from auditor_sandbox.scenarios import Kit
from auditor_sandbox.tenant import Repo, city_ip


def departing_export(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    p = ctx.tenant.person("departing_dev")
    assert p.gitlab is not None
    start = kit.at(day, rng.uniform(15.0, 17.0))
    ip = city_ip(rng, p.home)
    kit.add(
        [
            kit.signin(
                rng,
                p,
                start - rng.randrange(15, 50) * MIN_MS,
                "GitLab",
                p.home,
                ip,
                risk="high",
                risk_events=("unfamiliarFeatures", "anonymizedIPAddress"),
            )
        ]
    )
    pool = [r for r in ctx.tenant.repos if r.platform == "gitlab" and r.restricted]
    repos = rng.sample(pool, min(15, len(pool)))

    def make(ts: int, r: Repo) -> list[Event]:
        return [
            kit.gl_event(p, "project_export_file_download_started", ts, ip, r, "Export file download started"),
            kit.gl_event(p, "repository_download_operation", ts + 20_000, ip, r, "Repository Download Started"),
        ]

    events, end = kit.clones(start, repos, (90_000, 240_000), rng, make)
    kit.add(events)
    kit.person_truth(
        "gitlab-departing-export",
        "incident",
        p,
        repos,
        start,
        end + 20_000,
        "A developer about to leave signed in with high risk and downloaded project exports and archives "
        "of about fifteen restricted GitLab projects.",
        platform="gitlab",
    )


def guest_pat_api(ctx: Context, kit: Kit, day: int, rng: random.Random) -> None:
    p = ctx.tenant.person("guest_pat")
    acct = p.gitlab
    assert acct is not None
    city = catalog.ISTANBUL
    ip = city_ip(rng, city)
    start = kit.at(day, rng.uniform(9.0, 12.0))
    pre = start - rng.randrange(3, 40) * HOUR_MS
    token_id = 900_000 + ctx.tenant.seed % 1000  # apart from account tokens (100+) and churn (1,000,000+)
    kit.add(
        [
            kit.signin(rng, p, pre - 6 * MIN_MS, "GitLab", city, ip),
            (
                GITLAB_AUDIT,
                pre,
                gitlab_event(
                    "personal_access_token_created",
                    pre,
                    author_id=acct.account_id,
                    author_name=p.display_name,
                    author_email=p.mail,
                    ip=ip,
                    entity=(acct.account_id, "User", acct.login),
                    target=(token_id, "PersonalAccessToken", "ci-sync"),
                    message=f"Created personal access token with id {token_id}",
                ),
            ),
        ]
    )
    pool = [r for r in ctx.tenant.repos if r.platform == "gitlab" and r.restricted]
    repos = rng.sample(pool, min(20, len(pool)))

    def make(ts: int, r: Repo) -> list[Event]:
        def api(at: int, kind: str) -> Event:
            return (
                GITLAB_API,
                at,
                gitlab_api_log(
                    rng,
                    at,
                    user_id=acct.account_id,
                    username=acct.login,
                    ip=ip,
                    agent="python-gitlab/4.11.1",
                    kind=kind,
                    project=r,
                    auth_kind="PersonalAccessToken",
                    token_id=token_id,
                ),
            )

        evs = [
            api(ts, "archive"),
            kit.gl_event(p, "repository_download_operation", ts + 30, ip, r, "Repository Download Started"),
        ]
        evs.extend(api(ts + 2_000 * (i + 1), "raw") for i in range(rng.randrange(1, 4)))
        if rng.random() < 0.5:
            evs.append(
                kit.gl_event(
                    p, "repository_git_operation", ts + 20_000, ip, r, {"protocol": "http", "action": "git-upload-pack"}
                )
            )
        return evs

    events, end = kit.clones(start, repos, (60_000, 180_000), rng, make)
    kit.add(events)
    kit.person_truth(
        "gitlab-guest-pat-api",
        "incident",
        p,
        repos,
        start,
        end + 20_000,
        "An external guest account created a personal access token from a new country and used the API "
        "to download archives and files of about twenty restricted GitLab projects.",
        platform="gitlab",
    )
