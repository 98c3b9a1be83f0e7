"""`auditor access`, `auditor credentials`, `auditor apps`: the collected inventory, any platform.

Each reads the latest collected snapshot per platform and scope (org, group, tenant), so a
re-run replaces what is shown while older snapshots stay for diffs and evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_listing
from auditor.cli.progress import progress

ACCESS_FIELDS = ("platform", "repo", "account", "identity", "account_class", "role", "via", "entitlements")
CREDENTIAL_FIELDS = (
    "platform",
    "kind",
    "owner",
    "identity",
    "scopes",
    "created_at",
    "last_used_at",
    "expires_at",
    "id",
    "hint",
    "name",
    "source",
)
APP_FIELDS = ("platform", "kind", "app_id", "name", "owner", "permissions", "reach", "first_seen", "source")

# The newest collect snapshot of each platform and scope: what "now" means for inventory views.
_LATEST = """
latest AS (
    SELECT arg_max(snapshot_id, created_at) AS snapshot_id FROM snapshots
    WHERE kind = 'collect' GROUP BY platform, source
)"""


def _iso(value: Any) -> Any:
    return value.isoformat() + "Z" if hasattr(value, "isoformat") else value


def _listing(
    rows: Sequence[dict[str, Any]], fields: Sequence[str], fmt: str, title: str, columns: Sequence[str]
) -> None:
    """JSON/CSV via the shared helper (lists joined for CSV), else a rich table of `columns`."""
    if fmt == "csv":
        flat = [{k: ";".join(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
        echo_listing(flat, fields, fmt)
        return
    if echo_listing(rows, fields, fmt):
        return
    from rich.table import Table

    table = Table(title=f"{title} ({len(rows)})")
    for col in columns:
        table.add_column(col)
    for r in rows:
        table.add_row(
            *(", ".join(r[c]) if isinstance(r[c], list) else "" if r[c] is None else str(r[c]) for c in columns)
        )
    console().print(table)


def _classified(app: AppContext) -> Any:
    """The workspace after classifying accounts afresh (rules may have changed since detection)."""
    from auditor.classify import classify_accounts

    ws = app.workspace()
    with ws.transaction():
        classify_accounts(ws, app.config().account_classes)
    return ws


def _like(pattern: str) -> str:
    """A user's glob (`*`, `?`) as a SQL LIKE pattern; plain names match exactly."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


