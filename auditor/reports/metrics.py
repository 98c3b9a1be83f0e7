"""The executive key numbers, each with its change since the previous inventory snapshot.

Inventory numbers are counted per snapshot: the latest snapshot of each platform that has grants (or
credentials) against the one before it. A change is shown only when every platform has a previous
snapshot; otherwise it says so. A number whose input was never collected is `None` ("not collected"),
never zero, so an empty table can't read as a clean bill of health.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.finding_status import open_sql

if TYPE_CHECKING:
    from auditor.workspace.store import Workspace

RISKY_SCOPES = ("repo", "admin:org", "delete_repo", "write:org", "api", "write_repository", "sudo", "write", "admin")
STALE_DAYS = 90
LONG_EXPIRY_DAYS = 366
RISKY_CREDENTIAL_RULE = (
    f"write or admin scope ({', '.join(RISKY_SCOPES)}) and no expiry, an expiry over a year out, "
    f"or no use in {STALE_DAYS} days"
)


@dataclass(frozen=True)
class KeyNumber:
    key: str
    label: str
    value: int | None  # None: not collected
    previous: int | None  # None: no earlier snapshot to compare with
    note: str

    @property
    def delta(self) -> int | None:
        return None if self.value is None or self.previous is None else self.value - self.previous

    @property
    def change(self) -> str:
        """ "+3", "-2" (with a minus sign), "no change", or why there is no comparison."""
        if self.value is None:
            return "not collected"
        d = self.delta
        if d is None:
            return "no earlier snapshot"
        return "no change" if d == 0 else (f"+{d:,}" if d > 0 else f"−{-d:,}")


_SNAPSHOTS_SQL = """
WITH s AS (
    SELECT t.platform, t.snapshot_id, coalesce(max(sn.created_at), TIMESTAMP '1970-01-01') AS taken_at
    FROM {table} t LEFT JOIN snapshots sn USING (snapshot_id) WHERE t.snapshot_id IS NOT NULL GROUP BY 1, 2
)
SELECT platform, snapshot_id, taken_at,
       row_number() OVER (PARTITION BY platform ORDER BY taken_at DESC, snapshot_id DESC) AS age
FROM s QUALIFY age <= 2
"""


def _generations(ws: Workspace, table: str) -> tuple[list[str], list[str] | None]:
    """(latest snapshot ids, previous ids or None when some platform has no earlier snapshot)."""
    rows = ws.con.execute(_SNAPSHOTS_SQL.format(table=table)).fetchall()
    latest = [r[1] for r in rows if r[3] == 1]
    previous = [r[1] for r in rows if r[3] == 2]
    platforms = {r[0] for r in rows}
    complete = len({r[0] for r in rows if r[3] == 2}) == len(platforms)
    return latest, (previous if previous and complete else None)


def _one(ws: Workspace, sql: str, params: list[Any]) -> int:
    row = ws.con.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


_ACCESS_SQL = """
SELECT count(DISTINCT (g.platform, g.account)) FILTER (WHERE {cond}),
       count(DISTINCT (g.platform, g.repo))
FROM grants g JOIN repos r ON r.platform = g.platform AND r.full_name = g.repo AND r.restricted
LEFT JOIN accounts a ON a.platform = g.platform AND a.login = g.account
WHERE list_contains(?, g.snapshot_id)
"""

_RISKY_SQL = f"""
SELECT count(*) FROM credentials c LEFT JOIN snapshots s USING (snapshot_id)
WHERE list_contains(?, c.snapshot_id)
  AND list_has_any(coalesce(c.scopes, []), {list(RISKY_SCOPES)!r})
  AND (c.expires_at IS NULL
       OR c.expires_at > coalesce(s.created_at, current_timestamp::TIMESTAMP) + to_days({LONG_EXPIRY_DAYS})
       OR c.last_used_at IS NULL
       OR c.last_used_at < coalesce(s.created_at, current_timestamp::TIMESTAMP) - to_days({STALE_DAYS}))
"""


def _access(ws: Workspace, ids: list[str], cond: str) -> tuple[int, int]:
    row = ws.con.execute(_ACCESS_SQL.format(cond=cond), [ids]).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def key_numbers(ws: Workspace) -> list[KeyNumber]:
    """Restricted repos, accounts with access, privileged accounts, non-developers with access, risky credentials."""
    latest, previous = _generations(ws, "grants")
    out: list[KeyNumber] = []
    if latest:
        snap = "from the latest grants snapshot of each platform"

        def pair(cond: str) -> tuple[int, int | None, int, int | None]:
            now = _access(ws, latest, cond)
            before = _access(ws, previous, cond) if previous else None
            return now[0], before[0] if before else None, now[1], before[1] if before else None

        accounts, accounts_before, repos, repos_before = pair("TRUE")
        privileged, privileged_before, _, _ = pair("a.account_class = 'privileged'")
        nondev, nondev_before, _, _ = pair("a.account_class = 'non_developer'")
        out += [
            KeyNumber("restricted_repos", "restricted repositories", repos, repos_before,
                      f"restricted repositories with at least one grant, {snap}"),
            KeyNumber("accounts_with_access", "accounts with access", accounts, accounts_before,
                      f"accounts with any role on a restricted repository, {snap}"),
            KeyNumber("privileged_accounts", "privileged accounts with access", privileged, privileged_before,
                      "accounts classed privileged (org owners, admins, IdP admin roles) with access"),
            KeyNumber("non_developers_with_access", "non-developers with access", nondev, nondev_before,
                      "accounts classed non_developer (by IdP attributes or no code activity) with access"),
        ]  # fmt: skip
    else:
        restricted = _one(ws, "SELECT count(*) FROM repos WHERE restricted", [])
        has_repos = _one(ws, "SELECT count(*) FROM repos", []) > 0
        privileged = _one(ws, "SELECT count(*) FROM accounts WHERE account_class = 'privileged'", [])
        has_accounts = _one(ws, "SELECT count(*) FROM accounts", []) > 0
        missing = "grants were not collected (auditor collect github|gitlab)"
        out += [
            KeyNumber("restricted_repos", "restricted repositories", restricted if has_repos else None, None,
                      "restricted repositories seen in the logs; " + missing),
            KeyNumber("accounts_with_access", "accounts with access", None, None, missing),
            KeyNumber("privileged_accounts", "privileged accounts", privileged if has_accounts else None, None,
                      "accounts classed privileged (access not collected, so counted whether or not they have any)"),
            KeyNumber("non_developers_with_access", "non-developers with access", None, None, missing),
        ]  # fmt: skip
    cred_latest, cred_previous = _generations(ws, "credentials")
    if cred_latest:
        out.append(
            KeyNumber("risky_credentials", "risky credentials", _one(ws, _RISKY_SQL, [cred_latest]),
                      _one(ws, _RISKY_SQL, [cred_previous]) if cred_previous else None,
                      f"tokens and keys with {RISKY_CREDENTIAL_RULE}")
        )  # fmt: skip
    else:
        out.append(
            KeyNumber("risky_credentials", "risky credentials", None, None,
                      "credentials were not collected (auditor collect github|gitlab)")
        )  # fmt: skip
    return out


def open_an0732_by_severity(ws: Workspace) -> list[tuple[str, int]]:
    """Open AN0732 findings (not suppressed, not marked false positive) per severity, critical first."""
    counts = dict(
        ws.con.execute(
            f"SELECT severity, count(*) FROM findings WHERE analytic LIKE 'AN0732%' AND {open_sql()} GROUP BY 1"
        ).fetchall()
    )
    return [(s, int(counts.get(s, 0))) for s in ("critical", "high", "medium", "low", "info")]
