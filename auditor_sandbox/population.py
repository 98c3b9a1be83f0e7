"""Who works at acme: people with their Entra attributes, platform accounts and credentials, the
automation accounts, and which person plays which role in the labelled scenarios.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from auditor_sandbox import catalog
from auditor_sandbox.model import (
    DOMAIN,
    PARTNER_DOMAIN,
    Account,
    Bot,
    Credential,
    Person,
    ascii_fold,
    city_ip,
    hashed_token,
    make_uuid,
)


class Ids:
    """Monotonic id sources so every token and account id in the tenant is unique."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.token = 40_000_000 + seed % 1000 * 1000
        self.gitlab_token = 100
        self.gitlab_user = 2
        self.github_users: set[int] = {41_000_001, 41_000_017, 41_000_023}  # reserved for the GitHub bots

    def github_user(self, rng: random.Random) -> int:
        """A random-looking GitHub user id, never one already handed out."""
        while True:
            candidate = 2_000_000 + rng.randrange(150_000_000)
            if candidate not in self.github_users:
                self.github_users.add(candidate)
                return candidate

    def next_gitlab_user(self, rng: random.Random) -> int:
        """GitLab user ids are small and increasing (users created over time, a few deleted)."""
        self.gitlab_user += 1 + rng.randrange(3)
        return self.gitlab_user

    def cred(self, kind: str, scopes: str = "", app: tuple[str, int] | None = None) -> Credential:
        self.token += 1 + self.token % 7
        return Credential(
            kind,
            self.token,
            hashed_token(self.seed, self.token),
            scopes,
            app[1] if app else None,
            app[0] if app else None,
        )

    def gitlab_cred(self, kind: str, scopes: str = "") -> Credential:
        self.gitlab_token += 1
        return Credential(kind, self.gitlab_token, hashed_token(self.seed, -self.gitlab_token), scopes)


def build_people(rng: random.Random, ids: Ids, count: int, start: datetime, gitlab_teams: set[str]) -> list[Person]:
    n_priv = max(2, round(count * 0.02))
    n_guest = max(2, round(count * 0.02))
    n_contr = max(2, round(count * 0.05))
    n_dev = max(8, round(count * 0.50))
    n_nondev = count - n_priv - n_guest - n_contr - n_dev
    classes = (
        ["privileged"] * n_priv
        + ["developer"] * n_dev
        + ["contractor"] * n_contr
        + ["non_developer"] * n_nondev
        + ["external"] * n_guest
    )
    names: set[str] = set()
    logins: set[str] = set()
    people: list[Person] = []
    teams = [t[0] for t in catalog.DEV_TEAMS]
    team_dept = {t[0]: t[1] for t in catalog.DEV_TEAMS}
    gitlab_team_list = sorted(gitlab_teams) or teams
    for index, klass in enumerate(classes):
        given, surname = _unique_name(rng, names)
        local = f"{ascii_fold(given)}.{ascii_fold(surname)}"
        team: str | None = None
        dept: str | None
        title: str | None
        emp_type: str | None = "Employee"
        if klass in ("developer", "contractor"):
            team = rng.choice(teams)
            dept = team_dept[team]
            title = rng.choice(catalog.DEV_TITLES[dept]) if klass == "developer" else "Contract Developer"
            emp_type = "Employee" if klass == "developer" else "Contractor"
        elif klass == "privileged":
            team = "infra"
            dept, title = ("IT", "IT Administrator") if index % 2 else ("Platform", "Head of Platform")
        elif klass == "external":
            team = rng.choice(gitlab_team_list)
            dept, title, emp_type = None, None, None
        else:
            dept_name, titles = catalog.NON_DEV_DEPARTMENTS[(index - n_priv - n_dev - n_contr) % 5]
            dept, title = dept_name, rng.choice(titles)
        if klass == "external":
            home = catalog.PARTNER_CITIES[index % len(catalog.PARTNER_CITIES)]
            mail = f"{local}@{PARTNER_DOMAIN}"
            upn = f"{local}_{PARTNER_DOMAIN}#EXT#@{DOMAIN}"
        else:
            home = rng.choices(catalog.HOME_CITIES, catalog.HOME_WEIGHTS)[0]
            mail = upn = f"{local}@{DOMAIN}"
        if klass == "privileged" and index == 0:
            home = catalog.HOME_CITIES[0]  # the org owner of the travel incident lives in Berlin
        github = gitlab = None
        on_github = klass in ("developer", "privileged", "contractor") or (
            klass == "non_developer" and (dept == "Finance" or rng.random() < 0.55)
        )
        if on_github:
            github = _github_account(rng, ids, given, surname, logins, klass)
        on_gitlab = (
            klass in ("privileged", "external")
            or (klass == "developer" and team in gitlab_teams and rng.random() < 0.85)
            or (klass == "contractor" and rng.random() < 0.5)
            or (klass == "non_developer" and rng.random() < 0.15)
        )
        if on_gitlab:
            gl_login = local + (".ext" if klass == "external" else "")
            gitlab = _gitlab_account(rng, ids, gl_login)
        created = start - timedelta(days=rng.randrange(30, 2200), seconds=rng.randrange(86400))
        people.append(
            Person(
                index=index,
                object_id=make_uuid(rng),
                upn=upn,
                mail=mail,
                display_name=f"{given} {surname}",
                given_name=given,
                surname=surname,
                department=dept,
                job_title=title,
                employee_type=emp_type,
                user_type="Guest" if klass == "external" else "Member",
                created=created,
                account_class=klass,
                team=team,
                home=home,
                home_ip=city_ip(rng, home),
                office_ip=f"{home.ip_prefix}.10.{catalog.HOME_CITIES.index(home) + 20}"
                if home in catalog.HOME_CITIES
                else city_ip(rng, home),
                device=rng.choice(catalog.DEVICES),
                github=github,
                gitlab=gitlab,
                activity=rng.uniform(0.5, 1.6),
            )
        )
    return people


