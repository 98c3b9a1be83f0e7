"""Who reviews an entitlement: a config rule, else its resource owner (`by: owner`) or the holder's manager
(`by: manager`), and never someone unsafe (the holder, a service, bot or external account, or an account
with an open high or critical finding). Unsafe or missing candidates route the row to the manager, else to
`review.default_reviewer`, and the row says why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.findings import OPEN_SQL
from auditor.patterns import any_match

if TYPE_CHECKING:
    import duckdb

    from auditor.config.models import ReviewSettings

# Holders (by login and by UPN) of open high or critical findings, with the finding: such an account never
# reviews, and the entitlements it holds are recommended for revocation. Open as everywhere (OPEN_SQL).
OPEN_SEVERE = f"""
SELECT who, severity, id FROM (
    SELECT actor AS who, severity, id FROM findings WHERE {OPEN_SQL} AND severity IN ('high', 'critical')
    UNION ALL
    SELECT identity, severity, id FROM findings WHERE {OPEN_SQL} AND severity IN ('high', 'critical')
) WHERE who IS NOT NULL
"""
_LEADS = """
SELECT platform, scope, list_sort(list_distinct(list(account))) FROM chk_memberships
WHERE kind = 'team' AND role = 'maintainer' GROUP BY ALL
"""
_ORG_OWNERS = """
SELECT 'github', s.source, list_sort(list_distinct(list(m.account))) FROM chk_memberships m
JOIN chk_snapshots s ON s.snapshot_id = m.snapshot_id
WHERE m.platform = 'github' AND m.kind = 'org' AND m.role = 'owner' GROUP BY ALL
"""
_GROUP_OWNERS = """
SELECT 'gitlab', scope, list_sort(list_distinct(list(account))) FROM chk_memberships
WHERE platform = 'gitlab' AND kind = 'group' AND role = 'owner' GROUP BY ALL
"""
# Repository owners: GitHub admins by a repo-level path, GitLab project owners/maintainers by project membership.
_REPO_OWNERS = """
SELECT platform, repo, list_sort(list_distinct(list(account))) FROM ent_paths
WHERE (platform = 'github' AND role = 'admin' AND path = 'direct')
   OR (platform = 'gitlab' AND role IN ('owner', 'maintainer') AND path = 'project')
