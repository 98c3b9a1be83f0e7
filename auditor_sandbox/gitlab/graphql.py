"""The two GraphQL fields the connector asks for: audit-event streaming destinations (Ultimate only).

Not a GraphQL engine: it recognises the instance field `auditEventsInstanceStreamingDestinations` and
`group(fullPath:) { externalAuditEventStreamingDestinations }` and answers them the way GitLab does,
including the null-plus-error answer when the tier or the caller's role does not allow them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from auditor_sandbox.gitlab.data import Instance
from auditor_sandbox.model import GITLAB_GROUP

DENIED = (
    "The resource that you are attempting to access does not exist or you don't have permission to perform this action"
)
_GROUP = re.compile(r"group\s*\(\s*fullPath\s*:\s*(?:\"([^\"]+)\"|\$(\w+))\s*\)")
OWNER = 50


def answer_graphql(inst: Instance, tier: str, user: dict[str, Any], body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body or b"{}")
        query = str(doc["query"])
    except (ValueError, KeyError, TypeError):
        return {"errors": [{"message": "Invalid JSON or no query in the request body"}]}
    variables = doc.get("variables") or {}
    data: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    nodes = [_node(d) for d in inst.inv.get("streaming_destinations", [])] if tier == "ultimate" else None
    if "auditEventsInstanceStreamingDestinations" in query:
        field = "auditEventsInstanceStreamingDestinations"
        if nodes is None or not user.get("is_admin"):
            data[field] = None
            errors.append({"message": DENIED, "path": [field]})
        else:
            data[field] = {"nodes": []}  # the sandbox's destination is configured on the top group
    match = _GROUP.search(query)
    if match is not None:
        path = match.group(1) or str(variables.get(match.group(2), ""))
        group = inst.groups_by_path.get(path.lower())
        if group is None or not (user.get("is_admin") or inst.level_in_group(user["id"], group) > 0):
            data["group"] = None
        else:
            field = "externalAuditEventStreamingDestinations"
            allowed = nodes is not None and (user.get("is_admin") or inst.level_in_group(user["id"], group) >= OWNER)
            own = (nodes or []) if group["full_path"] == GITLAB_GROUP else []
            data["group"] = {"fullPath": group["full_path"], field: {"nodes": own} if allowed else None}
            if not allowed:
                errors.append({"message": DENIED, "path": ["group", field]})
    out: dict[str, Any] = {"data": data}
    if errors:
        out["errors"] = errors
    return out


def _node(dest: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": dest["id"],
        "name": dest["name"],
        "category": dest["category"],
        "active": dest["active"],
        "config": dest["config"],
    }
