"""What the sandbox GitHub server serves: the org inventory with lookup indexes, and the audit log.

The audit log is the sandbox's `github/audit-log.ndjson`, held in time order and filtered the way
GitHub's audit-log API filters (`phrase` with `created:`, `action:`, `actor:`, `repo:`; `include`;
`order`). Filtered views are cached because clients page through one query many times.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor_sandbox.inventory_github import INVENTORY_FILE, grant_paths, role_rank, team_closure

AUDIT_LOG_FILE = "github/audit-log.ndjson"
_HEAD = re.compile(r'^\{"@timestamp":(\d+),"_document_id":"([^"]+)"')


@dataclass(frozen=True, slots=True)
class AuditRow:
    ts: int
    doc_id: str
    action: str
    line: str


class GitHubData:
    """The inventory document plus indexes; thread-safe reads, `append_audit` for new events."""

    def __init__(self, inventory: dict[str, Any], audit_lines: Iterable[str] = ()) -> None:
        self.inv = inventory
        self.org = inventory["org"]
        self.enterprise = inventory["enterprise"]
        self.members = inventory["members"]
        self.member_role = {m["login"]: m["role"] for m in self.members}
        self.outside = inventory["outside_collaborators"]
        self.outside_logins = {m["login"] for m in self.outside}
        self.users = {m["login"]: m["id"] for m in [*self.members, *self.outside]}
        self.teams = {t["slug"]: t for t in inventory["teams"]}
        self.children: dict[str, list[str]] = {}
        for t in inventory["teams"]:
            if t.get("parent"):
                self.children.setdefault(t["parent"], []).append(t["slug"])
        self.team_members = team_closure(inventory["teams"])
        self.repos = {r["full_name"]: r for r in inventory["repos"]}
        self.repo_list = inventory["repos"]
        self._paths: dict[str, dict[str, dict[str, str]]] | None = None
        self._lock = threading.Lock()
        self._audit: list[AuditRow] = []
        self._views: dict[tuple[str, str, str], tuple[list[AuditRow], list[tuple[int, str]]]] = {}
        self.append_audit(audit_lines)

    # ------------------------------------------------------------------ access

    def repo_access(self, full_name: str) -> dict[str, dict[str, str]]:
        """login -> {path: role} for one repo (computed for all repos once, on first use)."""
        with self._lock:
            if self._paths is None:
                by_repo: dict[str, dict[str, dict[str, str]]] = {}
                for (login, repo), paths in grant_paths(self.inv, include_public=True).items():
                    by_repo.setdefault(repo, {})[login] = paths
                self._paths = by_repo
            return self._paths.get(full_name, {})

    @staticmethod
    def best(paths: dict[str, str]) -> str:
        return max(paths.values(), key=role_rank)

    # --------------------------------------------------------------- audit log

    def append_audit(self, lines: Iterable[str]) -> int:
        """Add NDJSON audit events (kept in time order); returns how many were added."""
        rows = [_row(line) for line in lines if line.strip()]
        with self._lock:
            self._audit.extend(rows)
            self._audit.sort(key=lambda r: (r.ts, r.doc_id))
            self._views.clear()
        return len(rows)

    def audit_view(self, phrase: str, include: str, order: str) -> tuple[list[AuditRow], list[tuple[int, str]]]:
        """Rows matching the query in the requested order and their (ts, id) keys (cached per query)."""
        key = (phrase, include, order)
        with self._lock:
            cached = self._views.get(key)
            if cached is not None:
                return cached
            rows = [r for r in self._audit if _included(r, include)]
        rows = _apply_phrase(rows, phrase)
        if order == "desc":
            rows = rows[::-1]
        view = (rows, [(r.ts, r.doc_id) for r in rows])
        with self._lock:
            if len(self._views) > 8:
                self._views.clear()
            self._views[key] = view
        return view


def _row(line: str) -> AuditRow:
    line = line.rstrip("\n")
    m = _HEAD.match(line)
    action_at = line.find('"action":"')
    if m is not None and action_at > 0:
        end = line.index('"', action_at + 10)
        return AuditRow(int(m.group(1)), m.group(2), line[action_at + 10 : end], line)
    doc = json.loads(line)
    ts = doc.get("@timestamp", doc.get("created_at"))
    return AuditRow(int(ts), str(doc.get("_document_id", "")), str(doc.get("action", "")), line)


def _included(row: AuditRow, include: str) -> bool:
    if include == "all":
        return True
    is_git = row.action.startswith("git.")
    return is_git if include == "git" else not is_git


_QUALIFIER = re.compile(r"(-?)(\w+):(\S+)")


def _apply_phrase(rows: list[AuditRow], phrase: str) -> list[AuditRow]:
    for negate, key, value in _QUALIFIER.findall(phrase):
        if key == "created":
            rows = _created(rows, value)
        elif key in ("action", "actor", "repo", "org"):
            needle = f'"{key}":"{value}"'
            if key == "action" and "." not in value:
                needle = f'"action":"{value}.'
            rows = [r for r in rows if (needle in r.line) != bool(negate)]
    return rows


def _created(rows: list[AuditRow], value: str) -> list[AuditRow]:
    """GitHub's `created:` qualifier: >=, >, <=, <, a range `a..b`, or a day."""
    keys = [r.ts for r in rows]
    if ".." in value:
        lo, hi = value.split("..", 1)
        return rows[bisect.bisect_left(keys, _ms(lo)) : bisect.bisect_right(keys, _ms(hi, end=True))]
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            bound = value[len(op) :]
            if op == ">=":
                return rows[bisect.bisect_left(keys, _ms(bound)) :]
            if op == ">":
                return rows[bisect.bisect_right(keys, _ms(bound, end=True)) :]
            if op == "<=":
                return rows[: bisect.bisect_right(keys, _ms(bound, end=True))]
            return rows[: bisect.bisect_left(keys, _ms(bound))]
    return rows[bisect.bisect_left(keys, _ms(value)) : bisect.bisect_right(keys, _ms(value, end=True))]


def _ms(text: str, end: bool = False) -> int:
    """Epoch ms of a date or date-time; a bare date's end is its last millisecond when `end`."""
    text = text.strip()
    if len(text) == 10:
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return int(day.timestamp() * 1000) + (86_399_999 if end else 0)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000) + (999 if end and value.microsecond == 0 else 0)


def encode_cursor(row: AuditRow) -> str:
    return base64.urlsafe_b64encode(f"{row.ts}|{row.doc_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    padded = cursor + "=" * (-len(cursor) % 4)
    ts, doc_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|", 1)
    return int(ts), doc_id


def load_data(sandbox_dir: Path) -> GitHubData:
    """Read `inventory/github.json` and `github/audit-log.ndjson` from a generated sandbox."""
    inv_path = sandbox_dir / INVENTORY_FILE
    if not inv_path.is_file():
        raise FileNotFoundError(
            f"{inv_path}: no GitHub inventory (generate the sandbox with `auditor sandbox generate`)"
        )
    inventory = json.loads(inv_path.read_text(encoding="utf-8"))
    log = sandbox_dir / AUDIT_LOG_FILE
    if not log.is_file():
        return GitHubData(inventory)
    with log.open(encoding="utf-8") as fh:
        return GitHubData(inventory, fh)
