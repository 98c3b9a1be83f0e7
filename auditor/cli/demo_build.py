"""Build a workspace from the sandbox tenant the way a user would: Entra, the GitHub org (inventory and
the whole audit log) and the GitLab instance collected live through the sandbox Graph, GitHub and GitLab
API servers; GitLab's streamed events and api_json.log imported. Shared by `auditor demo` and `auditor eval`."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from auditor.config.loader import load_config
from auditor.config.models import AuditorConfig
from auditor.importers.pipeline import ImportSummary, import_files
from auditor.workspace.store import Workspace
from auditor_sandbox.generate import SandboxSummary, generate_tenant


@dataclass
class SandboxRun:
    """A freshly built sandbox workspace and what went into it."""

    sandbox_dir: Path
    ws: Workspace
    tenant: SandboxSummary
    entra_signins: int
    imported: ImportSummary
    config: AuditorConfig
    github: dict[str, object] | None = None
    gitlab_audit_events: int = 0


def collect_sandbox_entra(ws: Workspace, sandbox_dir: Path, start: datetime) -> int:
    """Serve the sandbox tenant as Microsoft Graph on 127.0.0.1 and collect it with the real connector."""
    from auditor.config.models import EntraSource
    from auditor.connectors.entra.auth import AsyncStaticTokenCredential, EntraCredentials
    from auditor.connectors.entra.collect import collect
    from auditor.connectors.entra.load import load_collected
    from auditor.importers.sqlfuncs import install_macros
    from auditor_sandbox.graph.server import serve_graph

    token = secrets.token_urlsafe(16)
    since = start.replace(tzinfo=None) - timedelta(days=1)
    with serve_graph(sandbox_dir, token=token) as server:
        source = EntraSource(tenant_id="acme", graph_url=server.url, arm_url=server.url, groups=["Engineering"])
        collected = collect(
            source, EntraCredentials(AsyncStaticTokenCredential(token), AsyncStaticTokenCredential(token)), since
        )
    install_macros(ws.con)
    return load_collected(ws, "acme", collected, since).signins_imported


def collect_sandbox_github(ws: Workspace, sandbox_dir: Path, since: datetime) -> dict[str, object]:
    """Serve the sandbox org as the GitHub API on 127.0.0.1 and collect it with the real connector (PyGithub)."""
    from auditor.config.models import GitHubSource
    from auditor.connectors.github.collect import collect
    from auditor.connectors.github.load import load_collected
    from auditor.importers.sqlfuncs import install_macros
    from auditor_sandbox.github.server import FULL_SCOPES, serve_github

    token = secrets.token_urlsafe(16)
    with serve_github(sandbox_dir, tokens={token: FULL_SCOPES}) as server:
        source = GitHubSource(base_url=server.url, org="acme-corp", enterprise="acme")
        collected = collect(source, token, since.replace(tzinfo=None), fast=True)
    install_macros(ws.con)
    return load_collected(ws, source.base_url, collected, since.replace(tzinfo=None), ghes=False).to_json()


def collect_sandbox_gitlab(ws: Workspace, sandbox_dir: Path, start: datetime, config: AuditorConfig) -> int:
    """Serve the sandbox's GitLab instance on 127.0.0.1 and collect it (instance, admin token) with the real
    connector; returns the stored audit events imported."""
    from typing import Any

    from auditor.config.models import GitLabSource
    from auditor.connectors.gitlab.collect import collect
    from auditor.connectors.gitlab.load import load_collected
    from auditor.importers.sqlfuncs import install_macros
    from auditor.restriction import classify_repo
    from auditor_sandbox.gitlab import serve_gitlab

    def classify(p: dict[str, Any]) -> tuple[bool, int | None, str]:
        return classify_repo(
            config.restriction, p["path_with_namespace"], p.get("visibility"), list(p.get("topics") or [])
        )

    token = secrets.token_urlsafe(16)
    since = start.replace(tzinfo=None) - timedelta(days=1)
    until = since + timedelta(days=120)
    with serve_gitlab(sandbox_dir, token=token) as server:
        source = GitLabSource(base_url=server.url, instance=True)
        collected = collect(source, token, since, until, lambda p: classify(p)[0])
    install_macros(ws.con)
    return load_collected(ws, collected, classify).audit_events_imported


def build_sandbox_workspace(
    out_dir: Path, seed: int = 7, step: Callable[[str], None] | None = None, users: int = 300, repos: int = 400,
    days: int = 90,
) -> SandboxRun:  # fmt: skip
    """Generate (fresh), collect Entra, import GitHub and GitLab; `step` is told each stage's name. Benchmarks
    scale the tenant with `users`, `repos` and `days`."""
    sandbox_dir, ws_dir = out_dir / "sandbox", out_dir / "workspace"
    for stale in (sandbox_dir, ws_dir):
        if stale.exists():
            shutil.rmtree(stale)
    say = step or (lambda _: None)
    say("generate sandbox")
    tenant = generate_tenant(sandbox_dir, seed=seed, users=users, repos=repos, days=days)
    say("collect Entra (sandbox Graph API)")
    ws = Workspace.open(ws_dir)
    entra = collect_sandbox_entra(ws, sandbox_dir, tenant.start)
    say("collect GitHub (sandbox GitHub API)")
    github = collect_sandbox_github(ws, sandbox_dir, tenant.start - timedelta(days=1))
    config = load_config(sandbox_dir / "auditor.yaml")
    say("collect GitLab (sandbox GitLab API)")
    gitlab = collect_sandbox_gitlab(ws, sandbox_dir, tenant.start, config)
    say("import GitLab streamed audit events and api_json.log")
    files = sorted(p for p in (sandbox_dir / "gitlab").iterdir() if p.is_file())
    imported = import_files(ws, files)
    return SandboxRun(sandbox_dir, ws, tenant, entra, imported, config, github=github, gitlab_audit_events=gitlab)
