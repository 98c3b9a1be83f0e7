"""The three sandbox API servers take the same tenant argument and the same fault flags (issue #18): each is
started through the CLI with SANDBOX_DIR or --dir, then answers every second request with 429 (Retry-After: 1)
or a 5xx, and paths under --forbid with 403."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from auditor_sandbox.generate import generate_tenant
from tests.helpers import served

TOKEN = "sandbox-token"
# platform -> (a path every server answers, a path to forbid, the auth header)
PATHS = {
    "graph": ("/v1.0/users?$top=1", "/v1.0/groups", ("Authorization", f"Bearer {TOKEN}")),
    "github": ("/orgs/acme-corp", "/orgs/acme-corp/teams", ("Authorization", f"token {TOKEN}")),
    "gitlab": ("/api/v4/version", "/api/v4/groups", ("PRIVATE-TOKEN", TOKEN)),
}


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acme-serve")
    generate_tenant(out, users=40, repos=40, days=14)
    return out


def _status(url: str, header: tuple[str, str]) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=dict([header]))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


@pytest.mark.parametrize("platform", sorted(PATHS))
@pytest.mark.parametrize("dir_flag", [False, True])
def test_same_tenant_argument_and_fault_flags_on_every_server(tenant: Path, platform: str, dir_flag: bool) -> None:
    ok, forbidden, header = PATHS[platform]
    where = ["--dir", str(tenant)] if dir_flag else [str(tenant)]
    with served(platform, *where, "--port", "0", "--token", TOKEN, "--fault-429-every", "2", "--forbid",
                forbidden.split("?")[0], "--quiet") as url:  # fmt: skip
        first, _ = _status(url + ok, header)
        second, headers = _status(url + ok, header)
        third, _ = _status(url + forbidden, header)
    assert (first, second, third) == (200, 429, 403)
    assert headers.get("Retry-After") == "1"
    with served(platform, *where, "--port", "0", "--token", TOKEN, "--fault-5xx-every", "2", "--quiet") as url:
        statuses = [_status(url + ok, header)[0] for _ in range(4)]
    assert statuses[0] == statuses[2] == 200 and all(500 <= s < 600 for s in statuses[1::2])


@pytest.mark.parametrize("platform", sorted(PATHS))
def test_every_server_refuses_a_fault_every_request_and_two_directories(tenant: Path, platform: str) -> None:
    base = [sys.executable, "-m", "auditor", "sandbox", "serve", platform, str(tenant), "--port", "0"]
    for extra in (["--fault-429-every", "1"], ["--fault-5xx-every", "1"], ["--dir", str(tenant.parent)]):
        done = subprocess.run([*base, *extra], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (extra, done.stderr)
        assert "Traceback" not in done.stderr


def test_default_ports_differ() -> None:
    import click

    from auditor.cli.sandbox_serve import serve

    assert isinstance(serve, click.Group)
    ports = {}
    for name, command in serve.commands.items():
        option = next(p for p in command.params if p.name == "port")
        ports[name] = option.default
    assert ports == {"graph": 8765, "github": 8766, "gitlab": 8767}
