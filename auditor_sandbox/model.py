"""The tenant's vocabulary as frozen dataclasses: identities, accounts, credentials, repos and bots.

Plain data with no behaviour beyond small derived properties; `tenant.build_tenant` fills it in.
"""

from __future__ import annotations

import base64
import hashlib
import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from auditor_sandbox.catalog import City

GITHUB_ORG = "acme-corp"
GITLAB_GROUP = "acme"
DOMAIN = "acme.example"
PARTNER_DOMAIN = "partner.example"
BUSINESS = "acme"

GITHUB_ACCESS_TYPES = {
    "classic_pat": "Personal access token",
    "fine_grained_pat": "Fine-grained personal access token",
    "oauth": "OAuth access token",
    "app_token": "GitHub App server-to-server token",
}


@dataclass(frozen=True, slots=True)
class Credential:
    """A key or token an account uses for git or API calls: ids and a hash only, never a secret."""

    kind: str  # ssh_key | classic_pat | fine_grained_pat | oauth | app_token | PersonalAccessToken | ...
    token_id: int
    hashed_token: str
    scopes: str = ""
    oauth_application_id: int | None = None
    oauth_application_name: str | None = None

    @property
    def transport(self) -> str:
        return "ssh" if self.kind in ("ssh_key", "deploy_key") else "http"


@dataclass(frozen=True, slots=True)
class Account:
    """A login on one code platform with the credentials it normally uses."""

    platform: str
    login: str
    account_id: int
    git: Credential
    api: Credential
    git_agent: str
    api_agent: str


@dataclass(frozen=True, slots=True)
class Person:
    """An Entra identity (member or guest) and the platform accounts linked to it."""

    index: int
    object_id: str
    upn: str
    mail: str
    display_name: str
    given_name: str
    surname: str
    department: str | None
    job_title: str | None
    employee_type: str | None
    user_type: str
    created: datetime
    account_class: str  # developer | non_developer | privileged | contractor | external
    team: str | None
    home: City
    home_ip: str
    office_ip: str
    device: tuple[str, str, str]
    github: Account | None
    gitlab: Account | None
    activity: float
    active_from: int = -(10**6)
    active_until: int | None = None
    gitlab_unlinked: bool = False  # GitLab account on a private e-mail without SAML identity: no IdP link

    @property
    def gitlab_email(self) -> str | None:
        """The e-mail GitLab's audit events show for this person (none for an unlinked account)."""
        return None if self.gitlab_unlinked else self.mail

    @property
    def is_developer(self) -> bool:
        return self.account_class in ("developer", "privileged", "contractor", "external")

    def active_on(self, day: int) -> bool:
        return self.active_from <= day and (self.active_until is None or day < self.active_until)


@dataclass(frozen=True, slots=True)
class Repo:
    """A GitHub repository or GitLab project owned by a team."""

    index: int
    platform: str
    full_name: str
    name: str
    repo_id: int
    visibility: str
    team: str
    tier: int
    subgroup: str | None

    @property
    def restricted(self) -> bool:
        return self.visibility != "public"


@dataclass(frozen=True, slots=True)
class Bot:
    """An automation account (CI, backup, mirror, migration, deploy key) with no Entra sign-ins."""

    key: str
    platform: str
    login: str
    account_id: int
    purpose: str
    city: City
    ips: tuple[str, ...]
    credential: Credential
    agent: str
    is_bot: bool


@dataclass(frozen=True)
class Tenant:
    """The whole simulated company; `cast` maps scenario roles to person indexes."""

    seed: int
    tenant_id: str
    org_id: int
    business_id: int
    people: tuple[Person, ...]
    repos: tuple[Repo, ...]
    bots: dict[str, Bot]
    cast: dict[str, int]
    team_repos: dict[tuple[str, str], tuple[Repo, ...]] = field(default_factory=dict)

    def repos_on(self, platform: str) -> tuple[Repo, ...]:
        return tuple(r for r in self.repos if r.platform == platform)

    def person(self, role: str) -> Person:
        return self.people[self.cast[role]]


def make_uuid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from `rng` (deterministic, unlike uuid.uuid4)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hashed_token(seed: int, token_id: int) -> str:
    """base64(sha256(fake token)) as GitHub's `hashed_token` shows it."""
    digest = hashlib.sha256(f"acme-sandbox-token:{seed}:{token_id}".encode()).digest()
    return base64.b64encode(digest).decode()


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def city_ip(rng: random.Random, city: City) -> str:
    return f"{city.ip_prefix}.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}"
