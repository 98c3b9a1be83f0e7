"""Deleted users and directory audits as `directory_changes` rows: pure transforms of pages as received.

Entra renames a soft-deleted user's UPN to `<object id><original UPN>` (the id without hyphens; some
tools show it with them), so a departed person is matched by object id first and the UPN is read back
without that prefix. Only successful audit records count: a failed removal removed nobody.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auditor.connectors.entra.endpoints import AUDIT_ACTIVITIES
from auditor.connectors.kit.page import Page
from auditor.errors import InputError

_FRACTION = re.compile(r"\.(\d{6})\d+")


@dataclass(frozen=True)
class Change:
    """One collected fact about a person leaving: a deleted user, or a disablement, deletion or group removal
    from the directory audit log; `sha256`/`position` cite the page and the record's 1-based place in it."""

    change_id: str
    identity_id: str | None
    upn: str | None
    kind: str
    at: datetime | None
    group_id: str | None
    group_name: str | None
    activity: str
    sha256: str
    position: int


def original_upn(upn: str | None, object_id: str | None) -> str | None:
    """The UPN a deleted user had: Entra's `<object id>` prefix (with or without hyphens) removed."""
    if not upn or not object_id:
        return upn
    for prefix in (object_id.replace("-", ""), object_id):
        if upn.lower().startswith(prefix.lower()) and len(upn) > len(prefix):
            return upn[len(prefix) :]
    return upn


def graph_time(text: str | None, where: str) -> datetime | None:
    """Graph's ISO 8601 time (up to 7 fraction digits, Z) as naive UTC; a malformed value names the page."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(_FRACTION.sub(r".\1", text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"not an ISO 8601 time: {text!r}", where) from exc
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _records(page: Page) -> list[dict[str, Any]]:
    doc = json.loads(page.body)
    value = doc.get("value") if isinstance(doc, dict) else None
    if not isinstance(value, list):
        raise InputError("expected a Graph collection page (an object with a 'value' list)", page.url)
    return [r for r in value if isinstance(r, dict)]


def _field(record: dict[str, Any], key: str, where: str) -> Any:
    """A required field, read by key: its absence is an error naming the page, never a default."""
    try:
        return record[key]
    except KeyError:
        raise InputError(f"a record without {key!r}", where) from None


def transform_deleted_users(page: Page) -> list[Change]:
    """Rows of one `/directory/deletedItems/microsoft.graph.user` page (kind deleted, at deletedDateTime)."""
    out = []
    for n, r in enumerate(_records(page), 1):
        where = f"{page.url}#{n}"
        object_id = str(_field(r, "id", where))
        upn = original_upn(r.get("userPrincipalName"), object_id) or r.get("mail")
        at = graph_time(_field(r, "deletedDateTime", where), where)
        out.append(Change(f"deleted:{object_id}", object_id, upn, "deleted", at, None, None, "deletedItems",
                          page.sha256, n))  # fmt: skip
    return out


def _target(record: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for t in record.get("targetResources") or []:
        if isinstance(t, dict) and str(t.get("type") or t.get("Type") or "").lower() == kind:
            return t
    return None


def _old_value(target: dict[str, Any] | None, name: str) -> str | None:
    """A modified property's old value (Entra JSON-quotes it: '"GitHub Users"')."""
    for prop in (target or {}).get("modifiedProperties") or []:
        if isinstance(prop, dict) and prop.get("displayName") == name and prop.get("oldValue"):
            raw = str(prop["oldValue"])
            try:
                value = json.loads(raw)
            except ValueError:
                return raw
            return str(value) if value is not None else None
    return None


def transform_directory_audits(page: Page) -> list[Change]:
    """Rows of one `/auditLogs/directoryAudits` page: successful disablements, deletions and group removals."""
    out = []
    for n, r in enumerate(_records(page), 1):
        where = f"{page.url}#{n}"
        activity = str(_field(r, "activityDisplayName", where))
        kind = AUDIT_ACTIVITIES.get(activity)
        if kind is None or str(_field(r, "result", where)).lower() != "success":
            continue
        user = _target(r, "user")
        if user is None or not user.get("id"):
            continue  # a removal of a group or device from a group: not a person
        object_id = str(user["id"])
        at = graph_time(_field(r, "activityDateTime", where), where)
        group = _target(r, "group")
        group_id = group_name = None
        if kind == "group_removal":
            group_id = (group or {}).get("id") or _old_value(user, "Group.ObjectID")
            group_name = (group or {}).get("displayName") or _old_value(user, "Group.DisplayName")
        change_id = f"deleted:{object_id}" if kind == "deleted" else str(_field(r, "id", where))
        upn = original_upn(user.get("userPrincipalName"), object_id)
        out.append(Change(change_id, object_id, upn, kind, at, group_id, group_name, activity, page.sha256, n))
    return out
