"""Module-scoped fixtures shared by test modules that need live-collected data: a small generated sandbox
tenant and its GitHub API server on 127.0.0.1. Import `small_tenant_fixture` and `github_fixture` into a test
module; they register as `small_tenant` and `github`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor_sandbox.generate import generate_tenant
from auditor_sandbox.github.server import FULL_SCOPES, GitHubServer, serve_github

GITHUB_TOKEN = "ghp_sandbox_run_test_5e1d"  # a static test credential for the loopback sandbox


@pytest.fixture(scope="module", name="small_tenant")
def small_tenant_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sandbox tenant (40 users, 40 repos, 14 days)."""
    out = tmp_path_factory.mktemp("acme")
    generate_tenant(out, users=40, repos=40, days=14)
    return out


@pytest.fixture(scope="module", name="github")
def github_fixture(small_tenant: Path) -> Iterator[GitHubServer]:
    """The small tenant served as the GitHub API, accepting GITHUB_TOKEN with every scope."""
    with serve_github(small_tenant, tokens={GITHUB_TOKEN: FULL_SCOPES}) as running:
        yield running
