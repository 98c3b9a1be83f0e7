"""The sandbox GitLab REST endpoints under /api/v4, answered from an `Instance` with GitLab's permission rules.

Administrators see everything; anyone else sees the groups and projects they belong to (or internal
projects), lists of other people's tokens are refused or narrowed as GitLab does, and audit events need
Premium. Each handler returns (JSON-able body, extra headers) or raises `ApiError`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from auditor_sandbox.gitlab.data import Instance, parse_time
from auditor_sandbox.gitlab.paging import ApiError, Page, Req, bad_request, paginate

TIERS = ("free", "premium", "ultimate")
MAINTAINER, OWNER = 40, 50
USER_BASIC = ("id", "username", "name", "state", "locked", "avatar_url", "web_url")
USER_PUBLIC = (*USER_BASIC, "created_at", "bot", "public_email")


def not_found(what: str = "") -> ApiError:
    return ApiError(404, {"message": f"404 {what + ' ' if what else ''}Not Found"})


def forbidden() -> ApiError:
    return ApiError(403, {"message": "403 Forbidden"})


class Endpoints:
    """One method per resource; `route` dispatches by path segments."""

    def __init__(self, inst: Instance, tier: str) -> None:
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
        self.i = inst
        self.tier = tier

    # ---- dispatch ------------------------------------------------------------------------
    def route(self, req: Req) -> Page | tuple[Any, dict[str, str]]:
        seg = [unquote(s) for s in req.path.strip("/").split("/")]
        head, n = seg[0], len(seg)
        simple: dict[str, Callable[[Req], Any]] = {
            "user": self.current_user,
            "version": self.version,
            "metadata": self.version,
            "users": self.users,
            "groups": self.groups_list,
            "projects": self.projects_list,
            "personal_access_tokens": self.personal_access_tokens,
            "deploy_tokens": self.instance_deploy_tokens,
            "deploy_keys": self.instance_deploy_keys,
            "applications": self.applications,
            "audit_events": self.instance_audit_events,
        }
        if n == 1 and head in simple:
            return _wrap(simple[head](req))
        if seg == ["application", "settings"]:
            return self.settings(req), {}
        if head == "users" and n == 2:
            return self.user(req, seg[1]), {}
        if head == "groups" and n >= 2:
            group = self.find_group(req, seg[1])
            sub = "/".join(seg[2:])
            handlers: dict[str, Callable[[Req, dict[str, Any]], Any]] = {
                "": self.group,
                "descendant_groups": self.descendant_groups,
                "subgroups": self.subgroups,
                "projects": self.group_projects,
                "members": lambda r, g: self.members(r, self.i.group_members[g["id"]]),
                "members/all": lambda r, g: self.members(r, self.i.group_members_all(g)),
                "invited_groups": self.invited_groups,
                "access_tokens": self.group_access_tokens,
                "deploy_tokens": self.group_deploy_tokens,
                "audit_events": self.group_audit_events,
            }
            if sub in handlers:
                return _wrap(handlers[sub](req, group))
        if head == "projects" and n >= 2:
            project = self.find_project(req, seg[1])
            sub = "/".join(seg[2:])
            phandlers: dict[str, Callable[[Req, dict[str, Any]], Any]] = {
                "": lambda r, p: p,
                "members": lambda r, p: self.members(r, self.i.project_members[p["id"]]),
                "members/all": lambda r, p: self.members(r, self.i.effective.get(p["id"], {})),
                "access_tokens": self.project_access_tokens,
                "deploy_tokens": self.project_deploy_tokens,
                "deploy_keys": self.project_deploy_keys,
                "audit_events": self.project_audit_events,
            }
            if sub in phandlers:
                return _wrap(phandlers[sub](req, project))
        raise not_found()

    # ---- lookups and permissions -----------------------------------------------------------
    def find_group(self, req: Req, ref: str) -> dict[str, Any]:
        group: dict[str, Any] | None = (
            self.i.groups.get(int(ref)) if ref.isdigit() else self.i.groups_by_path.get(ref.lower())
        )
        if group is None or not (req.admin or self.i.level_in_group(req.user["id"], group) > 0):
            raise not_found("Group")
        return group

    def find_project(self, req: Req, ref: str) -> dict[str, Any]:
        project: dict[str, Any] | None = (
            self.i.projects.get(int(ref)) if ref.isdigit() else self.i.projects_by_path.get(ref.lower())
        )
        if project is None or not self.can_see(req, project):
            raise not_found("Project")
        return project

    def can_see(self, req: Req, project: dict[str, Any]) -> bool:
        if req.admin or project["visibility"] == "public":
            return True
        if project["visibility"] == "internal" and not req.user.get("external"):
            return True
        return self.i.level_in_project(req.user["id"], project) > 0

    def need_group(self, req: Req, group: dict[str, Any], level: int) -> None:
        if not req.admin and self.i.level_in_group(req.user["id"], group) < level:
            raise forbidden()

    def need_project(self, req: Req, project: dict[str, Any], level: int) -> None:
        if not req.admin and self.i.level_in_project(req.user["id"], project) < level:
            raise forbidden()

    def need_admin(self, req: Req) -> None:
        if not req.admin:
            raise forbidden()

    def need_premium(self) -> None:
        if self.tier == "free":
            raise forbidden()

    # ---- instance ------------------------------------------------------------------------------
    def current_user(self, req: Req) -> dict[str, Any]:
        return self.user_view(req, req.user, own=True)

    def version(self, req: Req) -> dict[str, Any]:
        inst = self.i.inv["instance"]
        return {
            "version": inst["version"],
            "revision": inst["revision"],
            "enterprise": inst["enterprise"],
            "kas": {"enabled": False, "externalUrl": None, "version": None},
        }

    def settings(self, req: Req) -> dict[str, Any]:
        self.need_admin(req)
        return {"id": 1, **self.i.inv["settings"]}

    def user_view(self, req: Req, user: dict[str, Any], own: bool = False) -> dict[str, Any]:
        if req.admin:
            return dict(user)
        keys = (*USER_PUBLIC, "email", "is_admin") if own else USER_PUBLIC
        out = {k: user[k] for k in keys if k in user}
        if own:
            out.pop("is_admin", None)  # only administrators see is_admin, even about themselves
        return out

    def users(self, req: Req) -> Page:
        users = self.i.inv["users"]
        if "username" in req.params:
            users = [u for u in users if u["username"].lower() == req.params["username"].lower()]
        if req.flag("active"):
            users = [u for u in users if u["state"] == "active"]
        if req.flag("blocked"):
            users = [u for u in users if u["state"] == "blocked"]
        if req.flag("exclude_internal"):
            users = [u for u in users if u["id"] > 0]
        return paginate(req, users, lambda u: self.user_view(req, u), keyset="id_after")

    def user(self, req: Req, ref: str) -> dict[str, Any]:
        user = self.i.users.get(int(ref)) if ref.isdigit() else None
        if user is None:
            raise not_found("User")
        return self.user_view(req, user)

    def personal_access_tokens(self, req: Req) -> Page:
        """Administrators get every token; anyone else gets their own (GitLab's documented behaviour)."""
        tokens = self.i.inv["personal_access_tokens"]
        if not req.admin:
            tokens = [t for t in tokens if t["user_id"] == req.user["id"]]
        elif "user_id" in req.params:
            tokens = [t for t in tokens if str(t["user_id"]) == req.params["user_id"]]
        if "state" in req.params:
            tokens = [t for t in tokens if ("active" if t["active"] else "inactive") == req.params["state"]]
        return paginate(req, tokens)

    def instance_deploy_tokens(self, req: Req) -> Page:
        self.need_admin(req)
        return paginate(req, [_deploy_token(t) for t in self.i.inv["deploy_tokens"]])

    def instance_deploy_keys(self, req: Req) -> Page:
        self.need_admin(req)

        def render(key: dict[str, Any]) -> dict[str, Any]:
            out = {k: v for k, v in key.items() if k != "projects"}
            for flag, name in ((True, "projects_with_write_access"), (False, "projects_with_readonly_access")):
                out[name] = [
                    _project_ref(self.i.projects[p["project_id"]]) for p in key["projects"] if p["can_push"] is flag
                ]
            return out

        return paginate(req, self.i.inv["deploy_keys"], render)

    def applications(self, req: Req) -> Page:
        self.need_admin(req)
        return paginate(req, self.i.inv["applications"])

    # ---- groups ----------------------------------------------------------------------------------
    def visible_groups(self, req: Req) -> list[dict[str, Any]]:
        groups = self.i.inv["groups"]
        if req.admin:
            return list(groups)
        return [g for g in groups if self.i.level_in_group(req.user["id"], g) > 0]

    def groups_list(self, req: Req) -> Page:
        groups = self.visible_groups(req)
        if req.flag("top_level_only"):
            groups = [g for g in groups if g["parent_id"] is None]
        return paginate(req, sorted(groups, key=lambda g: g["full_path"]), _group_list_item)

    def group(self, req: Req, group: dict[str, Any]) -> dict[str, Any]:
        out = dict(group)
        if req.flag("with_projects", default=True):
            out["projects"] = [p for p in self.i.inv["projects"] if p["namespace"]["id"] == group["id"]][:100]
        return out

    def descendant_groups(self, req: Req, group: dict[str, Any]) -> Page:
        visible = {g["id"] for g in self.visible_groups(req)}
        found = [g for g in self.i.descendants(group) if g["id"] in visible]
        return paginate(req, sorted(found, key=lambda g: g["full_path"]), _group_list_item)

    def subgroups(self, req: Req, group: dict[str, Any]) -> Page:
        found = [g for g in self.i.descendants(group) if g["parent_id"] == group["id"]]
        return paginate(req, sorted(found, key=lambda g: g["full_path"]), _group_list_item)

    def group_projects(self, req: Req, group: dict[str, Any]) -> Page:
        """Offset pagination only: GitLab has no keyset for /groups/:id/projects."""
        spaces = {group["id"]}
        if req.flag("include_subgroups"):
            spaces |= {g["id"] for g in self.i.descendants(group)}
        found = [p for p in self.i.inv["projects"] if p["namespace"]["id"] in spaces and self.can_see(req, p)]
        if req.params.get("order_by", "created_at") == "id" or "order_by" not in req.params:
            found.sort(key=lambda p: p["id"], reverse=req.params.get("sort", "desc") == "desc")
        return paginate(req, found)

    def invited_groups(self, req: Req, group: dict[str, Any]) -> Page:
        found = [self.i.groups[s["group_id"]] for s in group["shared_with_groups"]]
        return paginate(req, found, _group_list_item)

    def members(self, req: Req, levels: dict[int, int]) -> Page:
        rows = [self._member(uid, level) for uid, level in sorted(levels.items())]
        if "query" in req.params:
            rows = [r for r in rows if req.params["query"].lower() in r["username"].lower()]
        return paginate(req, rows)

    def _member(self, uid: int, level: int) -> dict[str, Any]:
        u = self.i.users[uid]
        return {
            **{k: u[k] for k in USER_BASIC},
            "access_level": level,
            "created_at": u["created_at"],
            "expires_at": None,
            "membership_state": "active",
        }

    def group_access_tokens(self, req: Req, group: dict[str, Any]) -> Page:
        self.need_group(req, group, OWNER)
        return paginate(req, self.i.inv["group_access_tokens"].get(str(group["id"]), []))

    def group_deploy_tokens(self, req: Req, group: dict[str, Any]) -> Page:
        self.need_group(req, group, MAINTAINER)
        found = [_deploy_token(t) for t in self.i.inv["deploy_tokens"] if t["group_id"] == group["id"]]
        return paginate(req, found)

    # ---- projects ----------------------------------------------------------------------------------
    def projects_list(self, req: Req) -> Page:
        """Offset or keyset (order_by=id) pagination, as GitLab supports on /projects."""
        found = [p for p in self.i.inv["projects"] if self.can_see(req, p)]
        if req.flag("membership"):
            found = [p for p in found if self.i.level_in_project(req.user["id"], p) > 0]
        if req.params.get("pagination") != "keyset":
            found.sort(key=lambda p: p["id"], reverse=req.params.get("sort", "desc") == "desc")
        return paginate(req, found, keyset="id_after")

    def project_access_tokens(self, req: Req, project: dict[str, Any]) -> Page:
        self.need_project(req, project, MAINTAINER)
        return paginate(req, self.i.inv["project_access_tokens"].get(str(project["id"]), []))

    def project_deploy_tokens(self, req: Req, project: dict[str, Any]) -> Page:
        self.need_project(req, project, MAINTAINER)
        found = [_deploy_token(t) for t in self.i.inv["deploy_tokens"] if t["project_id"] == project["id"]]
        return paginate(req, found)

    def project_deploy_keys(self, req: Req, project: dict[str, Any]) -> Page:
        self.need_project(req, project, MAINTAINER)
        found = []
        for key in self.i.inv["deploy_keys"]:
            for p in key["projects"]:
                if p["project_id"] == project["id"]:
                    found.append({**{k: v for k, v in key.items() if k != "projects"}, "can_push": p["can_push"]})
        return paginate(req, found)

    # ---- audit events --------------------------------------------------------------------------------
    def instance_audit_events(self, req: Req) -> Page:
        self.need_admin(req)
        self.need_premium()
        wanted = req.params.get("entity_type")
        return self._events(req, lambda e: wanted is None or e["entity_type"] == wanted)

    def group_audit_events(self, req: Req, group: dict[str, Any]) -> Page:
        self.need_premium()
        self.need_group(req, group, OWNER)
        return self._events(req, lambda e: e["entity_type"] == "Group" and e["entity_id"] == group["id"])

    def project_audit_events(self, req: Req, project: dict[str, Any]) -> Page:
        self.need_premium()
        self.need_project(req, project, MAINTAINER)
        return self._events(req, lambda e: e["entity_type"] == "Project" and e["entity_id"] == project["id"])

    def _events(self, req: Req, keep: Callable[[dict[str, Any]], bool]) -> Page:
        """Newest first; created_after/created_before bound the window (inclusive, like GitLab)."""
        try:
            lo = parse_time(req.params["created_after"]) if "created_after" in req.params else None
            hi = parse_time(req.params["created_before"]) if "created_before" in req.params else None
        except ValueError:
            raise bad_request("created_after or created_before is invalid") from None
        times = self.i.event_times
        start = bisect_left(times, lo) if lo else 0
        end = bisect_right(times, hi) if hi else len(times)
        found = [e for e in reversed(self.i.events[start:end]) if keep(e)]
        return paginate(req, found, keyset="cursor")


def _wrap(result: Any) -> tuple[Any, dict[str, str]]:
    if isinstance(result, tuple):
        return result
    return result, {}


def _group_list_item(group: dict[str, Any]) -> dict[str, Any]:
    """List entries omit the detail-only attributes (shared_with_groups, projects)."""
    return {k: v for k, v in group.items() if k not in ("shared_with_groups", "projects")}


def _project_ref(project: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "name_with_namespace", "path", "path_with_namespace", "created_at")
    return {k: project[k] for k in keys}


def _deploy_token(token: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in token.items() if k not in ("group_id", "project_id")}
