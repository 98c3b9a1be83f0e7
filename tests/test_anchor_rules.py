"""The published rules added as anchors (Datadog PAT clones, Datadog new user agent per token, Elastic
unusual IP on a private repository), each on a small hand-built event set: it fires, and it does not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import duckdb
import pytest

from auditor.detect.anchors.run import ANCHORS, AnchorAlert, run_anchor
from auditor.detect.engine import DuckDBEngine

T0 = datetime(2026, 8, 10, 22, 0)
PAT = "Personal access token"


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE events (platform VARCHAR, ts TIMESTAMP, action VARCHAR, actor VARCHAR, repo VARCHAR,
           repo_visibility VARCHAR, ip VARCHAR, user_agent VARCHAR, credential_type VARCHAR,
           credential_id VARCHAR)"""
    )
    yield DuckDBEngine(con)
    con.close()


def _add(
    engine: DuckDBEngine,
    at: datetime,
    repo: str,
    *,
    actor: str = "dev",
    action: str = "git.clone",
    ip: str = "198.51.100.7",
    ua: str = "git/2.45",
    cred_type: str | None = PAT,
    cred: str | None = "tok-1",
    visibility: str = "private",
) -> None:
    engine.con.execute(
        "INSERT INTO events VALUES ('github', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [at, action, actor, repo, visibility, ip, ua, cred_type, cred],
    )


def _fired(engine: DuckDBEngine, rule: str) -> list[AnchorAlert]:
    assert rule in ANCHORS
    return run_anchor(engine, rule)


def _week_of_normal_work(engine: DuckDBEngine) -> None:
    """Eight days of one developer cloning two repos a day with its PAT, from its usual IP and client."""
    for day in range(8):
        for repo in ("acme/a", "acme/b"):
            _add(engine, T0 - timedelta(days=8 - day, hours=12), repo)


def test_datadog_pat_clones_fires_on_five_repos_per_token_in_an_hour(engine: DuckDBEngine) -> None:
    for i in range(5):
        _add(engine, T0 + timedelta(minutes=10 * i), f"acme/r{i}")
    (alert,) = _fired(engine, "datadog_pat_many_clones")
    assert (alert.actor, alert.first_seen) == ("dev", T0)


def test_datadog_pat_clones_is_quiet_below_five_over_an_hour_or_without_a_pat(engine: DuckDBEngine) -> None:
    for i in range(4):  # four repositories in an hour
        _add(engine, T0 + timedelta(minutes=i), f"acme/r{i}")
    for i in range(5):  # five, but 20 minutes apart: spread over 80 minutes
        _add(engine, T0 + timedelta(days=1, minutes=20 * i), f"acme/s{i}")
    for i in range(5):  # five within minutes, over SSH (no token)
        _add(engine, T0 + timedelta(days=2, minutes=i), f"acme/t{i}", cred_type="SSH key", cred="key-1")
    for i in range(5):  # five within minutes, but split over two tokens
        _add(engine, T0 + timedelta(days=3, minutes=i), f"acme/u{i}", cred="tok-1" if i % 2 else "tok-2")
    assert _fired(engine, "datadog_pat_many_clones") == []


def test_datadog_new_user_agent_fires_after_the_tokens_learning_week(engine: DuckDBEngine) -> None:
    _week_of_normal_work(engine)
    _add(engine, T0, "acme/a", ua="python-requests/2.32")
    (alert,) = _fired(engine, "datadog_token_new_user_agent")
    assert alert.first_seen == T0 and alert.actor == "dev"


def test_datadog_new_user_agent_is_quiet_while_learning_and_for_known_agents(engine: DuckDBEngine) -> None:
    _add(engine, T0 - timedelta(days=3), "acme/a")
    _add(engine, T0, "acme/a", ua="python-requests/2.32")  # new, but the token is 3 days old: learning
    _add(engine, T0 + timedelta(days=10), "acme/a", ua="python-requests/2.32")  # later: no longer new
    _add(engine, T0 + timedelta(days=10), "acme/b", ua="git/2.45")
    assert _fired(engine, "datadog_token_new_user_agent") == []


def test_elastic_unusual_ip_fires_on_a_new_ip_and_private_repo_pair(engine: DuckDBEngine) -> None:
    _week_of_normal_work(engine)
    _add(engine, T0, "acme/a", ip="203.0.113.99")
    (alert,) = _fired(engine, "elastic_private_repo_unusual_ip")
    assert alert.first_seen == T0


def test_elastic_unusual_ip_is_quiet_on_known_pairs_public_repos_and_the_first_week(engine: DuckDBEngine) -> None:
    _week_of_normal_work(engine)
    _add(engine, T0, "acme/a")  # the usual IP on a repo it pulled yesterday
    _add(engine, T0, "acme/pub", ip="203.0.113.99", visibility="public")
    _add(engine, T0, "acme/a", ip="203.0.113.99", action="repo.download_zip")  # not a git clone or push
    assert _fired(engine, "elastic_private_repo_unusual_ip") == []
    engine.con.execute("DELETE FROM events WHERE ts >= ?", [T0])
    first_day = engine.query("SELECT min(ts) AS t FROM events")[0]["t"]
    _add(engine, first_day + timedelta(days=2), "acme/a", ip="203.0.113.99")  # within the first 7 days
    assert _fired(engine, "elastic_private_repo_unusual_ip") == []


def test_elastic_unusual_ip_forgets_pairs_after_seven_days(engine: DuckDBEngine) -> None:
    _week_of_normal_work(engine)
    _add(engine, T0, "acme/a", ip="203.0.113.99")
    _add(engine, T0 + timedelta(days=9), "acme/a", ip="203.0.113.99")
    assert len(_fired(engine, "elastic_private_repo_unusual_ip")) == 2
