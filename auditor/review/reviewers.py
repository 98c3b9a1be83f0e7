"""Who reviews a grant: a config rule, else the maintainer of the team (or owner of the group) it comes
through, else the repository's own admin, else an owner of its org (or top-level group), else the
default reviewer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.patterns import any_match

if TYPE_CHECKING:
    import duckdb

    from auditor.config.models import ReviewSettings

# Team maintainers (GitHub) and owners of a group (GitLab) from the current memberships.
_TEAM_LEADS = """
SELECT platform, scope, list_sort(list_distinct(list(account))) FROM chk_memberships
WHERE (kind = 'team' AND role = 'maintainer') OR (kind = 'group' AND role = 'owner')
GROUP BY platform, scope
"""
# Owners of a GitHub org or a GitLab top-level group (accountable for the base permission and ownership).
_ORG_OWNERS = """
SELECT platform, scope, list_sort(list_distinct(list(account))) FROM chk_memberships
WHERE (kind = 'org' AND role = 'owner') OR (kind = 'group' AND role = 'owner' AND scope NOT LIKE '%/%')
GROUP BY platform, scope
"""
# Repository owners: GitHub admins and GitLab owners/maintainers by a repo-level path (not org ownership).
_REPO_OWNERS = """
SELECT platform, repo, list_sort(list_distinct(list(account))) FROM chk_grants
WHERE (platform = 'github' AND role = 'admin' AND list_contains(via, 'direct'))
   OR (platform = 'gitlab' AND role IN ('owner', 'maintainer') AND (list_contains(via, 'project')
       OR list_contains(via, 'direct')))
GROUP BY platform, repo
"""


def _pick(candidates: Sequence[str], account: str) -> str | None:
    """Prefer someone other than the account itself; self-review stays possible (with justification)."""
    others = [c for c in candidates if c != account]
    pool = others or list(candidates)
    return pool[0] if pool else None


class ReviewerIndex:
    """Looks up reviewers for grants from one query per source (not per grant)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: ReviewSettings) -> None:
        self.settings = settings
        self.leads = {(p, s): list(a) for p, s, a in con.execute(_TEAM_LEADS).fetchall()}
        self.owners = {(p, r): list(a) for p, r, a in con.execute(_REPO_OWNERS).fetchall()}
        self.org_owners = {(p, o): list(a) for p, o, a in con.execute(_ORG_OWNERS).fetchall()}

    def assign(self, platform: str, repo: str, account: str, via: Sequence[str]) -> tuple[str, str]:
        """(reviewer, the rule that chose them)."""
        for i, rule in enumerate(self.settings.reviewers):
            if platform in rule.platforms and any_match(repo, rule.repos):
                return rule.reviewer, f"review.reviewers[{i}]"
        for path in via:
            kind, _, scope = path.partition(":")
            if kind in ("team", "group", "shared_group") and scope:
                who = _pick(self.leads.get((platform, scope), []), account)
                if who:
                    label = "team maintainer of" if kind == "team" else "owner of group"
                    return who, f"{label} {scope}"
        who = _pick(self.owners.get((platform, repo), []), account)
        if who:
            return who, "repository admin"
        org = repo.split("/", 1)[0]
        who = _pick(self.org_owners.get((platform, org), []), account)
        if who:
            return who, f"owner of {org}"
        return self.settings.default_reviewer, "review.default_reviewer"