def _unique_name(rng: random.Random, taken: set[str]) -> tuple[str, str]:
    for _ in range(1000):
        given, surname = rng.choice(catalog.GIVEN_NAMES), rng.choice(catalog.SURNAMES)
        if f"{given} {surname}" not in taken:
            taken.add(f"{given} {surname}")
            return given, surname
    given, surname = rng.choice(catalog.GIVEN_NAMES), f"{rng.choice(catalog.SURNAMES)}-{len(taken)}"
    taken.add(f"{given} {surname}")
    return given, surname


def _github_account(rng: random.Random, ids: Ids, given: str, surname: str, taken: set[str], klass: str) -> Account:
    g, s = ascii_fold(given), ascii_fold(surname).replace("-", "")
    pattern = rng.randrange(4)
    base = (f"{g}{s}", f"{g[0]}{s}", f"{g}-{s[0]}", f"{s}{g[:2]}")[pattern]
    login = base
    while login in taken:
        login = f"{base}{rng.randrange(2, 99)}"
    taken.add(login)
    roll = rng.random()
    if klass == "non_developer":
        git = ids.cred("oauth", "repo,gist,workflow", ("Git Credential Manager", 1402851))
    elif roll < 0.55:
        git = ids.cred("ssh_key")
    elif roll < 0.80:
        git = ids.cred("oauth", "repo,gist,workflow", ("Git Credential Manager", 1402851))
    elif roll < 0.92:
        git = ids.cred("classic_pat", "repo,read:org,workflow")
    else:
        git = ids.cred("fine_grained_pat")
    roll = rng.random()
    if git.kind == "classic_pat" and roll < 0.5:
        api = git
    elif roll < 0.6:
        api = ids.cred("oauth", "repo,read:org,gist", ("GitHub CLI", 178632))
    elif roll < 0.85:
        api = ids.cred("oauth", "repo,read:org,user:email", ("Visual Studio Code", 962204))
    else:
        api = ids.cred("classic_pat", "repo,read:org")
    agent = rng.choice(catalog.GIT_AGENTS)
    api_agent = {"GitHub CLI": "GitHub CLI 2.55.0", "Visual Studio Code": "GitHubPullRequests/0.96.0 VSCode/1.93.0"}
    return Account(
        "github",
        login,
        ids.github_user(rng),
        git,
        api,
        agent,
        api_agent.get(api.oauth_application_name or "", rng.choice(catalog.API_AGENTS[2:])),
    )


