"""The acme GitHub org as an inventory: members, teams (nested), repos, collaborators, credentials,
apps and settings, plus the ground-truth effective grants with every path that grants them.

Derived only from the `Tenant` (and, when given, the (login, repo, need) pairs the generated audit
log shows, so that everyone who clones or pushes in the logs can do so). The sandbox GitHub API
server serves this document; tests compare what the connector collects with `grants`.

Planted governance conditions (other checks must fail on them): org base permission `read`,
privileged people as org owners, a broad `all-staff` team with non-developers on restricted repos,
contractors as outside collaborators with direct push, a repo with six direct admins, an org owner's
classic PAT with `admin:org` and no expiry, tokens unused for more than 90 days, an app with
`contents: write` on all repos, a deploy key with write access, 2FA not required, no audit-log stream.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from auditor_sandbox.model import BUSINESS, GITHUB_ORG, Person, Repo, Tenant

INVENTORY_FILE = "inventory/github.json"
ROLES = ("read", "triage", "write", "maintain", "admin")
# REST team/collaborator permission names -> role names (GitHub's role_name).
PERMISSION_ROLE = {"pull": "read", "triage": "triage", "push": "write", "maintain": "maintain", "admin": "admin"}
ROLE_PERMISSION = {v: k for k, v in PERMISSION_ROLE.items()}
PARENT_TEAM = "engineering"
BROAD_TEAM = "all-staff"
AUTOMATION_TEAM = "automation"
DOC_TEAM_DEPARTMENTS = {"hr": "HR", "sales": "Sales", "finance": "Finance"}
SCENARIO_TOKEN_BASE = 70_000_000


def role_rank(role: str) -> int:
    """Position in GitHub's role order; an unknown (custom) role ranks between read and write."""
    return ROLES.index(role) if role in ROLES else 1


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _last_eight(token_id: int) -> str:
    return hashlib.sha256(f"last-eight:{token_id}".encode()).hexdigest()[:8]


def _fingerprint(token_id: int) -> str:
    digest = hashlib.sha256(f"ssh:{token_id}".encode()).hexdigest()
    return "SHA256:" + digest[:43]


def _has_github(p: Person) -> bool:
    return p.github is not None


def build_github_inventory(
    tenant: Tenant,
    *,
    now: datetime,
    base_permission: str = "read",
    accessed: Iterable[tuple[str, str, str]] = (),
    max_repos: int | None = None,
    max_members: int | None = None,
    parent_pulls: bool = True,
) -> dict[str, Any]:
    """The org inventory and its ground-truth grants (see module docstring); deterministic."""
    repos = list(tenant.repos_on("github"))[:max_repos]
    people = [p for p in tenant.people if p.github is not None and p.active_until is None]
    staff = [p for p in people if p.account_class != "contractor"]
    if max_members is not None:
        staff = staff[:max_members]
    contractors = [p for p in people if p.account_class == "contractor"]
    members = _members(tenant, staff)
    outside = [{"login": p.github.login, "id": p.github.account_id} for p in contractors if p.github]
    teams = _teams(tenant, staff, repos, parent_pulls)
    collaborators = _collaborators(tenant, repos, contractors, staff, teams, base_permission, accessed)
    repo_docs = [_repo_doc(r, collaborators.get(r.full_name, [])) for r in repos]
    _deploy_keys(repo_docs, repos)
    inventory: dict[str, Any] = {
        "generated_at": _iso(now),
        "org": {
            "login": GITHUB_ORG,
            "id": tenant.org_id,
            "name": "Acme Corp",
            "plan": {"name": "enterprise"},
            "default_repository_permission": base_permission,
            "members_can_create_repositories": True,
            "two_factor_requirement_enabled": False,
            "created_at": "2016-03-14T09:12:00Z",
        },
        "enterprise": {"slug": BUSINESS, "id": tenant.business_id, "audit_log_streams": []},
        "members": members,
        "outside_collaborators": outside,
        "teams": teams,
        "repos": repo_docs,
        "installations": _installations(tenant, repos, now),
        "credential_authorizations": _credential_authorizations(tenant, staff, now),
        "fine_grained_pats": _fine_grained(tenant, people, now),
        "pat_requests": _pat_requests(tenant, people, now),
        "organization_roles": _org_roles(staff),
        "external_identities": [
            {"guid": f"{p.object_id}", "login": p.github.login, "name_id": p.upn} for p in staff if p.github is not None
        ],
    }
    inventory["grants"] = effective_grants(inventory)
    return inventory


