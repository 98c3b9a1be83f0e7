"""Config models. Unknown keys are errors; secrets are references (env var or file), never values."""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from auditor.errors import ConfigError

Platform = Literal["github", "gitlab", "entra"]
Purpose = Literal["ci", "backup", "mirror", "migration", "scanner"]


class Strict(BaseModel):
    """Base for every config section: unknown keys are an error, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Prefixes of GitHub, GitLab, Slack and similar tokens, and of JWTs: a value, never a variable name.
_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat", "xox", "eyJ")


def looks_like_env_name(name: str) -> bool:
    """True for a plausible environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 64 characters, no
    token prefix, and not a long mix of upper case, lower case and digits (what a pasted secret looks like)."""
    if not _ENV_NAME.fullmatch(name) or len(name) > 64 or name.startswith(_TOKEN_PREFIXES):
        return False
    mixed = any(c.islower() for c in name) and any(c.isupper() for c in name) and any(c.isdigit() for c in name)
    return not (mixed and len(name) >= 20)


class SecretRef(Strict):
    """Where a secret lives: an environment variable or a file. The YAML never holds the value."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secret(cls, data: object) -> object:
        if isinstance(data, str):
            raise ValueError("secrets are never read from the config file; write {env: VARIABLE} or {file: PATH}")
        return data

    @field_validator("env")
    @classmethod
    def _env_is_a_name(cls, value: str | None) -> str | None:
        if value is not None and not looks_like_env_name(value):
            # Never echo it: a token pasted where its variable's name belongs would end up in logs.
            raise ValueError("the env reference is not a valid variable name (value not shown)")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self

    def resolve(self, what: str) -> SecretStr:
        """Read the secret now; a missing variable or file is a ConfigError naming it (not the value)."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"{what}: environment variable {self.env} is not set")
            return SecretStr(value)
        assert self.file is not None
        try:
            return SecretStr(self.file.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read secret file {self.file}: {exc.strerror}") from exc


class Company(Strict):
    """Shown on reports."""

    name: str = "Your company"
    logo: Path | None = None


class TierRule(Strict):
    """A repository matching any of these is restricted with this sensitivity tier (1 = most sensitive)."""

    tier: int = Field(ge=1, le=5)
    name_patterns: list[str] = []
    topics: list[str] = []
    repos: list[str] = []


class Restriction(Strict):
    """Which repositories are restricted. Default: every private or internal repository (tier 2)."""

    visibilities: list[Literal["private", "internal", "public"]] = ["private", "internal"]
    name_patterns: list[str] = []
    topics: list[str] = []
    repos: list[str] = []
    exclude_patterns: list[str] = []
    default_tier: int = Field(default=2, ge=1, le=5)
    tiers: list[TierRule] = []
    unknown_visibility_is_restricted: bool = True


AccountClass = Literal["privileged", "service", "contractor", "external", "developer", "non_developer"]


class ClassConditions(Strict):
    """Any one condition that holds makes the rule match (and becomes the evidence shown)."""

    logins: list[str] = []
    login_patterns: list[str] = []
    bot_accounts: bool = False
    entra_role_patterns: list[str] = []
    inventory_roles: list[str] = []  # roles or paths in the collected grants: owner, admin, org_owner, outside...
    admin_grant_in_audit: bool = False
    user_types: list[str] = []
    employee_types: list[str] = []
    departments: list[str] = []
    title_patterns: list[str] = []
    groups: list[str] = []
    code_activity: bool = False
    always: bool = False


class ClassRule(Strict):
    """One ordered rule: the first rule with a matching condition decides the account's class."""

    name: str
    account_class: AccountClass
    when: ClassConditions