def _gitlab_account(rng: random.Random, ids: Ids, login: str) -> Account:
    user_id = ids.next_gitlab_user(rng)
    git = (
        ids.gitlab_cred("ssh_key")
        if rng.random() < 0.6
        else ids.gitlab_cred("PersonalAccessToken", "read_repository,write_repository")
    )
    api = (
        ids.gitlab_cred("PersonalAccessToken", "api")
        if rng.random() < 0.7
        else ids.gitlab_cred("OauthAccessToken", "api")
    )
    return Account(
        "gitlab",
        login,
        user_id,
        git,
        api,
        rng.choice(catalog.GIT_AGENTS[:3]),
        rng.choice(catalog.GITLAB_API_AGENTS),
    )


def build_bots(rng: random.Random, ids: Ids) -> dict[str, Bot]:
    ci_ips = tuple(f"20.{rng.randrange(30, 250)}.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}" for _ in range(40))
    dc = catalog.DATACENTER_CITY

    def dc_ip(host: int) -> tuple[str, ...]:
        return (f"{dc.ip_prefix}.44.{host}",)

    # key, platform, login, account id, purpose, ips, credential, git agent, actor_is_bot
    table: list[tuple[str, str, str, int, str, tuple[str, ...], Credential, str, bool]] = [
        ("ci", "github", "acme-ci-bot", 41_000_001, "ci", ci_ips, ids.cred("app_token"), "git/2.46.0", True),
        ("backup", "github", "acme-backup-bot", 41_000_017, "backup", dc_ip(21),
         ids.cred("classic_pat", "repo,read:org"), "git/2.43.0", False),
        ("gh_mirror", "github", "acme-mirror-bot", 41_000_023, "mirror", dc_ip(22), ids.cred("ssh_key"),
         "git/2.43.0", False),
        ("gl_mirror", "gitlab", "acme-gitlab-mirror-bot", ids.next_gitlab_user(rng), "mirror", dc_ip(23),
         ids.gitlab_cred("PersonalAccessToken", "read_repository"), "git/2.43.0", False),
        ("migration", "gitlab", "acme-migration-bot", ids.next_gitlab_user(rng), "migration", dc_ip(24),
         ids.gitlab_cred("PersonalAccessToken", "read_repository,read_api"), "git/2.46.0", False),
        ("deploy_key", "gitlab", "argocd-deploy", -3, "ci", dc_ip(25), ids.gitlab_cred("deploy_key"),
         "git/2.43.0", True),
        ("archive", "github", "acme-archive-bot", 41_000_031, "backup", dc_ip(26),
         ids.cred("classic_pat", "repo"), "Go-http-client/1.1", False),
        # Added later, last (their draws come after every other) and with ids below the archive bot's, so
        # the GitLab inventory's next user id stays put.
        ("build", "github", "acme-build-bot", 41_000_019, "ci", dc_ip(27),
         ids.cred("classic_pat", "repo,read:org,workflow"), "git/2.43.0", False),
        ("dr_mirror", "github", "acme-dr-mirror-bot", 41_000_029, "mirror", dc_ip(28), ids.cred("ssh_key"),
         "git/2.43.0", False),
    ]  # fmt: skip
    bots = [
        Bot(key, platform, login, account_id, purpose, catalog.CI_RUNNER_CITY if key == "ci" else dc, ips, cred,
            agent, is_bot)
        for key, platform, login, account_id, purpose, ips, cred, agent, is_bot in table
    ]  # fmt: skip
    return {b.key: b for b in bots}