def _members(tenant: Tenant, staff: list[Person]) -> list[dict[str, Any]]:
    out = [
        {
            "login": p.github.login,
            "id": p.github.account_id,
            "role": "admin" if p.account_class == "privileged" else "member",
        }
        for p in staff
        if p.github is not None
    ]
    for key in ("backup", "gh_mirror", "build", "dr_mirror"):
        bot = tenant.bots[key]
        out.append({"login": bot.login, "id": bot.account_id, "role": "member"})
    return out


def _teams(tenant: Tenant, staff: list[Person], repos: list[Repo], parent_pulls: bool) -> list[dict[str, Any]]:
    """Parent `engineering` with one child per developer team, document teams, all-staff, automation."""
    restricted = [r for r in repos if r.restricted]
    by_team: dict[str, list[Person]] = {}
    for p in staff:
        if p.team and p.account_class in ("developer", "privileged"):
            by_team.setdefault(p.team, []).append(p)
    teams: list[dict[str, Any]] = []

    def team(
        slug: str, parent: str | None, people: list[Person], maintainers: int, grants: list[tuple[Repo, str]]
    ) -> None:
        logins = [p.github.login for p in people if p.github is not None]
        teams.append(
            {
                "slug": slug,
                "name": slug.replace("-", " ").title(),
                "id": 4_100_000 + len(teams) * 17,
                "parent": parent,
                "privacy": "closed",
                "members": [{"login": login, "role": "maintainer" if i < maintainers else "member"}
                            for i, login in enumerate(logins)],
                "repos": [{"repo": r.full_name, "permission": perm} for r, perm in grants],
            }
        )  # fmt: skip

    team(PARENT_TEAM, None, [], 0, [(r, "pull") for r in restricted] if parent_pulls else [])
    dev_slugs = sorted({r.team for r in repos if r.team not in DOC_TEAM_DEPARTMENTS} | set(by_team))
    for slug in dev_slugs:
        own = [(r, "push") for r in repos if r.team == slug]
        team(slug, PARENT_TEAM, by_team.get(slug, []), 2, own)
    for slug, dept in DOC_TEAM_DEPARTMENTS.items():
        people = [p for p in staff if p.department == dept]
        team(slug, None, people, 1, [(r, "push") for r in repos if r.team == slug])
    broad = [r for r in repos if r.team in DOC_TEAM_DEPARTMENTS and r.restricted]
    broad += [r for r in restricted if r.team not in DOC_TEAM_DEPARTMENTS][:4]
    team(BROAD_TEAM, None, staff, 1, [(r, "pull") for r in broad])
    bots = [tenant.bots["backup"], tenant.bots["gh_mirror"]]
    teams.append(
        {
            "slug": AUTOMATION_TEAM,
            "name": "Automation",
            "id": 4_100_000 + len(teams) * 17,
            "parent": None,
            "privacy": "secret",
            "members": [{"login": b.login, "role": "member"} for b in bots],
            "repos": [{"repo": r.full_name, "permission": "pull"} for r in restricted],
        }
    )
    return teams


def _collaborators(
    tenant: Tenant,
    repos: list[Repo],
    contractors: list[Person],
    staff: list[Person],
    teams: list[dict[str, Any]],
    base_permission: str,
    accessed: Iterable[tuple[str, str, str]],
) -> dict[str, list[dict[str, Any]]]:
    """Direct collaborators: contractors on their team's repos, six admins on one tier-1 repo, and
    whatever the audit log shows someone using that no other path grants."""
    out: dict[str, dict[str, str]] = {}

    def add(repo: str, login: str, perm: str) -> None:
        have = out.setdefault(repo, {}).get(login)
        if have is None or role_rank(PERMISSION_ROLE[perm]) > role_rank(PERMISSION_ROLE[have]):
            out[repo][login] = perm

    for p in contractors:
        assert p.github is not None
        for r in repos:
            if r.team == p.team:
                add(r.full_name, p.github.login, "push")
    tier1 = [r for r in repos if r.tier == 1 and r.restricted]
    if tier1:
        target = tier1[0]
        admins = [p for p in staff if p.team == target.team and p.account_class == "developer"][:6]
        admins += [p for p in staff if p.account_class == "developer" and p not in admins][: 6 - len(admins)]
        for p in admins:
            assert p.github is not None
            add(target.full_name, p.github.login, "admin")
    # What the logs need: compute the access every other path gives, then fill the rest directly.
    provisional: dict[str, Any] = {
        "org": {"default_repository_permission": base_permission},
        "members": _members(tenant, staff),
        "outside_collaborators": [],
        "teams": teams,
        "repos": [_repo_doc(r, [{"login": k, "permission": v} for k, v in out.get(r.full_name, {}).items()])
                  for r in repos],
    }  # fmt: skip
    have = {(g["account"], g["repo"]): g["role"] for g in effective_grants(provisional)}
    visibility = {r.full_name: r.visibility for r in repos}
    outside_logins = {p.github.login for p in contractors if p.github is not None}
    known = {m["login"] for m in provisional["members"]} | outside_logins
    for login, repo, need in sorted(set(accessed)):
        if login not in known or repo not in visibility:
            continue
        if need == "read" and visibility[repo] == "public":
            continue
        current = have.get((login, repo))
        if current is None or role_rank(current) < role_rank(need):
            add(repo, login, ROLE_PERMISSION[need])
    return {
        repo: [{"login": login, "permission": perm} for login, perm in sorted(logins.items())]
        for repo, logins in out.items()
    }