DEFAULT_CLASS_RULES: list[ClassRule] = [
    ClassRule(
        name="privileged-role",
        account_class="privileged",
        when=ClassConditions(
            entra_role_patterns=["Global Administrator", "Privileged Role Administrator", "*Administrator"],
            inventory_roles=["org_owner", "owner", "admin", "enterprise_owner", "instance_admin"],
            admin_grant_in_audit=True,
        ),
    ),
    ClassRule(
        name="automation",
        account_class="service",
        when=ClassConditions(
            login_patterns=["*-bot", "*[bot]", "svc-*", "*-svc"], bot_accounts=True, employee_types=["Service"]
        ),
    ),
    ClassRule(
        name="guest",
        account_class="external",
        when=ClassConditions(user_types=["Guest"], inventory_roles=["outside_collaborator"]),
    ),
    ClassRule(
        name="contractor",
        account_class="contractor",
        when=ClassConditions(employee_types=["Contractor", "Vendor", "Consultant", "Temp"]),
    ),
    ClassRule(
        name="engineering",
        account_class="developer",
        when=ClassConditions(
            departments=["Engineering", "Platform", "Security", "Data", "R&D", "IT"],
            title_patterns=["*engineer*", "*developer*", "*sre*", "*devops*", "*architect*", "*programmer*"],
            groups=["Engineering", "Developers"],
            code_activity=True,
        ),
    ),
    ClassRule(name="everyone-else", account_class="non_developer", when=ClassConditions(always=True)),
]


class AccountClassRules(Strict):
    """Ordered classification rules (first match wins); the shipped defaults apply when none are given."""

    rules: list[ClassRule] = Field(default_factory=lambda: list(DEFAULT_CLASS_RULES))
    behaviour_window_days: int = Field(default=90, ge=1)


class UsernameConvention(Strict):
    """A linking rule: a platform login is `prefix` + the local part of an IdP UPN + `suffix` (compared
    case-insensitively), e.g. prefix "ext-" links GitLab login ext-jdoe to jdoe@acme.example. A local part
    shared by several UPNs (two domains) links nothing: a convention never guesses between people."""

    name: str
    platform: Literal["github", "gitlab"]
    prefix: str = ""
    suffix: str = ""
    confidence: float = Field(default=0.6, gt=0.0, le=1.0)


class LinkingRules(Strict):
    """Explicit identity linking, beyond what the platforms say (SAML/SCIM identities, e-mails): a mapping
    file (CSV with columns platform, login, upn) and username conventions. Each is a linking rule with its
    own confidence and evidence; a weaker rule never replaces a stronger link."""

    mapping_file: Path | None = None
    mapping_confidence: float = Field(default=0.9, gt=0.0, le=1.0)
    conventions: list[UsernameConvention] = []


class DepartureSettings(Strict):
    """Departing people: downloads in the `window_days` before a leave date, or after an account was
    disabled, deleted or removed, raise a finding's score. `departures_file`: optional CSV (login or upn,
    date[, kind]). `leaver_groups`: Entra groups whose removal means the person left (e.g. "All
    Employees"); removal from any other group is not a departure, and an empty list means none is."""

    window_days: int = Field(default=14, ge=1, le=180)
    departures_file: Path | None = None
    leaver_groups: list[str] = []


class ApprovedAutomation(Strict):
    """An approved workflow (CI, backup, mirroring, migration, scanner): matching findings are kept but
    marked suppressed with this name and ticket. Every criterion given must hold; give at least one of
    actors, credential_ids, app_ids."""

    name: str
    purpose: Purpose
    actors: list[str] = []
    platforms: list[Platform] = ["github", "gitlab"]
    credential_ids: list[str] = []
    app_ids: list[str] = []
    ip_cidrs: list[str] = []
    user_agent_patterns: list[str] = []
    repos: list[str] = []
    not_before: datetime | None = None
    not_after: datetime | None = None
    ticket: str | None = None
    expires: date | None = None

    @model_validator(mode="after")
    def _scoped(self) -> ApprovedAutomation:
        if not (self.actors or self.credential_ids or self.app_ids):
            raise ValueError("give at least one of actors, credential_ids or app_ids")
        for cidr in self.ip_cidrs:
            ipaddress.ip_network(cidr, strict=False)
        return self


