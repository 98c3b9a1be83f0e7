"""`auditor collect`: live connectors (Entra, GitHub, GitLab)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.context import AppContext
from auditor.cli.output import echo_json, wide_console
from auditor.cli.progress import progress
from auditor.errors import ConfigError

if TYPE_CHECKING:
    from auditor.connectors.kit.summary import CollectSummary


@click.group("collect", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summaries as JSON.")
@click.pass_context
def collect(ctx: click.Context, as_json: bool) -> None:
    """Collect from every source in the config (or one platform with a subcommand).

    Each run is a snapshot; every page is kept in the evidence store; what a permission, licence
    or plan hides is recorded as a coverage gap (see `auditor coverage`).

    \b
    Example:
      auditor --config config/auditor.yaml collect
      AUDITOR_GRAPH_TOKEN=... auditor collect entra --tenant contoso.onmicrosoft.com
    """
    if ctx.invoked_subcommand is not None:
        return
    app: AppContext = ctx.obj
    sources = app.config().sources
    if not (sources.entra or sources.github or sources.gitlab):
        raise ConfigError(
            "no sources configured: add sources.entra, sources.github or sources.gitlab, or use a subcommand"
        )
    _report(collect_configured(app), as_json)


def collect_configured(app: AppContext) -> list[CollectSummary]:
    """Collect every source in the config (Entra first, so accounts link to identities); one summary each."""
    sources = app.config().sources
    results = [_collect_entra(app, source, None) for source in sources.entra]
    results += [_collect_github(app, source, None) for source in sources.github]
    results += [_collect_gitlab(app, source, None) for source in sources.gitlab]
    return results


@collect.command("entra")
@click.option("--graph-url", default=None, help="Graph root without /v1.0 (default https://graph.microsoft.com).")
@click.option(
    "--arm-url",
    default=None,
    help="Azure Resource Manager root for diagnostic settings (default: the ARM of --graph-url's cloud; "
    "with a custom --graph-url ARM is not asked unless given).",
)
@click.option("--tenant", "tenant", default=None, help="Tenant id or domain (needed without a config file).")
@click.option("--since", default=None, help="Collect sign-ins from this ISO 8601 UTC time (default: high-water mark).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def collect_entra(
    app: AppContext, graph_url: str | None, arm_url: str | None, tenant: str | None, since: str | None, as_json: bool
) -> None:
    """Collect users, groups, roles, sign-ins, consents, apps and risk from Microsoft Entra ID.

    Auth: client_id with a client secret or certificate from the config, or a bearer token in
    AUDITOR_GRAPH_TOKEN (Graph only; ARM's diagnostic settings need their own token in AUDITOR_ARM_TOKEN).
    Sign-ins are incremental from the last run's high-water mark.

    \b
    Example:
      AUDITOR_GRAPH_TOKEN=... auditor collect entra --graph-url https://graph.microsoft.com --tenant ID --json
    """
    from auditor.config.models import EntraSource

    configured = app.config().sources.entra
    chosen = [s for s in configured if tenant in (None, s.tenant_id)]
    if not chosen:
        if tenant is None:
            raise ConfigError("no Entra source configured: pass --tenant (and --graph-url for a national cloud)")
        chosen = [EntraSource(tenant_id=tenant)]
    overrides = {k: v for k, v in (("graph_url", graph_url), ("arm_url", arm_url)) if v}
    start = _parse_since(since) if since else None
    results = [_collect_entra(app, s.model_copy(update=overrides), start) for s in chosen]
    _report(results, as_json)


def _parse_since(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {text!r}", param_hint="--since") from None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _collect_entra(app: AppContext, source: object, since: datetime | None) -> CollectSummary:
    from auditor.config.models import EntraSource
    from auditor.connectors.entra.auth import build_credentials
    from auditor.connectors.entra.sync import sync

    assert isinstance(source, EntraSource)
    credential = build_credentials(source)
    ws = app.workspace()
    with progress(f"collecting Entra tenant {source.tenant_id}…"):
        return sync(ws, source, credential, since)


@collect.command("github")
@click.option("--base-url", default=None, help="REST root (default https://api.github.com; GHES https://HOST/api/v3).")
@click.option("--org", default=None, help="Organization login (needed without a config file, or --enterprise).")
@click.option("--enterprise", default=None, help="Enterprise slug (audit log and streaming configuration).")
@click.option(
    "--since", default=None, help="Collect audit events from this ISO 8601 UTC time (default: high-water mark)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def collect_github(
    app: AppContext,
    base_url: str | None,
    org: str | None,
    enterprise: str | None,
    since: str | None,
    as_json: bool,
) -> None:
    """Collect repos, members, teams, effective access, tokens, apps, settings and the audit log from GitHub.

    Auth: the config's token ({env: NAME}) or GitHub App (app_id, private_key_file, installation_id),
    else the GITHUB_TOKEN variable. The audit log is incremental from the last run's high-water mark.

    \b
    Example:
      GITHUB_TOKEN=... auditor collect github --org acme-corp --json
      GITHUB_TOKEN=... auditor collect github --base-url https://ghe.example.com/api/v3 --org eng
    """
    from auditor.config.models import GitHubSource

    configured = app.config().sources.github
    chosen = [s for s in configured if org in (None, s.org) and enterprise in (None, s.enterprise)]
    if not chosen:
        if org is None and enterprise is None:
            raise ConfigError(
                "no GitHub source configured: pass --org ORG or --enterprise SLUG (and --base-url for GHES)"
            )
        chosen = [GitHubSource(org=org, enterprise=enterprise)]
    overrides = {"base_url": base_url} if base_url else {}
    start = _parse_since(since) if since else None
    results = [_collect_github(app, s.model_copy(update=overrides), start) for s in chosen]
    _report(results, as_json)


def _collect_github(app: AppContext, source: object, since: datetime | None) -> CollectSummary:
    import os

    from auditor.config.models import GitHubSource
    from auditor.connectors.github.sync import sync

    assert isinstance(source, GitHubSource)
    token = None
    if source.app_id is None:
        token = source.token.resolve("sources.github token").get_secret_value() if source.token else None
        token = token or os.environ.get("GITHUB_TOKEN")
        if not token:
            raise ConfigError("no GitHub token: set GITHUB_TOKEN, or give token: {env: NAME} or App auth in the config")
    ws = app.workspace()
    with progress(f"collecting GitHub {source.org or source.enterprise}…"):
        return sync(ws, source, token, since)


@collect.command("gitlab")
@click.option("--base-url", default=None, help="GitLab root URL, e.g. https://gitlab.com or https://gitlab.example.")
@click.option("--group", "groups", multiple=True, help="Top-level group path (repeatable).")
@click.option("--instance", is_flag=True, help="The whole instance (needs an administrator token).")
@click.option(
    "--since", default=None, help="Collect audit events from this ISO 8601 UTC time (default: high-water mark)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def collect_gitlab(
    app: AppContext, base_url: str | None, groups: tuple[str, ...], instance: bool, since: str | None, as_json: bool
) -> None:
    """Collect groups, projects, members (inherited and shared), users, tokens, keys, apps and audit events.

    Without --base-url, every sources.gitlab entry of the config; with it, no config is needed and the
    token comes from GITLAB_TOKEN. Audit events are incremental from the last run's high-water mark.

    \b
    Example:
      GITLAB_TOKEN=... auditor collect gitlab --base-url https://gitlab.example.com --instance --json
      GITLAB_TOKEN=... auditor collect gitlab --base-url https://gitlab.com --group acme
    """
    from auditor.config.models import GitLabSource

    if base_url is None:
        if groups or instance:
            raise click.UsageError("--group and --instance need --base-url")
        chosen = list(app.config().sources.gitlab)
        if not chosen:
            raise ConfigError("no GitLab source configured: pass --base-url with --group PATH or --instance")
    else:
        if bool(groups) == instance:
            raise click.UsageError("give --group PATH (repeatable) or --instance")
        chosen = [GitLabSource(base_url=base_url, groups=list(groups), instance=instance)]
    start = _parse_since(since) if since else None
    _report([_collect_gitlab(app, s, start) for s in chosen], as_json)


def _collect_gitlab(app: AppContext, source: object, since: datetime | None) -> CollectSummary:

    from auditor.config.models import GitLabSource
    from auditor.connectors.gitlab.client import resolve_token
    from auditor.connectors.gitlab.sync import sync
    from auditor.restriction import classify_repo

    assert isinstance(source, GitLabSource)
    token = resolve_token(source)
    rules = app.config().restriction

    def classify(p: dict[str, Any]) -> tuple[bool, int | None, str]:
        return classify_repo(rules, p["path_with_namespace"], p.get("visibility"), list(p.get("topics") or []))

    ws = app.workspace()
    scope = "instance" if source.instance else ",".join(source.groups)
    with progress(f"collecting GitLab {source.base_url} ({scope})…"):
        return sync(ws, source, token, since, classify=classify)


def _report(results: list[CollectSummary], as_json: bool) -> None:
    """Every run's summary: one JSON document (a list for several runs), or a table per run with its gaps."""
    if as_json:
        docs = [r.to_json() for r in results]
        echo_json(docs[0] if len(docs) == 1 else docs)
        return
    print_summaries(results, wide_console())


def print_summaries(results: list[CollectSummary], out: Any) -> None:
    """Each run's table of counts, its notes and its coverage gaps, on `out` (a rich Console)."""
    for result in results:
        result.render(out)
