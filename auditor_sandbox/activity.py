"""Normal day-by-day activity of people: sign-ins, git sessions, API use, web actions, credential churn.

Each person's day is planned as a few bursts. Only developers' GitHub git sessions are *scaled*
(the `events=N` knob); their per-day intensity is drawn from the base stream and their layout from
the scaled stream, so everything else comes out the same whatever the scale.
"""

from __future__ import annotations

import random
from functools import partial

from auditor_sandbox import catalog
from auditor_sandbox.activity_gitlab import GitLabActivity
from auditor_sandbox.automation import AutomationPlanner
from auditor_sandbox.plan import ENTRA, GITHUB, HOUR_MS, Burst, Context, Event, Where
from auditor_sandbox.records import GitHubRecords, ssh_fingerprint
from auditor_sandbox.tenant import GITHUB_ORG, Person, Repo

MAX_SESSION = 40  # records per scaled git session: keeps overlapping bursts, and memory, small
API_ROUTES = (
    "/repos/{owner}/{repo}/pulls",
    "/repos/{owner}/{repo}/contents/{path}",
    "/repos/{owner}/{repo}/issues",
    "/repos/{owner}/{repo}/commits",
)


_CLONE = '"action":"git.clone","created_at":'
_FETCH = '"action":"git.fetch","created_at":'
_PUSH = '"action":"git.push","created_at":'