class DetectionSettings(Strict):
    """Thresholds of the AN0732 stages: bursts, low-and-slow novelty, API rate, baselines, precursor
    look-back. Bursts from `candidate_min_repos` up to `bulk_min_restricted_repos` become findings only
    when the actor's and peers' baselines and the context make them stand out (score >= medium)."""

    bulk_window_minutes: int = Field(default=30, ge=1, le=1440)
    bulk_min_restricted_repos: int = Field(default=10, ge=2)
    candidate_min_repos: int = Field(default=5, ge=2)
    history_days: int = Field(default=30, ge=7, le=365)
    api_min_requests_per_hour: int = Field(default=300, ge=10)
    api_rate_factor: int = Field(default=10, ge=2)
    novel_min_repos_7d: int = Field(default=15, ge=2)
    learning_days: int = Field(default=14, ge=0, le=365)
    precursor_lookback_hours: int = Field(default=72, ge=1, le=720)
    # Apps as actors: one OAuth app / GitHub App whose tokens for several users pull many restricted repos
    # from one network (the same IPv4 /24, or the same IPv6 address) within the window is one incident.
    app_window_minutes: int = Field(default=60, ge=1, le=1440)
    app_min_users: int = Field(default=3, ge=2)
    app_min_repos: int = Field(default=10, ge=2)


class GitHubSource(Strict):
    """One GitHub org (and/or enterprise) through the REST and GraphQL APIs. Auth: `token` (default the
    GITHUB_TOKEN variable) or a GitHub App (`app_id`, `private_key_file`, `installation_id`), which the
    fine-grained PAT endpoints need. `base_url` is the REST root (GHES: https://HOST/api/v3)."""

    base_url: str = "https://api.github.com"
    org: str | None = None
    enterprise: str | None = None
    token: SecretRef | None = None
    app_id: int | None = None
    private_key_file: Path | None = None
    installation_id: int | None = None
    audit_log_initial_days: int = Field(default=180, ge=1, le=3650)
    graphql_batch: int = Field(default=50, ge=1, le=100)
    max_rate_limit_wait: int = Field(default=900, ge=1)  # seconds; a longer wait fails the run
    retries: int = Field(default=5, ge=0, le=20)
    request_interval: float = Field(default=0.0, ge=0.0, le=10.0)  # seconds between requests (PyGithub throttle)
    timeout_seconds: int = Field(default=60, ge=1)  # per request (PyGithub takes whole seconds); timeouts retry twice

    @model_validator(mode="after")
    def _target_and_auth(self) -> GitHubSource:
        if not self.org and not self.enterprise:
            raise ValueError("give org or enterprise (or both)")
        app = (self.app_id, self.private_key_file, self.installation_id)
        if any(v is not None for v in app) and not all(v is not None for v in app):
            raise ValueError("GitHub App auth needs app_id, private_key_file and installation_id together")
        if self.token is not None and self.app_id is not None:
            raise ValueError("give token or GitHub App auth, not both")
        return self


class GitLabSource(Strict):
    """One GitLab instance (admin token, `instance: true`) or its top-level `groups`. `base_url` is the root
    (python-gitlab adds /api/v4); the token comes from `token` or GITLAB_TOKEN."""

    base_url: str = "https://gitlab.com"
    groups: list[str] = []
    instance: bool = False
    token: SecretRef | None = None
    audit_initial_days: int = Field(default=90, ge=1, le=3650)
    max_concurrency: int = Field(default=4, ge=1, le=16)
    timeout_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _scope(self) -> GitLabSource:
        if self.instance == bool(self.groups):
            raise ValueError("give either groups (top-level group paths) or instance: true")
        return self


class EntraSource(Strict):
    """One Entra tenant through Microsoft Graph. Auth: client secret, certificate, or a bearer token
    in AUDITOR_GRAPH_TOKEN. `graph_url` is the Graph root without /v1.0 (national clouds differ)."""

    graph_url: str = "https://graph.microsoft.com"
    arm_url: str | None = None  # None: the ARM of graph_url's cloud (none for a custom graph_url)
    authority_host: str | None = None
    tenant_id: str
    client_id: str | None = None
    client_secret: SecretRef | None = None
    certificate_file: Path | None = None
    groups: list[str] = []
    signins_initial_days: int = Field(default=30, ge=1, le=365)
    non_interactive_signins: bool = True
    max_concurrency: int = Field(default=4, ge=1, le=16)

    @model_validator(mode="after")
    def _one_auth(self) -> EntraSource:
        if self.client_secret is not None and self.certificate_file is not None:
            raise ValueError("give client_secret or certificate_file, not both")
        if (self.client_secret is not None or self.certificate_file is not None) and not self.client_id:
            raise ValueError("client_id is required with client_secret or certificate_file")
        return self


class Sources(Strict):
    """Live sources per platform."""

    github: list[GitHubSource] = []
    gitlab: list[GitLabSource] = []
    entra: list[EntraSource] = []


