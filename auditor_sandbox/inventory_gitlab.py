"""The acme GitLab instance as its API would describe it: groups, projects, members, users, tokens, keys, apps.

Derived deterministically from the Tenant (same seed, same bytes) plus what the generated logs show
(who pulled which project, which PATs were created), so that everyone who pulls a project in the logs
is a member of it. Written to `OUT_DIR/inventory/gitlab.json`; the sandbox GitLab API server serves it
and the tests compare the connector's result with its `effective` ground truth.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from auditor_sandbox import catalog
from auditor_sandbox.model import DOMAIN, GITLAB_GROUP, Credential, Person, Repo, Tenant
from auditor_sandbox.writers import iso_utc

INVENTORY_FILE = "inventory/gitlab.json"
PARTNERS = "acme-partners"
HOST = "gitlab.acme.example"
PRIVATE_MAIL_DOMAIN = "mailbox.example"  # a personal mail provider: an address no IdP user has
VERSION = "17.5.2-ee"
GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
ROLE = {5: "minimal_access", 10: "guest", 15: "planner", 20: "reporter", 30: "developer", 40: "maintainer", 50: "owner"}
GROUP_ID_BASE = 9_000
STREAMING_DESTINATION = {
    "id": "gid://gitlab/AuditEvents::Group::ExternalStreamingDestination/7",
    "name": "siem-http",
    "category": "http",
    "active": True,
    "config": {"url": "https://siem.acme.example/gitlab/audit"},
}


@dataclass
class LogFacts:
    """What the generated GitLab logs show: (user id, project path) pulls and created PATs."""

    pulls: set[tuple[int, str]] = field(default_factory=set)
    pats: list[tuple[int, int, str, str]] = field(default_factory=list)  # user id, token id, name, created_at


def scan_gitlab_logs(out_dir: Path) -> LogFacts:
    """Read gitlab/audit-events.ndjson and gitlab/api_json.log for pulls and PAT creations."""
    facts = LogFacts()
    audit = out_dir / "gitlab" / "audit-events.ndjson"
    if audit.is_file():
        with audit.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                kind = rec.get("event_type")
                if kind == "personal_access_token_created":
                    facts.pats.append((rec["author_id"], rec["target_id"], rec["target_details"], rec["created_at"]))
                elif rec.get("entity_type") == "Project" and rec.get("author_id", 0) > 0:
                    facts.pulls.add((rec["author_id"], rec["entity_path"]))
    api = out_dir / "gitlab" / "api_json.log"
    if api.is_file():
        with api.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                if rec.get("meta.project"):
                    facts.pulls.add((rec["user_id"], rec["meta.project"]))
    return facts


def write_gitlab_inventory(out_dir: Path, inventory: Mapping[str, Any]) -> int:
    """Write the inventory; returns the number of projects (the record count shown by `generate`)."""
    path = out_dir / INVENTORY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(inventory, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return len(inventory["projects"])


def load_gitlab_inventory(sandbox_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((sandbox_dir / INVENTORY_FILE).read_text(encoding="utf-8"))
    return data


def _hex(seed: int, *parts: object, n: int = 8) -> str:
    return hashlib.sha256(":".join(str(p) for p in (seed, *parts)).encode()).hexdigest()[:n]


class _Builder:
    """Assembles the inventory in one pass; every random draw comes from one seeded stream."""

    def __init__(self, tenant: Tenant, start: datetime, end: datetime) -> None:
        self.t = tenant
        self.start = start
        self.end = end
        self.rng = random.Random(f"acme:{tenant.seed}:gitlab-inventory")
        self.users: dict[int, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.group_members: dict[str, dict[int, int]] = {}
        self.project_members: dict[str, dict[int, int]] = {}
        self.pats: list[dict[str, Any]] = []
        self.group_tokens: dict[str, list[dict[str, Any]]] = {}
        self.project_tokens: dict[str, list[dict[str, Any]]] = {}
        self.next_user = 1 + max(
            [p.gitlab.account_id for p in tenant.people if p.gitlab] + [b.account_id for b in tenant.bots.values()]
        )

    def at(self, days_before_end: float) -> str:
        return iso_utc(self.end - timedelta(days=days_before_end))

    # ---- users
    def user(self, uid: int, username: str, name: str, email: str, created: datetime, **extra: Any) -> dict[str, Any]:
        u: dict[str, Any] = {
            "id": uid,
            "username": username,
            "name": name,
            "state": "active",
            "locked": False,
            "avatar_url": f"https://{HOST}/uploads/-/system/user/avatar/{uid}/avatar.png",
            "web_url": f"https://{HOST}/{username}",
            "created_at": iso_utc(created),
            "email": email,
            "public_email": None,
            "is_admin": False,
            "bot": False,
            "external": False,
            "two_factor_enabled": True,
            "last_sign_in_at": None,
            "current_sign_in_at": None,
            "last_activity_on": None,
            "identities": [],
            "note": None,
        }
        u.update(extra)
        self.users[uid] = u
        return u

    def person_user(self, p: Person) -> None:
        acct = p.gitlab
        assert acct is not None
        seen = self.at(self.rng.uniform(0, 6))
        # An unlinked account registered with a private address and never tied to SAML: nothing names its person.
        self.user(
            acct.account_id,
            acct.login,
            p.display_name,
            f"{acct.login}@{PRIVATE_MAIL_DOMAIN}" if p.gitlab_unlinked else p.mail,
            p.created,
            external=p.account_class == "external",
            last_sign_in_at=seen,
            current_sign_in_at=seen,
            last_activity_on=seen[:10],
            identities=[]
            if p.gitlab_unlinked
            else [{"provider": "saml", "extern_uid": p.upn, "saml_provider_id": None}],
        )

    # ---- groups and projects
    def group(self, full_path: str, parent: str | None, description: str) -> dict[str, Any]:
        gid = GROUP_ID_BASE + len(self.groups) + 1
        name = full_path.rsplit("/", 1)[-1]
        g: dict[str, Any] = {
            "id": gid,
            "name": name,
            "path": name,
            "full_name": full_path.replace("/", " / "),
            "full_path": full_path,
            "description": description,
            "visibility": "private",
            "parent_id": self.groups[parent]["id"] if parent else None,
            "created_at": iso_utc(self.start - timedelta(days=1400 - len(self.groups) * 20)),
            "web_url": f"https://{HOST}/groups/{full_path}",
            "require_two_factor_authentication": parent is None and full_path == GITLAB_GROUP,
            "share_with_group_lock": False,
            "project_creation_level": "maintainer",
            "subgroup_creation_level": "owner",
            "shared_with_groups": [],
        }
        self.groups[full_path] = g
        self.group_members[full_path] = {}
        return g

    def project(self, repo: Repo) -> None:
        ns = repo.full_name.rsplit("/", 1)[0]
        g = self.groups[ns]
        self.projects[repo.full_name] = {
            "id": repo.repo_id,
            "name": repo.name,
            "path": repo.name,
            "path_with_namespace": repo.full_name,
            "name_with_namespace": repo.full_name.replace("/", " / "),
            "description": f"{repo.team} team",
            "visibility": repo.visibility,
            "archived": False,
            "default_branch": "main",
            "topics": ["tier1"] if repo.tier == 1 else [],
            "created_at": iso_utc(self.start - timedelta(days=30 + (repo.index * 37) % 1200)),
            "last_activity_at": self.at((repo.index * 13) % 20),
            "web_url": f"https://{HOST}/{repo.full_name}",
            "namespace": {"id": g["id"], "name": g["name"], "path": g["path"], "kind": "group", "full_path": ns},
            "shared_with_groups": [],
        }
        self.project_members[repo.full_name] = {}

    def share(self, target: dict[str, Any], shared: str, level: int) -> None:
        g = self.groups[shared]
        target["shared_with_groups"].append(
            {
                "group_id": g["id"],
                "group_name": g["name"],
                "group_full_path": shared,
                "group_access_level": level,
                "expires_at": None,
            }
        )

    # ---- credentials
    def pat(self, uid: int, cred_id: int, name: str, scopes: list[str], created: str, **extra: Any) -> None:
        if any(t["id"] == cred_id for t in self.pats):
            return
        token = {
            "id": cred_id,
            "name": name,
            "description": "",
            "revoked": False,
            "active": True,
            "created_at": created,
            "scopes": scopes,
            "user_id": uid,
            "last_used_at": self.at(self.rng.uniform(0, 10)),
            "expires_at": (datetime.fromisoformat(created.replace("Z", "+00:00")) + timedelta(days=365)).strftime(
                "%Y-%m-%d"
            ),
        }
        token.update(extra)
        self.pats.append(token)

    def credential_pat(self, uid: int, cred: Credential, name: str) -> None:
        if cred.kind == "PersonalAccessToken":
            self.pat(uid, cred.token_id, name, cred.scopes.split(","), self.at(self.rng.uniform(20, 300)))

    def bot_token(self, kind: str, scope_path: str, scope_id: int, name: str, level: int, scopes: list[str]) -> None:
        uid = self.next_user
        self.next_user += 1
        login = f"{kind}_{scope_id}_bot_{_hex(self.t.seed, kind, scope_id, name, n=32)}"
        self.user(uid, login, name, f"{login}@noreply.{HOST}", self.end - timedelta(days=200), bot=True)
        token = {
            "id": 5_000 + uid,
            "name": name,
            "description": f"{kind} access token",
            "revoked": False,
            "active": True,
            "created_at": self.at(200),
            "scopes": scopes,
            "user_id": uid,
            "last_used_at": self.at(1),
            "expires_at": iso_utc(self.end + timedelta(days=165))[:10],
            "access_level": level,
        }
        if kind == "group":
            self.group_members[scope_path][uid] = level
            self.group_tokens.setdefault(str(scope_id), []).append(token)
        else:
            self.project_members[scope_path][uid] = level
            self.project_tokens.setdefault(str(scope_id), []).append(token)


def build_gitlab_inventory(
    tenant: Tenant, start: datetime, end: datetime, facts: LogFacts | None = None, streaming: bool = False
) -> dict[str, Any]:
    """The whole instance inventory with `effective`, the ground truth of who reaches each project and how."""
    facts = facts or LogFacts()
    b = _Builder(tenant, start, end)
    people = [p for p in tenant.people if p.gitlab is not None]
    by_uid = {p.gitlab.account_id: p for p in people if p.gitlab}
    for p in people:
        b.person_user(p)
    for bot in tenant.bots.values():
        if bot.platform == "gitlab" and bot.account_id > 0:
            b.user(
                bot.account_id,
                bot.login,
                bot.login,
                f"{bot.login}@{DOMAIN}",
                start - timedelta(days=500),
                last_activity_on=iso_utc(end)[:10],
            )
    admin = next(p for p in people if p.account_class == "privileged")
    assert admin.gitlab is not None
    b.users[admin.gitlab.account_id]["is_admin"] = True

    # Groups: acme, one subgroup per team subgroup that has projects, and the partners' group.
    gl_repos = sorted(tenant.repos_on("gitlab"), key=lambda r: r.full_name)
    b.group(GITLAB_GROUP, None, "Acme engineering")
    subgroups = sorted({r.full_name.rsplit("/", 1)[0] for r in gl_repos})
    for sub in subgroups:
        b.group(sub, GITLAB_GROUP, f"{sub.rsplit('/', 1)[-1]} teams")
    b.group(PARTNERS, None, "External partners")
    for r in gl_repos:
        b.project(r)
    team_sub = {slug: f"{GITLAB_GROUP}/{sub}" for slug, _d, sub, _p in catalog.DEV_TEAMS}

    # Memberships.
    top = b.group_members[GITLAB_GROUP]
    for p in people:
        assert p.gitlab is not None
        uid = p.gitlab.account_id
        sub = team_sub.get(p.team or "", "")
        if p.account_class == "privileged":
            top[uid] = OWNER
        elif p.account_class in ("developer", "contractor") and sub in b.group_members:
            b.group_members[sub][uid] = DEVELOPER
        elif p.account_class == "external":
            b.group_members[PARTNERS][uid] = DEVELOPER
        elif p.account_class == "non_developer":
            b.group_members[subgroups[p.index % len(subgroups)]][uid] = GUEST
    for sub in subgroups:
        devs = sorted(
            (b.users[u]["username"], u) for u in b.group_members[sub] if by_uid[u].account_class == "developer"
        )
        if devs:
            b.group_members[sub][devs[0][1]] = MAINTAINER
    for key in ("gl_mirror", "migration"):
        top[tenant.bots[key].account_id] = REPORTER
    guest = tenant.person("guest_pat")
    assert guest.gitlab is not None
    guest_sub = team_sub.get(guest.team or "", subgroups[0])
    guest_sub = guest_sub if guest_sub in b.groups else subgroups[0]
    b.share(b.groups[guest_sub], PARTNERS, DEVELOPER)
    other = next((s for s in subgroups if s != guest_sub), None)
    if other is not None:
        b.share(b.groups[other], PARTNERS, REPORTER)
    # Maintainer on the first restricted project of the guest's team (the project-export scenario's target).
    first = next((r for r in gl_repos if r.team == guest.team and r.restricted), None) or next(
        (r for r in gl_repos if r.full_name.startswith(guest_sub + "/") and r.restricted), None
    )
    if first is not None:
        b.project_members[first.full_name][guest.gitlab.account_id] = MAINTAINER

    # Access-token bots (members too), then make every pull in the logs a reachable one.
    infra = f"{GITLAB_GROUP}/infra" if f"{GITLAB_GROUP}/infra" in b.groups else subgroups[-1]
    b.bot_token("group", infra, b.groups[infra]["id"], "terraform", MAINTAINER, ["api"])
    restricted = [r for r in gl_repos if r.restricted]
    for r, name, level in ((restricted[0], "release-notes", DEVELOPER), (restricted[-1], "renovate", MAINTAINER)):
        b.bot_token("project", r.full_name, r.repo_id, name, level, ["read_api", "read_repository"])
    effective = _effective(b)
    vis = {r.full_name: r.visibility for r in gl_repos}
    for uid, path in sorted(facts.pulls):
        if path not in b.projects or uid not in b.users:
            continue
        level = effective.get((path, uid), (0, []))[0]
        needs = REPORTER if vis[path] == "private" or b.users[uid]["external"] else 0
        if level < max(needs, 1) and needs:
            person = by_uid.get(uid)
            b.project_members[path][uid] = DEVELOPER if person and person.is_developer else REPORTER
    _states(b, tenant, people, facts)
    _tokens(b, tenant, people, facts)
    inventory: dict[str, Any] = {
        "instance": {"host": HOST, "version": VERSION, "revision": _hex(tenant.seed, "rev", n=10), "enterprise": True},
        "settings": {
            "signup_enabled": False,
            "require_two_factor_authentication": False,
            "default_project_visibility": "private",
            "default_group_visibility": "private",
            "restricted_visibility_levels": ["public"],
            "password_authentication_enabled_for_git": False,
            "personal_access_token_prefix": "glpat-",
            "max_personal_access_token_lifetime": 365,
            "deploy_token_expiration_enforced": False,
        },
        "users": sorted(b.users.values(), key=lambda u: u["id"]),
        "groups": sorted(b.groups.values(), key=lambda g: g["id"]),
        "projects": sorted(b.projects.values(), key=lambda p: p["id"]),
        "group_members": {_gid(b, k): _members(v) for k, v in b.group_members.items()},
        "project_members": {str(b.projects[k]["id"]): _members(v) for k, v in b.project_members.items()},
        "personal_access_tokens": sorted(b.pats, key=lambda t: t["id"]),
        "group_access_tokens": b.group_tokens,
        "project_access_tokens": b.project_tokens,
        "deploy_tokens": _deploy_tokens(b, restricted),
        "deploy_keys": _deploy_keys(b, tenant, gl_repos),
        "applications": _applications(tenant.seed),
        "streaming_destinations": [STREAMING_DESTINATION] if streaming else [],
        "effective": [
            {
                "project": path,
                "user_id": uid,
                "username": b.users[uid]["username"],
                "access_level": level,
                "role": ROLE[level],
                "via": via,
            }
            for (path, uid), (level, via) in sorted(_effective(b).items())
        ],
    }
    return inventory


def _gid(b: _Builder, path: str) -> str:
    return str(b.groups[path]["id"])


def _members(levels: Mapping[int, int]) -> list[dict[str, Any]]:
    return [{"user_id": uid, "access_level": lvl} for uid, lvl in sorted(levels.items())]


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _effective(b: _Builder) -> dict[tuple[str, int], tuple[int, list[str]]]:
    """(project path, user id) -> (highest access level, every path granting access), as GitLab resolves it:
    project members, members of the namespace and its ancestors, and members of groups shared with any of
    them (capped at the share's access level)."""
    out: dict[tuple[str, int], tuple[int, list[str]]] = {}

    def add(path: str, uid: int, level: int, via: str) -> None:
        if level < GUEST:
            return
        old, vias = out.get((path, uid), (0, []))
        out[(path, uid)] = (max(old, level), sorted({*vias, via}))

    for path, project in b.projects.items():
        for uid, lvl in b.project_members[path].items():
            add(path, uid, lvl, "project")
        shares = list(project["shared_with_groups"])
        for g in _ancestors(path.rsplit("/", 1)[0]):
            for uid, lvl in b.group_members[g].items():
                add(path, uid, lvl, f"group:{g}")
            shares.extend(b.groups[g]["shared_with_groups"])
        for share in shares:
            for g in _ancestors(share["group_full_path"]):
                for uid, lvl in b.group_members[g].items():
                    add(path, uid, min(lvl, share["group_access_level"]), f"shared_group:{share['group_full_path']}")
    return out


def _states(b: _Builder, tenant: Tenant, people: list[Person], facts: LogFacts) -> None:
    """The departing developer is blocked (offboarded); one dormant non-developer is deactivated."""
    leaver = tenant.person("departing_dev")
    if leaver.gitlab is not None:
        b.users[leaver.gitlab.account_id]["state"] = "blocked"
    pullers = {uid for uid, _ in facts.pulls}
    cast = set(tenant.cast.values())
    dormant = sorted(
        (p.gitlab.login, p.gitlab.account_id)
        for p in people
        if p.gitlab
        and p.account_class == "non_developer"
        and p.index not in cast
        and p.gitlab.account_id not in pullers
    )
    if dormant:
        u = b.users[dormant[0][1]]
        u.update(state="deactivated", last_activity_on=b.at(120)[:10], last_sign_in_at=b.at(120))


def _tokens(b: _Builder, tenant: Tenant, people: list[Person], facts: LogFacts) -> None:
    for p in people:
        assert p.gitlab is not None
        b.credential_pat(p.gitlab.account_id, p.gitlab.git, "git")
        b.credential_pat(p.gitlab.account_id, p.gitlab.api, "api")
    for key in ("gl_mirror", "migration"):
        bot = tenant.bots[key]
        b.credential_pat(bot.account_id, bot.credential, key.replace("_", "-"))
    for uid, token_id, name, created in facts.pats:
        if uid in b.users:
            scopes = ["api"] if name != "workstation" else ["read_repository", "write_repository"]
            b.pat(uid, token_id, name, scopes, created.replace(".000Z", "Z"))
    owners = {t["user_id"] for t in b.pats if "api" in t["scopes"]}
    nondev = [p for p in people if p.account_class == "non_developer" and p.gitlab]
    if nondev and not any(p.gitlab and p.gitlab.account_id in owners for p in nondev):
        p = nondev[0]
        assert p.gitlab is not None
        b.pat(p.gitlab.account_id, 700_000 + p.gitlab.account_id, "reporting", ["api"], b.at(40))
    # The oldest developer token predates mandatory expiry: no expires_at.
    devs = {p.gitlab.account_id for p in people if p.gitlab and p.account_class == "developer"}
    oldest = next((t for t in sorted(b.pats, key=lambda t: t["id"]) if t["user_id"] in devs), None)
    if oldest is not None:
        oldest.update(expires_at=None, created_at=b.at(900))


def _deploy_tokens(b: _Builder, restricted: list[Repo]) -> list[dict[str, Any]]:
    data = f"{GITLAB_GROUP}/data" if f"{GITLAB_GROUP}/data" in b.groups else sorted(b.groups)[1]
    project = restricted[len(restricted) // 2]
    return [
        {
            "id": 31,
            "name": "k8s-pull",
            "username": "gitlab+deploy-token-31",
            "expires_at": None,
            "revoked": False,
            "expired": False,
            "scopes": ["read_repository", "read_registry"],
            "group_id": b.groups[data]["id"],
            "project_id": None,
        },
        {
            "id": 32,
            "name": "backup-export",
            "username": "gitlab+deploy-token-32",
            "expires_at": iso_utc(b.end + timedelta(days=60)),
            "revoked": False,
            "expired": False,
            "scopes": ["read_repository"],
            "group_id": None,
            "project_id": project.repo_id,
        },
    ]


def _deploy_keys(b: _Builder, tenant: Tenant, repos: list[Repo]) -> list[dict[str, Any]]:
    """The argocd key (read-only, on the projects the deploy-key automation pulls) and a release key that can push."""
    infra = [r for r in tenant.repos_on("gitlab") if r.subgroup == "infra"] or list(tenant.repos_on("gitlab"))
    argocd = [r.repo_id for r in infra[:4]]

    def key(kid: int, title: str, projects: list[tuple[int, bool]]) -> dict[str, Any]:
        digest = hashlib.sha256(f"{tenant.seed}:{title}".encode()).digest()
        import base64

        return {
            "id": kid,
            "title": title,
            "created_at": b.at(400 - kid),
            "expires_at": None,
            "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + base64.b64encode(digest).decode().rstrip("="),
            "fingerprint_sha256": "SHA256:" + base64.b64encode(hashlib.sha256(digest).digest()).decode().rstrip("="),
            "projects": [{"project_id": pid, "can_push": push} for pid, push in projects],
        }

    return [
        key(11, "argocd-deploy", [(pid, False) for pid in argocd]),
        key(12, "release-pipeline", [(infra[0].repo_id, True)]),
    ]


def _applications(seed: int) -> list[dict[str, Any]]:
    apps = (
        ("Grafana", "https://grafana.acme.example/login/gitlab", True),
        ("ArgoCD", "https://argocd.acme.example/api/dex/callback", True),
        ("Backstage", "https://backstage.acme.example/api/auth/gitlab/handler/frame", False),
    )
    return [
        {
            "id": i + 1,
            "application_id": _hex(seed, "app", name, n=64),
            "application_name": name,
            "callback_url": url,
            "confidential": conf,
        }
        for i, (name, url, conf) in enumerate(apps)
    ]


def scale_tenant(projects: int, seed: int = 7) -> tuple[Tenant, datetime, datetime]:
    """A tenant with about `projects` GitLab projects (for the collection benchmark); no logs needed."""
    from auditor_sandbox.generate import END
    from auditor_sandbox.tenant import build_tenant

    start = END - timedelta(days=90)
    repos = round(projects / 0.35)
    while True:  # about 35% of repos land on GitLab; grow until there are enough
        tenant = build_tenant(seed, max(300, projects // 2), repos, start, hire_day=60, leave_day=95)
        have = len(tenant.repos_on("gitlab"))
        if have >= projects:
            return tenant, start, END
        repos += round((projects - have) / 0.3) + 1


def iter_restricted(inventory: Mapping[str, Any]) -> Iterable[str]:
    """Paths of the private and internal projects (the default restriction rule)."""
    return (p["path_with_namespace"] for p in inventory["projects"] if p["visibility"] != "public")