def _repo_doc(r: Repo, collaborators: list[dict[str, Any]]) -> dict[str, Any]:
    classification = "restricted" if r.tier == 1 else "internal" if r.restricted else "public"
    topics = [r.team] + (["tier-1"] if r.tier == 1 else [])
    return {
        "name": r.name,
        "full_name": r.full_name,
        "id": r.repo_id,
        "visibility": r.visibility,
        "private": r.visibility != "public",
        "archived": r.index % 23 == 11,
        "topics": topics,
        "custom_properties": {"data_classification": classification, "owner_team": r.team},
        "team": r.team,
        "collaborators": collaborators,
        "deploy_keys": [],
    }


def _deploy_keys(docs: list[dict[str, Any]], repos: list[Repo]) -> None:
    """Read-only keys on a few infra repos, and one key with write access on a tier-1 repo."""
    infra = [d for d, r in zip(docs, repos, strict=True) if r.team in ("infra", "sre") and r.restricted][:3]
    tier1 = [d for d, r in zip(docs, repos, strict=True) if r.tier == 1 and r.restricted][1:2]
    key_id = 93_000_000
    for doc in infra:
        key_id += 11
        doc["deploy_keys"].append(_key(key_id, "argocd-read", True))
    for doc in tier1:
        key_id += 11
        doc["deploy_keys"].append(_key(key_id, "release-pipeline", False))


def _key(key_id: int, title: str, read_only: bool) -> dict[str, Any]:
    blob = hashlib.sha256(f"deploy:{key_id}".encode()).hexdigest()
    return {
        "id": key_id,
        "title": title,
        "key": f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{blob[:40]}",
        "read_only": read_only,
        "verified": True,
        "created_at": "2025-11-02T10:15:00Z",
        "last_used": "2026-09-29T02:00:00Z",
        "added_by": "acme-admin",
    }


def _installations(tenant: Tenant, repos: list[Repo], now: datetime) -> list[dict[str, Any]]:
    renovate = [r.full_name for r in repos if r.team in ("web", "mobile", "growth")][:25]
    slack = [r.full_name for r in repos if r.team == "payments"][:5]
    rows = [
        ("acme-ci", 310_001, "all", {"contents": "write", "metadata": "read", "checks": "write", "actions": "read"},
         []),
        ("renovate", 2740, "selected", {"contents": "write", "pull_requests": "write", "metadata": "read"}, renovate),
        ("slack", 7100, "selected", {"metadata": "read", "issues": "read", "pull_requests": "read"}, slack),
    ]  # fmt: skip
    out = []
    for i, (slug, app_id, selection, permissions, selected) in enumerate(rows):
        out.append(
            {
                "id": 52_000_001 + i * 101,
                "app_id": app_id,
                "app_slug": slug,
                "account": {"login": GITHUB_ORG, "id": tenant.org_id, "type": "Organization"},
                "target_type": "Organization",
                "repository_selection": selection,
                "permissions": permissions,
                "events": ["push", "pull_request"] if slug != "slack" else ["issues"],
                "created_at": _iso(now - timedelta(days=400 - 90 * i)),
                "updated_at": _iso(now - timedelta(days=30 + i)),
                "suspended_at": None,
                "repositories": selected,
            }
        )
    return out


