"""Failure paths of the live connectors, over real sockets on 127.0.0.1: a closed port (refused), a
listener that never answers (timeout), an unreachable optional host (a gap), and Azure Resource Manager
in the Graph's cloud with its own token."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from auditor.config.models import EntraSource
from auditor.connectors.entra.auth import AsyncStaticTokenCredential, EntraCredentials
from auditor.connectors.entra.clouds import arm_root
from auditor.connectors.entra.collect import ARM_ROOT_UNKNOWN, collect
from auditor.connectors.kit.endpoints import Endpoint, optional
from auditor.connectors.kit.errors import TransportError
from auditor.connectors.kit.transport import classify, guarded
from auditor_sandbox.graph.server import GraphServer, serve_graph
from tests.helpers import run_auditor, smallest_tenant

GRAPH_TOKEN = "graph-only-token-1a2b"  # static test credentials for the loopback sandboxes
ARM_TOKEN = "arm-only-token-3c4d"
SINCE = datetime(2026, 9, 1)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return smallest_tenant(tmp_path_factory, "acme-fail")


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connecting is refused at once."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def silent() -> Iterator[str]:
    """A listener that accepts connections (kernel backlog) and never answers: requests time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


# ------------------------------------------------------------------------------------------- kit


def test_refused_connection_is_final_at_once(closed_port: int) -> None:
    import requests

    seen: list[str] = []
    start = time.monotonic()
    with pytest.raises(TransportError) as err:
        guarded(f"127.0.0.1:{closed_port}", lambda: requests.get(f"http://127.0.0.1:{closed_port}/", timeout=5),
                report=seen.append)  # fmt: skip
    assert str(err.value) == f"cannot connect to 127.0.0.1:{closed_port}: connection refused"
    assert err.value.status == 0 and seen == [] and time.monotonic() - start < 5


def test_timeouts_are_retried_a_bounded_number_of_times_with_progress(silent: str) -> None:
    import requests

    seen: list[str] = []
    calls: list[int] = []

    def fetch() -> Any:
        calls.append(1)
        return requests.get(f"http://{silent}/", timeout=0.3)

    with pytest.raises(TransportError) as err:
        guarded(silent, fetch, sleep=lambda s: None, report=seen.append)
    assert len(calls) == 3 and "timed out after 3 attempts" in str(err.value)
    assert seen == [f"{silent}: timed out; retrying (1/2)…", f"{silent}: timed out; retrying (2/2)…"]


def test_dns_and_tls_failures_are_named_and_not_retried() -> None:
    try:
        raise OSError("wrapped") from socket.gaierror(-2, "Name or service not known")
    except OSError as exc:
        assert classify(exc) == ("host name not found (DNS)", False)
    import ssl

    reason, retriable = classify(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    assert reason.startswith("TLS failed") and not retriable


def test_optional_endpoint_on_an_unreachable_host_is_a_gap_naming_it(closed_port: int) -> None:
    import requests

    host = f"127.0.0.1:{closed_port}"
    gaps: list[Any] = []
    endpoint = Endpoint("streams", "/audit-log/streams", "admin:enterprise", "streaming state unknown")
    got = optional(endpoint, lambda: guarded(host, lambda: requests.get(f"http://{host}/", timeout=5)), gaps)
    assert got is None and len(gaps) == 1
    assert host in gaps[0].source and "connection refused" in gaps[0].needs
    assert gaps[0].consequence == "streaming state unknown"


# ----------------------------------------------------------------------------- required endpoints


@pytest.mark.parametrize(
    ("platform", "args"),
    [
        ("github", ["--org", "acme-corp", "--base-url"]),
        ("gitlab", ["--group", "acme", "--base-url"]),
        ("entra", ["--tenant", "acme", "--graph-url"]),
    ],
)
def test_unreachable_required_host_exits_2_fast_with_the_reason(
    tmp_path: Path, closed_port: int, platform: str, args: list[str]
) -> None:
    env = {"GITHUB_TOKEN": "t-gh", "GITLAB_TOKEN": "t-gl", "AUDITOR_GRAPH_TOKEN": "t-graph"}
    start = time.monotonic()
    done = run_auditor("collect", platform, *args, f"http://127.0.0.1:{closed_port}", cwd=tmp_path, **env)
    elapsed = time.monotonic() - start
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot connect to 127.0.0.1:{closed_port}: connection refused" in done.stderr
    assert "Traceback" not in done.stderr and "503" not in done.stderr
    assert elapsed < 30  # was 123 s of silent retries, then "HTTP 503"


@pytest.fixture
def plain_http() -> Iterator[int]:
    """A plain-HTTP server: speaking TLS to it fails the handshake."""
    import http.server
    import threading

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("platform", "args"),
    [("github", ["--org", "acme-corp", "--base-url"]), ("entra", ["--tenant", "acme", "--graph-url"])],
)
def test_a_tls_failure_exits_2_naming_it(tmp_path: Path, plain_http: int, platform: str, args: list[str]) -> None:
    env = {"GITHUB_TOKEN": "t-gh", "AUDITOR_GRAPH_TOKEN": "t-graph"}
    start = time.monotonic()
    done = run_auditor("collect", platform, *args, f"https://127.0.0.1:{plain_http}", cwd=tmp_path, **env)
    assert time.monotonic() - start < 12  # not retried: a handshake that failed fails again
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot connect to 127.0.0.1:{plain_http}: TLS failed" in done.stderr
    assert "Traceback" not in done.stderr and "retrying" not in done.stderr


