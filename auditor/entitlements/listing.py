"""Entitlements as rows people read: the contract fields of `auditor entitlements` and a one-line reach."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

FIELDS = (
    "id", "platform", "kind", "scope", "account", "team", "group", "role", "name", "object_id",
    "reach", "last_activity", "snapshot_id",
)  # fmt: skip
CSV_FIELDS = (
    "id", "platform", "kind", "scope", "account", "team", "group", "role", "name", "object_id",
    "repos", "by_tier", "max_role", "accounts", "last_activity", "snapshot_id",
)  # fmt: skip

_QUERY = """
SELECT e.entitlement_id, e.platform, e.kind, e.scope, e.account, e.team, e.role, e.name, e.object_id,
       r.repos, r.by_tier, r.max_role, r.accounts, r.last_activity, e.snapshot_id
FROM ent_current e JOIN ent_reach r ON r.entitlement_id = e.entitlement_id
WHERE ($platform IS NULL OR e.platform = $platform) AND ($kind IS NULL OR e.kind = $kind)
ORDER BY e.platform, e.kind, e.scope, coalesce(e.team, ''), coalesce(e.account, '')
"""

# How each kind reads in a sentence, e.g. "team:payments member".
_LABEL = {
    "org_role": "org {scope} {role}",
    "base_permission": "base permission of {scope} ({role})",
    "team_membership": "team:{team} {role}",
    "team_repo": "team:{team} on {scope}",
    "team_repos": "team:{team} grants ({role}) on repos of {scope}",
    "direct_collaborator": "direct collaborator on {scope}",
    "outside_collaborator": "outside collaborator in {scope}",
    "custom_org_role": "org role {role} in {scope}",
    "group_membership": "group:{scope} {role}",
    "project_membership": "project:{scope} {role}",
    "group_share": "group {team} shared into {scope}",
    "credential": "{object_id} ({name})",
    "deploy_key": "deploy key {name} on {scope}",
    "deploy_token": "deploy token {name} on {scope}",
    "app_installation": "app {name} on {scope} ({role} repos)",
    "oauth_app": "OAuth app {name}",
    "idp_group_membership": "Entra group {team}",
    "directory_role": "Entra role {role}",
}


def label(kind: str, scope: str, team: str | None, role: str | None, name: str | None, object_id: str | None) -> str:
    """The entitlement in a few words (what a reviewer recognises)."""
    template = _LABEL.get(kind, kind + " {scope}")
    return template.format(scope=scope, team=team or "", role=role or "", name=name or "", object_id=object_id or "")


def ago(value: datetime | None, now: datetime) -> str:
    """'3 days ago', 'today', 'never'."""
    if value is None:
        return "never"
    days = (now - value).days
    return "today" if days <= 0 else "1 day ago" if days == 1 else f"{days} days ago"


def reach_text(repos: int, by_tier: dict[str, int], max_role: str | None, accounts: int, last: str) -> str:
    """'write on 14 restricted repos (5 tier-1); 3 accounts; last use 3 days ago'."""
    if not repos:
        return f"no restricted repos; last use {last}"
    tiers = ", ".join(f"{n} {t.replace('tier', 'tier-')}" for t, n in sorted(by_tier.items()) if t != "untiered")
    text = f"{max_role or 'access'} on {repos} restricted repo{'s' if repos != 1 else ''}"
    text += f" ({tiers})" if tiers else ""
    if accounts > 1:
        text += f" for {accounts} accounts"
    return text + f"; last use {last}"


def list_entitlements(
    con: duckdb.DuckDBPyConnection, platform: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Rows of the contract (`id`, `platform`, `kind`, `scope`, `account`, `team`/`group`, `role`, `reach`
    {`repos`, `by_tier`, `max_role`, `accounts`}, `last_activity`); needs `build_entitlements` first."""
    out = []
    for r in con.execute(_QUERY, {"platform": platform, "kind": kind}).fetchall():
        holder = r[5]
        group = holder if r[1] in ("gitlab", "entra") else None
        out.append(
            {
                "id": r[0], "platform": r[1], "kind": r[2], "scope": r[3], "account": r[4],
                "team": holder if group is None else None, "group": group, "role": r[6], "name": r[7],
                "object_id": r[8],
                "reach": {"repos": int(r[9]), "by_tier": {t["tier"]: int(t["repos"]) for t in r[10] or []},
                          "max_role": r[11], "accounts": int(r[12])},
                "last_activity": r[13].replace(microsecond=0).isoformat() + "Z" if r[13] else None,
                "snapshot_id": r[14],
            }
        )  # fmt: skip
    return out


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """A listing row for CSV: reach spread over columns."""
    reach = row["reach"]
    tiers = ";".join(f"{k}={v}" for k, v in sorted(reach["by_tier"].items()))
    return {
        **{k: v for k, v in row.items() if k != "reach"},
        "repos": reach["repos"], "by_tier": tiers, "max_role": reach["max_role"], "accounts": reach["accounts"],
    }  # fmt: skip