def _credential_authorizations(tenant: Tenant, staff: list[Person], now: datetime) -> list[dict[str, Any]]:
    """Classic PATs and SSH keys authorised for SAML SSO; every fifth unused for 120 days."""
    out: list[dict[str, Any]] = []
    offset = (tenant.seed % 997) * 100
    scenario = {
        "admin_travel": (SCENARIO_TOKEN_BASE + 3 + offset, "repo,admin:org,read:org", None),
        "finance_pat": (SCENARIO_TOKEN_BASE + 1 + offset, "repo,read:org", now + timedelta(days=30)),
    }
    special = {tenant.cast[role]: value for role, value in scenario.items() if role in tenant.cast}
    n = 0
    for p in staff:
        acct = p.github
        if acct is None:
            continue
        seen: set[int] = set()
        for cred in (acct.git, acct.api):
            if cred.kind not in ("classic_pat", "ssh_key") or cred.token_id in seen:
                continue
            seen.add(cred.token_id)
            n += 1
            stale = n % 5 == 0
            expires = None if n % 4 == 0 else now + timedelta(days=60 + n % 200)
            out.append(_authorization(acct.login, cred.token_id, cred.kind, cred.scopes, now, stale, expires))
        if p.index in special:
            token_id, scopes, expires = special[p.index]
            out.append(_authorization(acct.login, token_id, "classic_pat", scopes, now, False, expires))
    return out


def _authorization(
    login: str, token_id: int, kind: str, scopes: str, now: datetime, stale: bool, expires: datetime | None
) -> dict[str, Any]:
    authorized = now - timedelta(days=200 + token_id % 150)
    accessed = now - timedelta(days=120 if stale else 1 + token_id % 20)
    doc: dict[str, Any] = {
        "login": login,
        "credential_id": token_id,
        "credential_type": "personal access token" if kind == "classic_pat" else "SSH key",
        "credential_authorized_at": _iso(authorized),
        "credential_accessed_at": _iso(accessed),
        "authorized_credential_id": token_id,
        "authorized_credential_expires_at": _iso(expires) if expires else None,
    }
    if kind == "classic_pat":
        doc["token_last_eight"] = _last_eight(token_id)
        doc["scopes"] = [s.strip() for s in scopes.split(",") if s.strip()]
        doc["authorized_credential_note"] = "cli"
    else:
        doc["fingerprint"] = _fingerprint(token_id)
        doc["authorized_credential_title"] = "laptop"
    return doc


def _fine_grained(tenant: Tenant, people: list[Person], now: datetime) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in people:
        acct = p.github
        if acct is None:
            continue
        for cred in {c.token_id: c for c in (acct.git, acct.api) if c.kind == "fine_grained_pat"}.values():
            out.append(_fgpat(acct.login, acct.account_id, cred.token_id, "all", {"contents": "read"}, now))
    if "contractor_zip" in tenant.cast:
        p = tenant.person("contractor_zip")
        if p.github is not None:
            token_id = SCENARIO_TOKEN_BASE + 2 + (tenant.seed % 997) * 100
            perms = {"contents": "read", "metadata": "read"}
            out.append(_fgpat(p.github.login, p.github.account_id, token_id, "all", perms, now))
    return out


def _fgpat(login: str, uid: int, token_id: int, selection: str, perms: dict[str, str], now: datetime) -> dict[str, Any]:
    return {
        "id": token_id,
        "owner": {"login": login, "id": uid, "type": "User"},
        "repository_selection": selection,
        "permissions": {"organization": {}, "repository": perms, "other": {}},
        "access_granted_at": _iso(now - timedelta(days=40 + token_id % 50)),
        "token_expired": False,
        "token_expires_at": _iso(now + timedelta(days=50 + token_id % 60)),
        "token_last_used_at": _iso(now - timedelta(days=token_id % 5)),
    }


def _pat_requests(tenant: Tenant, people: list[Person], now: datetime) -> list[dict[str, Any]]:
    devs = [p for p in people if p.account_class == "developer" and p.github is not None][:2]
    out = []
    for i, p in enumerate(devs):
        assert p.github is not None
        out.append(
            {
                "id": 6_100 + i,
                "reason": "release automation",
                "owner": {"login": p.github.login, "id": p.github.account_id, "type": "User"},
                "repository_selection": "subset",
                "permissions": {"organization": {}, "repository": {"contents": "write"}, "other": {}},
                "created_at": _iso(now - timedelta(days=2 + i)),
                "token_id": 81_000_000 + i,
                "token_expired": False,
                "token_expires_at": _iso(now + timedelta(days=90)),
                "token_last_used_at": None,
            }
        )
    return out


