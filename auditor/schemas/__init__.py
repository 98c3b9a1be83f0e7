"""JSON Schemas (draft 2020-12) of the JSON outputs scripts read: `findings --format json` (findings.json),
`check --json` (check.json), `review start --json` (review-start.json), `review close --json`
(review-close.json), `eval --json` (eval.json) and `run --json` (run.json). Fields may be added, never renamed
or dropped, so every object allows additional properties."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

NAMES = ("findings", "check", "review-start", "review-close", "eval", "run")


def load_schema(name: str) -> dict[str, Any]:
    """The schema of one output, by name (see NAMES)."""
    if name not in NAMES:
        raise KeyError(f"no schema named {name!r}; known: {', '.join(NAMES)}")
    text = resources.files("auditor.schemas").joinpath(f"{name}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
