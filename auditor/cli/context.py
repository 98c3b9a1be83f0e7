"""Per-invocation state shared by commands: where the workspace is and which config applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.config.models import AuditorConfig
    from auditor.workspace.store import Workspace

DEFAULT_CONFIG = Path("config/auditor.yaml")
# Commands that fill a workspace and so may create it; every other command needs an existing one.
CREATING = frozenset({"import", "collect", "demo", "sandbox", "run"})


@dataclass
class AppContext:
    """Resolves the config and opens the workspace lazily, so `--help` touches neither."""

    workspace_dir: str
    config_path: str | None
    _config: AuditorConfig | None = field(default=None, init=False)

    def config(self) -> AuditorConfig:
        """The validated config: the file given, else config/auditor.yaml if present, else defaults."""
        if self._config is None:
            from auditor.config.loader import load_config

            default = DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None
            path = Path(self.config_path) if self.config_path else default
            self._config = load_config(path)
        return self._config

    @property
    def config_file(self) -> Path | None:
        """The config file in use (given, or the default when present), None when running on defaults."""
        if self.config_path:
            return Path(self.config_path)
        return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None

    def workspace(self) -> Workspace:
        """Open and migrate the workspace; only the commands in CREATING may create a missing one."""
        import click

        from auditor.workspace.store import Workspace

        ctx = click.get_current_context(silent=True)
        command = ctx.find_root().invoked_subcommand if ctx is not None else None
        return Workspace.open(Path(self.workspace_dir), create=command in CREATING)
