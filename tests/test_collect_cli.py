"""`auditor collect` as a user runs it: the table (human) output of every variant, not only --json,
against the sandbox servers on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor_sandbox.github.server import FULL_SCOPES, GitHubServer, serve_github
from auditor_sandbox.gitlab import GitLabServer, serve_gitlab
from auditor_sandbox.graph.server import GraphServer, serve_graph
from tests.helpers import run_auditor, smallest_tenant

GH_TOKEN = "ghp_cli_table_7c2e"  # static test credentials for the loopback sandboxes
GL_TOKEN = "glpat-cli-table-9d0a"
GRAPH_TOKEN = "graph-cli-table-31f4"
SINCE = "2026-09-01T00:00:00Z"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return smallest_tenant(tmp_path_factory, "acme-cli")


@pytest.fixture(scope="module")
def github(tenant: Path) -> Iterator[GitHubServer]:
    scopes = tuple(s for s in FULL_SCOPES if s not in ("read:audit_log", "admin:enterprise"))  # a gap to print
    with serve_github(tenant, tokens={GH_TOKEN: scopes}) as running:
        yield running


@pytest.fixture(scope="module")
def gitlab(tenant: Path) -> Iterator[GitLabServer]:
    with serve_gitlab(tenant, token=GL_TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def graph(tenant: Path) -> Iterator[GraphServer]:
    with serve_graph(tenant, token=GRAPH_TOKEN) as running:
        yield running


def _env() -> dict[str, str]:
    return {"GITHUB_TOKEN": GH_TOKEN, "GITLAB_TOKEN": GL_TOKEN, "AUDITOR_GRAPH_TOKEN": GRAPH_TOKEN}


def _no_secret(text: str) -> None:
    assert all(token not in text for token in (GH_TOKEN, GL_TOKEN, GRAPH_TOKEN))


def test_collect_github_table_prints_counts_and_gaps(tmp_path: Path, github: GitHubServer) -> None:
    done = run_auditor(
        "collect", "github", "--base-url", github.url, "--org", "acme-corp", "--since", SINCE, cwd=tmp_path, **_env()
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "GitHub acme-corp" in done.stdout and "repos" in done.stdout
    assert "coverage gap:" in done.stdout and "read:audit_log" in done.stdout
    _no_secret(done.stdout + done.stderr)


def test_collect_gitlab_table_prints_counts(tmp_path: Path, gitlab: GitLabServer) -> None:
    done = run_auditor(
        "collect", "gitlab", "--base-url", gitlab.url, "--group", "acme", "--since", SINCE, cwd=tmp_path, **_env()
    )
    assert done.returncode == 0, done.stderr
    assert f"GitLab {gitlab.url} (acme)" in done.stdout and "grants" in done.stdout
    assert "new audit events imported" in done.stdout
    _no_secret(done.stdout + done.stderr)


def test_collect_entra_table_prints_counts(tmp_path: Path, graph: GraphServer) -> None:
    done = run_auditor(
        "collect", "entra", "--graph-url", graph.url, "--arm-url", graph.url, "--tenant", "acme",
        "--since", SINCE, cwd=tmp_path, **_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Entra acme" in done.stdout and "users" in done.stdout and "new sign-ins imported" in done.stdout
    _no_secret(done.stdout + done.stderr)


def _config(tmp_path: Path, github: GitHubServer, gitlab: GitLabServer, graph: GraphServer) -> Path:
    config = tmp_path / "auditor.yaml"
    config.write_text(
        "sources:\n"
        f"  github:\n    - base_url: {github.url}\n      org: acme-corp\n      audit_log_initial_days: 3650\n"
        f"  gitlab:\n    - base_url: {gitlab.url}\n      groups: [acme]\n      audit_initial_days: 3650\n"
        f"  entra:\n    - graph_url: {graph.url}\n      arm_url: {graph.url}\n      tenant_id: acme\n",
        encoding="utf-8",
    )
    return config


def test_collect_every_source_table_then_json(
    tmp_path: Path, github: GitHubServer, gitlab: GitLabServer, graph: GraphServer
) -> None:
    config = str(_config(tmp_path, github, gitlab, graph))
    table = run_auditor("--config", config, "collect", cwd=tmp_path, **_env())
    assert table.returncode == 0, table.stderr
    assert "Traceback" not in table.stderr
    for title in ("Entra acme", "GitHub acme-corp", f"GitLab {gitlab.url} (acme)"):
        assert title in table.stdout
    assert "coverage gap:" in table.stdout
    as_json = run_auditor("--config", config, "collect", "--json", cwd=tmp_path, **_env())
    assert as_json.returncode == 0, as_json.stderr
    docs = json.loads(as_json.stdout)
    assert [d["platform"] for d in docs] == ["entra", "github", "gitlab"]
    assert all({"snapshot_id", "counts", "coverage_gaps"} <= set(d) for d in docs)
    assert docs[1]["requests"] > 0 and "audit_events_imported" in docs[2] and "signins_imported" in docs[0]
    _no_secret(table.stdout + table.stderr + as_json.stdout + as_json.stderr)
    # The gaps the runs recorded, as a person reads them (table) and as a script does (JSON).
    shown = run_auditor("coverage", cwd=tmp_path)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    rows = json.loads(run_auditor("coverage", "--format", "json", cwd=tmp_path).stdout)
    gaps = [r for r in rows if r["kind"] == "gap"]
    assert {r["platform"] for r in gaps} >= {"github", "entra"}
    assert all(r["platform"] in shown.stdout for r in gaps)
    assert any("AUDITOR_ARM_TOKEN" in r["needs"] for r in gaps)  # the Graph token was not sent to ARM


# What a person reads after a collection, and what a script reads: every view of collected data, both ways.
VIEWS = (
    ("access", "--format"),
    ("accounts", "--format"),
    ("credentials", "--format"),
    ("apps", "--format"),
    ("entitlements", "--format"),
    ("coverage", "--format"),
    ("rejected", "--format"),
    ("findings", "--format"),
)


def test_views_of_collected_data_in_table_and_json(
    tmp_path: Path, github: GitHubServer, gitlab: GitLabServer, graph: GraphServer
) -> None:
    config = str(_config(tmp_path, github, gitlab, graph))
    assert run_auditor("--config", config, "collect", cwd=tmp_path, **_env()).returncode == 0
    for summary_cmd in ("detect", "check"):
        human = run_auditor("--config", config, summary_cmd, cwd=tmp_path)
        assert human.returncode == 0 and "Traceback" not in human.stderr, (summary_cmd, human.stderr)
        as_json = run_auditor("--config", config, summary_cmd, "--json", cwd=tmp_path)
        assert as_json.returncode == 0 and json.loads(as_json.stdout) is not None, (summary_cmd, as_json.stderr)
    for command, flag in VIEWS:
        table = run_auditor("--config", config, command, flag, "table", cwd=tmp_path)
        assert table.returncode == 0 and "Traceback" not in table.stderr, (command, table.stderr)
        assert table.stdout.strip(), command
        rows = json.loads(run_auditor("--config", config, command, flag, "json", cwd=tmp_path).stdout)
        assert isinstance(rows, list), command
        if command in ("access", "accounts", "credentials", "entitlements", "coverage"):
            assert rows, f"{command}: nothing collected shows up"
