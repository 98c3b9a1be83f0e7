"""A small builder that writes inventory rows into a workspace exactly as the connectors do (the vocabulary
in the schema v6 notes), so checks and review campaigns can be tested on planted conditions."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auditor.workspace.store import Workspace

NOW = datetime(2026, 11, 20, 12, 0, 0)


@dataclass
class Inventory:
    """Rows go into the given workspace; `snapshot()` opens a collect snapshot the other rows attach to."""

    ws: Workspace
    now: datetime = NOW
    snapshots: dict[str, str] = field(default_factory=dict)
    _events: int = 0

    def snapshot(self, platform: str, source: str = "acme", at: datetime | None = None) -> str:
        sid = f"collect-{platform}-{uuid.uuid4().hex[:8]}"
        self.ws.con.execute(
            "INSERT INTO snapshots VALUES (?, 'collect', ?, ?, ?, 'test')", [sid, platform, source, at or self.now]
        )
        self.snapshots[platform] = sid
        return sid

    def _snap(self, platform: str) -> str:
        return self.snapshots.get(platform) or self.snapshot(platform)

    def repo(self, platform: str, name: str, visibility: str = "private", topics: list[str] | None = None) -> None:
        self.ws.con.execute(
            "INSERT OR REPLACE INTO repos (platform, full_name, visibility, topics) VALUES (?, ?, ?, ?)",
            [platform, name, visibility, topics or []],
        )

    def identity(
        self,
        identity_id: str,
        upn: str,
        enabled: bool | None = True,
        department: str | None = "Engineering",
        employee_type: str | None = "Employee",
        user_type: str = "Member",
        job_title: str | None = None,
    ) -> None:
        self.ws.con.execute(
            "INSERT OR REPLACE INTO identities (identity_id, upn, mail, display_name, department, job_title, "
            "employee_type, user_type, account_enabled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [identity_id, upn, upn, upn.split("@")[0], department, job_title, employee_type, user_type, enabled],
        )

    def account(
        self, platform: str, login: str, identity_id: str | None = None, is_bot: bool = False, upn: str | None = None
    ) -> None:
        self.ws.con.execute(
            "INSERT OR REPLACE INTO accounts (platform, login, is_bot) VALUES (?, ?, ?)", [platform, login, is_bot]
        )
        if identity_id is not None:
            self.ws.con.execute(
                "INSERT OR REPLACE INTO account_links (platform, login, identity_id, upn, linked_by, confidence) "
                "VALUES (?, ?, ?, ?, 'saml_external_identity', 0.95)",
                [platform, login, identity_id, upn],
            )

    def person(self, platform: str, login: str, **identity: Any) -> None:
        """An employee account linked to an identity of the same name."""
        upn = f"{login}@acme.example"
        self.identity(f"id-{login}", upn, **identity)
        self.account(platform, login, f"id-{login}", upn=upn)

    def grant(self, platform: str, account: str, repo: str, role: str, via: list[str] | None = None) -> None:
        self.ws.con.execute(
            "INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?)",
            [self._snap(platform), platform, account, repo, role, via or ["direct"]],
        )

    def membership(
        self, platform: str, kind: str, scope: str, account: str, role: str, via: str | None = "direct"
    ) -> None:
        self.ws.con.execute(
            "INSERT INTO memberships VALUES (?, ?, ?, ?, ?, ?, ?, 'test')",
            [self._snap(platform), platform, kind, scope, account, role, via],
        )

    def credential(
        self,
        platform: str,
        kind: str,
        credential_id: str,
        owner: str | None,
        scopes: list[str] | None,
        created_days_ago: int | None = 30,
        used_days_ago: int | None = 1,
        expires_in_days: int | None = 90,
        name: str | None = None,
    ) -> None:
        def ago(days: int | None) -> datetime | None:
            return None if days is None else self.now - timedelta(days=days)

        self.ws.con.execute(
            "INSERT INTO credentials (snapshot_id, platform, kind, credential_id, owner, scopes, created_at, "
            "last_used_at, expires_at, source, name, hint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'test', ?, 'abcd1234')",
            [
                self._snap(platform), platform, kind, credential_id, owner, scopes, ago(created_days_ago),
                ago(used_days_ago), None if expires_in_days is None else self.now + timedelta(days=expires_in_days),
                name,
            ],
        )  # fmt: skip

    def app(
        self, platform: str, kind: str, app_id: str, permissions: Any, reach: str | None, name: str | None = None
    ) -> None:
        text = permissions if isinstance(permissions, str) or permissions is None else json.dumps(permissions)
        self.ws.con.execute(
            "INSERT INTO apps (snapshot_id, platform, app_id, name, kind, permissions, reach, first_seen, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'test')",
            [self._snap(platform), platform, app_id, name, kind, text, reach, self.now],
        )

    def setting(self, platform: str, scope: str, key: str, value: str) -> None:
        self.ws.con.execute(
            "INSERT INTO platform_settings VALUES (?, ?, ?, ?, ?, 'test')",
            [self._snap(platform), platform, scope, key, value],
        )

    def log_source(self, platform: str, source: str, retention_days: int | None, streaming: str | None = None) -> None:
        self.ws.con.execute(
            "INSERT OR REPLACE INTO log_sources VALUES (?, ?, ?, ?, NULL, NULL, 0)",
            [platform, source, retention_days, streaming],
        )

    def gap(self, platform: str, source: str, needs: str, consequence: str = "hidden", snapshot: bool = True) -> None:
        self.ws.con.execute(
            "INSERT INTO coverage_gaps VALUES (?, ?, ?, ?, ?, ?)",
            [platform, source, needs, consequence, self._snap(platform) if snapshot else None, self.now],
        )

    def event(
        self, platform: str, actor: str, days_ago: float, action: str = "git.clone", repo: str | None = None
    ) -> None:
        self._events += 1
        self.ws.con.execute(
            "INSERT INTO events (event_uid, platform, source_format, ts, action, category, actor, repo, "
            "evidence_sha256, line_no, import_id) VALUES (?, ?, 'test', ?, ?, 'download', ?, ?, 'sha', ?, 'imp')",
            [f"e{self._events}", platform, self.now - timedelta(days=days_ago), action, actor, repo, self._events],
        )
