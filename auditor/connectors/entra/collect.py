"""Collect an Entra tenant: one event loop, bounded concurrency, every page kept as received.

403 and 404 on an endpoint become coverage gaps naming the permission or licence; 401 stops the
run before anything is written; 429 and 5xx are retried by the SDK (Retry-After honoured).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from auditor.config.models import EntraSource
from auditor.connectors.entra import endpoints as ep
from auditor.connectors.entra.graph import GraphAuthError, GraphError, GraphPages, Page
from auditor.connectors.gaps import Gap


@dataclass
class Collected:
    """Everything one run received, as raw pages, plus the gaps."""

    pages: dict[str, list[Page]] = field(default_factory=dict)
    group_pages: dict[str, list[Page]] = field(default_factory=dict)  # group display name -> member pages
    assignment_pages: list[Page] = field(default_factory=list)
    diagnostic: Page | None = None
    gaps: list[Gap] = field(default_factory=list)
    signins_licensed: bool = False

    def count(self, key: str) -> int:
        return sum(p.items for p in self.pages.get(key, []))


class EntraCollector:
    """Runs the collection for one source; `since` is the sign-in high-water mark (UTC)."""

    def __init__(self, source: EntraSource, credential: object, since: datetime) -> None:
        self.source = source
        self.graph = GraphPages(credential, source.graph_url, source.graph_url)
        self.arm = GraphPages(credential, source.arm_url, source.arm_url)
        self.since = since
        self.limit = asyncio.Semaphore(source.max_concurrency)
        self.out = Collected()

    async def run(self) -> Collected:
        await self._users()  # first: a 401 here stops the run before anything else is asked
        tasks = [self._optional(e) for e in ep.OPTIONAL]
        tasks += [self._signins(), self._groups(), self._diagnostic()]
        await asyncio.gather(*tasks)
        await self._assignments()
        return self.out

    async def _fetch(self, url: str, client: GraphPages | None = None) -> list[Page]:
        async with self.limit:
            return [page async for page in (client or self.graph).pages(url)]

    def _gap(self, endpoint: ep.Endpoint, exc: GraphError, consequence: str | None = None) -> None:
        needs = endpoint.needs if exc.status in (401, 403) else f"{endpoint.needs} (HTTP {exc.status} {exc.code})"
        self.out.gaps.append(Gap(exc.endpoint, needs, consequence or endpoint.consequence))

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
                self.out.pages["users"] = await self._fetch(endpoint.url)
                return
            except GraphAuthError:
                raise
            except GraphError as exc:
                if exc.status not in fallback_on:
                    raise
                self.out.gaps.append(Gap(exc.endpoint, needs, consequence))

    async def _optional(self, endpoint: ep.Endpoint) -> None:
        try:
            self.out.pages[endpoint.key] = await self._fetch(endpoint.url)
        except GraphAuthError:
            raise
        except GraphError as exc:
            if exc.status not in (400, 403, 404):
                raise
            self._gap(endpoint, exc)

    async def _signins(self) -> None:
        since = quote(self.since.strftime("%Y-%m-%dT%H:%M:%SZ"), safe=":")
        try:
            self.out.pages["signins"] = await self._fetch(ep.SIGNINS.url.format(since=since))
            self.out.signins_licensed = True
        except GraphAuthError:
            raise
        except GraphError as exc:
            if exc.status not in (403, 404):
                raise
            self._gap(ep.SIGNINS, exc)
            return
        if not self.source.non_interactive_signins:
            return
        try:
            url = ep.SIGNINS_NON_INTERACTIVE.url.format(since=since)
            self.out.pages["signins_non_interactive"] = await self._fetch(url)
        except GraphAuthError:
            raise
        except GraphError as exc:
            if exc.status not in (400, 403, 404):
                raise
            self._gap(ep.SIGNINS_NON_INTERACTIVE, exc)

    async def _groups(self) -> None:
        for name in self.source.groups:
            literal = name.replace("'", "''")
            url = f"/v1.0/groups?$filter=displayName eq '{quote(literal)}'&$select=id,displayName"
            endpoint = ep.Endpoint("groups", url, "GroupMember.Read.All", f"members of group {name!r} unknown")
            try:
                found = await self._fetch(url)
                ids = [g["id"] for p in found for g in json.loads(p.body).get("value", [])]
                if not ids:
                    self.out.gaps.append(Gap(f"group {name!r}", "a group with this display name", "group not found"))
                    continue
                members = f"/v1.0/groups/{ids[0]}/members?$select=id,userPrincipalName&$top=999"
                self.out.group_pages[name] = await self._fetch(members)
            except GraphAuthError:
                raise
            except GraphError as exc:
                if exc.status not in (403, 404):
                    raise
                self._gap(endpoint, exc)

    async def _assignments(self) -> None:
        """Application permissions granted to each service principal (one call per principal)."""
        ids = [sp["id"] for p in self.out.pages.get("service_principals", []) for sp in json.loads(p.body)["value"]]

        async def one(sp_id: str) -> list[Page]:
            try:
                return await self._fetch(f"/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo?$top=999")
            except GraphAuthError:
                raise
            except GraphError as exc:
                if exc.status not in (403, 404):
                    raise
                self._gap(ep.SERVICE_PRINCIPALS, exc, "application permissions of some apps unknown")
                return []

        for pages in await asyncio.gather(*(one(i) for i in ids)):
            self.out.assignment_pages.extend(pages)

    async def _diagnostic(self) -> None:
        try:
            pages = await self._fetch(ep.DIAGNOSTIC_SETTINGS.url, self.arm)
            self.out.diagnostic = pages[0] if pages else None
        except GraphError as exc:
            # ARM is a different API and token audience: any refusal is a gap, never fatal.
            self.out.gaps.append(Gap(exc.endpoint, ep.DIAGNOSTIC_SETTINGS.needs, "sign-in log export unknown"))


def collect(source: EntraSource, credential: object, since: datetime) -> Collected:
    """Run the whole collection in one event loop (msgraph-sdk is asyncio only)."""
    return asyncio.run(_run(source, credential, since))


async def _run(source: EntraSource, credential: object, since: datetime) -> Collected:
    try:
        return await EntraCollector(source, credential, since).run()
    finally:
        close = getattr(credential, "close", None)
        if close is not None:
            await close()
