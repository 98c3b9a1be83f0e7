"""Build hook: map the top-level `reports/templates/` (the source of the report templates) into the package as
`auditor/reports/templates/`, so a wheel renders reports without the checkout. Everything else is in
pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATES_SOURCE = Path("reports") / "templates"
TEMPLATES_TARGET = Path("auditor") / "reports" / "templates"


class BuildPyWithTemplates(build_py):
    """`build_py` that also copies reports/templates/ into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's reports/templates directly
        target = Path(self.build_lib) / TEMPLATES_TARGET
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(TEMPLATES_SOURCE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithTemplates})
