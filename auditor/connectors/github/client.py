"""Raw GitHub pages through PyGithub's requester (auth, GithubRetry for 5xx, 403 rate limits and
Retry-After), plus what PyGithub leaves to the caller: a primary limit answered with 429, bodies that
are not JSON, exhausted retries. Every body is kept exactly as received. Errors are classified by
status code, never by message text.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from auditor.connectors.kit.errors import ApiError, AuthError, host_of
from auditor.connectors.kit.page import Page
from auditor.connectors.kit.transport import guarded

__all__ = ["GitHubApi", "GitHubAuthError", "GitHubError", "Page"]

if TYPE_CHECKING:
    from github import Github

_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubError(ApiError):
    """A GitHub call failed; `status` decides whether it is a coverage gap or fatal."""

    def __init__(self, status: int, endpoint: str, message: str, accepted_scopes: str = "") -> None:
        super().__init__(status, endpoint, f"HTTP {status}: {message}")
        self.accepted_scopes = accepted_scopes


class GitHubAuthError(GitHubError, AuthError):
    """401: the token or App credentials were refused. Fatal, exit code 2, nothing written."""


class GitHubApi:
    """One PyGithub client for REST and GraphQL; counts requests and sleeps (never spins) on limits."""

    def __init__(
        self,
        gh: Github,
        *,
        retries: int = 5,
        max_rate_limit_wait: float = 900,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.gh = gh
        self.requester = gh.requester
        self.retries = retries
        self.max_rate_limit_wait = max_rate_limit_wait
        self.backoff = backoff
        self.sleep = sleep
        self.requests = 0

    def get(self, path: str, params: dict[str, Any] | None = None) -> Page:
        return self._call("GET", path, params, None)

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Page]:
        """GET `path`, then every `Link: rel="next"` URL the server hands back."""
        page = self.get(path, {"per_page": 100, **(params or {})})
        yield page
        while True:
            match = _NEXT.search(page.link)
            if match is None:
                return
            page = self.get(match.group(1))
            yield page

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Page:
        """POST a GraphQL query; `errors` in the body become GitHubError (403 for scope/permission)."""
        page = self._call("POST", self.requester.graphql_url, None, {"query": query, "variables": variables or {}})
        doc = page.json()
        errors = doc.get("errors") if isinstance(doc, dict) else None
        if errors:
            kinds = {str(e.get("type", "")) for e in errors}
            message = "; ".join(str(e.get("message", "")) for e in errors)[:500]
            if kinds & {"INSUFFICIENT_SCOPES", "FORBIDDEN"}:
                raise GitHubError(403, "graphql", message, _scopes_in(message))
            if not kinds <= {"NOT_FOUND"}:
                raise GitHubError(400, "graphql", message)
        return page

    def _call(self, verb: str, url: str, params: dict[str, Any] | None, body: Any) -> Page:
        from github import GithubException
        from github.GithubException import BadCredentialsException
        from requests import exceptions as rx

        endpoint = _endpoint(url)
        attempt = 0
        waited = 0.0
        host = host_of(self.requester.base_url if url.startswith("/") else url)

        def send() -> tuple[int, dict[str, Any], str]:
            self.requests += 1
            return self.requester.requestJson(verb, url, parameters=params, input=body)

        while True:
            try:
                # No HTTP answer: refused, DNS and TLS are final at once; timeouts get a bounded retry.
                status, headers, text = guarded(
                    host,
                    send,
                    endpoint=endpoint,
                    backoff=self.backoff,
                    sleep=self.sleep,
                )
            except BadCredentialsException as exc:
                raise GitHubAuthError(401, endpoint, _message(exc.data) or "Bad credentials") from None
            except GithubException as exc:  # GithubRetry raises for refused 403s and waits it would not do
                status, headers, text = exc.status, dict(exc.headers or {}), json.dumps(exc.data)
            except rx.RetryError as exc:  # GithubRetry gave up on 5xx answers
                raise GitHubError(503, endpoint, f"no answer after retries ({type(exc).__name__})") from None
            lower = {k.lower(): v for k, v in (headers or {}).items()}
            wait = _limit_wait(status, lower)
            if wait is not None:
                if waited + wait > self.max_rate_limit_wait:
                    raise GitHubError(status, endpoint, f"rate limited; the reset is {wait:.0f} s away")
                waited += wait
                self.sleep(wait)
                continue
            if status == 401:
                raise GitHubAuthError(401, endpoint, _message(text) or "Bad credentials")
            if status >= 500 or (200 <= status < 300 and not _is_json(text)):
                if attempt >= self.retries:
                    what = "a body that is not JSON" if status < 300 else _message(text) or "server error"
                    raise GitHubError(status if status >= 500 else 502, endpoint, f"{what} after {attempt + 1} tries")
                attempt += 1
                self.sleep(self.backoff * 2**attempt)
                continue
            if status >= 400:
                raise GitHubError(
                    status, endpoint, _message(text) or "refused", lower.get("x-accepted-oauth-scopes", "")
                )
            source = url if not params else f"{url}?{urlencode(params)}"
            return Page(source, text.encode(), lower.get("link", ""))


def _limit_wait(status: int, headers: dict[str, str]) -> float | None:
    """Seconds to wait for a primary (remaining 0, reset) or secondary (Retry-After) limit, else None."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after", "")
    if retry_after.isdigit():
        return float(retry_after)
    if headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset", "")
        if reset.isdigit():
            return max(1.0, int(reset) - time.time() + 1)
        return 60.0
    return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _message(data: Any) -> str:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return str(data)[:200]
    if isinstance(data, dict):
        return str(data.get("message", ""))
    return ""


def _scopes_in(message: str) -> str:
    found = re.search(r"requires one of the following scopes: \[([^\]]*)\]", message)
    return str(found.group(1)).replace("'", "") if found else ""


def _endpoint(url: str) -> str:
    """The path without host or query (cursors and tokens never go into messages or gaps)."""
    return urlsplit(url).path or url
