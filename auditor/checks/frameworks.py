"""Compliance framework mappings: data files mapping each requirement to check ids.

The mappings ship inside the package (`auditor/checks/frameworks/*.yaml`, so an installed tool finds
them); `config/frameworks/` in the repository is a link to that directory, the copy users read and
edit. `checks.frameworks_dir` in the config loads another directory instead. Every file is validated:
unknown keys, duplicate requirements, references to checks that do not exist, and requirements with
neither a check nor a manual procedure are errors naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from auditor.errors import ConfigError

PACKAGED = Path(__file__).resolve().parent / "frameworks"


class Requirement(BaseModel):
    """One requirement (criterion, control): the checks that automate it, and what stays manual."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    title: str = Field(min_length=3)
    checks: list[str] = []
    manual: str | None = None

    @model_validator(mode="after")
    def _covered(self) -> Requirement:
        if not self.checks and not self.manual:
            raise ValueError(f"requirement {self.id}: give checks or a manual procedure")
        return self


class Framework(BaseModel):
    """One framework file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: str = Field(pattern=r"^[A-Za-z0-9.\-]+$")
    title: str
    requirements: list[Requirement] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Framework:
        ids = [r.id for r in self.requirements]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate requirement ids: {', '.join(dupes)}")
        return self

    def label(self, requirement: Requirement) -> str:
        """'SOC2:CC6.1' — the form stored in check_results.frameworks."""
        return f"{self.framework}:{requirement.id}"


def load_frameworks(directory: Path | None = None, known_checks: Iterable[str] | None = None) -> list[Framework]:
    """Every `*.yaml` in `directory` (default: the packaged mappings), validated against `known_checks`."""
    from auditor.checks.registry import registry

    root = directory or PACKAGED
    files = sorted(root.glob("*.yaml"))
    if not files:
        raise ConfigError("no framework mapping files (*.yaml)", str(root))
    known = set(known_checks) if known_checks is not None else set(registry())
    out: list[Framework] = []
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            fw = Framework.model_validate(data)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read framework mapping: {exc}", str(path)) from exc
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"invalid framework mapping: {problems}", str(path)) from exc
        for req in fw.requirements:
            unknown = sorted(set(req.checks) - known)
            if unknown:
                raise ConfigError(f"requirement {req.id} names unknown check(s): {', '.join(unknown)}", str(path))
        if any(f.framework == fw.framework for f in out):
            raise ConfigError(f"framework {fw.framework} is defined twice", str(path))
        out.append(fw)
    return out


def labels_by_check(frameworks: list[Framework]) -> dict[str, list[str]]:
    """check id -> ['SOC2:CC6.1', 'ISO27001:5.15', ...] in file order."""
    index: dict[str, list[str]] = {}
    for fw in frameworks:
        for req in fw.requirements:
            for check_id in req.checks:
                index.setdefault(check_id, []).append(fw.label(req))
    return index


def manual_requirements(frameworks: list[Framework]) -> list[tuple[str, str, str]]:
    """(label, title, manual procedure) for every requirement with a manual part (listed, never dropped)."""
    return [(fw.label(r), r.title, r.manual) for fw in frameworks for r in fw.requirements if r.manual]
