"""Per-invocation state shared by commands: where the workspace is and which config applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.config.models import AuditorConfig
    from auditor.workspace.store import Workspace

DEFAULT_CONFIG = Path("config/auditor.yaml")


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
        """Open (creating and migrating if needed) the workspace directory."""
        from auditor.workspace.store import Workspace

        return Workspace.open(Path(self.workspace_dir))
