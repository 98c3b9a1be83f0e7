"""GitLab's two pagination styles, with every link built from the request's own host.

Offset: `page`/`per_page` (default 20, max 100) with `Link` (first, prev, next, last), `X-Page`,
`X-Per-Page`, `X-Total`, `X-Total-Pages`, `X-Next-Page`, `X-Prev-Page`. Keyset (`pagination=keyset`,
`order_by=id`, `sort`): only `Link: rel="next"` with an id or opaque cursor, no totals.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

MAX_PER_PAGE = 100


class ApiError(Exception):
    """An HTTP error in GitLab's shape: status, JSON body (`message` or `error`) and extra headers."""

    def __init__(self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def bad_request(text: str) -> ApiError:
    return ApiError(400, {"error": text})


@dataclass
class Req:
    """What an endpoint needs: the path under /api/v4, options, the caller and the base URL."""

    path: str
    params: dict[str, str]
    base: str  # scheme://host:port from the Host header
    user: dict[str, Any]
    cap: int = MAX_PER_PAGE  # the largest per_page honoured (GitLab: 100; tests lower it to force paging)

    @property
    def admin(self) -> bool:
        return bool(self.user.get("is_admin"))

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.params.get(name)
        return default if value is None else value.lower() in ("true", "1", "yes")

    def url(self, **changes: str | None) -> str:
        params = {**self.params, **changes}
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base}/api/v4{quote(self.path)}?{query}"


def _per_page(req: Req) -> int:
    try:
        value = int(req.params.get("per_page", "20"))
    except ValueError:
        raise bad_request("per_page is invalid") from None
    return max(1, min(value, req.cap))


Page = tuple[list[Any], dict[str, str]]


def paginate(
    req: Req,
    items: Sequence[dict[str, Any]],
    render: Callable[[dict[str, Any]], Any] = lambda x: x,
    keyset: str | None = None,
) -> Page:
    """One page of `items` (already in default order) as offset or, where supported, keyset pagination.

    `keyset` names the cursor parameter GitLab uses there (`id_after` or `cursor`); None: offset only
    (GitLab then ignores `pagination=keyset` and pages by offset)."""
    size = _per_page(req)
    if keyset is not None and req.params.get("pagination") == "keyset":
        return _keyset(req, items, render, keyset, size)
    try:
        page = max(1, int(req.params.get("page", "1")))
    except ValueError:
        raise bad_request("page is invalid") from None
    total = len(items)
    pages = max(1, -(-total // size))
    chunk = items[(page - 1) * size : page * size]
    links = [f'<{req.url(page="1", per_page=str(size))}>; rel="first"']
    if page > 1:
        links.insert(0, f'<{req.url(page=str(page - 1), per_page=str(size))}>; rel="prev"')
    if page < pages:
        links.insert(0, f'<{req.url(page=str(page + 1), per_page=str(size))}>; rel="next"')
    links.append(f'<{req.url(page=str(pages), per_page=str(size))}>; rel="last"')
    headers = {
        "Link": ", ".join(links),
        "X-Page": str(page),
        "X-Per-Page": str(size),
        "X-Total": str(total),
        "X-Total-Pages": str(pages),
        "X-Next-Page": str(page + 1) if page < pages else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    return [render(i) for i in chunk], headers


def _keyset(
    req: Req, items: Sequence[dict[str, Any]], render: Callable[[dict[str, Any]], Any], param: str, size: int
) -> Page:
    if req.params.get("order_by", "id") != "id":
        raise ApiError(
            405,
            {
                "message": "405 Method Not Allowed",
                "error": "Keyset pagination is only supported for order_by=id on this endpoint",
            },
        )
    desc = req.params.get("sort", "asc" if param == "id_after" else "desc") == "desc"
    ordered = sorted(items, key=lambda i: i["id"], reverse=desc)
    after = _cursor(req, param)
    if after is not None:
        ordered = [i for i in ordered if (i["id"] < after if desc else i["id"] > after)]
    chunk = ordered[:size]
    headers: dict[str, str] = {"X-Per-Page": str(size)}
    if len(ordered) > size:
        last = chunk[-1]["id"]
        if param == "cursor":
            token = base64.urlsafe_b64encode(json.dumps({"id": last}).encode()).decode()
            nxt = req.url(cursor=token, per_page=str(size))
        else:
            key = "id_before" if desc else "id_after"
            nxt = req.url(**{key: str(last), "per_page": str(size)})
        headers["Link"] = f'<{nxt}>; rel="next"'
    return [render(i) for i in chunk], headers


def _cursor(req: Req, param: str) -> int | None:
    try:
        if param == "cursor":
            raw = req.params.get("cursor")
            return int(json.loads(base64.urlsafe_b64decode(raw.encode()))["id"]) if raw else None
        raw = req.params.get("id_after") or req.params.get("id_before")
        return int(raw) if raw else None
    except (ValueError, KeyError, TypeError):
        raise bad_request(f"{param} is invalid") from None
