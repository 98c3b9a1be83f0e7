"""Which credential each Entra configuration builds; secrets are resolved, never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.config.loader import parse_config
from auditor.config.models import EntraSource, SecretRef
from auditor.connectors.entra.auth import AsyncStaticTokenCredential, build_credential
from auditor.errors import ConfigError


def test_bearer_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_GRAPH_TOKEN", "tok-123")
    cred = build_credential(EntraSource(tenant_id="t"))
    assert isinstance(cred, AsyncStaticTokenCredential)
    assert "tok-123" not in repr(cred)


def test_client_secret_from_an_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.identity.aio import ClientSecretCredential

    monkeypatch.delenv("AUDITOR_GRAPH_TOKEN", raising=False)
    monkeypatch.setenv("ENTRA_SECRET", "s3cret")
    source = EntraSource(tenant_id="t", client_id="c", client_secret=SecretRef(env="ENTRA_SECRET"))
    assert isinstance(build_credential(source), ClientSecretCredential)


def test_certificate_file_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_GRAPH_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="certificate_file not found"):
        build_credential(EntraSource(tenant_id="t", client_id="c", certificate_file=tmp_path / "missing.pem"))


def test_no_credentials_is_a_config_error_naming_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_GRAPH_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="AUDITOR_GRAPH_TOKEN"):
        build_credential(EntraSource(tenant_id="t"))


def test_config_rejects_two_auth_methods_and_secret_without_client_id() -> None:
    with pytest.raises(ConfigError, match="not both"):
        parse_config(
            "sources:\n  entra:\n    - {tenant_id: t, client_id: c, client_secret: {env: X}, certificate_file: /c}\n",
            "c.yaml",
        )
    with pytest.raises(ConfigError, match="client_id is required"):
        parse_config("sources:\n  entra:\n    - {tenant_id: t, client_secret: {env: X}}\n", "c.yaml")
