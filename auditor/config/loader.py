"""Load YAML config and turn pydantic errors into messages naming the key path and the file line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from auditor.config.models import AuditorConfig
from auditor.errors import ConfigError

KeyPath = tuple[str | int, ...]


def _line_index(node: yaml.Node, path: KeyPath, out: dict[KeyPath, int]) -> None:
    """Record the 1-based line of every key and list item in the YAML node tree."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            out[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), out)


def _nearest_line(lines: dict[KeyPath, int], loc: KeyPath) -> int | None:
    """The line of the deepest known ancestor of a pydantic error location."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def parse_config(text: str, source: str) -> AuditorConfig:
    """Validate YAML text; `source` names it in errors (a path or '<string>')."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", where) from exc
    if data is None:
        return AuditorConfig()
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of sections", f"{source}:1")
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _line_index(node, (), lines)
    try:
        return AuditorConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc: KeyPath = tuple(err["loc"])
            line = _nearest_line(lines, loc)
            dotted = ".".join(str(p) for p in loc) or "(top level)"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{source}:{line}: {dotted}: {msg}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from exc


def load_config(path: Path | None) -> AuditorConfig:
    """Load and validate a config file; None means defaults (the tool works with no config)."""
    if path is None:
        return AuditorConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", str(path)) from exc
    return parse_config(text, str(path))
