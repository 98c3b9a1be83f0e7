"""Request and response shapes shared by the sandbox GitHub server's REST and GraphQL handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

DOCS = "https://docs.github.com/rest"
PER_PAGE_DEFAULT = 30
PER_PAGE_MAX = 100


class ApiError(Exception):
    """An HTTP error in GitHub's shape: `{"message", "documentation_url", "status"}` plus headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, docs: str = DOCS) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.docs = docs

    def body(self) -> bytes:
        doc = {"message": self.message, "documentation_url": self.docs, "status": str(self.status)}
        return json.dumps(doc).encode()


@dataclass
class Request:
    """One request as the handlers see it: path below the API prefix, single-valued query, caller."""

    method: str
    path: str
    query: dict[str, str]
    base: str  # scheme://host[:port][/api/v3] from the request's own Host header
    caller: str  # "token" | "installation" | "jwt"
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def int_arg(self, name: str, default: int, low: int = 1, high: int | None = None) -> int:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(422, f"Invalid value for parameter '{name}': {raw!r}") from None
        value = max(low, value)
        return min(value, high) if high is not None else value


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(status, json.dumps(data, separators=(",", ":")).encode(), headers or {})


def paged(req: Request, items: list[Any], wrap: str | None = None, extra: dict[str, Any] | None = None) -> Response:
    """GitHub's page/per_page paging with a `Link` header (next, last, first, prev) from the request's host."""
    per_page = req.int_arg("per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX)
    page = req.int_arg("page", 1)
    start = (page - 1) * per_page
    chunk = items[start : start + per_page]
    last = max(1, -(-len(items) // per_page))
    links = []

    def link(n: int, rel: str) -> str:
        query = dict(req.query)
        query["page"] = str(n)
        return f'<{req.base}{req.path}?{urlencode(query)}>; rel="{rel}"'

    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    headers = {"Link": ", ".join(links)} if links else {}
    body: Any = chunk if wrap is None else {"total_count": len(items), wrap: chunk, **(extra or {})}
    return json_response(body, headers)