@click.command("access")
@click.option("--platform", type=click.Choice(["github", "gitlab"]), default=None, help="Only this platform.")
@click.option("--repo", default=None, help="Only this repository (full name; * and ? match).")
@click.option("--account", default=None, help="Only this account (login; * and ? match).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.pass_obj
def access(app: AppContext, platform: str | None, repo: str | None, account: str | None, fmt: str) -> None:
    """Who can reach each repository, with which role, and through which paths.

    One row per account and repository from the latest collection: platform, repo, account,
    identity (IdP UPN when linked), account_class, role (the highest any path gives) and via, every
    path granting it (direct, team:SLUG, org_base, org_owner, outside_collaborator, project,
    group:PATH, shared_group:PATH), and entitlements, the ids of the entitlements that produce it
    (see `auditor entitlements`).

    \b
    Example:
      auditor access --repo acme-corp/payments-core --format table
      auditor access --platform github --account jdoe --format json
    """
    from auditor.entitlements.build import refresh_entitlements

    ws = app.workspace()
    with progress("reading grants and their paths…"):
        refresh_entitlements(ws, app.config())
    where, params = [], []
    for column, value in (("g.platform", platform), ("g.repo", repo), ("g.account", account)):
        if value is not None:
            where.append(f"{column} LIKE ? ESCAPE '\\'")
            params.append(_like(value))
    query = (
        f"WITH {_LATEST} SELECT g.platform, g.repo, g.account, l.upn, a.account_class, g.role, g.via, "
        "coalesce(e.ids, []) FROM grants g JOIN latest s ON s.snapshot_id = g.snapshot_id "
        "LEFT JOIN (SELECT snapshot_id, account, repo, list(DISTINCT entitlement_id ORDER BY entitlement_id) AS ids "
        "FROM ent_links WHERE account IS NOT NULL GROUP BY ALL) e "
        "ON e.snapshot_id = g.snapshot_id AND e.account = g.account AND e.repo = g.repo "
        "LEFT JOIN account_links l ON l.platform = g.platform AND l.login = g.account "
        "LEFT JOIN accounts a ON a.platform = g.platform AND a.login = g.account "
        f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY g.platform, g.repo, g.account"
    )
    with progress("reading grants and their paths…"):
        rows = [dict(zip(ACCESS_FIELDS, r, strict=True)) for r in ws.con.execute(query, params).fetchall()]
    _listing(
        rows, ACCESS_FIELDS, fmt, "Access", ("platform", "repo", "account", "identity", "account_class", "role", "via")
    )


@click.command("credentials")
@click.option("--platform", type=click.Choice(["github", "gitlab", "entra"]), default=None, help="Only this platform.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.pass_obj
def credentials(app: AppContext, platform: str | None, fmt: str) -> None:
    """Tokens, keys and authorizations from the latest collection; never a secret.

    Fields: platform, kind, owner, identity, scopes, created_at, last_used_at, expires_at, id (the
    platform's token or key id), hint (last eight, hashed token or key fingerprint), name, source.

    \b
    Example:
      auditor credentials --format json | jq '.[] | select(.expires_at == null)'
    """
    ws = app.workspace()
    query = (
        f"WITH {_LATEST} SELECT c.platform, c.kind, c.owner, l.upn, c.scopes, c.created_at, c.last_used_at, "
        "c.expires_at, c.credential_id, c.hint, c.name, c.source FROM credentials c "
        "JOIN latest s ON s.snapshot_id = c.snapshot_id "
        "LEFT JOIN account_links l ON l.platform = c.platform AND l.login = c.owner "
        f"{'WHERE c.platform = ?' if platform else ''} ORDER BY c.platform, c.kind, c.owner, c.credential_id"
    )
    rows = []
    for r in ws.con.execute(query, [platform] if platform else []).fetchall():
        row = dict(zip(CREDENTIAL_FIELDS, r, strict=True))
        for key in ("created_at", "last_used_at", "expires_at"):
            row[key] = _iso(row[key])
        rows.append(row)
    columns = ("platform", "kind", "owner", "scopes", "last_used_at", "expires_at", "id", "hint")
    _listing(rows, CREDENTIAL_FIELDS, fmt, "Credentials", columns)


@click.command("apps")
@click.option("--platform", type=click.Choice(["github", "gitlab", "entra"]), default=None, help="Only this platform.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.pass_obj
def apps(app: AppContext, platform: str | None, fmt: str) -> None:
    """OAuth apps, app installations and consent grants with their permissions and reach.

    Fields: platform, kind, app_id, name, owner, permissions (JSON text or scopes), reach (`all`,
    `selected[:N]`, or the consent type), first_seen, source.

    \b
    Example:
      auditor apps --platform github --format table
    """
    ws = app.workspace()
    query = (
        f"WITH {_LATEST} SELECT a.platform, a.kind, a.app_id, a.name, a.owner, a.permissions, a.reach, a.first_seen, "
        "a.source FROM apps a JOIN latest s ON s.snapshot_id = a.snapshot_id "
        f"{'WHERE a.platform = ?' if platform else ''} ORDER BY a.platform, a.kind, a.name, a.app_id"
    )
    rows = []
    for r in ws.con.execute(query, [platform] if platform else []).fetchall():
        row = dict(zip(APP_FIELDS, r, strict=True))
        row["first_seen"] = _iso(row["first_seen"])
        rows.append(row)
    _listing(rows, APP_FIELDS, fmt, "Apps", ("platform", "kind", "name", "owner", "permissions", "reach"))
