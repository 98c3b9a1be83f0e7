"""`auditor accounts` and `auditor accounts explain LOGIN`: who each account is, and why its class."""

from __future__ import annotations

from typing import Any

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json, echo_listing
from auditor.errors import InputError

FIELDS = (
    "platform",
    "login",
    "identity",
    "account_class",
    "class_rule",
    "class_evidence",
    "linked_by",
    "link_evidence",
    "link_confidence",
    "link_conflict",
    "leave_date",
)

_QUERY = """
SELECT a.platform, a.login, l.upn, a.account_class, a.class_rule, a.class_evidence, l.linked_by, l.evidence,
       l.confidence,
       (SELECT string_agg(o.login, ', ' ORDER BY o.login) FROM account_links o
         WHERE o.platform = l.platform AND o.identity_id = l.identity_id AND o.login <> l.login) AS conflict,
       (SELECT strftime(min(d."at"), '%Y-%m-%d') FROM departures d
         WHERE d.kind = 'leave_date' AND (d.upn = lower(l.upn)
               OR (lower(d.login) = lower(a.login) AND coalesce(d.platform, a.platform) = a.platform))) AS leave_date
FROM accounts a LEFT JOIN account_links l ON l.platform = a.platform AND l.login = a.login
{where} ORDER BY a.platform, a.login
"""


def _rows(app: AppContext, login: str | None = None) -> list[dict[str, Any]]:
    """Classify afresh (rules may have changed) and read every account with its link."""
    from auditor.classify import classify_accounts
    from auditor.detect.departures import refresh_departures
    from auditor.importers.link_rules import apply_link_rules

    ws = app.workspace()
    cfg = app.config()
    with ws.transaction() as con:
        apply_link_rules(con, cfg.linking)
        refresh_departures(con, cfg.departures)
        classify_accounts(ws, cfg.account_classes)
    where = "WHERE lower(a.login) = lower($login)" if login else ""
    rows = ws.con.execute(_QUERY.format(where=where), {"login": login} if login else {}).fetchall()
    return [dict(zip(FIELDS, r, strict=True)) for r in rows]


@click.group("accounts", invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.pass_context
def accounts(ctx: click.Context, fmt: str) -> None:
    """List code-platform accounts with their identity, class, the rule that decided it, and the link.

    JSON/CSV fields: platform, login, identity, account_class, class_rule, linked_by (plus the
    evidence of each, the link's confidence, other accounts claiming the same identity, and the
    person's leave date from Entra or the departures file).
    Unlinked accounts are listed with identity null, never guessed.

    \b
    Example:
      auditor accounts --format json | jq '.[] | select(.account_class == "non_developer")'
      auditor accounts explain rahulsantos
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = _rows(ctx.obj)
    if not echo_listing(rows, FIELDS, fmt):
        from rich.table import Table

        table = Table(title=f"Accounts ({len(rows)})")
        for col in ("platform", "login", "identity", "class", "rule", "linked by", "leaves"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r["platform"],
                r["login"],
                r["identity"] or "(unlinked)",
                r["account_class"] or "",
                r["class_rule"] or "",
                r["linked_by"] or "",
                r["leave_date"] or "",
            )
        console().print(table)


@accounts.command("explain")
@click.argument("login")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def explain(app: AppContext, login: str, as_json: bool) -> None:
    """Explain one account: which identity it is linked to and how, and which rule set its class.

    \b
    Example:
      auditor accounts explain lars-s
    """
    rows = _rows(app, login)
    if not rows:
        raise InputError(f"no account with login {login!r} in the workspace")
    if as_json:
        echo_json(rows)
        return
    out = console()
    for r in rows:
        out.print(f"[bold]{r['platform']} account {r['login']}[/bold]")
        if r["identity"]:
            out.print(f"  identity: {r['identity']} (linked by {r['linked_by']}, confidence {r['link_confidence']})")
            out.print(f"  link evidence: {r['link_evidence']}")
            if r["link_conflict"]:
                out.print(f"  [yellow]also claimed by: {r['link_conflict']}[/yellow]")
        else:
            out.print(
                "  identity: none — no SAML NameID, GitLab identity, verified e-mail, mapping file or username "
                "convention links it"
            )
        out.print(f"  class: {r['account_class']} by rule {r['class_rule']!r}")
        if r["leave_date"]:
            out.print(f"  leaves (or left) on: {r['leave_date']}")
        out.print(f"  evidence: {r['class_evidence']}")
