"""python-gitlab set up for collection: retries and rate limits honoured, every page kept as received.

python-gitlab honours 429 Retry-After (its `obey_rate_limit`, on by default, up to 10 retries) and retries 5xx
with backoff when `retry_transient_errors` is set;
a body that is not JSON is retried here with backoff. Errors are classified by status code only.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from auditor.config.models import GitLabSource
from auditor.connectors.kit.errors import ApiError, AuthError, host_of
from auditor.connectors.kit.page import Page
from auditor.connectors.kit.transport import guarded
from auditor.errors import ConfigError

__all__ = ["GitLabAuthError", "GitLabError", "Page", "Recorder", "call", "connect", "resolve_token"]

if TYPE_CHECKING:
    import gitlab

TOKEN_ENV = "GITLAB_TOKEN"  # noqa: S105 - the variable name, not a secret
T = TypeVar("T")
PARSE_RETRIES = 3


class GitLabError(ApiError):
    """GitLab refused or broke a request we cannot do without; `status` is the HTTP status (0: none)."""

    def __init__(self, status: int, endpoint: str, message: str) -> None:
        super().__init__(status, endpoint, f"HTTP {status}: {message}" if status else message)


class GitLabAuthError(GitLabError, AuthError):
    """401: the token is missing, wrong, expired or revoked."""


class Recorder:
    """A requests response hook keeping every successful GET body that is valid JSON."""

    def __init__(self) -> None:
        self.pages: list[Page] = []
        self.requests = 0
        self._lock = threading.Lock()

    def __call__(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.requests += 1
        if response.request.method == "GET" and response.status_code == 200:
            try:
                json.loads(response.content)
            except ValueError:
                return response  # a broken body is retried, never kept as evidence
            with self._lock:
                self.pages.append(Page(response.url, response.content))
        return response


def resolve_token(source: GitLabSource) -> str:
    """The token from the configured SecretRef, else GITLAB_TOKEN; a ConfigError names where to put it."""
    if source.token is not None:
        return source.token.resolve("gitlab token").get_secret_value()
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise ConfigError(f"no GitLab token: set {TOKEN_ENV} or configure sources.gitlab[].token ({{env: VAR}})")
    return token


def connect(source: GitLabSource, token: str) -> tuple[gitlab.Gitlab, Recorder]:
    """A python-gitlab client on `base_url` (it adds /api/v4) with our page recorder attached."""
    import gitlab as gl_module

    client = gl_module.Gitlab(
        source.base_url.rstrip("/"),
        session=_guarded_session(host_of(source.base_url)),
        private_token=token,
        retry_transient_errors=True,
        per_page=100,
        keep_base_url=True,
        timeout=source.timeout_seconds,
        user_agent="repo-auditor (python-gitlab)",
    )
    recorder = Recorder()
    client.session.hooks["response"].append(recorder)
    return client, recorder


def _guarded_session(host: str) -> Any:
    """A requests session whose failures without an HTTP answer raise TransportError at once (refused,
    DNS, TLS) or after a bounded, announced retry (timeouts), instead of python-gitlab's long retry loop."""
    import requests

    class GuardedSession(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> Any:
            parent = super().request
            return guarded(host, lambda: parent(*args, **kwargs))

    return GuardedSession()


def call(endpoint: str, fn: Callable[[], T]) -> T:
    """Run one request (or one whole listing) and classify failures by status code.

    A body that is not JSON is retried with backoff (the whole listing again); 401 raises
    GitLabAuthError; every other HTTP error raises GitLabError carrying the status for the caller."""
    import gitlab as gl_module
    import requests

    for attempt in range(PARSE_RETRIES + 1):
        try:
            return fn()
        except gl_module.GitlabParsingError:
            if attempt == PARSE_RETRIES:
                raise GitLabError(0, endpoint, "GitLab answered with a body that is not JSON (retried)") from None
        except gl_module.GitlabAuthenticationError as exc:
            raise GitLabAuthError(401, endpoint, _message(exc)) from None
        except gl_module.GitlabError as exc:
            status = int(exc.response_code or 0)
            if status == 401:
                raise GitLabAuthError(401, endpoint, _message(exc)) from None
            raise GitLabError(status, endpoint, _message(exc)) from None
        except requests.RequestException as exc:
            raise GitLabError(0, endpoint, f"connection failed: {type(exc).__name__}") from None
        time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def _message(exc: Any) -> str:
    text = str(getattr(exc, "error_message", "") or exc)
    return text[:300]