@pytest.mark.parametrize(
    ("platform", "scope", "timeout"), [("gitlab", "instance: true", "0.5"), ("github", "org: acme-corp", "1")]
)
def test_a_host_that_never_answers_is_retried_briefly_then_exits_2(
    tmp_path: Path, silent: str, platform: str, scope: str, timeout: str
) -> None:
    config = tmp_path / "auditor.yaml"
    config.write_text(
        f"sources:\n  {platform}:\n    - base_url: http://{silent}\n      {scope}\n      timeout_seconds: {timeout}\n",
        encoding="utf-8",
    )
    done = run_auditor(
        "--config", str(config), "collect", platform, cwd=tmp_path, GITLAB_TOKEN="t-gl", GITHUB_TOKEN="t-gh"
    )
    assert done.returncode == 2, done.stderr
    assert f"cannot connect to {silent}: timed out after 3 attempts" in done.stderr
    assert "retrying (1/2)" in done.stderr and "retrying (2/2)" in done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------------------------ Entra / ARM


def test_arm_follows_the_graph_cloud() -> None:
    assert arm_root("https://graph.microsoft.com", None) == "https://management.azure.com"
    assert arm_root("https://graph.microsoft.us", None) == "https://management.usgovcloudapi.net"
    assert arm_root("https://dod-graph.microsoft.us/", None) == "https://management.usgovcloudapi.net"
    assert arm_root("https://microsoftgraph.chinacloudapi.cn", None) == "https://management.chinacloudapi.cn"
    assert arm_root("https://graph.contoso.internal", None) is None  # custom Graph: ARM is not guessed
    assert arm_root("https://graph.contoso.internal", "https://arm.contoso.internal/") == "https://arm.contoso.internal"


class ScopedCredential:
    """An azure-identity-shaped credential: one token per audience, recording what was asked."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        self.scopes: list[str] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.tokens[scopes[0]], int(time.time()) + 3600)

    async def close(self) -> None:
        return None


def _arm_requests(server: GraphServer) -> list[str]:
    return [target for _, target, _ in server.requests if target.lower().startswith("/providers")]


def test_arm_gets_its_own_token_for_its_own_audience(tenant: Path) -> None:
    with serve_graph(tenant, token=GRAPH_TOKEN) as graph, serve_graph(tenant, token=ARM_TOKEN) as arm:
        credential = ScopedCredential({f"{graph.url}/.default": GRAPH_TOKEN, f"{arm.url}/.default": ARM_TOKEN})
        source = EntraSource(tenant_id="acme", graph_url=graph.url, arm_url=arm.url)
        collected = collect(source, credential, SINCE)
        assert set(credential.scopes) == {f"{graph.url}/.default", f"{arm.url}/.default"}
        assert collected.diagnostic is not None and json.loads(collected.diagnostic.body)["value"]
        assert not any("diagnostic" in g.source.lower() or "providers" in g.source for g in collected.gaps)
        assert [s for s in arm.requests if s[2] == 401] == [] and _arm_requests(arm)
        assert _arm_requests(graph) == []  # nothing for ARM went to the Graph host


def test_a_graph_bearer_token_is_never_sent_to_arm(tenant: Path) -> None:
    with serve_graph(tenant, token=GRAPH_TOKEN) as graph, serve_graph(tenant, token=GRAPH_TOKEN) as arm:
        source = EntraSource(tenant_id="acme", graph_url=graph.url, arm_url=arm.url)
        collected = collect(source, AsyncStaticTokenCredential(GRAPH_TOKEN), SINCE)
        assert arm.requests == []
    gap = next(g for g in collected.gaps if g.source.startswith(arm.url))
    assert "AUDITOR_ARM_TOKEN" in gap.needs and collected.count("users") > 0
    with serve_graph(tenant, token=GRAPH_TOKEN) as graph, serve_graph(tenant, token=ARM_TOKEN) as arm:
        source = EntraSource(tenant_id="acme", graph_url=graph.url, arm_url=arm.url)
        pair = EntraCredentials(AsyncStaticTokenCredential(GRAPH_TOKEN), AsyncStaticTokenCredential(ARM_TOKEN))
        assert collect(source, pair, SINCE).diagnostic is not None


def test_custom_graph_url_without_arm_url_asks_no_arm_and_records_a_gap(tenant: Path) -> None:
    with serve_graph(tenant, token=GRAPH_TOKEN) as graph:
        source = EntraSource(tenant_id="acme", graph_url=graph.url)
        credential = ScopedCredential({f"{graph.url}/.default": GRAPH_TOKEN})
        collected = collect(source, credential, SINCE)  # the test socket guard would refuse a public host
        assert _arm_requests(graph) == [] and set(credential.scopes) == {f"{graph.url}/.default"}
    assert ARM_ROOT_UNKNOWN in collected.gaps and collected.count("users") > 0


def test_unreachable_arm_is_a_gap_and_the_collection_is_kept(tmp_path: Path, tenant: Path, closed_port: int) -> None:
    with serve_graph(tenant, token=GRAPH_TOKEN) as graph:
        done = run_auditor(
            "collect", "entra", "--graph-url", graph.url, "--arm-url", f"http://127.0.0.1:{closed_port}",
            "--tenant", "acme", "--since", "2026-09-01T00:00:00Z", "--json",
            cwd=tmp_path, AUDITOR_GRAPH_TOKEN=GRAPH_TOKEN, AUDITOR_ARM_TOKEN=ARM_TOKEN,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["counts"]["users"] > 0
    gap = next(g for g in summary["coverage_gaps"] if f"127.0.0.1:{closed_port}" in g["source"])
    assert "unreachable" in gap["source"] and "connection refused" in gap["needs"]
    assert gap["consequence"] == "sign-in log export unknown"
    assert GRAPH_TOKEN not in done.stdout + done.stderr and ARM_TOKEN not in done.stdout + done.stderr
