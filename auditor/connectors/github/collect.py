"""Collect one GitHub org (and/or enterprise): every page as received, gaps for what GitHub refuses.

Effective access comes from org-level lists (owners, members, base permission, teams with their
members and repo permissions) plus direct collaborators and deploy keys batched in GraphQL, many
repositories per query, instead of one REST call per repository. `get_*` only talks to GitHub;
`transform` turns the pages into rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditor.config.models import GitHubSource
from auditor.connectors.gaps import Gap
from auditor.connectors.github import endpoints as ep
from auditor.connectors.github.client import GitHubApi, Page
from auditor.connectors.kit.endpoints import optional, refusal_gap
from auditor.connectors.kit.errors import ApiError, TransportError

GAP_STATUSES = (403, 404, 410, 422)
_COLLAB_FIELDS = (
    "pageInfo { hasNextPage endCursor } edges { permission permissionSources { permission source { __typename "
    "... on Organization { login } ... on Team { slug } ... on Repository { nameWithOwner } } } node { login } }"
)
_KEY_FIELDS = "pageInfo { hasNextPage endCursor } nodes { id title key readOnly createdAt }"


@dataclass
class Collected:
    """Everything one run received, as raw pages, plus the gaps."""

    org: str | None
    enterprise: str | None
    pages: dict[str, list[Page]] = field(default_factory=dict)
    team_pages: dict[str, dict[str, list[Page]]] = field(default_factory=dict)  # slug -> members/maintainers/repos
    role_pages: dict[str, dict[str, list[Page]]] = field(default_factory=dict)  # role id -> users/teams
    graphql_pages: list[Page] = field(default_factory=list)
    audit_pages: list[Page] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    requests: int = 0

    def items(self, key: str, wrap: str | None = None) -> list[Any]:
        out: list[Any] = []
        for page in self.pages.get(key, []):
            doc = page.json()
            out.extend(doc.get(wrap, []) if wrap and isinstance(doc, dict) else doc)
        return out


class GitHubCollector:
    """Runs the collection for one source; `since` is the audit-log high-water mark (naive UTC)."""

    def __init__(self, source: GitHubSource, api: GitHubApi, since: datetime, app_auth: bool) -> None:
        self.source = source
        self.api = api
        self.since = since
        self.app_auth = app_auth
        self.out = Collected(source.org, source.enterprise)

    def run(self) -> Collected:
        org = self.source.org
        if org is not None:
            # First: a 401 here stops the run before anything else is asked (and nothing is written).
            self.out.pages["org"] = [self.api.get(f"/orgs/{org}")]
            self.out.pages["admins"] = list(self.api.pages(f"/orgs/{org}/members", {"role": "admin"}))
            self.out.pages["members"] = list(self.api.pages(f"/orgs/{org}/members", {"role": "member"}))
            self.out.pages["repos"] = list(self.api.pages(f"/orgs/{org}/repos", {"type": "all"}))
            self._optional(ep.OUTSIDE, lambda: self._list(ep.OUTSIDE))
            self._optional(ep.TEAMS, self._teams)
            self._optional(ep.PROPERTIES, lambda: self._list(ep.PROPERTIES))
            self._optional(ep.COLLABORATORS, self._collaborators)
            for endpoint in (ep.INSTALLATIONS, ep.CREDENTIAL_AUTHORIZATIONS, ep.FINE_GRAINED, ep.PAT_REQUESTS):
                self._optional(endpoint, lambda e=endpoint: self._list(e))  # type: ignore[misc]
            self._optional(ep.ORG_ROLES, self._org_roles)
            self._optional(ep.IDENTITIES, self._identities)
        if self.source.enterprise is not None:
            self._optional(ep.STREAMS, lambda: self._list(ep.STREAMS, paged=False))
        self._optional(self._audit_endpoint(), self._audit_log)
        self.out.requests = self.api.requests
        return self.out

    # ------------------------------------------------------------- plumbing

    def _path(self, endpoint: ep.Endpoint) -> str:
        return endpoint.path.format(org=self.source.org, enterprise=self.source.enterprise)

    def _optional(self, endpoint: ep.Endpoint, fetch: Callable[[], None]) -> None:
        optional(endpoint, fetch, self.out.gaps, statuses=GAP_STATUSES, gap=self._gap)

    def _gap(self, endpoint: ep.Endpoint, exc: ApiError) -> Gap:
        where = self._path(endpoint) if endpoint.path.startswith("/") else endpoint.path
        if isinstance(exc, TransportError):
            return refusal_gap(endpoint, exc, where)
        needs = endpoint.needs
        scopes = getattr(exc, "accepted_scopes", "")
        if scopes:
            needs = f"{needs} (GitHub asked for: {scopes})"
        return Gap(f"{where} (HTTP {exc.status})", needs, endpoint.consequence)

    def _list(self, endpoint: ep.Endpoint, paged: bool = True) -> None:
        path = self._path(endpoint)
        self.out.pages[endpoint.key] = list(self.api.pages(path)) if paged else [self.api.get(path)]

    # ------------------------------------------------------------ resources

    def _teams(self) -> None:
        org = self.source.org
        self._list(ep.TEAMS)
        for team in self.out.items("teams"):
            slug = team["slug"]
            base = f"/orgs/{org}/teams/{slug}"
            self.out.team_pages[slug] = {
                "members": list(self.api.pages(f"{base}/members", {"role": "all"})),
                "maintainers": list(self.api.pages(f"{base}/members", {"role": "maintainer"})),
                "repos": list(self.api.pages(f"{base}/repos")),
            }

    def _org_roles(self) -> None:
        org = self.source.org
        self.out.pages[ep.ORG_ROLES.key] = [self.api.get(f"/orgs/{org}/organization-roles")]
        for role in self.out.items(ep.ORG_ROLES.key, "roles"):
            base = f"/orgs/{org}/organization-roles/{role['id']}"
            self.out.role_pages[str(role["id"])] = {
                "users": list(self.api.pages(f"{base}/users")),
                "teams": list(self.api.pages(f"{base}/teams")),
            }

    def _collaborators(self) -> None:
        """Direct collaborators and deploy keys of every non-public repo, `graphql_batch` repos per query."""
        names = [r["name"] for r in self.out.items("repos") if r.get("visibility", "private") != "public"]
        org = json.dumps(self.source.org)
        batch = self.source.graphql_batch
        pending: list[tuple[str, str | None, str | None, bool]] = [(n, None, None, True) for n in names]
        while pending:
            chunk, pending = pending[:batch], pending[batch:]
            parts = []
            for i, (name, collab_after, keys_after, keys) in enumerate(chunk):
                after = f", after: {json.dumps(collab_after)}" if collab_after else ""
                fields = f"nameWithOwner collaborators(affiliation: DIRECT, first: 100{after}) {{ {_COLLAB_FIELDS} }}"
                if keys:
                    key_after = f", after: {json.dumps(keys_after)}" if keys_after else ""
                    fields += f" deployKeys(first: 100{key_after}) {{ {_KEY_FIELDS} }}"
                parts.append(f"r{i}: repository(owner: {org}, name: {json.dumps(name)}) {{ {fields} }}")
            page = self.api.graphql("query { " + " ".join(parts) + " }")
            self.out.graphql_pages.append(page)
            data = page.json().get("data") or {}
            for i, (name, _, _, keys) in enumerate(chunk):
                repo = data.get(f"r{i}")
                if repo is None:
                    continue
                info = repo["collaborators"]["pageInfo"]
                more_keys = keys and repo.get("deployKeys", {}).get("pageInfo", {}).get("hasNextPage")
                if info["hasNextPage"] or more_keys:
                    keys_cursor = repo["deployKeys"]["pageInfo"]["endCursor"] if more_keys else None
                    collab_cursor = info["endCursor"] if info["hasNextPage"] else None
                    if collab_cursor is None:  # only keys remain: a repeat of the last collaborator page is harmless
                        collab_cursor = info["endCursor"]
                    pending.append((name, collab_cursor, keys_cursor, bool(more_keys)))

    def _identities(self) -> None:
        org = json.dumps(self.source.org)
        after: str | None = None
        while True:
            cursor = f", after: {json.dumps(after)}" if after else ""
            query = (
                f"query {{ organization(login: {org}) {{ samlIdentityProvider {{ externalIdentities(first: 100{cursor})"
                " { pageInfo { hasNextPage endCursor } edges { node { guid samlIdentity { nameId } "
                "scimIdentity { username } user { login } } } } } } }"
            )
            page = self.api.graphql(query)
            self.out.pages.setdefault(ep.IDENTITIES.key, []).append(page)
            provider = ((page.json().get("data") or {}).get("organization") or {}).get("samlIdentityProvider")
            if provider is None:
                self.out.gaps.append(
                    Gap(
                        ep.IDENTITIES.path,
                        "SAML single sign-on configured for the organization",
                        ep.IDENTITIES.consequence,
                    )
                )
                return
            info = provider["externalIdentities"]["pageInfo"]
            if not info["hasNextPage"]:
                return
            after = info["endCursor"]

    def _audit_endpoint(self) -> ep.Endpoint:
        return ep.ENTERPRISE_AUDIT_LOG if self.source.org is None else ep.AUDIT_LOG

    def _audit_log(self) -> None:
        phrase = "created:>=" + self.since.strftime("%Y-%m-%dT%H:%M:%SZ")
        params = {"phrase": phrase, "include": "all", "order": "asc"}
        self.out.audit_pages = list(self.api.pages(self._path(self._audit_endpoint()), params))


def build_api(source: GitHubSource, token: str | None, *, fast: bool = False) -> tuple[GitHubApi, bool]:
    """A PyGithub client for `source` (token or App auth) wrapped in `GitHubApi`; (api, app_auth)."""
    import logging

    import github
    from github import Auth, Github, GithubRetry

    # PyGithub logs every refused request at INFO on its own handler; refusals we act on become
    # coverage gaps or errors in the summary instead.
    github.set_log_level(logging.WARNING)

    auth: Any
    if source.app_id is not None:
        assert source.private_key_file is not None and source.installation_id is not None
        from auditor.errors import ConfigError

        try:
            key = source.private_key_file.read_text(encoding="utf-8")
        except OSError as exc:
            where = str(source.private_key_file)
            raise ConfigError(f"cannot read the GitHub App private key: {exc.strerror}", where) from None
        auth = Auth.AppAuth(source.app_id, key).get_installation_auth(source.installation_id)
    else:
        if not token:
            from auditor.errors import ConfigError

            raise ConfigError("no GitHub token: set GITHUB_TOKEN, or token: {env: NAME} / App auth in the config")
        auth = Auth.Token(token)
    retry = GithubRetry(
        connect=0,  # no answer at all is classified by GitHubApi: refused fails at once, timeouts retry briefly
        read=0,
        other=0,  # e.g. a TLS handshake failure: final at once
        total=source.retries,
        backoff_factor=0.1 if fast else 0.5,
        secondary_rate_wait=1 if fast else 60,
        max_rate_limit_wait=source.max_rate_limit_wait,
    )
    gh = Github(
        base_url=source.base_url.rstrip("/"),
        auth=auth,
        per_page=100,
        retry=retry,
        timeout=source.timeout_seconds,
        seconds_between_requests=source.request_interval or None,
        seconds_between_writes=None,
    )
    api = GitHubApi(gh, retries=source.retries, max_rate_limit_wait=source.max_rate_limit_wait,
                    backoff=0.05 if fast else 0.5)  # fmt: skip
    return api, source.app_id is not None


def collect(source: GitHubSource, token: str | None, since: datetime, *, fast: bool = False) -> Collected:
    """Run the whole collection for one source (synchronously; GitHub's limits favour one stream)."""
    api, app_auth = build_api(source, token, fast=fast)
    try:
        return GitHubCollector(source, api, since, app_auth).run()
    finally:
        api.gh.close()
