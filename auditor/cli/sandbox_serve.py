"""`auditor sandbox serve graph|github|gitlab`: a sandbox API server in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from auditor_sandbox.loopback import LoopbackServer

_F = TypeVar("_F", bound=Callable[..., Any])


@click.group("serve")
def serve() -> None:
    """Serve the tenant over a platform's own HTTP API on 127.0.0.1, for the real connectors and demos."""


def _listen_options(port: int, token_help: str) -> Callable[[_F], _F]:
    """--host, --port (default `port`) and --token, in that order, as every serve command takes them."""

    def decorate(f: _F) -> _F:
        f = click.option("--token", default="sandbox-token", show_default=True, help=token_help)(f)
        f = click.option("--port", default=port, show_default=True, type=click.IntRange(0, 65535),
                         help="0 picks a free port.")(f)  # fmt: skip
        return click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")(f)

    return decorate


_quiet_option = click.option("--quiet", is_flag=True, help="Do not print one line per request.")


def _tenant_options(f: _F) -> _F:
    """The sandbox directory, the same way for every server: SANDBOX_DIR or --dir (default: generate the
    default tenant into a temporary directory first)."""
    f = click.option(
        "--dir",
        "dir_option",
        default=None,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Same as SANDBOX_DIR: a directory written by `auditor sandbox generate`.",
    )(f)
    return click.argument("sandbox_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))(
        f
    )


def _fault_options(f: _F) -> _F:
    """The fault flags every server takes: periodic 429 and 5xx answers, and 403 under path prefixes."""
    f = click.option(
        "--forbid",
        multiple=True,
        metavar="PATH_PREFIX",
        help="Answer requests under this path with 403, as if a permission or scope were missing (repeatable).",
    )(f)
    f = click.option("--fault-5xx-every", default=0, type=click.IntRange(min=0), metavar="N",
                     help="Answer every Nth request with a 5xx (0: never; N >= 2).")(f)  # fmt: skip
    return click.option("--fault-429-every", default=0, type=click.IntRange(min=0), metavar="N",
                        help="Answer every Nth request with 429 and Retry-After: 1 (0: never; N >= 2).")(f)  # fmt: skip


def _one_dir(sandbox_dir: Path | None, dir_option: Path | None) -> Path | None:
    if sandbox_dir is not None and dir_option is not None and sandbox_dir != dir_option:
        raise click.BadParameter("give the sandbox directory once (SANDBOX_DIR or --dir)", param_hint="--dir")
    return sandbox_dir or dir_option


def _check_every(**flags: int) -> None:
    for name, every in flags.items():
        if every == 1:
            raise click.BadParameter(
                "1 would fail every request; use 0 (off) or at least 2", param_hint="--" + name.replace("_", "-")
            )


@serve.command("graph")
@_tenant_options
@_listen_options(8765, "The bearer token every request must carry.")
@click.option(
    "--licence",
    default="p2",
    show_default=True,
    type=click.Choice(["none", "p1", "p2"]),
    help="Entra ID licence: sign-ins and signInActivity need p1, PIM and Identity Protection p2.",
)
@_fault_options
@_quiet_option
def serve_graph_cmd(
    sandbox_dir: Path | None,
    dir_option: Path | None,
    host: str,
    port: int,
    token: str,
    licence: str,
    fault_429_every: int,
    fault_5xx_every: int,
    forbid: tuple[str, ...],
    quiet: bool,
) -> None:
    """Serve the tenant as Microsoft Graph (v1.0 and beta) plus ARM diagnostic settings, until Ctrl-C.

    Users, groups, directory roles (active and PIM-eligible), OAuth consents, service principals,
    risky users and sign-ins come from the sandbox files, paged and licence-gated as Graph does.
    Point msgraph-sdk at BASE_URL/v1.0 and the ARM root at BASE_URL.

    \b
    Example:
      auditor sandbox serve graph ./acme --port 8765
      curl -H "Authorization: Bearer sandbox-token" \\
        "http://127.0.0.1:8765/v1.0/users?\\$select=id,userPrincipalName,signInActivity&\\$top=5"
      auditor sandbox serve graph ./acme --licence p1 --fault-429-every 5 --forbid /v1.0/auditLogs
    """
    from auditor_sandbox.graph.server import serve_graph

    _check_every(fault_429_every=fault_429_every, fault_5xx_every=fault_5xx_every)
    with _sigterm_as_interrupt(), ExitStack() as stack:
        sandbox_dir = _tenant_dir(stack, _one_dir(sandbox_dir, dir_option))
        with _listen_errors(host, port):
            server = serve_graph(
                sandbox_dir,
                host=host,
                port=port,
                token=token,
                licence=licence,
                fault_429_every=fault_429_every,
                fault_5xx_every=fault_5xx_every,
                forbid=forbid,
                on_request=_request_printer(quiet),
            )
        stack.enter_context(server)
        about = (f"Graph sandbox for {sandbox_dir} ({len(server.directory.users)} users, "
                 f"{len(server.directory.signins):,} sign-ins, licence {licence})")  # fmt: skip
        _serve_until_interrupted(server, token, about, "Graph: {url}/v1.0, beta: {url}/beta, ARM: {url}")


