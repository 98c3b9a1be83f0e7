"""OData query handling shared by the sandbox Graph endpoints: $select, $top, $skiptoken, simple $filter.

Kept apart from the HTTP plumbing so each rule (what Graph accepts, what it answers with a 400) is
one small pure function that tests and endpoints can share.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class GraphError(Exception):
    """An error answer: HTTP status plus Graph's `error.code` and `error.message`."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


@dataclass(frozen=True)
class Query:
    """The OData system query options of one request (keys without `$`, lower-cased)."""

    params: dict[str, str]

    @classmethod
    def parse(cls, query_string: str) -> Query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(query_string, keep_blank_values=True):
            params[key.lstrip("$").lower()] = value
        return cls(params)

    def get(self, name: str) -> str | None:
        return self.params.get(name)

    @property
    def select(self) -> tuple[str, ...] | None:
        raw = self.params.get("select")
        return None if raw is None else split_list(raw)

    @property
    def filter(self) -> str | None:
        raw = self.params.get("filter")
        return raw.strip() or None if raw is not None else None

    def top(self, default: int, maximum: int, cap: int, *, clamp: bool = False) -> int:
        """Page size: $top (1..maximum, or clamped when `clamp`), never more than the server's cap."""
        raw = self.params.get("top")
        if raw is None:
            return min(default, cap)
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"Invalid value '{raw}' for query option $top.") from None
        if value < 1 or (value > maximum and not clamp):
            raise bad_request(
                f"Invalid page size specified: '{value}'. Must be between 1 and {maximum} inclusive.",
                "Request_UnsupportedQuery",
            )
        return min(value, maximum, cap)

    def offset(self) -> int:
        token = self.params.get("skiptoken")
        return 0 if token is None else decode_skiptoken(token)


