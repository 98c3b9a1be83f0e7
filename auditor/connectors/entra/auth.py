"""Credentials for Graph: client secret, certificate, or a pre-acquired bearer token.

Secrets are read when the run starts and live only inside azure-identity's credential objects;
they are never logged, stored or printed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import AccessToken

from auditor.config.models import EntraSource
from auditor.errors import ConfigError

TOKEN_ENV = "AUDITOR_GRAPH_TOKEN"  # noqa: S105 - the variable name, not a secret
ARM_TOKEN_ENV = "AUDITOR_ARM_TOKEN"  # noqa: S105 - the variable name, not a secret


@dataclass(frozen=True)
class EntraCredentials:
    """One credential per API: `graph` for Microsoft Graph, `arm` for Azure Resource Manager (None: no
    credential for ARM's audience, so ARM is not asked). An azure-identity credential serves both, each
    token requested for its own audience; a bearer token serves only the API it was issued for."""

    graph: Any
    arm: Any | None

    @classmethod
    def of(cls, credential: Any) -> EntraCredentials:
        """`credential` as a pair: a bearer token is Graph's only; anything else asks per audience."""
        if isinstance(credential, EntraCredentials):
            return credential
        return cls(credential, None if isinstance(credential, StaticTokenCredential) else credential)


class StaticTokenCredential:
    """A bearer token the user already holds (AUDITOR_GRAPH_TOKEN); azure-identity's get_token shape."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"


class AsyncStaticTokenCredential(StaticTokenCredential):
    """The async face msgraph-sdk's auth provider calls."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        return AccessToken(self._token, int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> AsyncStaticTokenCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


def build_credential(source: EntraSource) -> Any:
    """The async credential for this source; a ConfigError names what is missing (never a value)."""
    token = os.environ.get(TOKEN_ENV)
    kwargs: dict[str, Any] = {}
    if source.authority_host:
        kwargs["authority"] = source.authority_host
    if source.client_secret is not None:
        from azure.identity.aio import ClientSecretCredential

        assert source.client_id is not None
        secret = source.client_secret.resolve("entra client_secret").get_secret_value()
        return ClientSecretCredential(source.tenant_id, source.client_id, secret, **kwargs)
    if source.certificate_file is not None:
        from azure.identity.aio import CertificateCredential

        assert source.client_id is not None
        if not source.certificate_file.is_file():
            raise ConfigError(f"entra certificate_file not found: {source.certificate_file}")
        return CertificateCredential(source.tenant_id, source.client_id, str(source.certificate_file), **kwargs)
    if token:
        return AsyncStaticTokenCredential(token)
    raise ConfigError(
        f"no Entra credentials: set {TOKEN_ENV}, or configure client_id with client_secret "
        "({env: VAR} or {file: PATH}) or certificate_file"
    )


def build_credentials(source: EntraSource) -> EntraCredentials:
    """Graph's credential (see `build_credential`) and ARM's: the same azure-identity credential (its own
    audience per request), or a bearer token from AUDITOR_ARM_TOKEN, never the Graph token."""
    graph = build_credential(source)
    if not isinstance(graph, StaticTokenCredential):
        return EntraCredentials(graph, graph)
    arm_token = os.environ.get(ARM_TOKEN_ENV)
    return EntraCredentials(graph, AsyncStaticTokenCredential(arm_token) if arm_token else None)
