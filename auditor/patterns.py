"""Glob patterns for config rules: only `*` and `?` are wildcards, so a literal `[bot]` stays literal."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def glob_match(value: str, pattern: str) -> bool:
    """Case-insensitive whole-string match of `value` against `pattern`."""
    return _compile(pattern).fullmatch(value) is not None


def any_match(value: str | None, patterns: Iterable[str]) -> bool:
    return value is not None and any(glob_match(value, p) for p in patterns)