DEFAULT_HIGH_PRIVILEGE_SCOPES = [
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
    "RoleManagement.ReadWrite.Directory",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "Mail.ReadWrite",
    "Mail.Send",
    "Files.ReadWrite.All",
    "Sites.ReadWrite.All",
    "full_access_as_user",
    "user_impersonation",
]


class AcceptedRisk(Strict):
    """A failed check the organisation accepts: the result stays `fail`, its finding is marked suppressed."""

    check: str
    resources: list[str] = ["*"]  # globs on the result's resource
    reason: str
    ticket: str | None = None
    expires: date | None = None


class CheckSettings(Strict):
    """Thresholds of the governance checks (`auditor check`) and where framework mappings come from."""

    max_org_owners: int = Field(default=3, ge=1)
    max_repo_admins: int = Field(default=3, ge=1)
    stale_days: int = Field(default=90, ge=1)
    token_unused_days: int = Field(default=90, ge=1)
    token_max_lifetime_days: int = Field(default=365, ge=1)
    min_log_retention_days: int = Field(default=365, ge=1)
    min_log_span_days: int = Field(default=90, ge=1)
    stream_retention_days: int | None = Field(default=None, ge=1)  # what your SIEM keeps streamed logs (stated)
    high_privilege_scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_HIGH_PRIVILEGE_SCOPES))
    disabled: list[str] = []  # check ids not to run
    accepted_risks: list[AcceptedRisk] = []
    frameworks_dir: Path | None = None  # your own mapping files instead of the shipped ones


class ReviewerRule(Strict):
    """Entitlements whose scope (a repository's full name, an org, a group path; globs) this reviewer answers
    for; first match wins."""

    reviewer: str
    repos: list[str] = ["*"]
    platforms: list[Platform] = ["github", "gitlab"]


class ReviewSettings(Strict):
    """Who reviews which entitlements in an access-review campaign, and what the recommendations weigh.

    Without a rule: by resource owner (`by: owner`) the team maintainer for a team membership, the
    repository admin for a collaborator, deploy key or team grant, the group owner for a GitLab
    membership or share, `security_owner` (else an org owner) for org roles, the base permission and
    apps, and the person's Entra manager for credentials and Entra groups and roles. By manager
    (`by: manager`) the Entra manager reviews every entitlement a person holds. A reviewer is never the
    account under review, a service, bot or external account, or an account with an open high or
    critical finding: such rows go to the manager, else `default_reviewer`. A reviewer with more than
    `max_rows` rows hands person-held rows to each holder's manager.
    """

    reviewers: list[ReviewerRule] = []
    default_reviewer: str = "unassigned"
    by: Literal["owner", "manager"] = "owner"
    security_owner: str | None = None
    unused_days: int = Field(default=90, ge=1, le=3650)
    max_rows: int = Field(default=300, ge=10)


Severity = Literal["info", "low", "medium", "high", "critical"]


class RunSettings(Strict):
    """What `auditor run` does on a schedule besides collecting every configured source. Relative paths are
    taken from the config file's folder; a glob matching nothing is fine (no new export today), a plain path
    that does not exist is an error."""

    imports: list[str] = []  # vendor export files or globs imported on every run (already imported ones add nothing)
    out: Path = Path("auditor-run")  # folder for report.pdf, report.html and, with evidence, evidence.zip
    evidence: bool = False  # also write the evidence pack
    max_raw_mb: int = Field(default=100, ge=0)  # evidence pack: larger raw files by SHA-256 only
    fail_on: Severity | None = None  # exit 3 when an open finding has this severity or above


class AuditorConfig(Strict):
    """The whole config file. Every section is optional; an empty file means the defaults."""

    version: Literal[1] = 1
    company: Company = Company()
    restriction: Restriction = Restriction()
    account_classes: AccountClassRules = AccountClassRules()
    linking: LinkingRules = LinkingRules()
    departures: DepartureSettings = DepartureSettings()
    approved_automation: list[ApprovedAutomation] = []
    detection: DetectionSettings = DetectionSettings()
    sources: Sources = Sources()
    checks: CheckSettings = CheckSettings()
    review: ReviewSettings = ReviewSettings()
    run: RunSettings = RunSettings()
