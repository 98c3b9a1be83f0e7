"""REST endpoints of the sandbox GitHub server (github.com shapes, trimmed to what audits read)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from auditor_sandbox.github.data import GitHubData, decode_cursor, encode_cursor
from auditor_sandbox.github.http import PER_PAGE_MAX, ApiError, Request, Response, json_response, paged
from auditor_sandbox.inventory_github import PERMISSION_ROLE, ROLE_PERMISSION, ROLES, role_rank

AUDIT_DOCS = "https://docs.github.com/rest/orgs/orgs#get-the-audit-log-for-an-organization"
_SEG = r"([^/]+)"


def _permissions(role: str) -> dict[str, bool]:
    rank = role_rank(role)
    return {
        "admin": rank >= 4,
        "maintain": rank >= 3,
        "push": rank >= 2,
        "triage": rank >= 1,
        "pull": True,
    }


class RestApi:
    """Route table and handlers; every handler takes the request and the path's captured segments."""

    def __init__(self, data: GitHubData) -> None:
        self.d = data
        org, ent = re.escape(data.org["login"]), re.escape(data.enterprise["slug"])
        table: list[tuple[str, str, Callable[..., Response]]] = [
            ("GET", r"/user", self.user),
            ("GET", r"/rate_limit", self.rate_limit),
            ("GET", f"/orgs/({org})", self.org),
            ("GET", f"/orgs/({org})/members", self.members),
            ("GET", f"/orgs/({org})/memberships/{_SEG}", self.membership),
            ("GET", f"/orgs/({org})/outside_collaborators", self.outside),
            ("GET", f"/orgs/({org})/teams", self.teams),
            ("GET", f"/orgs/({org})/teams/{_SEG}", self.team),
            ("GET", f"/orgs/({org})/teams/{_SEG}/teams", self.child_teams),
            ("GET", f"/orgs/({org})/teams/{_SEG}/members", self.team_members),
            ("GET", f"/orgs/({org})/teams/{_SEG}/repos", self.team_repos),
            ("GET", f"/orgs/({org})/repos", self.org_repos),
            ("GET", f"/orgs/({org})/properties/schema", self.property_schema),
            ("GET", f"/orgs/({org})/properties/values", self.property_values),
            ("GET", f"/repos/({org})/{_SEG}", self.repo),
            ("GET", f"/repos/({org})/{_SEG}/collaborators", self.collaborators),
            ("GET", f"/repos/({org})/{_SEG}/keys", self.deploy_keys),
            ("GET", f"/orgs/({org})/installations", self.installations),
            ("GET", f"/orgs/({org})/credential-authorizations", self.credential_authorizations),
            ("GET", f"/orgs/({org})/personal-access-tokens", self.fine_grained),
            ("GET", f"/orgs/({org})/personal-access-token-requests", self.pat_requests),
            ("GET", f"/orgs/({org})/organization-roles", self.org_roles),
            ("GET", f"/orgs/({org})/organization-roles/(\\d+)/users", self.org_role_users),
            ("GET", f"/orgs/({org})/organization-roles/(\\d+)/teams", self.org_role_teams),
            ("GET", f"/orgs/({org})/audit-log", self.audit_log),
            ("GET", f"/enterprises/({ent})/audit-log", self.audit_log),
            ("GET", f"/enterprises/({ent})/audit-log/streams", self.streams),
        ]
        self.routes = [(m, re.compile(f"^{p}/?$"), h) for m, p, h in table]

    def dispatch(self, req: Request) -> Response:
        for method, pattern, handler in self.routes:
            match = pattern.match(req.path)
            if match is not None and method == req.method:
                return handler(req, *match.groups())
        raise ApiError(404, "Not Found")

    # ------------------------------------------------------------------ shapes

    def _user(self, req: Request, login: str) -> dict[str, Any]:
        return {
            "login": login,
            "id": self.d.users.get(login, 0),
            "node_id": f"U_{self.d.users.get(login, 0)}",
            "type": "User",
            "site_admin": False,
            "url": f"{req.base}/users/{login}",
            "html_url": f"https://github.com/{login}",
        }

    def _team(self, req: Request, team: dict[str, Any], nested: bool = True) -> dict[str, Any]:
        org = self.d.org["login"]
        doc: dict[str, Any] = {
            "id": team["id"],
            "node_id": f"T_{team['id']}",
            "slug": team["slug"],
            "name": team["name"],
            "description": "",
            "privacy": team["privacy"],
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "url": f"{req.base}/organizations/{self.d.org['id']}/team/{team['id']}",
            "members_url": f"{req.base}/orgs/{org}/teams/{team['slug']}/members{{/member}}",
            "repositories_url": f"{req.base}/orgs/{org}/teams/{team['slug']}/repos",
            "parent": None,
        }
        parent = team.get("parent")
        if parent and nested:
            doc["parent"] = self._team(req, self.d.teams[parent], nested=False)
        return doc

    def _repo(self, req: Request, repo: dict[str, Any], role: str = "admin") -> dict[str, Any]:
        org = self.d.org
        return {
            "id": repo["id"],
            "node_id": f"R_{repo['id']}",
            "name": repo["name"],
            "full_name": repo["full_name"],
            "private": repo["private"],
            "visibility": repo["visibility"],
            "archived": repo["archived"],
            "disabled": False,
            "fork": False,
            "topics": repo["topics"],
            "default_branch": "main",
            "owner": {"login": org["login"], "id": org["id"], "type": "Organization",
                      "url": f"{req.base}/users/{org['login']}"},
            "url": f"{req.base}/repos/{repo['full_name']}",
            "html_url": f"https://github.com/{repo['full_name']}",
            "custom_properties": repo["custom_properties"],
            "permissions": _permissions(role),
            "role_name": role,
        }  # fmt: skip

    def _find_team(self, slug: str) -> dict[str, Any]:
        team: dict[str, Any] | None = self.d.teams.get(slug)
        if team is None:
            raise ApiError(404, "Not Found")
        return team

    def _find_repo(self, org: str, name: str) -> dict[str, Any]:
        repo: dict[str, Any] | None = self.d.repos.get(f"{org}/{name}")
        if repo is None:
            raise ApiError(404, "Not Found")
        return repo

    # ---------------------------------------------------------------- handlers

    def user(self, req: Request) -> Response:
        return json_response(self._user(req, "acme-auditor"))

    def rate_limit(self, req: Request) -> Response:
        return json_response({"resources": {}, "rate": {}})  # the server fills headers; body is informational

    def org(self, req: Request, org: str) -> Response:
        o = self.d.org
        doc = {
            "login": o["login"],
            "id": o["id"],
            "node_id": f"O_{o['id']}",
            "url": f"{req.base}/orgs/{o['login']}",
            "name": o["name"],
            "type": "Organization",
            "created_at": o["created_at"],
            "plan": o["plan"],
            "default_repository_permission": o["default_repository_permission"],
            "members_can_create_repositories": o["members_can_create_repositories"],
            "two_factor_requirement_enabled": o["two_factor_requirement_enabled"],
        }
        return json_response(doc)

    def members(self, req: Request, org: str) -> Response:
        role = req.query.get("role", "all")
        if role not in ("all", "admin", "member"):
            raise ApiError(422, f"Invalid role: {role}")
        rows = [m for m in self.d.members if role == "all" or m["role"] == role]
        return paged(req, [self._user(req, m["login"]) for m in rows])

    def membership(self, req: Request, org: str, login: str) -> Response:
        role = self.d.member_role.get(login)
        if role is None:
            raise ApiError(404, "Not Found")
        return json_response({"state": "active", "role": role, "user": self._user(req, login)})

    def outside(self, req: Request, org: str) -> Response:
        return paged(req, [self._user(req, m["login"]) for m in self.d.outside])

    def teams(self, req: Request, org: str) -> Response:
        return paged(req, [self._team(req, t) for t in self.d.teams.values()])

    def team(self, req: Request, org: str, slug: str) -> Response:
        return json_response(self._team(req, self._find_team(slug)))

    def child_teams(self, req: Request, org: str, slug: str) -> Response:
        self._find_team(slug)
        return paged(req, [self._team(req, self.d.teams[c]) for c in self.d.children.get(slug, [])])

    def team_members(self, req: Request, org: str, slug: str) -> Response:
        """Members including those of child teams, as GitHub lists them; `role` filters."""
        self._find_team(slug)
        role = req.query.get("role", "all")
        if role not in ("all", "member", "maintainer"):
            raise ApiError(422, f"Invalid role: {role}")
        rows = [m for m in self.d.team_members[slug] if role == "all" or m["role"] == role]
        return paged(req, [self._user(req, m["login"]) for m in rows])

    def team_repos(self, req: Request, org: str, slug: str) -> Response:
        team = self._find_team(slug)
        rows = [
            self._repo(req, self.d.repos[tr["repo"]], PERMISSION_ROLE[tr["permission"]])
            for tr in team["repos"]
            if tr["repo"] in self.d.repos
        ]
        return paged(req, rows)

    def org_repos(self, req: Request, org: str) -> Response:
        kind = req.query.get("type", "all")
        rows = [r for r in self.d.repo_list if kind in ("all", "private", "internal", "public") and
                (kind == "all" or r["visibility"] == kind)]  # fmt: skip
        return paged(req, [self._repo(req, r) for r in rows])

    def property_schema(self, req: Request, org: str) -> Response:
        return json_response(
            [
                {"property_name": "data_classification", "value_type": "single_select", "required": False,
                 "allowed_values": ["public", "internal", "restricted"]},
                {"property_name": "owner_team", "value_type": "string", "required": False},
            ]
        )  # fmt: skip

    def property_values(self, req: Request, org: str) -> Response:
        rows = [
            {
                "repository_id": r["id"],
                "repository_name": r["name"],
                "repository_full_name": r["full_name"],
                "properties": [{"property_name": k, "value": v} for k, v in r["custom_properties"].items()],
            }
            for r in self.d.repo_list
        ]
        return paged(req, rows)

    def repo(self, req: Request, org: str, name: str) -> Response:
        return json_response(self._repo(req, self._find_repo(org, name)))

    def collaborators(self, req: Request, org: str, name: str) -> Response:
        repo = self._find_repo(org, name)
        affiliation = req.query.get("affiliation", "all")
        if affiliation not in ("all", "direct", "outside"):
            raise ApiError(422, f"Invalid affiliation: {affiliation}")
        access = self.d.repo_access(repo["full_name"])
        direct = {c["login"] for c in repo["collaborators"]}
        rows = []
        for login, paths in access.items():
            if affiliation == "direct" and login not in direct:
                continue
            if affiliation == "outside" and not (login in direct and login in self.d.outside_logins):
                continue
            role = self.d.best(paths)
            rows.append(self._user(req, login) | {"permissions": _permissions(role), "role_name": role})
        return paged(req, rows)

    def deploy_keys(self, req: Request, org: str, name: str) -> Response:
        repo = self._find_repo(org, name)
        rows = [
            {"id": k["id"], "key": k["key"], "title": k["title"], "read_only": k["read_only"],
             "verified": k["verified"], "created_at": k["created_at"], "last_used": k["last_used"],
             "added_by": k["added_by"], "url": f"{req.base}/repos/{repo['full_name']}/keys/{k['id']}"}
            for k in repo["deploy_keys"]
        ]  # fmt: skip
        return paged(req, rows)

    def installations(self, req: Request, org: str) -> Response:
        rows = []
        for inst in self.d.inv["installations"]:
            doc = {k: v for k, v in inst.items() if k != "repositories"}
            doc["access_tokens_url"] = f"{req.base}/app/installations/{inst['id']}/access_tokens"
            doc["repositories_url"] = f"{req.base}/installation/repositories"
            doc["html_url"] = f"https://github.com/organizations/{org}/settings/installations/{inst['id']}"
            rows.append(doc)
        return paged(req, rows, wrap="installations")

    def credential_authorizations(self, req: Request, org: str) -> Response:
        return paged(req, list(self.d.inv["credential_authorizations"]))

    def _app_only(self, req: Request) -> None:
        if req.caller != "installation":
            raise ApiError(
                403,
                "Resource not accessible by personal access token",
                docs="https://docs.github.com/rest/orgs/personal-access-tokens",
            )

    def fine_grained(self, req: Request, org: str) -> Response:
        self._app_only(req)
        return paged(req, list(self.d.inv["fine_grained_pats"]))

    def pat_requests(self, req: Request, org: str) -> Response:
        self._app_only(req)
        return paged(req, list(self.d.inv["pat_requests"]))

    def org_roles(self, req: Request, org: str) -> Response:
        rows = []
        for role in self.d.inv["organization_roles"]:
            rows.append({k: v for k, v in role.items() if k not in ("users", "teams")} | {
                "organization": {"login": org, "id": self.d.org["id"]},
                "created_at": "2025-06-01T10:00:00Z", "updated_at": "2025-06-01T10:00:00Z"})  # fmt: skip
        return json_response({"total_count": len(rows), "roles": rows})

    def _role(self, role_id: str) -> dict[str, Any]:
        for role in self.d.inv["organization_roles"]:
            if str(role["id"]) == role_id:
                return dict(role)
        raise ApiError(404, "Not Found")

    def org_role_users(self, req: Request, org: str, role_id: str) -> Response:
        role = self._role(role_id)
        return paged(req, [self._user(req, login) | {"assignment": "direct"} for login in role["users"]])

    def org_role_teams(self, req: Request, org: str, role_id: str) -> Response:
        role = self._role(role_id)
        return paged(req, [self._team(req, self.d.teams[s]) | {"assignment": "direct"} for s in role["teams"]])

    def streams(self, req: Request, ent: str) -> Response:
        return json_response(list(self.d.enterprise["audit_log_streams"]))

    def audit_log(self, req: Request, scope: str) -> Response:
        """Cursor paging as GitHub does it: `after`/`before` in the Link header; `page` is refused."""
        include = req.query.get("include", "web")
        order = req.query.get("order", "desc")
        if include not in ("web", "git", "all") or order not in ("asc", "desc"):
            raise ApiError(422, "Invalid include or order", docs=AUDIT_DOCS)
        if "page" in req.query:
            raise ApiError(422, "Pagination using `page` is not supported; use the `after` and `before` cursors",
                           docs=AUDIT_DOCS)  # fmt: skip
        per_page = req.int_arg("per_page", 30, 1, PER_PAGE_MAX)
        rows, keys = self.d.audit_view(req.query.get("phrase", ""), include, order)
        try:
            if req.query.get("after"):
                pos = _position(keys, decode_cursor(req.query["after"]), order) + 1
                start = pos
            elif req.query.get("before"):
                end = _position(keys, decode_cursor(req.query["before"]), order)
                start = max(0, end - per_page)
            else:
                start = 0
        except ValueError:
            raise ApiError(422, "Invalid cursor", docs=AUDIT_DOCS) from None
        chunk = rows[start : start + per_page]
        links = []
        base_query = {k: v for k, v in req.query.items() if k not in ("after", "before")}
        if chunk and start + per_page < len(rows):
            links.append(f'<{req.base}{req.path}?{urlencode(base_query | {"after": encode_cursor(chunk[-1])})}>; '
                         'rel="next"')  # fmt: skip
        if chunk and start > 0:
            links.append(f'<{req.base}{req.path}?{urlencode(base_query | {"before": encode_cursor(chunk[0])})}>; '
                         'rel="prev"')  # fmt: skip
        if start > 0:
            links.append(f'<{req.base}{req.path}?{urlencode(base_query)}>; rel="first"')
        body = ("[" + ",".join(r.line for r in chunk) + "]").encode()
        return Response(200, body, {"Link": ", ".join(links)} if links else {})


def _position(keys: list[tuple[int, str]], key: tuple[int, str], order: str) -> int:
    """Index of `key` in `keys` (sorted in `order`); a vanished row gives where it would be."""
    if order == "asc":
        i = bisect.bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            return i
        return i - 1
    lo, hi = 0, len(keys)
    while lo < hi:  # descending order
        mid = (lo + hi) // 2
        if keys[mid] > key:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(keys) and keys[lo] == key:
        return lo
    return lo - 1


__all__ = ["ROLES", "ROLE_PERMISSION", "RestApi"]
