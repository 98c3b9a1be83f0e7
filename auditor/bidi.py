"""Bidirectional control characters (U+202A-202E embeddings and overrides, U+2066-2069 isolates, U+200E/F
marks, U+061C) in workspace text can make "\\u202eevil\\u202c-actor" read as "live-actor". Reports and the
terminal show each one as a visible escape such as `<U+202E>`, so what is read is what is stored."""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_PATTERN = re.compile(f"[{BIDI_CONTROLS}]")


def visible(text: str) -> str:
    """`text` with every bidirectional control character replaced by `<U+XXXX>`."""
    return _PATTERN.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def has_controls(text: str) -> bool:
    return _PATTERN.search(text) is not None