@serve.command("github")
@_tenant_options
@_listen_options(8766, "A classic token the server accepts.")
@click.option(
    "--scopes",
    default="repo,read:org,admin:org,read:audit_log,admin:enterprise",
    show_default=True,
    help="The classic token's OAuth scopes (comma-separated); endpoints needing others answer 403.",
)
@click.option("--app-id", type=int, default=None, help="A GitHub App id whose JWTs are accepted (with --app-key).")
@click.option(
    "--app-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The app's public key (PEM) to verify RS256 JWTs.",
)
@click.option("--installation-id", type=int, default=None, help="The app's installation id on the org.")
@click.option("--rate-limit", default=5000, show_default=True, type=click.IntRange(min=1), help="Requests per hour.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="KIND[:TIMES[:PATH]]",
    help="Inject a GitHub-shaped fault: primary, primary429, secondary, throttle, bad_gateway, malformed, "
    "missing_scope; TIMES -1 is always; PATH limits it to paths containing it (repeatable).",
)
@_fault_options
@_quiet_option
def serve_github_cmd(
    sandbox_dir: Path | None,
    dir_option: Path | None,
    host: str,
    port: int,
    token: str,
    scopes: str,
    app_id: int | None,
    app_key: Path | None,
    installation_id: int | None,
    rate_limit: int,
    faults: tuple[str, ...],
    fault_429_every: int,
    fault_5xx_every: int,
    forbid: tuple[str, ...],
    quiet: bool,
) -> None:
    """Serve the sandbox org as the GitHub API (REST at / and /api/v3, GraphQL at /graphql), until Ctrl-C.

    Members, teams (nested), repos, collaborators, credential authorizations, fine-grained PATs (App
    auth only), installations, org roles, SAML identities and the audit log come from SANDBOX_DIR
    (`inventory/github.json`, `github/audit-log.ndjson`), paged with Link headers as GitHub does.

    \b
    Example:
      auditor sandbox serve github ./acme --port 8766
      GITHUB_TOKEN=sandbox-token auditor collect github --base-url http://127.0.0.1:8766 --org acme-corp
      auditor sandbox serve github ./acme --scopes repo,read:org --fault secondary:3 --fault-5xx-every 7
    """
    from auditor_sandbox.github.server import FAULTS, Fault, serve_github

    parsed = []
    for spec in faults:
        kind, _, rest = spec.partition(":")
        times, _, path = rest.partition(":")
        if kind not in FAULTS or (times and not times.lstrip("-").isdigit()):
            raise click.BadParameter(f"{spec!r}: want KIND[:TIMES[:PATH]] with KIND in {', '.join(FAULTS)}",
                                     param_hint="--fault")  # fmt: skip
        parsed.append(Fault(kind, int(times) if times else 1, path))
    if (app_id is None) != (app_key is None):
        raise click.BadParameter("give --app-id and --app-key together", param_hint="--app-id")
    apps = {app_id: app_key.read_text(encoding="utf-8")} if app_id is not None and app_key is not None else {}
    installs = {installation_id: app_id} if installation_id is not None and app_id is not None else {}
    _check_every(fault_429_every=fault_429_every, fault_5xx_every=fault_5xx_every)
    with _sigterm_as_interrupt(), ExitStack() as stack:
        sandbox_dir = _tenant_dir(stack, _one_dir(sandbox_dir, dir_option))
        with _listen_errors(host, port):
            try:
                server = serve_github(
                    sandbox_dir,
                    host=host,
                    port=port,
                    tokens={token: tuple(s.strip() for s in scopes.split(",") if s.strip())},
                    apps=apps,
                    installations=installs,
                    rate_limit=rate_limit,
                    on_request=_request_printer(quiet),
                )
            except FileNotFoundError as exc:
                raise click.ClickException(str(exc)) from exc
        stack.enter_context(server)
        for fault in parsed:
            server.inject(fault)
        server.set_periodic(fault_429_every, fault_5xx_every, forbid)
        data = server.data
        about = (f"GitHub sandbox for {sandbox_dir}: org {data.org['login']}, {len(data.repo_list)} repos, "
                 f"{len(data.members)} members")  # fmt: skip
        _serve_until_interrupted(server, token, about, "GHES style: {url}/api/v3; GraphQL: {url}/graphql")


