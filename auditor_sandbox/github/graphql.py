"""A small GraphQL executor for the sandbox GitHub server: parse a query document, resolve it over
`Obj` trees. Supports what clients send to GitHub's API for these endpoints: named or anonymous
queries, variables with defaults, aliases, arguments (scalars, enums, lists, objects), inline
fragments and `__typename`. Errors come back in GitHub's shape (`{"errors": [{"message", "type"}]}`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_PAGE = 100


class QueryError(Exception):
    """A query GitHub would refuse; `kind` mirrors GitHub's error `type` where it has one."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Obj:
    """A GraphQL object: its type name and fields (values, or callables taking the field's arguments)."""

    typename: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Field:
    name: str
    alias: str
    args: dict[str, Any]
    selections: list[Field | Fragment]


@dataclass
class Fragment:
    on: str
    selections: list[Field | Fragment]


_TOKEN = re.compile(
    r'\s+|,|#[^\n]*|(?P<punct>\.\.\.|[{}()\[\]:$=!@])|(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)'
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise QueryError(f"Parse error on {text[pos : pos + 10]!r} at offset {pos}", "PARSE_ERROR")
        pos = m.end()
        kind = m.lastgroup
        if kind is not None:
            out.append((kind, m.group(kind)))
    return out


class _Parser:
    def __init__(self, text: str, variables: dict[str, Any]) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.variables = dict(variables)

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            got = tok[1] if tok else "end of document"
            raise QueryError(f"Parse error on {got!r} (expected {value or 'a token'})", "PARSE_ERROR")
        self.i += 1
        return tok[1]

    def document(self) -> list[Field | Fragment]:
        tok = self.peek()
        if tok and tok[1] == "query":
            self.take()
            nxt = self.peek()
            if nxt and nxt[0] == "name":
                self.take()
            if self.peek() == ("punct", "("):
                self.variable_definitions()
        elif tok and tok[0] == "name":
            raise QueryError(f"only queries are served, not {tok[1]!r}", "PARSE_ERROR")
        selections = self.selection_set()
        if self.peek() is not None:
            raise QueryError("one operation per document", "PARSE_ERROR")
        return selections

    def variable_definitions(self) -> None:
        self.take("(")
        while self.peek() != ("punct", ")"):
            self.take("$")
            name = self.take()
            self.take(":")
            self.type_ref()
            if self.peek() == ("punct", "="):
                self.take()
                default = self.value()
                self.variables.setdefault(name, default)
        self.take(")")

    def type_ref(self) -> None:
        if self.peek() == ("punct", "["):
            self.take()
            self.type_ref()
            self.take("]")
        else:
            self.take()
        if self.peek() == ("punct", "!"):
            self.take()

    def selection_set(self) -> list[Field | Fragment]:
        self.take("{")
        out: list[Field | Fragment] = []
        while self.peek() != ("punct", "}"):
            if self.peek() == ("punct", "..."):
                self.take()
                self.take("on")
                on = self.take()
                out.append(Fragment(on, self.selection_set()))
                continue
            name = self.take()
            alias = name
            if self.peek() == ("punct", ":"):
                self.take()
                name = self.take()
            args: dict[str, Any] = {}
            if self.peek() == ("punct", "("):
                self.take()
                while self.peek() != ("punct", ")"):
                    key = self.take()
                    self.take(":")
                    args[key] = self.value()
                self.take(")")
            subs = self.selection_set() if self.peek() == ("punct", "{") else []
            out.append(Field(name, alias, args, subs))
        self.take("}")
        return out

    def value(self) -> Any:
        kind, text = self.peek() or ("", "")
        if text == "$":
            self.take()
            name = self.take()
            return self.variables.get(name)
        if text == "[":
            self.take()
            items = []
            while self.peek() != ("punct", "]"):
                items.append(self.value())
            self.take("]")
            return items
        if text == "{":
            self.take()
            obj = {}
            while self.peek() != ("punct", "}"):
                key = self.take()
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        self.take()
        if kind == "string":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape")
        if kind == "number":
            return float(text) if "." in text else int(text)
        return {"true": True, "false": False, "null": None}.get(text, text)


def execute(query: str, variables: dict[str, Any] | None, root: Obj) -> dict[str, Any]:
    """Run `query` against `root`; a refused query gives `{"errors": [...]}` as GitHub does."""
    try:
        selections = _Parser(query, variables or {}).document()
        return {"data": _resolve(root, selections)}
    except QueryError as exc:
        error: dict[str, Any] = {"message": str(exc)}
        if exc.kind:
            error["type"] = exc.kind
        return {"errors": [error]}


def _resolve(obj: Obj, selections: Sequence[Field | Fragment]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sel in selections:
        if isinstance(sel, Fragment):
            if sel.on == obj.typename:
                out.update(_resolve(obj, sel.selections))
            continue
        if sel.name == "__typename":
            out[sel.alias] = obj.typename
            continue
        if sel.name not in obj.fields:
            raise QueryError(f"Field '{sel.name}' doesn't exist on type '{obj.typename}'", "undefinedField")
        value = obj.fields[sel.name]
        if callable(value):
            value = value(sel.args)
        elif sel.args:
            raise QueryError(f"Field '{sel.name}' doesn't accept arguments", "argumentNotAccepted")
        out[sel.alias] = _shape(value, sel)
    return out


def _shape(value: Any, sel: Field) -> Any:
    if isinstance(value, Obj):
        if not sel.selections:
            raise QueryError(f"Field '{sel.name}' of type '{value.typename}' must have a selection of subfields")
        return _resolve(value, sel.selections)
    if isinstance(value, list):
        return [_shape(v, sel) for v in value]
    return value


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _index(cursor: str | None) -> int:
    if cursor is None:
        return -1
    try:
        text = base64.b64decode(cursor.encode()).decode()
        return int(text.rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise QueryError(f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS") from None


def connection(name: str, items: Sequence[Any], args: dict[str, Any], edge: Callable[[Any], Obj] | None = None) -> Obj:
    """A GitHub connection over `items` (first/after; first is required and at most 100)."""
    first = args.get("first")
    if first is None:
        raise QueryError(f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.")
    if not isinstance(first, int) or first < 0 or first > MAX_PAGE:
        raise QueryError(
            f"Requesting {first} records on the `{name}` connection exceeds the `first` limit of {MAX_PAGE} records.",
            "EXCESSIVE_PAGINATION",
        )
    start = _index(args.get("after")) + 1
    window = list(enumerate(items))[start : start + first]
    make = edge or (lambda item: Obj("Edge", {"node": item}))
    edges = []
    for i, item in window:
        e = make(item)
        e.fields["cursor"] = _cursor(i)
        edges.append(e)
    last = window[-1][0] if window else start - 1
    page = Obj(
        "PageInfo",
        {
            "hasNextPage": last + 1 < len(items),
            "hasPreviousPage": start > 0,
            "endCursor": _cursor(last) if window else None,
            "startCursor": _cursor(window[0][0]) if window else None,
        },
    )
    nodes = [e.fields["node"] for e in edges]
    return Obj("Connection", {"edges": edges, "nodes": nodes, "pageInfo": page, "totalCount": len(items)})