class ActivityPlanner:
    """Plans normal activity for one day at a time (see module docstring)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        tenant = ctx.tenant
        rng = random.Random(f"acme:{tenant.seed}:habits")
        self.gh_repos = tenant.repos_on("github")
        self.gl_repos = tenant.repos_on("gitlab")
        self.automation = AutomationPlanner(ctx, self.gh_repos, self.gl_repos)
        dev_gh = [r for r in self.gh_repos if r.team not in ("hr", "sales", "finance")]
        self.work_gh: dict[int, tuple[Repo, ...]] = {}
        self.work_gl: dict[int, tuple[Repo, ...]] = {}
        self.near_gh: dict[int, tuple[Repo, ...]] = {}
        self.near_gl: dict[int, tuple[Repo, ...]] = {}
        for p in tenant.people:
            teams = {"infra", "sre", "devex"} if p.account_class == "privileged" else {p.team}
            self.work_gh[p.index] = tuple(r for r in self.gh_repos if r.team in teams)
            self.work_gl[p.index] = tuple(r for r in self.gl_repos if r.team in teams)
            self.near_gh[p.index] = tuple(rng.sample(dev_gh, min(len(dev_gh), rng.randrange(3, 7))))
            self.near_gl[p.index] = tuple(rng.sample(self.gl_repos, min(len(self.gl_repos), rng.randrange(2, 5))))
        self.doc_repos = {r.team: r for r in self.gh_repos if r.team in ("hr", "sales", "finance")}
        self.gitlab = GitLabActivity(ctx, self.work_gl, self.near_gl)

    # ---------------------------------------------------------------- planning

    def plan_day(self, day: int, rng: random.Random, srng: random.Random, scale: float) -> tuple[list[Burst], float]:
        """Bursts for `day` and the sum of scaled-activity intensities (for calibrating `scale`)."""
        bursts: list[Burst] = []
        intensity_sum = 0.0
        workday = self.ctx.is_workday(day)
        for p in self.ctx.tenant.people:
            if not p.active_on(day):
                continue
            where = self.ctx.where(p, day, rng)
            if where is None:
                continue
            if not workday and rng.random() > (0.05 if p.is_developer else 0.01):
                continue
            t0 = self.ctx.local_ms(day, where.city, rng.uniform(7.5, 10.0) if workday else rng.uniform(10, 16))
            span = 9.0 if workday else 2.0
            bursts.append(self._plan_signins(p, where, t0, span, rng))
            if p.github is not None:
                intensity = p.activity * rng.uniform(2.0, 9.0) * (0.4 if p.account_class == "privileged" else 1.0)
                if p.is_developer:
                    intensity_sum += intensity
                    bursts.extend(self._plan_git_sessions(p, where, t0, span, intensity * scale, srng))
                    bursts.extend(self._plan_github_extras(p, where, day, t0, span, rng))
                elif rng.random() < 0.04 and p.department in ("HR", "Sales", "Finance"):
                    bursts.append(self._plan_doc_zip(p, where, t0 + int(rng.uniform(0.5, span) * HOUR_MS)))
            if p.gitlab is not None and p.is_developer and (self.work_gl[p.index] or self.near_gl[p.index]):
                bursts.extend(self.gitlab.plan(p, where, day, t0, span, rng))
        bursts.extend(self.automation.plan_day(day, rng))
        return bursts, intensity_sum

    def _plan_signins(self, p: Person, where: Where, t0: int, span: float, rng: random.Random) -> Burst:
        apps: list[str] = []
        if p.account_class != "external":
            apps.append("Office 365")
            if rng.random() < 0.6:
                apps.append("Microsoft Teams")
        if p.github is not None and rng.random() < (0.7 if p.is_developer else 0.15):
            apps.append("GitHub Enterprise Cloud")
        if p.gitlab is not None and (p.account_class == "external" or rng.random() < (0.5 if p.is_developer else 0.1)):
            apps.append("GitLab")
        if not apps:
            apps.append("Office 365")
        refreshes = rng.randrange(0, 4) if p.account_class != "external" else 0
        failed = rng.random() < 0.02
        return Burst(
            t0,
            len(apps) + refreshes + failed,
            partial(self._signins, p, where, t0, span, tuple(apps), refreshes, failed),
            stream=ENTRA,
        )

    def _plan_git_sessions(
        self, p: Person, where: Where, t0: int, span: float, expected: float, srng: random.Random
    ) -> list[Burst]:
        total = int(expected + srng.random())  # stochastic rounding keeps the expectation exact
        if total <= 0:
            return []
        sessions = max(min(total, 1 + srng.randrange(3)), -(-total // MAX_SESSION))
        out = []
        for i in range(sessions):
            n = total // sessions + (1 if i < total % sessions else 0)
            start = t0 + int(srng.random() * span * HOUR_MS)
            out.append(Burst(start, n, partial(self._gh_git, p, where, start, n), scaled=True, stream=GITHUB))
        return out

    def _plan_github_extras(
        self, p: Person, where: Where, day: int, t0: int, span: float, rng: random.Random
    ) -> list[Burst]:
        out: list[Burst] = []
        n_api = int(rng.random() * 5 * p.activity)
        if n_api:
            start = t0 + int(rng.random() * span * HOUR_MS)
            out.append(Burst(start, n_api, partial(self._gh_api, p, where, start, n_api), stream=GITHUB))
        if rng.random() < 0.25 and self.work_gh[p.index]:
            start = t0 + int(rng.random() * span * HOUR_MS)
            repo = rng.choice(self.work_gh[p.index])
            out.append(
                Burst(start, 1, partial(self._gh_web, p, where, start, "pull_request.merge", repo), stream=GITHUB)
            )
        if rng.random() < 0.012:
            start = t0 + int(rng.random() * span * HOUR_MS)
            kind = rng.choice(
                (
                    "public_key.create",
                    "org_credential_authorization.grant",
                    "personal_access_token.access_granted",
                    "oauth_authorization.create",
                )
            )
            token_id = 80_000_000 + day * 100_000 + p.index  # unique per person-day, apart from other ranges
            out.append(Burst(start, 1, partial(self._gh_grant, p, where, start, kind, token_id), stream=GITHUB))
        if p.account_class == "privileged" and rng.random() < 0.15:
            start = t0 + int(rng.random() * span * HOUR_MS)
            target = rng.choice(self.ctx.tenant.people)
            if target.github is not None:
                out.append(Burst(start, 1, partial(self._gh_admin, p, where, start, target), stream=GITHUB))
        return out

    def _plan_doc_zip(self, p: Person, where: Where, start: int) -> Burst:
        team = {"HR": "hr", "Sales": "sales", "Finance": "finance"}.get(p.department or "", "hr")
        repo = self.doc_repos.get(team) or self.doc_repos["hr"]
        return Burst(start, 1, partial(self._gh_doc_zip, p, where, start, repo), stream=GITHUB)

    # ---------------------------------------------------------------- expansion

    def _signins(
        self,
        p: Person,
        where: Where,
        t0: int,
        span: float,
        apps: tuple[str, ...],
        refreshes: int,
        failed: bool,
        rng: random.Random,
    ) -> list[Event]:
        entra = self.ctx.entra
        out: list[Event] = []
        ts = t0
        if failed:
            out.append((ENTRA, ts, entra.signin(rng, p, ts, apps[0], where.city, where.ip, error=50126)))
            ts += rng.randrange(20_000, 90_000)
        for app in apps:
            out.append((ENTRA, ts, entra.signin(rng, p, ts, app, where.city, where.ip)))
            ts += rng.randrange(30_000, 360_000)
        for _ in range(refreshes):
            at = t0 + rng.randrange(HOUR_MS, int(span * HOUR_MS) + HOUR_MS)
            app = rng.choice(("Microsoft Teams", "Office 365"))
            out.append((ENTRA, at, entra.signin(rng, p, at, app, where.city, where.ip, interactive=False)))
        return out

    def _gh_git(self, p: Person, where: Where, start: int, n: int, rng: random.Random) -> list[Event]:
        """The hot path: one developer git session, spliced from pre-encoded fragments."""
        acct = p.github
        assert acct is not None
        gh = self.ctx.gh
        actor = gh.actor(acct.login, acct.account_id, where.ip, where.city.country, acct.git_agent, nameid=p.upn)
        tail = f',"transport_protocol_name":"{acct.git.transport}"{GitHubRecords.token(acct.git)}}}\n'
        work = self.work_gh[p.index]
        near = self.near_gh[p.index]
        focus = rng.sample(work, min(len(work), 1 + rng.randrange(3))) if work else list(near)
        repo_git = gh.repo_git
        focus_parts = [f",{actor},{repo_git[r.index]}{tail}" for r in focus]
        near_parts = [f",{actor},{repo_git[r.index]}{tail}" for r in near]
        all_repos = self.gh_repos
        n_focus, n_near = len(focus_parts), len(near_parts)
        focus_scale = n_focus / 0.93 * 0.999999  # r < 0.93 maps onto 0..n_focus-1
        near_scale = n_near / 0.067 * 0.999999
        rand = rng.random
        out: list[Event] = []
        append = out.append
        ts = start
        ids = gh.doc_ids(n)
        for i in range(n):
            r = rand()
            if r < 0.93:
                part = focus_parts[int(r * focus_scale)]
            elif r < 0.997 and n_near:
                part = near_parts[int((r - 0.93) * near_scale)]
            else:
                part = f",{actor},{repo_git[all_repos[int(rand() * len(all_repos))].index]}{tail}"
            g = rand()  # one draw gives both the action and the gap to the next record
            prefix = _CLONE if g < 0.6 else _FETCH if g < 0.75 else _PUSH
            append((GITHUB, ts, f'{{"@timestamp":{ts},"_document_id":"{ids[i]}",{prefix}{ts}{part}'))
            ts += 5_000 + int(g * 240_000)
        return out

    def _gh_api(self, p: Person, where: Where, start: int, n: int, rng: random.Random) -> list[Event]:
        acct = p.github
        assert acct is not None
        gh = self.ctx.gh
        actor = gh.actor(acct.login, acct.account_id, where.ip, where.city.country, acct.api_agent, nameid=p.upn)
        no_ip = gh.actor(acct.login, acct.account_id, None, where.city.country, acct.api_agent, nameid=p.upn)
        repos = self.work_gh[p.index] or self.near_gh[p.index]
        out: list[Event] = []
        ts = start
        for _ in range(n):
            if rng.random() < 0.15 or not repos:
                out.append((GITHUB, ts, gh.api(ts, no_ip, "/graphql", acct.api, method="POST")))
            else:
                repo = rng.choice(repos)
                out.append((GITHUB, ts, gh.api(ts, actor, rng.choice(API_ROUTES), acct.api, repo)))
            ts += rng.randrange(1_000, 600_000)
        return out

    def _browser_actor(self, p: Person, where: Where) -> str:
        acct = p.github
        assert acct is not None
        return self.ctx.gh.actor(acct.login, acct.account_id, where.ip, where.city.country, p.device[2], nameid=p.upn)

    def _gh_web(self, p: Person, where: Where, ts: int, action: str, repo: Repo, _rng: random.Random) -> list[Event]:
        actor = self._browser_actor(p, where)
        fields = {
            "repo": repo.full_name,
            "repo_id": repo.repo_id,
            "public_repo": repo.visibility == "public",
            "visibility": repo.visibility,
        }
        return [(GITHUB, ts, self.ctx.gh.other(action, ts, actor, **fields))]

    def _gh_doc_zip(self, p: Person, where: Where, ts: int, repo: Repo, _rng: random.Random) -> list[Event]:
        return [(GITHUB, ts, self.ctx.gh.zip(ts, self._browser_actor(p, where), repo, None))]

    def _gh_grant(self, p: Person, where: Where, ts: int, kind: str, token_id: int, rng: random.Random) -> list[Event]:
        actor = self._browser_actor(p, where)
        fields: dict[str, object]
        if kind == "public_key.create":
            fields = {"fingerprint": ssh_fingerprint(rng), "title": "laptop"}
        elif kind == "org_credential_authorization.grant":
            fields = {"token_id": token_id, "token_scopes": "repo,read:org", "credential_type": "personal access token"}
        elif kind == "personal_access_token.access_granted":
            fields = {"token_id": token_id, "user": p.github.login if p.github else ""}
        else:
            name, app_id = rng.choice(sorted(catalog.KNOWN_OAUTH_APPS.items()))
            fields = {"oauth_application_id": app_id, "oauth_application_name": name}
        return [(GITHUB, ts, self.ctx.gh.other(kind, ts, actor, **fields))]

    def _gh_admin(self, p: Person, where: Where, ts: int, target: Person, rng: random.Random) -> list[Event]:
        """Everyday privilege changes by an org owner: team and repo membership, rarely a new org admin."""
        login = target.github.login if target.github else ""
        roll = rng.random()
        fields: dict[str, object]
        if roll < 0.5 and target.team:
            action, fields = "team.add_member", {"team": f"{GITHUB_ORG}/{target.team}", "user": login}
        elif roll < 0.93:
            repo = rng.choice(self.work_gh[target.index] or self.gh_repos)
            perm = rng.choice(("write", "read", "maintain"))
            action = "repo.add_member"
            fields = {"repo": repo.full_name, "repo_id": repo.repo_id, "user": login, "permission": perm}
        else:
            action, fields = "org.update_member", {"user": login, "permission": "admin", "permission_was": "read"}
        return [(GITHUB, ts, self.ctx.gh.other(action, ts, self._browser_actor(p, where), **fields))]