def split_list(raw: str) -> tuple[str, ...]:
    """`a, b,c` -> ('a', 'b', 'c'), ignoring empty entries."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def encode_skiptoken(offset: int) -> str:
    """Opaque continuation token (like Graph's): base64url of the offset into the ordered result."""
    return base64.urlsafe_b64encode(f"acme-sandbox:{offset}".encode()).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        offset = int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request("The $skiptoken is invalid or expired.", "Directory_ExpiredPageToken") from None
    if prefix != "acme-sandbox" or offset < 0:
        raise bad_request("The $skiptoken is invalid or expired.", "Directory_ExpiredPageToken")
    return offset


_SAFE = ",()':/$="


def next_link(base: str, path: str, query: Query, offset: int) -> str:
    """The request's own URL (same host, path and options) with `$skiptoken` pointing at `offset`."""
    parts = [f"${key}={quote(value, safe=_SAFE)}" for key, value in query.params.items() if key != "skiptoken"]
    parts.append(f"$skiptoken={encode_skiptoken(offset)}")
    return f"{base}{quote(path)}?{'&'.join(parts)}"


def select_item(
    item: Mapping[str, Any], select: Sequence[str] | None, known: Iterable[str], type_name: str
) -> dict[str, Any]:
    """Only the selected properties plus `id`, as Graph does; an unknown property is a 400."""
    if select is None:
        return dict(item)
    known_set = set(known)
    out: dict[str, Any] = {"id": item.get("id")}
    for name in select:
        if name not in known_set:
            raise bad_request(
                f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.",
                "Request_BadRequest",
            )
        out[name] = item.get(name)
    return out


_EQ = re.compile(r"^\s*([A-Za-z][\w/]*)\s+eq\s+('(?:[^']|'')*'|true|false|null|-?\d+)\s*$", re.IGNORECASE)


def eq_filter(items: Sequence[Mapping[str, Any]], raw: str | None) -> list[Mapping[str, Any]]:
    """Apply `prop eq 'x' [and prop2 eq true ...]`; anything else is an unsupported-query 400."""
    if raw is None:
        return list(items)
    tests: list[tuple[str, Any]] = []
    for clause in split_and(raw):
        match = _EQ.match(clause)
        if match is None:
            raise bad_request(f"Unsupported or invalid filter clause: '{clause.strip()}'.", "Request_UnsupportedQuery")
        name, literal = match.groups()
        tests.append((name, _literal(literal)))

    def keep(item: Mapping[str, Any]) -> bool:
        for name, want in tests:
            have = item.get(name)
            if isinstance(want, str) and isinstance(have, str):
                if have.lower() != want.lower():  # Graph string equality is case-insensitive
                    return False
            elif have != want:
                return False
        return True

    return [item for item in items if keep(item)]


def _literal(text: str) -> Any:
    lowered = text.lower()
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return int(text)


def to_micros(text: str) -> int:
    """ISO 8601 timestamp (any fraction length, `Z` or offset) -> microseconds since the epoch."""
    value = text.strip().strip("'")
    # A literal '+' in an unencoded query string arrives as a space: 2026-09-01T00:00:00 00:00.
    value = re.sub(r" (\d\d:\d\d)$", r"+\1", value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(f"Invalid DateTimeOffset literal '{text}' in $filter.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // _MICRO


def iso_seconds(micros: int) -> str:
    """Microseconds since the epoch -> `2026-09-01T12:00:00Z` (Graph's whole-second style)."""
    return datetime.fromtimestamp(micros // 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - EPOCH


@dataclass(frozen=True)
class SignInFilter:
    """What a sign-ins `$filter` asks for: a createdDateTime range and the sign-in event types."""

    low: int | None = None  # microseconds, inclusive
    high: int | None = None  # microseconds, exclusive
    event_types: frozenset[str] = frozenset({"interactiveUser"})


_TIME = re.compile(r"^\s*createdDateTime\s+(ge|gt|le|lt|eq)\s+(\S+(?: \d\d:\d\d)?)\s*$", re.IGNORECASE)
_ANY = re.compile(r"^\s*signInEventTypes/any\(\s*(\w+)\s*:(.*)\)\s*$", re.IGNORECASE)


def signin_filter(raw: str | None, *, allow_event_types: bool) -> SignInFilter:
    """Parse `createdDateTime ge X and createdDateTime lt Y [and signInEventTypes/any(t: t eq '...')]`."""
    if raw is None:
        return SignInFilter()
    types: set[str] = set()
    low: int | None = None
    high: int | None = None
    for clause in split_and(raw):
        any_match = _ANY.match(clause)
        if any_match is not None:
            if not allow_event_types:
                raise bad_request(
                    "Could not find a property named 'signInEventTypes' on type 'microsoft.graph.signIn'."
                )
            var = re.escape(any_match.group(1))
            found = set(re.findall(rf"{var}\s+eq\s+'(\w+)'", any_match.group(2), flags=re.IGNORECASE))
            if not found:
                raise bad_request(f"Unsupported signInEventTypes clause: '{clause}'.", "Request_UnsupportedQuery")
            types |= found
            continue
        time_match = _TIME.match(clause)
        if time_match is None:
            raise bad_request(f"Unsupported or invalid filter clause: '{clause}'.", "Request_UnsupportedQuery")
        op, value = time_match.group(1).lower(), to_micros(time_match.group(2))
        if op in ("ge", "gt", "eq"):
            bound = value + (1 if op == "gt" else 0)
            low = bound if low is None else max(low, bound)
        if op in ("lt", "le", "eq"):
            bound = value + (0 if op == "lt" else 1)
            high = bound if high is None else min(high, bound)
    return SignInFilter(low, high, frozenset(types) if types else frozenset({"interactiveUser"}))


def split_and(raw: str) -> list[str]:
    """Top-level `and` clauses of a filter (an `and` in parentheses or quotes stays in its clause)."""
    clauses: list[str] = []
    depth, start, quoted = 0, 0, False
    for match in re.finditer(r"'|\(|\)|\s+and\s+", raw, flags=re.IGNORECASE):
        piece = match.group(0)
        if piece == "'":
            quoted = not quoted  # an escaped '' toggles twice
        elif quoted:
            continue
        elif piece == "(":
            depth += 1
        elif piece == ")":
            depth -= 1
        elif depth == 0:
            clauses.append(raw[start : match.start()].strip())
            start = match.end()
    clauses.append(raw[start:].strip())
    return [c for c in clauses if c]


_AUDIT_TIME = re.compile(r"^\s*activityDateTime\s+(ge|gt|le|lt|eq)\s+(\S+(?: \d\d:\d\d)?)\s*$", re.IGNORECASE)
_AUDIT_NAME = re.compile(r"^\s*activityDisplayName\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)


def audit_filter(items: Sequence[Mapping[str, Any]], raw: str | None) -> list[Mapping[str, Any]]:
    """Directory audits matching `activityDisplayName eq '...'` and `activityDateTime ge|gt|le|lt|eq X`
    clauses joined by `and` (what this sandbox implements of Graph's filter); anything else is a 400."""
    if raw is None:
        return list(items)
    names: list[str] = []
    bounds: list[tuple[str, int]] = []
    for clause in split_and(raw):
        name = _AUDIT_NAME.match(clause)
        when = _AUDIT_TIME.match(clause)
        if name is not None:
            names.append(name.group(1).replace("''", "'").lower())
        elif when is not None:
            bounds.append((when.group(1).lower(), to_micros(when.group(2))))
        else:
            raise bad_request(f"Unsupported or invalid filter clause: '{clause.strip()}'.", "Request_UnsupportedQuery")
    checks = {"ge": int.__ge__, "gt": int.__gt__, "le": int.__le__, "lt": int.__lt__, "eq": int.__eq__}

    def keep(item: Mapping[str, Any]) -> bool:
        if any(str(item.get("activityDisplayName") or "").lower() != n for n in names):
            return False
        at = to_micros(str(item["activityDateTime"]))
        return all(checks[op](at, value) for op, value in bounds)

    return [item for item in items if keep(item)]
