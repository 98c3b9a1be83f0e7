"""Collect an Entra tenant: one event loop, bounded concurrency, every page kept as received.

403 and 404 on an endpoint (and a host that cannot be reached) become coverage gaps naming the
permission or licence; 401 stops the run before anything is written; 429 and 5xx are retried by the
SDK (Retry-After honoured). Azure Resource Manager is asked with its own credential and audience, in
the Graph's cloud, and whatever it answers is at worst a gap.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from auditor.config.models import EntraSource
from auditor.connectors.entra import endpoints as ep
from auditor.connectors.entra.auth import EntraCredentials
from auditor.connectors.entra.clouds import arm_root
from auditor.connectors.entra.graph import GraphError, GraphPages, Page
from auditor.connectors.gaps import Gap
from auditor.connectors.kit.endpoints import optional_async, refusal_gap
from auditor.connectors.kit.errors import ApiError, TransportError

ARM_ROOT_UNKNOWN = Gap(
    "Azure Resource Manager (diagnostic settings)",
    "the Azure Resource Manager root of this cloud: --arm-url (arm_url in the config) when --graph-url is not a "
    "Microsoft Graph cloud",
    "sign-in log export unknown",
)
ARM_NO_CREDENTIAL = (
    "a credential for Azure Resource Manager's own audience: client_id with a client secret or certificate, or a "
    "bearer token for ARM in AUDITOR_ARM_TOKEN (the Graph token is never sent to ARM)"
)


@dataclass
class Collected:
    """Everything one run received, as raw pages, plus the gaps."""

    pages: dict[str, list[Page]] = field(default_factory=dict)
    group_pages: dict[str, list[Page]] = field(default_factory=dict)  # group display name -> member pages
    assignment_pages: list[Page] = field(default_factory=list)
    diagnostic: Page | None = None
    gaps: list[Gap] = field(default_factory=list)
    signins_licensed: bool = False
    audits_since: datetime | None = None  # where the directory-audit query started; None: not collected

    def count(self, key: str) -> int:
        return sum(p.items for p in self.pages.get(key, []))


class EntraCollector:
    """Runs the collection for one source; `since` is the sign-in high-water mark (UTC), `audits_since`
    the directory-audit one (default: `since`)."""

    def __init__(
        self, source: EntraSource, credential: object, since: datetime, audits_since: datetime | None = None
    ) -> None:
        creds = EntraCredentials.of(credential)
        self.source = source
        self.graph = GraphPages(creds.graph, source.graph_url, source.graph_url)
        self.arm_root = arm_root(source.graph_url, source.arm_url)
        self.arm = None
        if self.arm_root is not None and creds.arm is not None:
            self.arm = GraphPages(creds.arm, self.arm_root, self.arm_root)  # ARM's own token audience
        self.since = since
        self.audits_since = audits_since or since
        self.limit = asyncio.Semaphore(source.max_concurrency)
        self.out = Collected()

    async def run(self) -> Collected:
        await self._users()  # first: a 401 here stops the run before anything else is asked
        tasks = [self._optional(e) for e in ep.OPTIONAL]
        tasks += [self._signins(), self._groups(), self._diagnostic(), self._deleted_users(), self._audits()]
        await asyncio.gather(*tasks)
        await self._assignments()
        return self.out

    async def _fetch(self, url: str, client: GraphPages | None = None) -> list[Page]:
        async with self.limit:
            return [page async for page in (client or self.graph).pages(url)]

    async def _get(
        self,
        endpoint: ep.Endpoint,
        url: str | None = None,
        statuses: tuple[int, ...] = (403, 404),
        consequence: str | None = None,
    ) -> list[Page] | None:
        """All pages of `url` (default: the endpoint's), or None with a gap for a refusal in `statuses`."""

        def gap(e: ep.Endpoint, exc: ApiError) -> Gap:
            return self._gap(e, exc, consequence)

        return await optional_async(
            endpoint, lambda: self._fetch(url or endpoint.path), self.out.gaps, statuses=statuses, gap=gap
        )

    def _gap(self, endpoint: ep.Endpoint, exc: ApiError, consequence: str | None = None) -> Gap:
        if isinstance(exc, TransportError):
            found = refusal_gap(endpoint, exc, exc.endpoint)
            return Gap(found.source, found.needs, consequence or found.consequence)
        code = getattr(exc, "code", "")
        needs = endpoint.needs if exc.status in (401, 403) else f"{endpoint.needs} (HTTP {exc.status} {code})"
        return Gap(exc.endpoint, needs, consequence or endpoint.consequence)

    async def _users(self) -> None:
        """Users with signInActivity and manager; each refused part is dropped and reported as a gap
        (403: licence or permission for signInActivity; 400: a server that cannot $expand manager)."""
        attempts = [
            (ep.USERS, (403, 400), "users' last sign-in dates unknown (signInActivity)", ep.USERS.needs),
            (ep.USERS_NO_ACTIVITY, (400,), "users' managers unknown ($expand=manager refused)", "$expand on /users"),
            (ep.USERS_BASIC, (), "", ""),
        ]
        for endpoint, fallback_on, consequence, needs in attempts:
            try:
                self.out.pages["users"] = await self._fetch(endpoint.path)
                return
            except GraphError as exc:
                if exc.status == 401 or exc.status not in fallback_on:
                    raise
                self.out.gaps.append(Gap(exc.endpoint, needs, consequence))

    async def _optional(self, endpoint: ep.Endpoint) -> None:
        pages = await self._get(endpoint, statuses=(400, 403, 404))
        if pages is not None:
            self.out.pages[endpoint.key] = pages

    async def _signins(self) -> None:
        since = _odata_time(self.since)
        pages = await self._get(ep.SIGNINS, ep.SIGNINS.path.format(since=since))
        if pages is None:
            return
        self.out.pages["signins"] = pages
        self.out.signins_licensed = True
        if not self.source.non_interactive_signins:
            return
        url = ep.SIGNINS_NON_INTERACTIVE.path.format(since=since)
        pages = await self._get(ep.SIGNINS_NON_INTERACTIVE, url, statuses=(400, 403, 404))
        if pages is not None:
            self.out.pages["signins_non_interactive"] = pages

    async def _deleted_users(self) -> None:
        """Soft-deleted users (all of them: Entra keeps them 30 days, so the list stays short)."""
        pages = await self._get(ep.DELETED_USERS)
        if pages is not None:
            self.out.pages["deleted_users"] = pages

    async def _audits(self) -> None:
        """Directory audits of each leaving activity since the high-water mark; the first refusal is one gap
        for all of them (the same permission decides every query)."""
        since = _odata_time(self.audits_since)
        collected: list[Page] = []
        for activity in ep.AUDIT_ACTIVITIES:
            url = ep.DIRECTORY_AUDITS.path.format(activity=quote(activity.replace("'", "''")), since=since)
            pages = await self._get(ep.DIRECTORY_AUDITS, url)
            if pages is None:
                return
            collected += pages
        self.out.pages["directory_audits"] = collected
        self.out.audits_since = self.audits_since

    async def _groups(self) -> None:
        for name in self.source.groups:
            literal = name.replace("'", "''")
            url = f"/v1.0/groups?$filter=displayName eq '{quote(literal)}'&$select=id,displayName"
            endpoint = ep.Endpoint("groups", url, "GroupMember.Read.All", f"members of group {name!r} unknown")
            found = await self._get(endpoint)
            if found is None:
                continue
            ids = [g["id"] for p in found for g in json.loads(p.body).get("value", [])]
            if not ids:
                self.out.gaps.append(Gap(f"group {name!r}", "a group with this display name", "group not found"))
                continue
            members = await self._get(endpoint, f"/v1.0/groups/{ids[0]}/members?$select=id,userPrincipalName&$top=999")
            if members is not None:
                self.out.group_pages[name] = members

    async def _assignments(self) -> None:
        """Application permissions granted to each service principal (one call per principal)."""
        ids = [sp["id"] for p in self.out.pages.get("service_principals", []) for sp in json.loads(p.body)["value"]]
        lost = "application permissions of some apps unknown"

        async def one(sp_id: str) -> list[Page]:
            url = f"/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo?$top=999"
            return await self._get(ep.SERVICE_PRINCIPALS, url, consequence=lost) or []

        for pages in await asyncio.gather(*(one(i) for i in ids)):
            self.out.assignment_pages.extend(pages)

    async def _diagnostic(self) -> None:
        """ARM's diagnostic settings: not asked without a known ARM root and a credential for its audience;
        any refusal or transport failure is a gap, never fatal (ARM is a different API)."""
        endpoint = ep.DIAGNOSTIC_SETTINGS
        if self.arm_root is None:
            self.out.gaps.append(ARM_ROOT_UNKNOWN)
            return
        if self.arm is None:
            where = self.arm_root + endpoint.path.split("?")[0]
            self.out.gaps.append(Gap(where, ARM_NO_CREDENTIAL, "sign-in log export unknown"))
            return
        try:
            pages = await self._fetch(endpoint.path, self.arm)
            self.out.diagnostic = pages[0] if pages else None
        except ApiError as exc:
            if isinstance(exc, TransportError):
                self.out.gaps.append(self._gap(endpoint, exc, "sign-in log export unknown"))
            else:
                self.out.gaps.append(Gap(exc.endpoint, endpoint.needs, "sign-in log export unknown"))


def _odata_time(moment: datetime) -> str:
    """A UTC time as an OData DateTimeOffset literal for $filter (URL-quoted, colons kept)."""
    return quote(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), safe=":")


def collect(
    source: EntraSource, credential: object, since: datetime, audits_since: datetime | None = None
) -> Collected:
    """Run the whole collection in one event loop (msgraph-sdk is asyncio only). `credential` is an
    `EntraCredentials` pair, or one credential (a bearer token then serves Graph only). Sign-ins from
    `since`, directory audits from `audits_since` (default `since`)."""
    return asyncio.run(_run(source, credential, since, audits_since))


async def _run(source: EntraSource, credential: object, since: datetime, audits_since: datetime | None) -> Collected:
    creds = EntraCredentials.of(credential)
    try:
        return await EntraCollector(source, creds, since, audits_since).run()
    finally:
        for cred in {id(c): c for c in (creds.graph, creds.arm) if c is not None}.values():
            close = getattr(cred, "close", None)
            if close is not None:
                await close()