GROUP BY ALL
"""
# Manager (UPN) of every account linked to an identity, and of every identity by UPN.
_MANAGERS = """
SELECT l.platform || ':' || l.login, coalesce(m.upn, m.identity_id) FROM account_links l
JOIN identities i ON i.identity_id = l.identity_id JOIN identities m ON m.identity_id = i.manager_id
UNION ALL
SELECT 'entra:' || coalesce(i.upn, i.identity_id), coalesce(m.upn, m.identity_id) FROM identities i
JOIN identities m ON m.identity_id = i.manager_id
"""
# Who must never review: services, bots and external accounts (and guests), and holders of open high or
# critical findings; keyed by login and by UPN so a manager named by UPN is checked the same way.
_ARTICLE = (
    "CASE WHEN a.account_class = 'external' THEN 'an external account' "
    "ELSE 'a ' || coalesce(a.account_class, 'bot') || ' account' END"
)
_UNSAFE = f"""
SELECT a.login, {_ARTICLE} FROM accounts a
WHERE a.account_class IN ('service', 'external') OR coalesce(a.is_bot, false)
UNION ALL
SELECT l.upn, {_ARTICLE} FROM accounts a
JOIN account_links l ON l.platform = a.platform AND l.login = a.login
WHERE l.upn IS NOT NULL AND (a.account_class IN ('service', 'external') OR coalesce(a.is_bot, false))
UNION ALL
SELECT upn, 'a guest account' FROM identities WHERE lower(coalesce(user_type, '')) = 'guest' AND upn IS NOT NULL
UNION ALL
SELECT who, 'open ' || severity || ' finding ' || id FROM ({OPEN_SEVERE})
"""
_IDENTITY = """
SELECT login, coalesce(upn, identity_id) FROM account_links WHERE identity_id IS NOT NULL
"""
ORG_KINDS = ("org_role", "base_permission", "custom_org_role", "app_installation", "oauth_app")
REPO_KINDS = ("team_repo", "direct_collaborator", "deploy_key", "deploy_token")
PERSON_KINDS = (
    "org_role", "team_membership", "direct_collaborator", "outside_collaborator", "custom_org_role",
    "group_membership", "project_membership", "credential", "idp_group_membership", "directory_role",
)  # fmt: skip


@dataclass(frozen=True)
class Subject:
    """What the reviewer index needs to know about a row."""

    entitlement_id: str
    platform: str
    kind: str
    scope: str
    account: str | None
    team: str | None
    identity: str | None


def _index(con: duckdb.DuckDBPyConnection, sql: str) -> dict[tuple[str, str], list[str]]:
    return {(p, s): list(a) for p, s, a in con.execute(sql).fetchall()}


class ReviewerIndex:
    """Looks up reviewers from one query per source (not per row)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: ReviewSettings, by: str) -> None:
        self.settings = settings
        self.by = by
        self.leads = _index(con, _LEADS)
        self.org_owners = _index(con, _ORG_OWNERS)
        self.group_owners = _index(con, _GROUP_OWNERS)
        self.repo_owners = _index(con, _REPO_OWNERS)
        self.managers = dict(con.execute(_MANAGERS).fetchall())
        self.unsafe: dict[str, str] = {}
        for who, why in con.execute(_UNSAFE).fetchall():
            self.unsafe.setdefault(who, why)
        self.load: dict[str, int] = {}
        self.identity: dict[str, set[str]] = {}
        for login, ident in con.execute(_IDENTITY).fetchall():
            self.identity.setdefault(login, set()).add(ident)

    def manager_of(self, s: Subject) -> str | None:
        if s.account is None:
            return None
        return self.managers.get(f"{s.platform}:{s.account}") or (
            self.managers.get(f"entra:{s.identity}") if s.identity else None
        )

    def why_unsafe(self, candidate: str, s: Subject) -> str | None:
        """Why `candidate` may not review `s` (None: they may)."""
        if s.account is not None and candidate in (s.account, s.identity):
            return "the account under review"
        if s.identity and s.identity in self.identity.get(candidate, set()):
            return "the account under review"
        reason = self.unsafe.get(candidate)
        if reason is None:
            for ident in self.identity.get(candidate, set()):
                reason = reason or self.unsafe.get(ident)
        return reason

    def _groups_up(self, path: str) -> list[tuple[str, list[str]]]:
        parts = path.split("/")
        out = []
        for i in range(len(parts), 0, -1):
            group = "/".join(parts[:i])
            owners = self.group_owners.get(("gitlab", group))
            if owners:
                out.append((f"owner of group {group}", owners))
        return out

    def _org(self, s: Subject) -> list[tuple[str, list[str]]]:
        if s.platform == "gitlab":
            return self._groups_up(s.scope.split("/", 1)[0])
        org = s.scope.split("/", 1)[0]
        return [(f"owner of {org}", self.org_owners.get(("github", org), []))]

    def owner_candidates(self, s: Subject) -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
        """(owners of the resource itself, the owners above them: org owners or parent-group owners); each a
        list of candidate groups in order of preference: (rule text, logins)."""
        security = [("review.security_owner", [self.settings.security_owner])] if self.settings.security_owner else []
        if s.kind in ("team_membership", "team_repos") and s.team:
            return [(f"team maintainer of {s.team}", self.leads.get((s.platform, s.team), []))], self._org(s)
        if s.kind in REPO_KINDS or s.kind == "project_membership":
            own = [(f"repository admin of {s.scope}", self.repo_owners.get((s.platform, s.scope), []))]
            if s.kind == "team_repo" and s.team:
                own.append((f"team maintainer of {s.team}", self.leads.get((s.platform, s.team), [])))
            if s.platform == "gitlab":
                return own + self._groups_up(s.scope.rsplit("/", 1)[0]), []
            return own, self._org(s)
        if s.kind in ("group_membership", "group_share"):
            own = [(f"repository admin of {s.scope}", self.repo_owners.get((s.platform, s.scope), []))]
            return own + self._groups_up(s.scope), []
        if s.kind in ORG_KINDS or s.kind == "outside_collaborator":
            return security, self._org(s)
        if s.kind == "credential" and s.platform == "github":
            return [], self._org(s)
        return security, []

    def _spread(self, candidates: list[str]) -> str:
        """One of several equal candidates: the one with the fewest rows so far (balances the load; rows
        come in a fixed order, so the result is reproducible)."""
        pick = min(sorted(candidates), key=lambda c: self.load.get(c, 0))
        self.load[pick] = self.load.get(pick, 0) + 1
        return pick

    def choose(self, s: Subject) -> tuple[list[str], str]:
        """(the safe candidates of the first group that has any, why them). Order: a config rule; the manager
        first for Entra groups and roles and GitLab personal tokens (and everything a person holds with
        `by: manager`); the resource's own owners; the owners above them (org or parent-group owners); the
        holder's manager; else the default reviewer."""
        skipped: list[str] = []
        groups: list[tuple[str, list[str]]] = []
        for i, rule in enumerate(self.settings.reviewers):
            if s.platform in rule.platforms and any_match(s.scope, rule.repos):
                groups.append((f"review.reviewers[{i}]", [rule.reviewer]))
                break
        manager = self.manager_of(s)
        by_manager = [(f"manager of {s.account}", [manager])] if manager else []
        # Entra groups and roles and GitLab personal tokens have no resource owner who can act on them.
        person_first = s.kind in ("idp_group_membership", "directory_role") or (
            s.kind == "credential" and s.platform == "gitlab"
        )
        person_first = person_first or (self.by == "manager" and s.kind in PERSON_KINDS and s.account is not None)
        own, above = self.owner_candidates(s)
        groups += (by_manager + own + above) if person_first else (own + above + by_manager)
        for label, candidates in groups:
            safe = []
            for c in candidates:
                why = self.why_unsafe(c, s)
                if why:
                    skipped.append(f"{c} ({label}) is {why}")
                else:
                    safe.append(c)
            if safe:
                return safe, _with_skipped(label, skipped)
        return [self.settings.default_reviewer], _with_skipped("review.default_reviewer", skipped)

    def assign_all(self, subjects: list[Subject]) -> list[tuple[str, str]]:
        """(reviewer, why) per subject. Rows with one possible reviewer are placed first, then rows with a
        choice go to the least loaded candidate, so shared fallbacks (org owners) even out the load. A
        reviewer left with more than `review.max_rows` rows (the maintainer of an all-staff team) hands the
        person-held rows over to each holder's manager, where one is known and safe."""
        chosen = [self.choose(s) for s in subjects]
        out: list[tuple[str, str]] = [("", "")] * len(subjects)
        for i in sorted(range(len(subjects)), key=lambda i: (len(chosen[i][0]), i)):
            safe, why = chosen[i]
            out[i] = (self._spread(safe), why)
        limit = self.settings.max_rows
        for i, s in enumerate(subjects):
            reviewer, why = out[i]
            if self.load.get(reviewer, 0) <= limit or s.account is None or why.startswith("manager of"):
                continue
            manager = self.manager_of(s)
            if manager is None or manager == reviewer or self.why_unsafe(manager, s) is not None:
                continue
            self.load[reviewer] -= 1
            self.load[manager] = self.load.get(manager, 0) + 1
            out[i] = (manager, f"manager of {s.account} ({reviewer} has over review.max_rows={limit} rows)")
        return out


def _with_skipped(label: str, skipped: list[str]) -> str:
    if not skipped:
        return label
    shown = "; ".join(skipped[:3]) + (f"; and {len(skipped) - 3} more" if len(skipped) > 3 else "")
    return f"{label} (skipped: {shown})"