@serve.command("gitlab")
@_tenant_options
@_listen_options(8767, "The token (PRIVATE-TOKEN or Bearer).")
@click.option("--as-user", default=None, help="Username the token belongs to (default: the administrator).")
@click.option("--tier", default="premium", show_default=True, type=click.Choice(["free", "premium", "ultimate"]))
@_fault_options
@click.option("--streaming", is_flag=True, help="Configure one audit-event streaming destination (tier ultimate).")
@_quiet_option
def serve_gitlab_cmd(
    sandbox_dir: Path | None,
    dir_option: Path | None,
    host: str,
    port: int,
    token: str,
    as_user: str | None,
    tier: str,
    fault_429_every: int,
    fault_5xx_every: int,
    forbid: tuple[str, ...],
    streaming: bool,
    quiet: bool,
) -> None:
    """Serve the tenant's GitLab instance (REST /api/v4 and /api/graphql) until Ctrl-C.

    Groups, projects, members, users, tokens, deploy keys, applications (inventory/gitlab.json) and the
    stored audit events (gitlab/audit-events.ndjson, without the stream-only git operations). Point
    python-gitlab at BASE_URL.

    \b
    Example:
      auditor sandbox serve gitlab ./acme --port 8767
      curl -H "PRIVATE-TOKEN: sandbox-token" "http://127.0.0.1:8767/api/v4/groups/acme/members/all"
      auditor sandbox serve gitlab ./acme --tier free --fault-429-every 5
    """
    from auditor_sandbox.gitlab import Faults, serve_gitlab

    _check_every(fault_429_every=fault_429_every, fault_5xx_every=fault_5xx_every)
    try:
        faults = Faults(every_429=fault_429_every, every_5xx=fault_5xx_every, forbid=forbid)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with _sigterm_as_interrupt(), ExitStack() as stack:
        sandbox_dir = _tenant_dir(stack, _one_dir(sandbox_dir, dir_option))
        if not (sandbox_dir / "inventory" / "gitlab.json").is_file():
            raise click.UsageError(f"{sandbox_dir} has no inventory/gitlab.json: regenerate it with this version")
        from auditor_sandbox.inventory_gitlab import STREAMING_DESTINATION, load_gitlab_inventory

        inventory = load_gitlab_inventory(sandbox_dir)
        if streaming:
            inventory["streaming_destinations"] = [STREAMING_DESTINATION]
        with _listen_errors(host, port):
            try:
                server = serve_gitlab(
                    sandbox_dir,
                    inventory=inventory,
                    host=host,
                    port=port,
                    token=token,
                    as_user=as_user,
                    tier=tier,
                    faults=faults,
                    on_request=_request_printer(quiet),
                )
            except KeyError:
                raise click.BadParameter(f"no user {as_user!r} in the sandbox", param_hint="--as-user") from None
        stack.enter_context(server)
        events, who = len(server.inst.events), server.user["username"]
        about = (f"GitLab sandbox for {sandbox_dir} ({len(server.inst.projects)} projects, "
                 f"{events:,} stored audit events, tier {tier}, as {who})")  # fmt: skip
        _serve_until_interrupted(server, token, about, "REST: {url}/api/v4, GraphQL: {url}/api/graphql")


# ------------------------------------------------------------------ shared by the serve commands


def _request_printer(quiet: bool) -> Callable[[str, str, int], None] | None:
    """One `STATUS METHOD TARGET` line per request on stderr, or nothing with --quiet."""

    def log(method: str, target: str, status: int) -> None:
        click.echo(f"{status} {method} {target}", err=True)

    return None if quiet else log


def _tenant_dir(stack: ExitStack, sandbox_dir: Path | None) -> Path:
    """`sandbox_dir`, or the default tenant generated into a temporary directory removed when `stack` closes."""
    if sandbox_dir is not None:
        return sandbox_dir
    import tempfile

    from auditor_sandbox.generate import generate_tenant

    tenant = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="acme-sandbox-")))
    click.echo(f"generating the default acme tenant into {tenant} ...", err=True)
    generate_tenant(tenant)
    return tenant


@contextmanager
def _listen_errors(host: str, port: int) -> Iterator[None]:
    """A port in use or an address we cannot bind is a clear error, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _serve_until_interrupted(server: LoopbackServer, token: str, about: str, routes: str) -> None:
    """Print what is served and where (`routes` with `{url}` for the base URL), then wait for Ctrl-C or SIGTERM."""
    import time

    click.echo(about)
    click.echo(f"base URL: {server.url}   ({routes.format(url=server.url)})")
    click.echo(f"token:    {token}")
    click.echo("Press Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopped.", err=True)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so the server and any temporary tenant are cleaned up either way."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
