"""Transport failures (no HTTP answer) classified by exception type, never by message text.

Refused connections, unknown hosts and TLS failures are final at once: retrying them for minutes only
hides the cause. Timeouts get a bounded retry, each announced on stderr."""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from auditor.connectors.kit.errors import TransportError

T = TypeVar("T")
TIMEOUT_RETRIES = 2  # a timed-out request is tried at most 1 + TIMEOUT_RETRIES times
TIMEOUT_BACKOFF = 1.0


def chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps: __cause__/__context__, and the `reason`/first arg that urllib3 and
    requests use to carry the underlying socket error."""
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in out):
        out.append(current)
        nxt = current.__cause__ or current.__context__
        reason = getattr(current, "reason", None)
        if nxt is None and isinstance(reason, BaseException):
            nxt = reason
        if nxt is None and current.args and isinstance(current.args[0], BaseException):
            nxt = current.args[0]
        current = nxt
    return out


def _named(exc: BaseException, *names: str) -> bool:
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def is_transport(exc: BaseException) -> bool:
    """True for failures that mean no HTTP answer came back (requests, urllib3, httpx, sockets); False when
    retries on HTTP answers ran out (requests' RetryError is an OSError too, but a server did answer)."""
    items = chain(exc)
    if any(_named(item, "RetryError", "ResponseError") for item in items):
        return False
    for item in items:
        if isinstance(item, OSError | TimeoutError):
            return True
        module = type(item).__module__.split(".")[0]
        if module in ("requests", "urllib3", "httpx", "httpcore") and _named(
            item, "ConnectionError", "Timeout", "TimeoutException", "ConnectError", "TimeoutError",
            "NetworkError", "ProtocolError", "ChunkedEncodingError", "NewConnectionError",
            "RemoteProtocolError", "ReadError", "WriteError",
        ):  # fmt: skip
            return True
    return False


def classify(exc: BaseException) -> tuple[str, bool]:
    """(reason for the user, whether a retry may help): only timeouts are worth retrying."""
    items = chain(exc)
    for item in items:
        if isinstance(item, ssl.SSLError):  # the socket's own error names the cause (CERTIFICATE_VERIFY_FAILED)
            return f"TLS failed ({getattr(item, 'reason', None) or type(item).__name__})", False
    for item in items:
        if isinstance(item, ConnectionRefusedError):
            return "connection refused", False
        if isinstance(item, socket.gaierror) or _named(item, "NameResolutionError"):
            return "host name not found (DNS)", False
        if _named(item, "SSLError"):
            return "TLS failed", False
    for item in items:
        if isinstance(item, TimeoutError | socket.timeout) or _named(
            item, "Timeout", "TimeoutException", "TimeoutError"
        ):
            return "timed out", True
        if isinstance(item, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
            return "connection reset", True
    return f"connection failed ({type(items[-1]).__name__})", False


def progress(message: str) -> None:
    """One line of progress on stderr (never a token or URL query)."""
    print(message, file=sys.stderr, flush=True)


class Attempts:
    """One request's transport failures: each is final (TransportError) or gives the delay before a retry."""

    def __init__(self, host: str, endpoint: str, retries: int, backoff: float, report: Callable[[str], None]) -> None:
        self.host = host
        self.endpoint = endpoint
        self.retries = retries
        self.backoff = backoff
        self.report = report
        self.done = 0

    def failed(self, exc: Exception) -> float:
        """Seconds to wait before trying again; re-raises what is not a transport failure."""
        if isinstance(exc, TransportError) or not is_transport(exc):
            raise exc
        reason, retriable = classify(exc)
        if not retriable or self.done >= self.retries:
            tries = f" after {self.done + 1} attempts" if self.done else ""
            raise TransportError(self.host, reason + tries, self.endpoint) from None
        self.done += 1
        self.report(f"{self.host}: {reason}; retrying ({self.done}/{self.retries})…")
        return self.backoff * self.done


def guarded(
    host: str,
    fn: Callable[[], T],
    *,
    endpoint: str = "",
    retries: int = TIMEOUT_RETRIES,
    backoff: float = TIMEOUT_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = progress,
) -> T:
    """`fn()`, turning a transport failure into TransportError; timeouts are retried `retries` times."""
    attempts = Attempts(host, endpoint, retries, backoff, report)
    while True:
        try:
            return fn()
        except Exception as exc:
            sleep(attempts.failed(exc))


async def guarded_async(
    host: str,
    fn: Callable[[], Awaitable[T]],
    *,
    endpoint: str = "",
    retries: int = TIMEOUT_RETRIES,
    backoff: float = TIMEOUT_BACKOFF,
    report: Callable[[str], None] = progress,
) -> T:
    """`guarded()` for a coroutine."""
    attempts = Attempts(host, endpoint, retries, backoff, report)
    while True:
        try:
            return await fn()
        except Exception as exc:
            await asyncio.sleep(attempts.failed(exc))
