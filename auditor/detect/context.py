"""Context an AN0732 episode is judged in: the account's class and identity, whether its access to
the repositories came only through broad grants, and which signals the workspace cannot provide."""

from __future__ import annotations

from typing import Any

from auditor.workspace.store import Workspace

BROAD_PATHS = ("org_base", "org_owner")
BROAD_GROUP_MEMBERS = 50  # a team or group this large grants access to nearly everyone


def account_context(ws: Workspace) -> dict[tuple[str, str], dict[str, Any]]:
    rows = ws.con.execute(
        "SELECT a.platform, a.login, a.account_class, a.class_evidence, l.upn FROM accounts a "
        "LEFT JOIN account_links l ON l.platform = a.platform AND l.login = a.login"
    ).fetchall()
    return {(r[0], r[1]): {"account_class": r[2], "class_rule": r[3], "upn": r[4]} for r in rows}


def _is_broad(path: str, sizes: dict[str, int]) -> bool:
    if path in BROAD_PATHS:
        return True
    kind, _, scope = path.partition(":")
    return kind in ("team", "group", "shared_group") and sizes.get(scope, 0) >= BROAD_GROUP_MEMBERS


def attach_broad_grants(ws: Workspace, episodes: list[dict[str, Any]]) -> bool:
    """Set `broad_grant_repos` [(repo, path)] on each episode from the latest collected grants, where
    every path to the repository is broad (org base permission, owner, a very large team or group).
    Returns False when no grants were collected (the context is then unavailable, not 'narrow')."""
    for e in episodes:
        e["broad_grant_repos"] = []
    if not episodes:
        return True
    have = ws.con.execute("SELECT count(*) FROM grants").fetchone()
    if not have or not have[0]:
        return False
    rows = ws.con.execute(
        """WITH latest AS (
               SELECT g.platform, max(s.created_at) AS at FROM grants g
               JOIN snapshots s ON s.snapshot_id = g.snapshot_id GROUP BY g.platform
           )
           SELECT g.platform, g.account, g.repo, g.via FROM grants g
           JOIN snapshots s ON s.snapshot_id = g.snapshot_id
           JOIN latest l ON l.platform = g.platform AND l.at = s.created_at
           JOIN (SELECT DISTINCT platform, actor FROM episodes) e ON e.platform = g.platform AND e.actor = g.account"""
    ).fetchall()
    sizes = {
        scope: int(n)
        for scope, n in ws.con.execute(
            "SELECT scope, count(DISTINCT account) FROM memberships WHERE kind IN ('team', 'group') GROUP BY scope"
        ).fetchall()
    }
    grants = {(p, a, r): list(via) for p, a, r, via in rows}
    for e in episodes:
        for repo in e["repos"]:
            via = grants.get((e["platform"], e["actor"], repo))
            if via and all(_is_broad(v, sizes) for v in via):
                e["broad_grant_repos"].append((repo, via[0]))
    return True


def unavailable_signals(ws: Workspace) -> list[str]:
    """Signals detection could not use, said plainly instead of silently scoring without them."""
    notes = []
    present = {r[0] for r in ws.con.execute("SELECT DISTINCT platform FROM events").fetchall()}
    if "entra" not in present:
        notes.append("no Entra sign-ins imported: no identity or login context (new country, impossible travel)")
    ident = ws.con.execute("SELECT count(*) FROM identities").fetchone()
    if not ident or not ident[0]:
        notes.append("no Entra users imported: account classes and peer groups come from behaviour only")
    git = ws.con.execute("SELECT count(*) FROM events WHERE action IN ('git.clone', 'git.fetch')").fetchone()
    if "github" in present and (not git or not git[0]):
        notes.append("no GitHub git events: clones and fetches are invisible (streaming needed beyond 7 days)")
    api = ws.con.execute("SELECT count(*) FROM events WHERE action = 'api.request'").fetchone()
    if not api or not api[0]:
        notes.append("no API request events: API content reads and API-rate signals unavailable")
    grants = ws.con.execute("SELECT count(*) FROM grants").fetchone()
    if not grants or not grants[0]:
        notes.append("no collected grants: the broad-grant context is unavailable")
    return notes
