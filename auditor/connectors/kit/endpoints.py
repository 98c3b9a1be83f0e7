"""Endpoint registries and `optional()`: a refusal (or no answer) on an endpoint the run can do without
becomes a coverage gap naming it and what it needs, never an empty list and never a crash."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from auditor.connectors.gaps import Gap
from auditor.connectors.kit.errors import ApiError, AuthError, TransportError

T = TypeVar("T")
GAP_STATUSES: tuple[int, ...] = (403, 404)


@dataclass(frozen=True)
class Endpoint:
    """One thing a connector asks for: `path` (a template with {placeholders}), the permission, role or
    plan it `needs`, and the `consequence` shown as a coverage gap when it is refused."""

    key: str
    path: str
    needs: str
    consequence: str

    def at(self, **values: object) -> Endpoint:
        """This endpoint with its placeholders filled in (path, needs and consequence)."""
        return Endpoint(
            self.key,
            self.path.format(**values),
            self.needs.format(**values),
            self.consequence.format(**values),
        )


def refusal_gap(endpoint: Endpoint, exc: ApiError, where: str | None = None, needs: str | None = None) -> Gap:
    """The gap for `exc` on `endpoint`: the host for transport failures, the HTTP status otherwise."""
    shown = where if where is not None else endpoint.path
    if isinstance(exc, TransportError):
        return Gap(f"{shown} ({exc.host} unreachable)", f"a network path to {exc.host}: {exc.reason}",
                   endpoint.consequence)  # fmt: skip
    return Gap(shown, needs if needs is not None else endpoint.needs, endpoint.consequence)


def optional(
    endpoint: Endpoint,
    fetch: Callable[[], T],
    gaps: list[Gap],
    *,
    statuses: Iterable[int] = GAP_STATUSES,
    gap: Callable[[Endpoint, ApiError], Gap] = refusal_gap,
) -> T | None:
    """`fetch()`, or None with a gap appended when the platform refuses with one of `statuses` or
    cannot be reached. 401 and every other status propagate (the run cannot be trusted)."""
    try:
        return fetch()
    except ApiError as exc:
        _absorb(endpoint, exc, gaps, statuses, gap)
        return None


async def optional_async(
    endpoint: Endpoint,
    fetch: Callable[[], Awaitable[T]],
    gaps: list[Gap],
    *,
    statuses: Iterable[int] = GAP_STATUSES,
    gap: Callable[[Endpoint, ApiError], Gap] = refusal_gap,
) -> T | None:
    """`optional()` for a coroutine."""
    try:
        return await fetch()
    except ApiError as exc:
        _absorb(endpoint, exc, gaps, statuses, gap)
        return None


def _absorb(
    endpoint: Endpoint,
    exc: ApiError,
    gaps: list[Gap],
    statuses: Iterable[int],
    gap: Callable[[Endpoint, ApiError], Gap],
) -> None:
    """Record `exc` as a gap, or re-raise it when it is a 401 or a status the caller cannot do without."""
    if isinstance(exc, AuthError) or not (isinstance(exc, TransportError) or exc.status in tuple(statuses)):
        raise exc
    gaps.append(gap(endpoint, exc))
