"""Vendor-format record builders shared helpers, and the GitHub Enterprise audit-log stream.

Builders return complete NDJSON lines (GitLab audit lines get their `id` from the sink).
GitHub records are assembled from pre-encoded fragments because they are the high-volume stream.
Entra sign-ins are in `records_entra.py`, GitLab audit events and api_json.log in `records_gitlab.py`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import random

from auditor_sandbox.tenant import (
    BUSINESS,
    GITHUB_ACCESS_TYPES,
    GITHUB_ORG,
    Credential,
    Repo,
    Tenant,
)

_URLSAFE = bytes.maketrans(b"+/", b"-_")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def frag(**fields: object) -> str:
    """Compact JSON members without braces, for splicing into a record."""
    return json.dumps(fields, separators=(",", ":"))[1:-1]


@functools.lru_cache(maxsize=65536)
def q(text: str) -> str:
    """A JSON string literal (cached: names and paths repeat across many records)."""
    return json.dumps(text)


def fast_uuid(rng: random.Random) -> str:
    """A version-4 UUID string from `rng`, formatted directly (uuid.UUID is several times slower)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def ssh_fingerprint(rng: random.Random) -> str:
    return "SHA256:" + base64.b64encode(rng.getrandbits(256).to_bytes(32, "big")).decode().rstrip("=")


def ulid(rng: random.Random) -> str:
    bits = rng.getrandbits(130)
    return "".join(_CROCKFORD[(bits >> (5 * i)) & 31] for i in range(26))


@functools.lru_cache(maxsize=65536)
def _token_members(cred: Credential) -> str:
    access = GITHUB_ACCESS_TYPES.get(cred.kind)
    if access is None:
        return ""
    fields: dict[str, object] = {
        "hashed_token": cred.hashed_token,
        "programmatic_access_type": access,
        "token_id": cred.token_id,
    }
    if cred.scopes:
        fields["token_scopes"] = cred.scopes
    if cred.oauth_application_id is not None:
        fields["oauth_application_id"] = cred.oauth_application_id
    return "," + frag(**fields)


class GitHubRecords:
    """Pre-encoded fragments of the GitHub Enterprise audit-log stream for one tenant.

    Every record starts with `@timestamp` and a 22-character base64url `_document_id`: 132 random
    bits from a seeded stream (GitHub's own ids are random too; a collision is as likely as
    guessing a key), drawn in the generator's deterministic build order.
    """

    def __init__(self, tenant: Tenant) -> None:
        self._id_rng = random.Random(f"acme:{tenant.seed}:document-ids")
        self._ids: list[str] = []
        self.org = frag(business=BUSINESS, business_id=tenant.business_id, org=GITHUB_ORG, org_id=tenant.org_id)
        self._actors: dict[tuple[object, ...], str] = {}
        self.repo_git: dict[int, str] = {}
        self.repo_zip: dict[int, str] = {}
        for r in tenant.repos:
            if r.platform != "github":
                continue
            self.repo_git[r.index] = frag(
                repo=r.full_name,
                repo_id=r.repo_id,
                repository_public=r.visibility == "public",
                visibility=r.visibility,
            )
            self.repo_zip[r.index] = frag(
                repo=r.full_name, repo_id=r.repo_id, public_repo=r.visibility == "public", visibility=r.visibility
            )

    def actor(
        self,
        login: str,
        actor_id: int,
        ip: str | None,
        country: str,
        agent: str,
        *,
        is_bot: bool = False,
        nameid: str | None = None,
    ) -> str:
        """Actor, location, client and org members; SAML identity members when the actor has one."""
        key = (login, actor_id, ip, country, agent, is_bot, nameid)
        cached = self._actors.get(key)
        if cached is None:
            cached = self._actor(login, actor_id, ip, country, agent, is_bot, nameid)
            self._actors[key] = cached
        return cached

    def _actor(
        self, login: str, actor_id: int, ip: str | None, country: str, agent: str, is_bot: bool, nameid: str | None
    ) -> str:
        fields: dict[str, object] = {"actor": login, "actor_id": actor_id}
        if ip is not None:
            fields["actor_ip"] = ip
        fields["actor_is_bot"] = is_bot
        fields["actor_location"] = {"country_code": country}
        if nameid is not None:
            fields["external_identity_nameid"] = nameid
            fields["external_identity_username"] = nameid
        fields["user_agent"] = agent
        return frag(**fields) + "," + self.org

    def doc_ids(self, n: int) -> list[str]:
        """The next `n` document ids."""
        ids = self._ids
        if len(ids) < n:
            pairs = max(n, 4096) // 2 + 1
            blob = binascii.b2a_base64(self._id_rng.randbytes(33 * pairs), newline=False).translate(_URLSAFE).decode()
            ids.extend([blob[i : i + 22] for i in range(0, 44 * pairs, 22)])
        out = ids[-n:]
        del ids[-n:]
        return out

    def head(self, ts: int) -> str:
        """`{"@timestamp":…,"_document_id":"…",` — the start of every GitHub record."""
        return f'{{"@timestamp":{ts},"_document_id":"{self.doc_ids(1)[0]}",'

    @staticmethod
    def token(cred: Credential) -> str:
        """Programmatic-access members (empty for SSH keys and browser sessions), with a leading comma."""
        return _token_members(cred)

    def git(self, action: str, ts: int, actor: str, repo: Repo, cred: Credential) -> str:
        return (
            f'{self.head(ts)}"action":"{action}","created_at":{ts},{actor},{self.repo_git[repo.index]},'
            f'"transport_protocol_name":"{cred.transport}"{self.token(cred)}}}\n'
        )

    def zip(self, ts: int, actor: str, repo: Repo, cred: Credential | None) -> str:
        tok = self.token(cred) if cred is not None else ""
        repo_part = self.repo_zip[repo.index]
        return f'{self.head(ts)}"action":"repo.download_zip","created_at":{ts},{actor},{repo_part}{tok}}}\n'

    def api(
        self,
        ts: int,
        actor: str,
        route: str,
        cred: Credential,
        repo: Repo | None = None,
        method: str = "GET",
        status: int = 200,
    ) -> str:
        repo_part = f',"repo":"{repo.full_name}","repo_id":{repo.repo_id}' if repo is not None else ""
        return (
            f'{self.head(ts)}"action":"api.request","created_at":{ts},{actor}{repo_part},"request_category":"api",'
            f'"request_method":"{method}","route":"{route}","status_code":{status}{self.token(cred)}}}\n'
        )

    def other(self, action: str, ts: int, actor: str, **fields: object) -> str:
        extra = ("," + frag(**fields)) if fields else ""
        return f'{self.head(ts)}"action":"{action}","created_at":{ts},{actor}{extra}}}\n'
