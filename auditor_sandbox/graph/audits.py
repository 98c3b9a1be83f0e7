"""Directory audits and deleted users of the sandbox directory: how the acme tenant's people left.

Derived from the users file only (no generator change): the person with an employeeLeaveDateTime (the
departing developer) is disabled on the evening of that day and then removed from the app groups they
were in (their membership ends there too); one former employee, absent from /users, was disabled,
removed from "GitHub Users" and deleted in the last weeks of the window, so /directory/deletedItems
lists them under Entra's renamed UPN (object id without hyphens + original UPN).

Served by `Endpoints.directory_audits` and `Endpoints.deleted_users`; only these activities exist.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from auditor_sandbox.graph.directory import APP_GROUPS, Directory

DISABLE = "Disable account"
REMOVE_MEMBER = "Remove member from group"
DELETE = "Delete user"
CATEGORY = {DISABLE: "UserManagement", REMOVE_MEMBER: "GroupManagement", DELETE: "UserManagement"}
HR_ADMIN = "it-offboarding@acme.example"  # who runs the offboarding (initiatedBy)
FORMER = ("Rowan", "Hale", "former.rowan.hale")  # the deleted former employee: given, surname, UPN local part


def add_audits(d: Directory, end: datetime) -> None:
    """Fill in `directory_audits` (newest first, as Graph lists them) and `deleted_users`. `end` is the
    window's end: the former employee leaves in the 30 days before it (deleted items last 30 days)."""
    rows: list[dict[str, Any]] = []
    for u in d.users:
        leave = u.get("employeeLeaveDateTime")
        if not leave:
            continue
        at = datetime.fromisoformat(str(leave).replace("Z", "+00:00")) + timedelta(hours=18, minutes=5)
        rows.append(_audit(d, DISABLE, at, _user_target(u)))
        for n, group in enumerate(g for g in d.groups if g["displayName"] in APP_GROUPS):
            if str(u["id"]) in d.members[group["id"]]:
                rows.append(_audit(d, REMOVE_MEMBER, at + timedelta(minutes=3 + n), *_removal(u, group)))
                d.members[group["id"]] = [m for m in d.members[group["id"]] if m != str(u["id"])]
    rows += _former_employee(d, end)
    rows.sort(key=lambda r: (r["activityDateTime"], r["id"]), reverse=True)
    d.directory_audits = rows


def _former_employee(d: Directory, end: datetime) -> list[dict[str, Any]]:
    """A person who left before the window's end: disabled, removed from GitHub Users, then deleted."""
    given, surname, local = FORMER
    domain = str(d.users[0]["userPrincipalName"]).split("@")[-1] if d.users else "acme.example"
    upn = f"{local}@{domain}"
    user_id = d.object_id("user", upn)
    person = {"id": user_id, "userPrincipalName": upn, "displayName": f"{given} {surname}"}
    disabled = end - timedelta(days=12) + timedelta(hours=10, minutes=40)
    deleted = end - timedelta(days=5) + timedelta(hours=9, minutes=15)
    rows = [_audit(d, DISABLE, disabled, _user_target(person))]
    github = next(g for g in d.groups if g["displayName"] == "GitHub Users")
    rows.append(_audit(d, REMOVE_MEMBER, disabled + timedelta(minutes=4), *_removal(person, github)))
    rows.append(_audit(d, DELETE, deleted, _user_target(person, deleted=True)))
    d.deleted_users = [
        {
            "@odata.type": "#microsoft.graph.user",
            "id": user_id,
            "userPrincipalName": _deleted_upn(user_id, upn),
            "mail": upn,
            "displayName": person["displayName"],
            "givenName": given,
            "surname": surname,
            "accountEnabled": False,
            "userType": "Member",
            "deletedDateTime": _iso(deleted),
        }
    ]
    return rows


def _deleted_upn(user_id: str, upn: str) -> str:
    """Entra renames a soft-deleted user: object id without hyphens, then the original UPN."""
    return user_id.replace("-", "") + upn


def _user_target(u: dict[str, Any], *, deleted: bool = False) -> dict[str, Any]:
    upn = str(u["userPrincipalName"])
    return {
        "id": u["id"],
        "displayName": None,
        "type": "User",
        "userPrincipalName": _deleted_upn(str(u["id"]), upn) if deleted else upn,
        "groupType": None,
        "modifiedProperties": [],
    }


def _removal(u: dict[str, Any], group: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The targets of a group removal as Entra logs them: the user (with the group in its modified
    properties, old values JSON-quoted) and the group."""
    user = _user_target(u)
    user["modifiedProperties"] = [
        {"displayName": "Group.ObjectID", "oldValue": json.dumps(group["id"]), "newValue": None},
        {"displayName": "Group.DisplayName", "oldValue": json.dumps(group["displayName"]), "newValue": None},
    ]
    target = {
        "id": group["id"],
        "displayName": group["displayName"],
        "type": "Group",
        "userPrincipalName": None,
        "groupType": "azureAD",
        "modifiedProperties": [],
    }
    return user, target


def _audit(d: Directory, activity: str, at: datetime, *targets: dict[str, Any]) -> dict[str, Any]:
    key = "|".join([activity, _iso(at), *(str(t["id"]) for t in targets)])
    return {
        "id": f"Directory_{d.object_id('directory-audit', key)}",
        "category": CATEGORY[activity],
        "correlationId": d.object_id("directory-audit-correlation", key),
        "result": "success",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": _iso(at),
        "loggedByService": "Core Directory",
        "operationType": "Delete" if activity == DELETE else ("Unassign" if activity == REMOVE_MEMBER else "Update"),
        "initiatedBy": {
            "app": None,
            "user": {
                "id": d.object_id("user", HR_ADMIN),
                "displayName": None,
                "userPrincipalName": HR_ADMIN,
                "ipAddress": "10.20.0.15",
                "userType": None,
                "homeTenantId": None,
                "homeTenantName": None,
            },
        },
        "targetResources": list(targets),
        "additionalDetails": [],
    }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
