"""Raw Graph pages through msgraph-sdk's request adapter (auth, retries, 429 Retry-After), no models.

Deserialising sign-ins into SDK model objects costs milliseconds each; pages are taken as bytes
and go to the columnar path instead. Errors are classified by status code, never by message.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from auditor.connectors.entra.clouds import audience
from auditor.connectors.kit.errors import ApiError, AuthError, host_of
from auditor.connectors.kit.page import Page
from auditor.connectors.kit.transport import guarded_async

__all__ = ["GraphAuthError", "GraphError", "GraphPages", "Page"]


class GraphError(ApiError):
    """A Graph call failed; `status` decides what the collector does with it."""

    def __init__(self, status: int, code: str, endpoint: str, message: str) -> None:
        super().__init__(status, endpoint, f"HTTP {status} {code}: {message}")
        self.code = code


class GraphAuthError(GraphError, AuthError):
    """401: the credentials were refused. Fatal, exit code 2, nothing written."""


class GraphPages:
    """Fetch Graph (or ARM) URLs as raw bytes through one msgraph-sdk request adapter."""

    def __init__(self, credential: Any, root: str, scope_root: str) -> None:
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from msgraph.graph_request_adapter import GraphRequestAdapter

        host = urlsplit(root).hostname or ""
        # The token goes only to the configured host: a nextLink elsewhere gets no Authorization header.
        provider = AzureIdentityAuthenticationProvider(credential, scopes=[audience(scope_root)], allowed_hosts=[host])
        self.adapter = GraphRequestAdapter(provider)
        from msgraph.graph_service_client import GraphServiceClient

        # The client registers the JSON parse node factory, so error bodies parse as ODataError.
        GraphServiceClient(request_adapter=self.adapter)
        self.root = root.rstrip("/")

    async def get(self, url: str) -> bytes:
        from kiota_abstractions.api_error import APIError
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation

        info = RequestInformation()
        info.http_method = Method.GET
        info.url = url if url.startswith("http") else self.root + url
        info.headers.try_add("Accept", "application/json")
        from azure.core.exceptions import ClientAuthenticationError
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        async def send() -> Any:
            return await self.adapter.send_primitive_async(info, "bytes", {"XXX": ODataError})

        try:
            body = await guarded_async(host_of(info.url), send, endpoint=_endpoint(info.url))
        except APIError as exc:
            status = int(exc.response_status_code or 0)
            code, message = _error_fields(exc)
            cls = GraphAuthError if status == 401 else GraphError
            raise cls(status, code, _endpoint(info.url), message) from None
        except ClientAuthenticationError as exc:  # no token for this audience (never its value)
            raise GraphAuthError(401, "TokenRequestFailed", _endpoint(info.url), type(exc).__name__) from None
        return body if isinstance(body, bytes) else b""

    async def pages(self, url: str) -> AsyncIterator[Page]:
        """Follow @odata.nextLink to the end, yielding each body as received."""
        next_url: str | None = url
        while next_url:
            body = await self.get(next_url)
            doc = json.loads(body) if body else {}
            yield Page(next_url, body, items=len(doc.get("value", [])) if isinstance(doc, dict) else 0)
            link = doc.get("@odata.nextLink") if isinstance(doc, dict) else None
            next_url = link if isinstance(link, str) and link else None


def _endpoint(url: str) -> str:
    """The URL without its query string (where a skiptoken may sit)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _error_fields(exc: Any) -> tuple[str, str]:
    """Graph's error code and message when the adapter kept them; the status code decides regardless."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or type(exc).__name__
    message = getattr(error, "message", None) or getattr(exc, "message", None) or "request failed"
    return str(code), str(message)
