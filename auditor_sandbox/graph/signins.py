"""Sign-ins for the sandbox Graph server, held as pre-serialised signIn JSON (bytes) sorted by time.

The source is the sandbox's `entra/signins.ndjson` (Azure diagnostic-settings envelope whose
`properties` is the Graph signIn object). Each record is kept once as the raw bytes of its
`properties`, never as a dict: 100,000+ sign-ins must fit in modest memory and a page of 1,000 is
served by joining bytes. Per-user last sign-in times (for `signInActivity`) and the few records the
directory needs in full (risky sign-ins, incident actors) are picked out during the one load pass.
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor_sandbox.graph.odata import EPOCH, SignInFilter, to_micros

INTERACTIVE, NON_INTERACTIVE = "interactiveUser", "nonInteractiveUser"
_CATEGORIES = {"SignInLogs": INTERACTIVE, "NonInteractiveUserSignInLogs": NON_INTERACTIVE}
_PROPS = b'"properties":'
_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=EPOCH.tzinfo) - EPOCH
_NO_RISK = ("none", "hidden", "")

# (event type or None to skip, createdDateTime in µs, userId, sign-in id, succeeded, risk level, app, props)
_Parsed = tuple[str | None, int, str, str, bool, str, str, bytes]


@dataclass
class UserActivity:
    """What Graph's `signInActivity` reports for one user (µs since the epoch and sign-in ids)."""

    last_interactive: tuple[int, str] | None = None
    last_non_interactive: tuple[int, str] | None = None
    last_success: tuple[int, str] | None = None
    apps: set[str] = field(default_factory=set)  # appDisplayName of every app signed in to

    def see(self, kind: str, micros: int, request_id: str, succeeded: bool, app: str) -> None:
        self.apps.add(app)
        stamp = (micros, request_id)
        if kind == INTERACTIVE:
            if self.last_interactive is None or stamp > self.last_interactive:
                self.last_interactive = stamp
        elif self.last_non_interactive is None or stamp > self.last_non_interactive:
            self.last_non_interactive = stamp
        if succeeded and (self.last_success is None or stamp > self.last_success):
            self.last_success = stamp


@dataclass
class SignInView:
    """One ordered selection of sign-ins: ascending µs keys and the matching signIn JSON bytes."""

    keys: array[int] = field(default_factory=lambda: array("q"))
    blobs: list[bytes] = field(default_factory=list)
    kinds: bytearray = field(default_factory=bytearray)  # 1 interactive, 0 non-interactive

    def span(self, wanted: SignInFilter) -> tuple[int, int]:
        """Index range [lo, hi) of the records inside the filter's createdDateTime bounds."""
        lo = 0 if wanted.low is None else bisect_left(self.keys, wanted.low)
        hi = len(self.keys) if wanted.high is None else bisect_left(self.keys, wanted.high)
        return lo, max(lo, hi)

    def page_desc(self, lo: int, hi: int, offset: int, size: int) -> list[int]:
        """Indexes of one page in descending time order (Graph's order), `offset` records from newest."""
        top = hi - offset
        bottom = max(lo, top - size)
        return list(range(top - 1, bottom - 1, -1)) if top > lo else []


@dataclass
class SignInStore:
    """All sign-ins of the sandbox plus the per-user activity and the records the directory needs."""

    tenant_id: str | None = None
    views: dict[str, SignInView] = field(default_factory=dict)
    activity: dict[str, UserActivity] = field(default_factory=dict)
    risky: list[dict[str, Any]] = field(default_factory=list)
    watched: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def view(self, event_types: frozenset[str]) -> SignInView:
        """Interactive, non-interactive or both (other event types have no records here)."""
        known = event_types & {INTERACTIVE, NON_INTERACTIVE}
        if known == {INTERACTIVE, NON_INTERACTIVE}:
            return self.views["all"]
        if known:
            return self.views[next(iter(known))]
        return SignInView()

    def __len__(self) -> int:
        return len(self.views["all"].keys)