def _org_roles(staff: list[Person]) -> list[dict[str, Any]]:
    auditors = [p.github.login for p in staff if p.github is not None and p.account_class == "privileged"][:1]
    devs = [p.github.login for p in staff if p.github is not None and p.account_class == "developer"][:1]
    return [
        {
            "id": 8_030,
            "name": "security-auditor",
            "description": "Reads the audit log and security settings",
            "permissions": ["read_audit_logs", "read_organization_custom_repo_role", "view_secret_scanning_alerts"],
            "base_role": None,
            "source": "Organization",
            "users": auditors + devs,
            "teams": [],
        }
    ]


def team_closure(teams: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Each team's members as GitHub lists them: its own plus every descendant team's (as `member`)."""
    children: dict[str, list[str]] = {}
    for t in teams:
        if t.get("parent"):
            children.setdefault(t["parent"], []).append(t["slug"])
    own = {t["slug"]: t["members"] for t in teams}

    def walk(slug: str) -> list[dict[str, str]]:
        seen = {m["login"]: m["role"] for m in own[slug]}
        for child in children.get(slug, []):
            for m in walk(child):
                seen.setdefault(m["login"], "member")
        return [{"login": k, "role": v} for k, v in seen.items()]

    return {slug: walk(slug) for slug in own}


VIA_ORDER = ("org_owner", "org_base", "team", "direct", "outside_collaborator")


def grant_paths(inv: dict[str, Any], include_public: bool = False) -> dict[tuple[str, str], dict[str, str]]:
    """(account, non-public repo) -> {path: role that path gives}; paths as in `grants.via`.

    With `include_public`, public repos too (minus the org base, which public repos do not need)."""
    base = inv["org"]["default_repository_permission"]
    members = inv["members"]
    owners = [m["login"] for m in members if m["role"] == "admin"]
    outside = {m["login"] for m in inv["outside_collaborators"]}
    closure = team_closure(inv["teams"])
    acc: dict[tuple[str, str], dict[str, str]] = {}

    def add(login: str, repo: str, role: str, via: str) -> None:
        paths = acc.setdefault((login, repo), {})
        if via not in paths or role_rank(role) > role_rank(paths[via]):
            paths[via] = role

    restricted = {r["full_name"] for r in inv["repos"] if include_public or r["visibility"] != "public"}
    for r in inv["repos"]:
        name = r["full_name"]
        if name not in restricted:
            continue
        for login in owners:
            add(login, name, "admin", "org_owner")
        if base != "none" and r["visibility"] != "public":
            for m in members:
                add(m["login"], name, PERMISSION_ROLE.get(base, base), "org_base")
        for c in r["collaborators"]:
            via = "outside_collaborator" if c["login"] in outside else "direct"
            add(c["login"], name, PERMISSION_ROLE[c["permission"]], via)
    for t in inv["teams"]:
        for tr in t["repos"]:
            if tr["repo"] not in restricted:
                continue
            for m in closure[t["slug"]]:
                add(m["login"], tr["repo"], PERMISSION_ROLE[tr["permission"]], f"team:{t['slug']}")
    return acc


def effective_grants(inv: dict[str, Any]) -> list[dict[str, Any]]:
    """Ground truth: one row per (account, non-public repo) with the highest role and every path."""
    return [
        {"account": login, "repo": repo, "role": max(paths.values(), key=role_rank), "via": sort_via(paths)}
        for (login, repo), paths in sorted(grant_paths(inv).items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


def sort_via(via: Iterable[str]) -> list[str]:
    """Paths in a fixed order: owner, base, teams (by slug), direct, outside collaborator."""
    return sorted(set(via), key=lambda v: (VIA_ORDER.index(v.split(":")[0]), v))


_ACCESS = re.compile(
    r'"action":"(git\.clone|git\.fetch|git\.push|repo\.download_zip|api\.request)".*?"actor":"([^"]+)"'
)
_REPO = re.compile(r'"repo":"([^"]+)"')


def scan_access(log: Path) -> set[tuple[str, str, str]]:
    """(login, repo, read|write) for every git, archive or API use of a repo in an audit-log NDJSON."""
    out: set[tuple[str, str, str]] = set()
    with log.open(encoding="utf-8") as fh:
        for line in fh:
            m = _ACCESS.search(line)
            if m is None:
                continue
            repo = _REPO.search(line, m.end())
            if repo is None:
                continue
            out.add((m.group(2), repo.group(1), "write" if m.group(1) == "git.push" else "read"))
    return out


def write_inventory(path: Path, inventory: dict[str, Any]) -> int:
    """Write the inventory JSON; returns the number of ground-truth grants."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(inventory, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    return len(inventory["grants"])
