"""`auditor review start|import|status|close`: the quarterly access-review campaign."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.context import AppContext
from auditor.cli.output import console, echo_json, echo_listing
from auditor.cli.progress import progress


@click.group("review")
def review() -> None:
    """Access-review campaigns: worksheets per reviewer, decisions, evidence.

    \b
    Example:
      auditor review start --name 2026-Q4
      auditor review import reviews/2026-Q4/*.xlsx
      auditor review status
      auditor review close
      auditor review list
    """


@review.command("start")
@click.option("--name", required=True, help="Campaign name, e.g. 2026-Q4 (letters, digits, . _ -).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where worksheets go (default: WORKSPACE/reviews/NAME).",
)
@click.option(
    "--by",
    type=click.Choice(["owner", "manager"]),
    default=None,
    help="Who reviews: resource owners (team maintainers, repo admins, group owners) or each person's Entra "
    "manager (default: review.by in the config, else owner).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def start(app: AppContext, name: str, out_dir: Path | None, by: str | None, as_json: bool) -> None:
    """Freeze the current snapshot and write one worksheet per reviewer (XLSX and CSV).

    Rows are entitlements (an org role, the base permission, a team membership, a team's grant on a
    repo, a collaborator, a group membership or share, a token, a deploy key, an app, an Entra group
    or role), each with its reach on restricted repos, last use, a recommendation with its reason,
    and the change since the previous campaign. Every effective grant is covered by at least one row.
    A reviewer is never the account under review, a service, bot or external account, or an account
    with an open high or critical finding; such rows go to the manager, else review.default_reviewer.

    JSON fields: rows, effective_grants, effective_grants_covered, worksheets[] {reviewer, rows, xlsx,
    csv}, recommendations, changes.

    \b
    Example:
      auditor review start --name 2026-Q4 --out ./reviews/2026-Q4
      auditor review start --name 2026-Q4-managers --by manager --json
    """
    from auditor.review.campaign import start_campaign

    config = app.config()  # a config error is reported before a workspace problem
    ws = app.workspace()
    with progress(f"starting campaign {name}: entitlements, reach and worksheets…"):
        result = start_campaign(ws, config, name, out_dir, by)
    if as_json:
        echo_json(result.to_json())
        return
    out = console()
    data = result.to_json()
    out.print(f"Campaign {name} (by {data['by']}): {result.rows} entitlement(s) to review across "
              f"{len(result.worksheets)} worksheet(s), covering {result.effective_grants_covered} of "
              f"{result.effective_grants} effective grants ({data['coverage_pct']}%).")  # fmt: skip
    out.print("Recommendations: " + ", ".join(f"{v} {k}" for k, v in sorted(result.recommendations.items())))
    if result.changes:
        out.print("Since " + str(result.campaign.previous_campaign) + ": "
                  + ", ".join(f"{v} {k}" for k, v in result.changes.items()))  # fmt: skip
    for sheet in sorted(result.worksheets, key=lambda s: -int(s["rows"])):
        out.print(f"  {sheet['reviewer']}: {sheet['rows']} row(s)  {sheet['xlsx']}")


@review.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print per-file results as JSON.")
@click.pass_obj
def import_cmd(app: AppContext, files: tuple[Path, ...], as_json: bool) -> None:
    """Validate filled worksheets and record their decisions (keep, revoke, modify, accept).

    `accept` takes the row's recommendation. Rows left empty stay pending (partial submissions are
    fine). A file with any unknown or altered row, invalid decision or role, or self-review without a
    justification is rejected whole (exit 2, every problem listed with file and row); other files
    are still recorded.

    \b
    Example:
      auditor review import reviews/2026-Q4/*.xlsx --json
    """
    from auditor.errors import InputError
    from auditor.review.decisions import import_worksheets

    results = import_worksheets(app.workspace(), list(files))
    if as_json:
        echo_json({"files": [r.to_json() for r in results],
                   "imported": sum(r.status == "imported" for r in results),
                   "rejected": sum(r.status == "rejected" for r in results)})  # fmt: skip
    else:
        out = console()
        for r in results:
            if r.status == "imported":
                counts = ", ".join(f"{v} {k}" for k, v in sorted(r.decisions.items())) or "none"
                out.print(f"{r.path}: imported {sum(r.decisions.values())} decision(s) ({counts}); "
                          f"{r.pending} row(s) still pending")  # fmt: skip
    problems = [f"{r.path}:{row}: {reason}" if row else f"{r.path}: {reason}"
                for r in results for row, reason in r.errors]  # fmt: skip
    if problems:
        rejected = sum(r.status == "rejected" for r in results)
        raise InputError(f"{rejected} worksheet(s) rejected, nothing recorded from them:\n  " + "\n  ".join(problems))


STATUS_FIELDS = (
    "reviewer", "rows", "decided", "pending", "complete_pct", "keep", "revoke", "modify", "first_decision_at",
    "last_decision_at",
)  # fmt: skip


@review.command("status")
@click.option("--name", default=None, help="Campaign (default: the open one).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.pass_obj
def status_cmd(app: AppContext, name: str | None, fmt: str) -> None:
    """Completion per reviewer: rows, decided, pending, keep/revoke/modify.

    \b
    Example:
      auditor review status --format json | jq '.[] | select(.pending > 0) | .reviewer'
    """
    from auditor.review.close import status

    campaign, rows = status(app.workspace().con, name)
    if echo_listing(rows, STATUS_FIELDS, fmt):
        return
    from rich.table import Table

    table = Table(title=f"Access review {campaign.name} ({campaign.status})")
    for col in ("reviewer", "rows", "decided", "pending", "complete", "keep", "revoke", "modify", "last decision"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["reviewer"], str(r["rows"]), str(r["decided"]), str(r["pending"]), f"{r['complete_pct']}%",
                      str(r["keep"]), str(r["revoke"]), str(r["modify"]), r["last_decision_at"] or "")  # fmt: skip
    console().print(table)


@review.command("close")
@click.option("--name", default=None, help="Campaign (default: the open one).")
@click.option("--force", is_flag=True, help="Close with undecided rows, recorded as not reviewed.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def close(app: AppContext, name: str | None, force: bool, as_json: bool) -> None:
    """Close the campaign and write its evidence: decisions, outcomes, the revocation plan per entitlement
    (the exact platform call and the effective grants it removes), the restricted repos each account
    can no longer reach, the diff against the previous campaign, and a summary.

    Files go to OUT_DIR/evidence/ and into the workspace evidence store (SHA-256).

    \b
    Example:
      auditor review close --name 2026-Q4 --json
    """
    from auditor.review.close import close_campaign

    ws = app.workspace()
    with progress("closing the campaign: outcomes, revocation plan and evidence…"):
        result = close_campaign(ws, name, force)
    if as_json:
        echo_json(result.to_json())
        return
    s = result.summary
    console().print(
        f"Closed {s['campaign']}: {s['decided']}/{s['rows']} decided, {s['revocations']} revocation(s), "
        f"{s['modifications']} role change(s), {s['not_reviewed']} not reviewed. Evidence: {result.evidence_dir}"
    )


LIST_FIELDS = (
    "name", "status", "by", "created_at", "closed_at", "rows", "decided", "complete_pct", "revocations", "reviewers",
    "effective_grants",
)  # fmt: skip


@review.command("list")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "table"]), default="table", show_default=True)
@click.pass_obj
def list_cmd(app: AppContext, fmt: str) -> None:
    """Campaigns and their status: rows, decided, completion, revocations, reviewers.

    \b
    Example:
      auditor review list --format json
    """
    from auditor.review.campaign import list_campaigns

    rows = list_campaigns(app.workspace().con)
    if echo_listing(rows, LIST_FIELDS, fmt):
        return
    from rich.table import Table

    table = Table(title=f"Access-review campaigns ({len(rows)})")
    for col in ("name", "status", "by", "created", "rows", "decided", "complete", "revocations", "reviewers"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["status"], r["by"], r["created_at"] or "", str(r["rows"]), str(r["decided"]),
                      f"{r['complete_pct']}%", str(r["revocations"]), str(r["reviewers"]))  # fmt: skip
    console().print(table)
