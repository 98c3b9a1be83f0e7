"""Scheduled automation traffic: CI builds, the nightly backup, the weekly archive backup, two mirrors,
a GitLab deploy key, and the release engineer's fortnightly release-day fetch of many teams' repos.

These are the benign bulk readers a detector must tell apart from exfiltration; the repo sets are
exposed so the ground truth can name them.
"""

from __future__ import annotations

import random
from datetime import timedelta
from functools import partial

from auditor_sandbox.plan import GITHUB, GITLAB_AUDIT, HOUR_MS, MIN_MS, Burst, Context, Event
from auditor_sandbox.records_gitlab import bot_pull
from auditor_sandbox.tenant import Bot, Repo

NON_DEV_TEAMS = ("hr", "sales", "finance")
RELEASE_EVERY_DAYS = 14
RELEASE_PHASE = 5


class AutomationPlanner:
    """Plans each day's automation runs; see the module docstring."""

    def __init__(self, ctx: Context, gh_repos: tuple[Repo, ...], gl_repos: tuple[Repo, ...]) -> None:
        self.ctx = ctx
        rng = random.Random(f"acme:{ctx.tenant.seed}:automation")
        self.bots = ctx.tenant.bots
        self.ci_repos = tuple(r for r in gh_repos if r.team not in NON_DEV_TEAMS)
        self.backup_repos = tuple(r for r in gh_repos if r.restricted)
        candidates = [r for r in self.ci_repos if r.visibility != "private" and r.tier == 0]
        self.gh_mirror_repos = tuple(rng.sample(candidates, min(len(candidates), max(3, round(len(gh_repos) * 0.06)))))
        self.gl_mirror_repos = tuple(rng.sample(gl_repos, min(len(gl_repos), max(3, min(40, len(gl_repos) // 4)))))
        infra = [r for r in gl_repos if r.subgroup == "infra"] or list(gl_repos)
        self.deploy_repos = tuple(infra[:4])
        self.archive_repos = self.backup_repos
        release_pool = sorted((r for r in self.ci_repos if r.restricted), key=lambda r: r.full_name)
        self.release_repos = tuple(rng.sample(release_pool, min(len(release_pool), 24)))
        self.developers = sum(1 for p in ctx.tenant.people if p.github is not None and p.is_developer)

    def plan_day(self, day: int, rng: random.Random) -> list[Burst]:
        d0 = self.ctx.day_ms(day)
        out: list[Burst] = []

        def run(bot: str, start: int, repos: tuple[Repo, ...], action: str, gap: tuple[int, int]) -> None:
            if repos:
                out.append(
                    Burst(
                        start,
                        len(repos),
                        partial(self._gh_run, self.bots[bot], start, repos, action, gap),
                        stream=GITHUB,
                    )
                )

        run("backup", d0 + 2 * HOUR_MS + rng.randrange(6 * MIN_MS), self.backup_repos, "git.clone", (3_000, 9_000))
        nightly = tuple(rng.sample(self.ci_repos, round(len(self.ci_repos) * rng.uniform(0.35, 0.55))))
        run("ci", d0 + 3 * HOUR_MS + rng.randrange(10 * MIN_MS), nightly, "git.clone", (2_000, 8_000))
        if self.ctx.is_workday(day):
            for hour in range(7, 21):
                n = round(self.developers * 0.12 * rng.uniform(0.5, 1.5))
                repos = tuple(rng.choice(self.ci_repos) for _ in range(n))
                run("ci", d0 + hour * HOUR_MS + rng.randrange(5 * MIN_MS), repos, "git.clone", (5_000, 200_000))
        if (self.ctx.start + timedelta(days=day)).weekday() == 6:  # Sunday: zip archive of every restricted repo
            start = d0 + 3 * HOUR_MS + 30 * MIN_MS + rng.randrange(10 * MIN_MS)
            out.append(Burst(start, len(self.archive_repos), partial(self._archive_run, start), stream=GITHUB))
        if self.is_release_day(day):
            start = d0 + 15 * HOUR_MS + rng.randrange(30 * MIN_MS)
            out.append(Burst(start, len(self.release_repos), partial(self._release_run, start), stream=GITHUB))
        for hour in (0, 6, 12, 18):
            run(
                "gh_mirror",
                d0 + hour * HOUR_MS + 15 * MIN_MS + rng.randrange(MIN_MS),
                self.gh_mirror_repos,
                "git.fetch",
                (1_000, 4_000),
            )
        for hour in range(1, 24, 4):
            start = d0 + hour * HOUR_MS + 30 * MIN_MS + rng.randrange(MIN_MS)
            out.append(
                Burst(
                    start,
                    len(self.gl_mirror_repos),
                    partial(self._gl_run, self.bots["gl_mirror"], start, self.gl_mirror_repos),
                    stream=GITLAB_AUDIT,
                )
            )
        for hour in range(0, 24, 3):
            start = d0 + hour * HOUR_MS + 5 * MIN_MS + rng.randrange(MIN_MS)
            out.append(
                Burst(
                    start,
                    len(self.deploy_repos),
                    partial(self._gl_run, self.bots["deploy_key"], start, self.deploy_repos),
                    stream=GITLAB_AUDIT,
                )
            )
        return out

    def _gh_run(
        self, bot: Bot, start: int, repos: tuple[Repo, ...], action: str, gap: tuple[int, int], rng: random.Random
    ) -> list[Event]:
        gh = self.ctx.gh
        actor = gh.actor(bot.login, bot.account_id, rng.choice(bot.ips), bot.city.country, bot.agent, is_bot=bot.is_bot)
        out: list[Event] = []
        ts = start
        for repo in repos:
            out.append((GITHUB, ts, gh.git(action, ts, actor, repo, bot.credential)))
            ts += rng.randrange(*gap)
        return out

    def is_release_day(self, day: int) -> bool:
        """The first workday on or after each fortnightly release date."""
        if day < RELEASE_PHASE:
            return False
        due = day - (day - RELEASE_PHASE) % RELEASE_EVERY_DAYS
        while not self.ctx.is_workday(due) and due < day:
            due += 1
        return due == day and self.ctx.is_workday(day)

    def _archive_run(self, start: int, rng: random.Random) -> list[Event]:
        bot, gh = self.bots["archive"], self.ctx.gh
        actor = gh.actor(bot.login, bot.account_id, bot.ips[0], bot.city.country, bot.agent)
        out: list[Event] = []
        ts = start
        for repo in self.archive_repos:
            out.append((GITHUB, ts, gh.zip(ts, actor, repo, bot.credential)))
            ts += rng.randrange(4_000, 15_000)
        return out

    def _release_run(self, start: int, rng: random.Random) -> list[Event]:
        p = self.ctx.tenant.person("release_eng")
        assert p.github is not None
        gh = self.ctx.gh
        actor = gh.actor(
            p.github.login, p.github.account_id, p.office_ip, p.home.country, p.github.git_agent, nameid=p.upn
        )
        out: list[Event] = []
        ts = start
        for repo in self.release_repos:
            out.append((GITHUB, ts, gh.git("git.fetch", ts, actor, repo, p.github.git)))
            ts += rng.randrange(20_000, 90_000)
        return out

    def _gl_run(self, bot: Bot, start: int, repos: tuple[Repo, ...], rng: random.Random) -> list[Event]:
        out: list[Event] = []
        ts = start
        for repo in repos:
            out.append((GITLAB_AUDIT, ts, bot_pull(bot, ts, repo, bot.ips[0], bot.credential.transport)))
            ts += rng.randrange(2_000, 12_000)
        return out
