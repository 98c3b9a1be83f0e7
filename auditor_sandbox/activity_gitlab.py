"""Normal GitLab activity of developers: git operations (streamed audit events) and API calls
(api_json.log, plus the audit event GitLab adds for archive downloads), and the odd new PAT.
"""

from __future__ import annotations

import random
from functools import partial

from auditor_sandbox.plan import GITLAB_API, GITLAB_AUDIT, HOUR_MS, Burst, Context, Event, Where
from auditor_sandbox.records_gitlab import gitlab_api_log, gitlab_event, project_entity
from auditor_sandbox.tenant import Person, Repo


class GitLabActivity:
    """Plans and builds one person-day of GitLab use; repo sets come from the activity planner."""

    def __init__(self, ctx: Context, work: dict[int, tuple[Repo, ...]], near: dict[int, tuple[Repo, ...]]) -> None:
        self.ctx = ctx
        self.work_gl = work
        self.near_gl = near

    def plan(self, p: Person, where: Where, day: int, t0: int, span: float, rng: random.Random) -> list[Burst]:
        out: list[Burst] = []
        n_git = int(p.activity * rng.uniform(0.5, 5.0))
        if n_git:
            start = t0 + int(rng.random() * span * HOUR_MS)
            out.append(Burst(start, n_git, partial(self._gl_git, p, where, start, n_git), stream=GITLAB_AUDIT))
        calls: list[tuple[str, Repo | None]] = []
        for _ in range(int(rng.random() * 3.5)):
            kind = rng.choices(("tree", "mrs", "raw", "projects", "archive"), (30, 30, 25, 12, 3))[0]
            calls.append((kind, None if kind == "projects" else self.pick(p, rng)))
        if calls:
            start = t0 + int(rng.random() * span * HOUR_MS)
            count = len(calls) + sum(1 for k, r in calls if k == "archive" and r is not None and r.restricted)
            out.append(Burst(start, count, partial(self._gl_api, p, where, start, tuple(calls))))
        if rng.random() < 0.008:
            start = t0 + int(rng.random() * span * HOUR_MS)
            out.append(
                Burst(
                    start,
                    1,
                    partial(self._gl_pat, p, where, start, 1_000_000 + day * 100_000 + p.index),
                    stream=GITLAB_AUDIT,
                )
            )
        return out

    def pick(self, p: Person, rng: random.Random) -> Repo:
        work = self.work_gl[p.index]
        return rng.choice(work) if work and rng.random() < 0.9 else rng.choice(self.near_gl[p.index] or work)

    def _gl_git(self, p: Person, where: Where, start: int, n: int, rng: random.Random) -> list[Event]:
        acct = p.gitlab
        assert acct is not None
        protocol = acct.git.transport
        out: list[Event] = []
        ts = start
        for _ in range(n):
            repo = self.pick(p, rng)
            action = "git-upload-pack" if rng.random() < 0.78 else "git-receive-pack"
            out.append(
                (
                    GITLAB_AUDIT,
                    ts,
                    gitlab_event(
                        "repository_git_operation",
                        ts,
                        author_id=acct.account_id,
                        author_name=p.display_name,
                        author_email=p.gitlab_email,
                        ip=where.ip,
                        entity=project_entity(repo),
                        target=project_entity(repo),
                        message={"protocol": protocol, "action": action},
                    ),
                )
            )
            ts += 5_000 + int(rng.random() * 300_000)
        return out

    def _gl_api(
        self, p: Person, where: Where, start: int, calls: tuple[tuple[str, Repo | None], ...], rng: random.Random
    ) -> list[Event]:
        acct = p.gitlab
        assert acct is not None
        out: list[Event] = []
        ts = start
        for kind, repo in calls:
            out.append(
                (
                    GITLAB_API,
                    ts,
                    gitlab_api_log(
                        rng,
                        ts,
                        user_id=acct.account_id,
                        username=acct.login,
                        ip=where.ip,
                        agent=acct.api_agent,
                        kind=kind,
                        project=repo,
                        auth_kind=acct.api.kind,
                        token_id=acct.api.token_id,
                    ),
                )
            )
            if kind == "archive" and repo is not None and repo.restricted:
                out.append(
                    (
                        GITLAB_AUDIT,
                        ts + 40,
                        gitlab_event(
                            "repository_download_operation",
                            ts + 40,
                            author_id=acct.account_id,
                            author_name=p.display_name,
                            author_email=p.gitlab_email,
                            ip=where.ip,
                            entity=project_entity(repo),
                            target=project_entity(repo),
                            message="Repository Download Started",
                        ),
                    )
                )
            ts += rng.randrange(2_000, 400_000)
        return out

    def _gl_pat(self, p: Person, where: Where, ts: int, token_id: int, _rng: random.Random) -> list[Event]:
        acct = p.gitlab
        assert acct is not None
        return [
            (
                GITLAB_AUDIT,
                ts,
                gitlab_event(
                    "personal_access_token_created",
                    ts,
                    author_id=acct.account_id,
                    author_name=p.display_name,
                    author_email=p.gitlab_email,
                    ip=where.ip,
                    entity=(acct.account_id, "User", acct.login),
                    target=(token_id, "PersonalAccessToken", "workstation"),
                    message=f"Created personal access token with id {token_id}",
                ),
            )
        ]
