"""The sandbox Graph endpoints: one method per resource, answering from a `Directory` as Graph does.

Each method takes the parsed request and returns the JSON body as bytes, or raises `GraphError`;
auth, faults, forbidden prefixes and the wire format live in `server`. Collections page with an
opaque `$skiptoken` in an `@odata.nextLink` built from the request's own host.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor_sandbox.graph.directory import Directory, sign_in_activity
from auditor_sandbox.graph.odata import (
    GraphError,
    Query,
    audit_filter,
    bad_request,
    eq_filter,
    next_link,
    select_item,
    signin_filter,
)

GRAPH = "https://graph.microsoft.com"
USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
                "preferredLanguage", "surname", "userPrincipalName")  # fmt: skip
USER_PROPS = frozenset(
    {*USER_DEFAULT, "id", "accountEnabled", "department", "employeeType", "userType", "createdDateTime",
     "companyName", "employeeId", "onPremisesSamAccountName", "onPremisesSyncEnabled", "onPremisesImmutableId",
     "onPremisesUserPrincipalName", "lastPasswordChangeDateTime", "externalUserState", "creationType", "identities",
     "otherMails", "proxyAddresses", "usageLocation", "country", "city", "state", "mailNickname", "signInActivity",
     "assignedLicenses", "employeeHireDate", "employeeLeaveDateTime", "ageGroup", "showInAddressList"}
)  # fmt: skip
LIST_PROPS = frozenset({"businessPhones", "identities", "otherMails", "proxyAddresses", "assignedLicenses"})
SIGNIN_PAGE = 1000
SIGNIN_ACTIVITY_PAGE = 120  # Graph pages users at 120 when signInActivity is selected
NON_PREMIUM = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
_EXPAND_MANAGER = re.compile(r"^manager(?:\(\s*\$?select=([^)]*)\))?$", re.IGNORECASE)
_TYPE_PREFIX = (b'{"signInEventTypes":["nonInteractiveUser"],', b'{"signInEventTypes":["interactiveUser"],')


@dataclass(frozen=True)
class Request:
    """What an endpoint needs from the HTTP request: version, path ids, options and the base URL."""

    version: str  # v1.0 | beta
    path: str  # decoded, without the query string
    query: Query
    base: str  # scheme://host[:port] from the request's Host header
    ids: tuple[str, ...] = ()


class Endpoints:
    """Graph resources over one directory, with the tenant's licence and the server's page cap."""

    def __init__(self, directory: Directory, licence: str, page_size_cap: int) -> None:
        self.d = directory
        self.licence = licence
        self.cap = page_size_cap
        self.users_by_id = {str(u["id"]): u for u in directory.users}

    # ---- users and groups -------------------------------------------------------------
    def users(self, req: Request) -> bytes:
        select, expand = self._user_options(req)
        limit = SIGNIN_ACTIVITY_PAGE if select and "signInActivity" in select else 999
        users = eq_filter(self.d.users, req.query.filter)
        return self._page(req, users, "users", lambda u: self._user(u, select, expand), maximum=limit)

    def user(self, req: Request) -> bytes:
        found = self._find_user(req.ids[0])
        select, expand = self._user_options(req)
        return _body(self._user(found, select, expand), f"{GRAPH}/{req.version}/$metadata#users/$entity")

    def manager(self, req: Request) -> bytes:
        found = self._find_user(req.ids[0])
        manager = self.d.managers.get(str(found["id"]))
        if manager is None:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource 'manager' does not exist for '{req.ids[0]}'.")
        body = {"@odata.type": "#microsoft.graph.user", **self._user(self.users_by_id[manager], req.query.select, None)}
        return _body(body, f"{GRAPH}/{req.version}/$metadata#directoryObjects/$entity")

    def groups(self, req: Request) -> bytes:
        known = {k for g in self.d.groups for k in g}
        groups = eq_filter(self.d.groups, req.query.filter)
        return self._page(req, groups, "groups", lambda g: select_item(g, req.query.select, known, "group"))

    def group(self, req: Request) -> bytes:
        group = self._find(self.d.groups, req.ids[0], "group")
        known = set(group)
        return _body(select_item(group, req.query.select, known, "group"), f"{GRAPH}/{req.version}/$metadata#groups")

    def group_members(self, req: Request) -> bytes:
        group = self._find(self.d.groups, req.ids[0], "group")
        members = [self.users_by_id[i] for i in self.d.members[group["id"]]]
        return self._page(req, members, "directoryObjects", lambda u: self._user(u, req.query.select, None, typed=True))

    # ---- roles ------------------------------------------------------------------------
    def role_assignments(self, req: Request) -> bytes:
        return self._roles(req, self.d.role_assignments, "roleAssignments")

    def role_eligibility(self, req: Request) -> bytes:
        if self.licence != "p2":
            raise GraphError(
                403,
                "AadPremiumLicenseRequired",
                "The tenant needs a Microsoft Entra ID P2 or Microsoft Entra ID Governance license for PIM.",
            )
        return self._roles(req, self.d.role_eligibility, "roleEligibilitySchedules")

    def role_definitions(self, req: Request) -> bytes:
        rows = eq_filter(list(self.d.role_definitions.values()), req.query.filter)
        known = {"id", "displayName", "templateId", "isBuiltIn", "isEnabled", "description"}
        return self._page(req, rows, "roleDefinitions", lambda r: select_item(r, req.query.select, known, "role"))

    def _roles(self, req: Request, rows: list[dict[str, Any]], name: str) -> bytes:
        expand = {e.lower() for e in req.query.params.get("expand", "").split(",") if e.strip()}
        if expand - {"roledefinition", "principal"}:
            raise bad_request(f"Unsupported $expand: '{req.query.params['expand']}'.", "Request_UnsupportedQuery")

        def render(row: Mapping[str, Any]) -> dict[str, Any]:
            out = dict(row)
            if "roledefinition" in expand:
                out["roleDefinition"] = self.d.role_definitions[row["roleDefinitionId"]]
            if "principal" in expand:
                principal = self.users_by_id[row["principalId"]]
                out["principal"] = {"@odata.type": "#microsoft.graph.user", **self._user(principal, None, None)}
            return out

        return self._page(req, eq_filter(rows, req.query.filter), f"roleManagement/directory/{name}", render)

    # ---- sign-ins -----------------------------------------------------------------------
    def signins(self, req: Request) -> bytes:
        """Pre-serialised sign-ins, newest first, sliced by createdDateTime with bisect and joined."""
        if self.licence == "none":
            raise GraphError(403, NON_PREMIUM, "Neither tenant is B2C or tenant doesn't have premium license")
        beta = req.version == "beta"
        wanted = signin_filter(req.query.filter, allow_event_types=beta)
        view = self.d.signins.view(wanted.event_types)
        lo, hi = view.span(wanted)
        size = req.query.top(SIGNIN_PAGE, SIGNIN_PAGE, self.cap, clamp=True)
        offset = req.query.offset()
        order = req.query.params.get("orderby", "createdDateTime desc").strip().lower()
        if order not in ("createddatetime desc", "createddatetime asc", "createddatetime"):
            raise bad_request(f"Unsupported $orderby: '{order}'.", "Request_UnsupportedQuery")
        if order == "createddatetime desc":
            top, bottom = hi - offset, max(lo, hi - offset - size)
            indexes: Sequence[int] = range(top - 1, bottom - 1, -1) if top > lo else ()
        else:
            indexes = range(lo + offset, min(hi, lo + offset + size))
        if beta:
            blobs = [_TYPE_PREFIX[view.kinds[i]] + view.blobs[i][1:] for i in indexes]
        elif isinstance(indexes, range) and indexes.step == -1 and len(indexes):
            blobs = view.blobs[indexes[-1] : indexes[0] + 1][::-1]
        else:
            blobs = [view.blobs[i] for i in indexes]
        select = req.query.select
        if select:
            blobs = [_select_json(blob, select) for blob in blobs]
        head = f'{{"@odata.context":"{GRAPH}/{req.version}/$metadata#auditLogs/signIns",'
        if offset + size < hi - lo:
            head += f'"@odata.nextLink":{json.dumps(next_link(req.base, req.path, req.query, offset + size))},'
        return b"".join((head.encode(), b'"value":[', b",".join(blobs), b"]}"))

    # ---- how people left: directory audits and deleted users ---------------------------
    def directory_audits(self, req: Request) -> bytes:
        """Newest first; $filter on activityDisplayName (eq) and activityDateTime (ge/gt/le/lt/eq)."""
        rows = audit_filter(self.d.directory_audits, req.query.filter)
        return self._page(req, rows, "auditLogs/directoryAudits", dict)

    def deleted_users(self, req: Request) -> bytes:
        """Soft-deleted users (Entra keeps them 30 days), under their renamed UPN; $select as for /users."""
        known = {k for u in self.d.deleted_users for k in u} | USER_PROPS | {"deletedDateTime"}
        rows = eq_filter(self.d.deleted_users, req.query.filter)

        def render(u: Mapping[str, Any]) -> dict[str, Any]:
            return {"@odata.type": "#microsoft.graph.user", **select_item(u, req.query.select, known, "user")}

        return self._page(req, rows, "directory/deletedItems/microsoft.graph.user", render)

    # ---- apps and consent ---------------------------------------------------------------
    def grants(self, req: Request) -> bytes:
        known = {"id", "clientId", "consentType", "principalId", "resourceId", "scope"}
        rows = eq_filter(self.d.grants, req.query.filter)
        return self._page(
            req,
            rows,
            "oauth2PermissionGrants",
            lambda g: select_item(g, req.query.select, known, "oAuth2PermissionGrant"),
        )

    def service_principals(self, req: Request) -> bytes:
        known = {k for sp in self.d.service_principals for k in sp}
        rows = eq_filter(self.d.service_principals, req.query.filter)
        return self._page(
            req, rows, "servicePrincipals", lambda sp: select_item(sp, req.query.select, known, "servicePrincipal")
        )

    def service_principal(self, req: Request) -> bytes:
        sp = self._find(self.d.service_principals, req.ids[0], "servicePrincipal")
        known = set(sp)
        return _body(select_item(sp, req.query.select, known, "servicePrincipal"), f"{GRAPH}/{req.version}/$metadata")

    def assigned_to(self, req: Request) -> bytes:
        sp = self._find(self.d.service_principals, req.ids[0], "servicePrincipal")
        rows = eq_filter(self.d.app_role_assigned_to.get(sp["id"], []), req.query.filter)
        return self._page(req, rows, "appRoleAssignments", dict)

    def assignments(self, req: Request) -> bytes:
        sp = self._find(self.d.service_principals, req.ids[0], "servicePrincipal")
        every = (a for rows in self.d.app_role_assigned_to.values() for a in rows)
        return self._page(req, [a for a in every if a["principalId"] == sp["id"]], "appRoleAssignments", dict)

    # ---- identity protection ------------------------------------------------------------
    def risky_users(self, req: Request) -> bytes:
        self._need_p2()
        return self._page(req, eq_filter(self.d.risky_users, req.query.filter), "identityProtection/riskyUsers", dict)

    def risk_detections(self, req: Request) -> bytes:
        self._need_p2()
        rows = eq_filter(self.d.risk_detections, req.query.filter)
        return self._page(req, rows, "identityProtection/riskDetections", dict)

    def _need_p2(self) -> None:
        if self.licence != "p2":
            raise GraphError(403, "Forbidden", "Identity Protection requires a Microsoft Entra ID P2 license.")

    # ---- helpers ------------------------------------------------------------------------
    def _page(
        self,
        req: Request,
        rows: Sequence[Mapping[str, Any]],
        context: str,
        render: Callable[[Mapping[str, Any]], dict[str, Any]],
        *,
        maximum: int = 999,
    ) -> bytes:
        size = req.query.top(100, 999, min(self.cap, maximum))
        offset = req.query.offset()
        doc: dict[str, Any] = {"@odata.context": f"{GRAPH}/{req.version}/$metadata#{context}"}
        if offset + size < len(rows):
            doc["@odata.nextLink"] = next_link(req.base, req.path, req.query, offset + size)
        doc["value"] = [render(row) for row in rows[offset : offset + size]]
        return json.dumps(doc).encode()

    def _user_options(self, req: Request) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        select = req.query.select
        if select and "signInActivity" in select and self.licence == "none":
            raise GraphError(403, NON_PREMIUM, "Neither tenant is B2C or tenant doesn't have premium license")
        raw = req.query.params.get("expand")
        if raw is None:
            return select, None
        match = _EXPAND_MANAGER.match(raw.strip())
        if match is None:
            raise bad_request(f"Unsupported $expand on users: '{raw}'.", "Request_UnsupportedQuery")
        return select, tuple(p.strip() for p in (match.group(1) or "").split(",") if p.strip()) or USER_DEFAULT

    def _user(
        self, u: Mapping[str, Any], select: Iterable[str] | None, expand: tuple[str, ...] | None, typed: bool = False
    ) -> dict[str, Any]:
        names = tuple(select) if select else USER_DEFAULT
        full = {name: u.get(name, [] if name in LIST_PROPS else None) for name in names if name != "signInActivity"}
        full["id"] = u["id"]
        if "signInActivity" in names:
            full["signInActivity"] = sign_in_activity(self.d, str(u["id"]))
        out = select_item(full, names, USER_PROPS, "user")
        if typed:
            out = {"@odata.type": "#microsoft.graph.user", **out}
        if expand is not None:
            manager = self.d.managers.get(str(u["id"]))
            out["manager"] = (
                None
                if manager is None
                else {"@odata.type": "#microsoft.graph.user", **self._user(self.users_by_id[manager], expand, None)}
            )
        return out

    def _find_user(self, key: str) -> Mapping[str, Any]:
        found = self.d.user(key)
        if found is None:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist or one of its "
                             "queried reference-property objects are not present.")  # fmt: skip
        return found

    @staticmethod
    def _find(rows: list[dict[str, Any]], key: str, kind: str) -> dict[str, Any]:
        for row in rows:
            if str(row["id"]).lower() == key.lower():
                return row
        raise GraphError(404, "Request_ResourceNotFound", f"Resource '{key}' of type '{kind}' does not exist.")


def _body(doc: Mapping[str, Any], context: str) -> bytes:
    return json.dumps({"@odata.context": context, **doc}).encode()


def _select_json(blob: bytes, select: Sequence[str]) -> bytes:
    record = json.loads(blob)
    return json.dumps({"id": record.get("id"), **{k: record.get(k) for k in select}}).encode()