def choose_cast(
    rng: random.Random, people: list[Person], repo_counts: dict[tuple[str, str], int], extra_rng: random.Random
) -> dict[str, int]:
    """Pick one distinct person per scenario role, preferring the best-fitting candidates. Roles added
    later draw from `extra_rng`, so the original roles (and everything after them) stay the same."""
    taken: set[int] = set()

    def pick(role_ok: list[Person], best: bool = False, key: str = "", draw: random.Random = rng) -> int:
        pool = [p for p in role_ok if p.index not in taken]
        if not pool:
            raise ValueError(f"tenant too small: no candidate for scenario role {key!r}")
        chosen = max(pool, key=lambda p: repo_counts.get((p.team or "", "github"), 0)) if best else draw.choice(pool)
        taken.add(chosen.index)
        return chosen.index

    devs_gh = [p for p in people if p.account_class == "developer" and p.github]
    devs_gl = [
        p
        for p in people
        if p.account_class == "developer" and p.gitlab and repo_counts.get((p.team or "", "gitlab"), 0) >= 2
    ]
    return {
        "admin_travel": pick([people[0]], key="admin_travel"),
        "finance_pat": pick([p for p in people if p.department == "Finance" and p.github], key="finance"),
        "contractor_zip": pick([p for p in people if p.account_class == "contractor" and p.github], key="contractor"),
        "guest_pat": pick([p for p in people if p.account_class == "external" and p.gitlab], key="guest"),
        "departing_dev": pick(
            devs_gl or [p for p in people if p.account_class == "developer" and p.gitlab], key="departing_dev"
        ),
        "oauth_dev": pick(devs_gh, key="oauth_dev"),
        "low_slow": pick(devs_gh, key="low_slow"),
        "new_laptop": pick(devs_gh, best=True, key="new_laptop"),
        "new_hire": pick(devs_gh, best=True, key="new_hire"),
        "owner_archive": pick(
            [p for p in people if p.account_class == "privileged" and p.github], key="owner_archive", draw=extra_rng
        ),
        "travel_dev": pick(devs_gh, key="travel_dev", draw=extra_rng),
        "api_scraper": pick(devs_gh, key="api_scraper", draw=extra_rng),
        "contractor_slow": pick(
            [p for p in people if p.account_class == "contractor" and p.github], key="contractor_slow", draw=extra_rng
        ),
        "release_eng": pick(devs_gh, key="release_eng", draw=extra_rng),
    }


def apply_lifecycle(
    people: list[Person], cast: dict[str, int], start: datetime, hire_day: int, leave_day: int
) -> list[Person]:
    """The new hire starts inside the window; the departing developer leaves (disabled) after it."""
    out = list(people)
    hire = out[cast["new_hire"]]
    hired_at = start + timedelta(days=hire_day, hours=6, minutes=12)
    out[hire.index] = replace(hire, created=hired_at, active_from=hire_day)
    leaver = out[cast["departing_dev"]]
    out[leaver.index] = replace(leaver, active_until=leave_day)
    return out


def mark_unlinked_gitlab(
    people: list[Person], cast: dict[str, int], repo_counts: dict[tuple[str, str], int], seed: int
) -> list[Person]:
    """One GitLab developer outside the cast (GitLab-only when there is one) whose account uses a private
    e-mail and no SAML identity, so nothing links it to Entra; drawn from its own RNG, so nothing else moves."""
    rng = random.Random(f"acme:{seed}:cast-unlinked")
    free = [p for p in people if p.gitlab is not None and p.index not in set(cast.values())]
    fits: tuple[Callable[[Person], bool], ...] = (
        lambda p: (
            p.account_class == "developer" and p.github is None and repo_counts.get((p.team or "", "gitlab"), 0) >= 2
        ),
        lambda p: p.account_class == "developer" and repo_counts.get((p.team or "", "gitlab"), 0) >= 2,
        lambda p: p.is_developer,
        lambda p: True,
    )
    pool = next((fitting for ok in fits if (fitting := [p for p in free if ok(p)])), [])
    if not pool:
        raise ValueError("tenant too small: no GitLab account outside the scenario cast")
    chosen = rng.choice(pool)
    out = list(people)
    out[chosen.index] = replace(chosen, gitlab_unlinked=True)
    return out
