"""Context an AN0732 episode is judged in: the account's class and identity, whether its access to
the repositories came only through broad grants, and which signals the workspace cannot provide."""

from __future__ import annotations

from typing import Any

from auditor.detect.engine import Engine
from auditor.detect.episode import Episode

BROAD_PATHS = ("org_base", "org_owner")
BROAD_GROUP_MEMBERS = 50  # a team or group this large grants access to nearly everyone


def account_context(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    rows = engine.query(
        "SELECT a.platform, a.login, a.account_class, a.class_evidence, l.upn FROM accounts a "
        "LEFT JOIN account_links l ON l.platform = a.platform AND l.login = a.login"
    )
    return {
        (r["platform"], r["login"]): {
            "account_class": r["account_class"],
            "class_rule": r["class_evidence"],
            "upn": r["upn"],
        }
        for r in rows
    }


UNLINKED_REASON = "no IdP identity linked: sign-in precursors not evaluated"
NO_IDP_CLASSES = ("service",)  # workloads: no IdP sign-in is expected, so no gap to name


def identity_gap(engine: Engine, episodes: list[Episode], ctx: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Set `identity_unknown` on episodes of human accounts with no linked IdP identity (neither a link
    nor an identity on their events) while the workspace holds IdP sign-ins for others: their sign-in
    precursors could not be evaluated, which is unknown, not clean."""
    signins = _count(engine, "SELECT 1 FROM events WHERE platform = 'entra' AND category = 'signin' LIMIT 1")
    for e in episodes:
        c = ctx.get((e.platform, e.actor), {})
        e.identity_unknown = bool(
            signins and not (c.get("upn") or e.event_identity) and c.get("account_class") not in NO_IDP_CLASSES
        )


def _count(engine: Engine, sql: str) -> int:
    return int(engine.query(f"SELECT count(*) AS n FROM ({sql}) q")[0]["n"])


def _is_broad(path: str, sizes: dict[str, int]) -> bool:
    if path in BROAD_PATHS:
        return True
    kind, _, scope = path.partition(":")
    return kind in ("team", "group", "shared_group") and sizes.get(scope, 0) >= BROAD_GROUP_MEMBERS


def attach_broad_grants(engine: Engine, episodes: list[Episode]) -> bool:
    """Set `broad_grant_repos` [(repo, path)] on each episode from the latest collected grants, where
    every path to the repository is broad (org base permission, owner, a very large team or group).
    Returns False when no grants were collected (the context is then unavailable, not 'narrow')."""
    for e in episodes:
        e.broad_grant_repos = []
    if not episodes:
        return True
    if not _count(engine, "SELECT 1 FROM grants"):
        return False
    rows = engine.query(
        """WITH latest AS (
               SELECT g.platform, max(s.created_at) AS at FROM grants g
               JOIN snapshots s ON s.snapshot_id = g.snapshot_id GROUP BY g.platform
           )
           SELECT g.platform, g.account, g.repo, g.via FROM grants g
           JOIN snapshots s ON s.snapshot_id = g.snapshot_id
           JOIN latest l ON l.platform = g.platform AND l.at = s.created_at
           JOIN (SELECT DISTINCT platform, actor FROM episodes) e ON e.platform = g.platform AND e.actor = g.account"""
    )
    sizes = {
        r["scope"]: int(r["n"])
        for r in engine.query(
            "SELECT scope, count(DISTINCT account) AS n FROM memberships WHERE kind IN ('team', 'group') GROUP BY scope"
        )
    }
    grants = {(r["platform"], r["account"], r["repo"]): list(r["via"]) for r in rows}
    for e in episodes:
        for repo in e.repos:
            via = grants.get((e.platform, e.actor, repo))
            if via and all(_is_broad(v, sizes) for v in via):
                e.broad_grant_repos.append((repo, via[0]))
    return True


def unavailable_signals(engine: Engine) -> list[str]:
    """Signals detection could not use, said plainly instead of silently scoring without them."""
    notes = []
    present = {r["platform"] for r in engine.query("SELECT DISTINCT platform FROM events")}
    if "entra" not in present:
        notes.append("no Entra sign-ins imported: no identity or login context (new country, impossible travel)")
    if not _count(engine, "SELECT 1 FROM identities"):
        notes.append("no Entra users imported: account classes and peer groups come from behaviour only")
    git = _count(engine, "SELECT 1 FROM events WHERE action IN ('git.clone', 'git.fetch') LIMIT 1")
    if "github" in present and not git:
        notes.append("no GitHub git events: clones and fetches are invisible (streaming needed beyond 7 days)")
    if not _count(engine, "SELECT 1 FROM events WHERE action = 'api.request' LIMIT 1"):
        notes.append("no API request events: API content reads and API-rate signals unavailable")
    if not _count(engine, "SELECT 1 FROM grants LIMIT 1"):
        notes.append("no collected grants: the broad-grant context is unavailable")
    return notes
