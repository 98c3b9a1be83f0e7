"""`auditor entitlements`: what owners can grant or take away, each with its reach on restricted repos."""

from __future__ import annotations

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_listing
from auditor.cli.progress import progress

KINDS = (
    "org_role", "base_permission", "team_membership", "team_repo", "direct_collaborator", "outside_collaborator",
    "custom_org_role", "app_installation", "deploy_key", "credential", "group_membership", "project_membership",
    "group_share", "deploy_token", "oauth_app", "idp_group_membership", "directory_role",
)  # fmt: skip


@click.command("entitlements")
@click.option("--platform", type=click.Choice(["github", "gitlab", "entra"]), default=None, help="Only this platform.")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Only this kind of entitlement.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.pass_obj
def entitlements(app: AppContext, platform: str | None, kind: str | None, fmt: str) -> None:
    """Entitlements of the latest collection, each with its reach.

    An entitlement is what an owner can grant or take away: an org role, the org base permission,
    a team or group membership, a team's grant on a repo, a direct or outside collaborator, an app
    installation, a credential or deploy key, an Entra group membership or directory role. Its reach
    is what it gives on restricted repos: repos (by tier), the highest role, the accounts it covers
    and the last activity of those accounts on those repos. `auditor access` rows list the
    entitlement ids behind every effective grant.

    JSON fields: id, platform, kind, scope, account, team, group, role, name, object_id,
    reach {repos, by_tier, max_role, accounts}, last_activity, snapshot_id.

    \b
    Example:
      auditor entitlements --platform github --kind team_membership --format table
      auditor entitlements --format json | jq '.[] | select(.reach.repos > 100)'
    """
    from auditor.entitlements.build import refresh_entitlements
    from auditor.entitlements.listing import CSV_FIELDS, FIELDS, flat, list_entitlements

    ws = app.workspace()
    with progress("deriving entitlements and their reach…"):
        refresh_entitlements(ws, app.config())
        rows = list_entitlements(ws.con, platform, kind)
    if fmt == "csv":
        echo_listing([flat(r) for r in rows], CSV_FIELDS, fmt)
        return
    if echo_listing(rows, FIELDS, fmt):
        return
    _table(rows)


def _table(rows: list[dict[str, object]]) -> None:
    from rich.table import Table

    from auditor.entitlements.listing import label

    table = Table(title=f"Entitlements ({len(rows)})")
    for col in ("id", "platform", "entitlement", "holder", "repos", "tier-1", "max role", "accounts", "last activity"):
        table.add_column(col)
    for r in rows:
        reach = r["reach"]
        assert isinstance(reach, dict)
        table.add_row(
            str(r["id"]), str(r["platform"]),
            label(str(r["kind"]), str(r["scope"]), r["team"] or r["group"], r["role"], r["name"], r["object_id"]),  # type: ignore[arg-type]
            str(r["account"] or ""), str(reach["repos"]), str(reach["by_tier"].get("tier1", 0)),
            str(reach["max_role"] or ""), str(reach["accounts"]), str(r["last_activity"] or "never"),
        )  # fmt: skip
    console().print(table)