def load_signins(path: Path, watch: frozenset[str] = frozenset()) -> SignInStore:
    """Read signins.ndjson once; keep properties as bytes, sorted ascending by createdDateTime.

    `watch` names user ids whose sign-ins are also kept parsed (the incident actors, for risk data).
    A missing file is an empty store (a tenant without Entra logs).
    """
    store = SignInStore(watched={uid: [] for uid in watch})
    rows: list[tuple[int, bool, bytes]] = []
    if path.is_file():
        with path.open("rb") as handle:
            fast: bool | None = None
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                if fast is None:  # trust byte search only if it reads the first record as json does
                    store.tenant_id = _tenant_id(line, path, number)
                    fast = _same(_fast(line), _slow(line, path, number))
                record = (_fast(line) if fast else None) or _slow(line, path, number)
                kind, micros, user_id, request_id, succeeded, risk, app, props = record
                if kind is None:
                    continue
                rows.append((micros, kind == INTERACTIVE, props))
                store.activity.setdefault(user_id, UserActivity()).see(kind, micros, request_id, succeeded, app)
                if risk not in _NO_RISK:
                    store.risky.append(json.loads(props))
                if user_id in store.watched:
                    store.watched[user_id].append(json.loads(props))
    rows.sort(key=lambda row: row[0])
    store.views = {"all": _view(rows)}
    store.views[INTERACTIVE] = _view([row for row in rows if row[1]])
    store.views[NON_INTERACTIVE] = _view([row for row in rows if not row[1]])
    return store


def _view(rows: list[tuple[int, bool, bytes]]) -> SignInView:
    return SignInView(array("q", [row[0] for row in rows]), [row[2] for row in rows], bytearray(row[1] for row in rows))


def _same(fast: _Parsed | None, slow: _Parsed) -> bool:
    return fast is not None and fast[:7] == slow[:7] and json.loads(fast[7]) == json.loads(slow[7])


def _tenant_id(line: bytes, path: Path, number: int) -> str | None:
    doc = _json(line, path, number)
    props = doc.get("properties", doc)
    value = doc.get("tenantId") or (props.get("resourceTenantId") if isinstance(props, dict) else None)
    return str(value) if value else None


# In the order the generator writes them, so each search starts where the previous one ended.
_MARKERS = tuple(
    b'"' + name + b'":"' for name in (b"id", b"createdDateTime", b"userId", b"appDisplayName", b"riskLevelDuringSignIn")
)
_CATEGORY = b'"category":"'
_ERROR = b'"errorCode":'


def _fast(line: bytes) -> _Parsed | None:
    """Field extraction by byte search for the generator's layout (properties is the last key)."""
    at = line.find(_PROPS)
    end = len(line) - (2 if line.endswith(b"\r\n") else 1 if line.endswith(b"\n") else 0)
    cat = line.find(_CATEGORY, 0, at)
    if at < 0 or cat < 0 or line[end - 2 : end] != b"}}":
        return None
    cat += len(_CATEGORY)
    kind = _CATEGORIES.get(line[cat : line.find(b'"', cat)].decode())
    props = line[at + len(_PROPS) : end - 1]
    values: list[str] = []
    pos = 0
    for marker in _MARKERS:
        start = props.find(marker, pos)
        if start < 0:
            start = props.find(marker)  # another key order: search the whole object
            if start < 0:
                return None
        start += len(marker)
        pos = props.find(b'"', start)
        values.append(props[start:pos].decode())
    request_id, created, user_id, app, risk = values
    error_at = props.find(_ERROR)
    if error_at < 0:
        return None
    code = props[error_at + 12 : error_at + 14]
    succeeded = code[:1] == b"0" and not code[1:].isdigit()
    micros = (datetime.fromisoformat(created) - EPOCH) // _MICRO
    return kind, micros, user_id, request_id, succeeded, risk, app, props


def _slow(line: bytes, path: Path, number: int) -> _Parsed:
    """Any layout: the diagnostic envelope, or a bare Graph signIn object on the line."""
    doc = _json(line, path, number)
    props = doc.get("properties", doc)
    if not isinstance(props, dict):
        raise InputError("sign-in record has no properties object", where=f"{path}:{number}")
    category = doc.get("category")
    if category is None:
        kind: str | None = INTERACTIVE if props.get("isInteractive", True) else NON_INTERACTIVE
    else:
        kind = _CATEGORIES.get(str(category))
    try:
        micros = to_micros(str(props["createdDateTime"]))
        user_id, request_id = str(props["userId"]), str(props["id"])
    except (KeyError, ValueError) as exc:
        raise InputError(f"sign-in record lacks a usable {exc}", where=f"{path}:{number}") from None
    status = props.get("status") or {}
    succeeded = isinstance(status, dict) and status.get("errorCode", 0) == 0
    risk = str(props.get("riskLevelDuringSignIn") or "none")
    app = str(props.get("appDisplayName") or "")
    blob = json.dumps(props, separators=(",", ":"), ensure_ascii=False).encode()
    return kind, micros, user_id, request_id, succeeded, risk, app, blob


def _json(line: bytes, path: Path, number: int) -> dict[str, Any]:
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise InputError(f"not a JSON sign-in record: {exc}", where=f"{path}:{number}") from None
    if not isinstance(doc, dict):
        raise InputError("sign-in record is not a JSON object", where=f"{path}:{number}")
    return doc
