"""One error root for every connector: the HTTP status (0: no answer at all) and the endpoint asked."""

from __future__ import annotations

from urllib.parse import urlsplit

from auditor.errors import AuditorError


class ApiError(AuditorError):
    """A platform refused or broke a request; `status` (never the message text) decides what happens."""

    def __init__(self, status: int, endpoint: str, message: str) -> None:
        super().__init__(message, endpoint)
        self.status = status
        self.endpoint = endpoint


class AuthError(ApiError):
    """401: the credentials were refused. Fatal (exit 2) before anything is written."""


class TransportError(ApiError):
    """No HTTP answer: DNS, refused connection, TLS, or timeouts after a bounded retry.

    The message is the one users see: "cannot connect to HOST: reason"."""

    def __init__(self, host: str, reason: str, endpoint: str = "") -> None:
        super().__init__(0, endpoint or host, f"cannot connect to {host}: {reason}")
        self.host = host
        self.reason = reason

    def __str__(self) -> str:
        return self.message


def host_of(url: str) -> str:
    """host[:port] of a URL (or the text itself when it has none)."""
    return urlsplit(url).netloc or url
