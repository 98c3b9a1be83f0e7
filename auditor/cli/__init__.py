"""The `auditor` command line: a thin root that registers one module per command family."""

from __future__ import annotations

import sys

import click

from auditor import __version__
from auditor.cli.context import AppContext
from auditor.cli.failures import AuditorGroup
from auditor.errors import AuditorError


@click.group(cls=AuditorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
@click.option(
    "--workspace",
    "workspace",
    envvar="AUDITOR_WORKSPACE",
    default="auditor-workspace",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Workspace directory holding the DuckDB file and the evidence store (env AUDITOR_WORKSPACE).",
)
@click.option(
    "--config",
    "config_path",
    envvar="AUDITOR_CONFIG",
    default=None,
    type=click.Path(dir_okay=False),
    help="Config file (default: config/auditor.yaml when present; the tool works with none).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr (it only shows on a terminal anyway).")
@click.option(
    "-v", "--verbose", count=True, help="Log what the tool does to stderr (-vv: also its HTTP clients and SDKs)."
)
@click.pass_context
def cli(ctx: click.Context, workspace: str, config_path: str | None, quiet: bool, verbose: int) -> None:
    """Audit who can reach restricted source code and whether anyone is pulling it out in bulk.

    \b
    Progress shows on stderr for long work when it is a terminal (never with --quiet); output to a pipe or a
    file is not cut to 80 columns.

    \b
    Example:
      auditor demo --out ./demo-out
      auditor --workspace ./ws import audit-log.ndjson signins.json --json
      auditor -v run --fail-on high
    """
    from auditor.cli.progress import configure

    if quiet and verbose:
        raise click.UsageError("give --quiet or --verbose, not both")
    configure(quiet, verbose)
    ctx.obj = AppContext(workspace_dir=workspace, config_path=config_path)


def _register() -> None:
    """Explicit command registry (no magic discovery)."""
    from auditor.cli.accounts import accounts
    from auditor.cli.checking import check, frameworks
    from auditor.cli.collect import collect
    from auditor.cli.coverage import coverage
    from auditor.cli.demo import demo
    from auditor.cli.detecting import detect, findings
    from auditor.cli.entitlements import entitlements
    from auditor.cli.evaluate import evaluate_cmd
    from auditor.cli.evidence import evidence
    from auditor.cli.export import export
    from auditor.cli.importing import import_cmd
    from auditor.cli.inventory import access, apps, credentials
    from auditor.cli.rejected import rejected
    from auditor.cli.report import report
    from auditor.cli.review import review
    from auditor.cli.run import run
    from auditor.cli.sandbox import sandbox

    for command in (
        import_cmd,
        rejected,
        collect,
        accounts,
        coverage,
        detect,
        findings,
        check,
        frameworks,
        review,
        evaluate_cmd,
        sandbox,
        demo,
        report,
        evidence,
        export,
        run,
    ):
        cli.add_command(command)
    for command in (access, entitlements, credentials, apps):
        cli.add_command(command)


_register()


def main() -> None:
    """Entry point: run the CLI; AuditorError becomes a message on stderr and exit code 2, anything unexpected
    the traceback and exit code 1."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code in (1, 2) else exc.exit_code)
    except AuditorError as exc:
        from auditor.cli.progress import STATE

        if STATE.verbose:
            import traceback

            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception:  # a bug: the traceback, and exit 1 (never 2 or 3, which scripts act on)
        import traceback

        traceback.print_exc()
        click.echo("internal error: this is a bug in auditor; please report it with the traceback above", err=True)
        sys.exit(1)
