"""The sandbox GitLab instance in memory: the inventory, indexes by id and path, effective members, audit events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor_sandbox.inventory_gitlab import load_gitlab_inventory

STREAM_ONLY = frozenset({"repository_git_operation"})  # GitLab streams these and never stores them


def parse_time(text: str) -> datetime:
    """GitLab accepts dates and ISO 8601 times; naive means UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Instance:
    """Indexes over one inventory; `events` are REST-shaped audit events, ascending by id."""

    inv: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    event_times: list[datetime] = field(default_factory=list)

    def __post_init__(self) -> None:
        inv = self.inv
        self.users = {u["id"]: u for u in inv["users"]}
        self.users_by_name = {u["username"]: u for u in inv["users"]}
        self.groups = {g["id"]: g for g in inv["groups"]}
        self.groups_by_path = {g["full_path"].lower(): g for g in inv["groups"]}
        self.projects = {p["id"]: p for p in inv["projects"]}
        self.projects_by_path = {p["path_with_namespace"].lower(): p for p in inv["projects"]}
        self.group_members = {
            int(k): {m["user_id"]: m["access_level"] for m in v} for k, v in inv["group_members"].items()
        }
        self.project_members = {
            int(k): {m["user_id"]: m["access_level"] for m in v} for k, v in inv["project_members"].items()
        }
        self.effective: dict[int, dict[int, int]] = {}
        for row in inv["effective"]:
            pid = self.projects_by_path[row["project"].lower()]["id"]
            self.effective.setdefault(pid, {})[row["user_id"]] = row["access_level"]

    def ancestors(self, group: dict[str, Any]) -> list[dict[str, Any]]:
        """The group and its parents, nearest first."""
        out = [group]
        while out[-1]["parent_id"] is not None:
            out.append(self.groups[out[-1]["parent_id"]])
        return out

    def descendants(self, group: dict[str, Any]) -> list[dict[str, Any]]:
        prefix = group["full_path"] + "/"
        return [g for g in self.inv["groups"] if g["full_path"].startswith(prefix)]

    def group_members_all(self, group: dict[str, Any]) -> dict[int, int]:
        """Direct, inherited and shared-group members with their highest level (GitLab's members/all)."""
        out: dict[int, int] = {}
        for g in self.ancestors(group):
            for uid, level in self.group_members[g["id"]].items():
                out[uid] = max(out.get(uid, 0), level)
            for share in g["shared_with_groups"]:
                for s in self.ancestors(self.groups[share["group_id"]]):
                    for uid, level in self.group_members[s["id"]].items():
                        out[uid] = max(out.get(uid, 0), min(level, share["group_access_level"]))
        return out

    def level_in_group(self, uid: int, group: dict[str, Any]) -> int:
        return self.group_members_all(group).get(uid, 0)

    def level_in_project(self, uid: int, project: dict[str, Any]) -> int:
        return self.effective.get(project["id"], {}).get(uid, 0)


def load_instance(sandbox_dir: Path, inventory: dict[str, Any] | None = None) -> Instance:
    """The inventory (from the directory unless given) and the stored (non-streamed) audit events."""
    inst = Instance(inventory if inventory is not None else load_gitlab_inventory(sandbox_dir))
    path = sandbox_dir / "gitlab" / "audit-events.ndjson"
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                if rec.get("event_type") in STREAM_ONLY:
                    continue
                inst.events.append(rest_event(rec))
    inst.events.sort(key=lambda e: e["id"])
    inst.event_times = [parse_time(e["created_at"]) for e in inst.events]
    return inst


def rest_event(rec: dict[str, Any]) -> dict[str, Any]:
    """A streamed audit event as the REST API returns it: name in `event_name`, the rest under `details`."""
    return {
        "id": int(rec["id"]),
        "author_id": rec["author_id"],
        "entity_id": rec["entity_id"],
        "entity_type": rec["entity_type"],
        "event_name": rec["event_type"],
        "details": rec["details"],
        "created_at": rec["created_at"],
    }
