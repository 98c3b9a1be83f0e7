"""The built wheel works on its own: build it from a copy of the sources, install it (not editable) into a fresh
virtual environment, and run import → detect → check → report from a folder outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

# What the build reads; copied so that the build leaves no build/ or egg-info behind in the checkout.
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "auditor", "reports")


def _setuptools_ok() -> bool:
    """True when this interpreter has the build backend pyproject.toml asks for (setuptools>=77)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("setuptools").split(".")[0]) >= 77
    except PackageNotFoundError:
        return False


def _build_wheel(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "templates")
                            if name == "auditor" else shutil.ignore_patterns("__pycache__"))  # fmt: skip
        else:
            shutil.copy2(path, src / name)
    dist = tmp / "dist"
    # Without a recent enough setuptools here, pip fetches the build backend from the package index.
    isolation = ["--no-build-isolation"] if _setuptools_ok() else []
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", *isolation, "-w", str(dist), str(src)],
        check=True,
        timeout=600,
    )
    wheels = list(dist.glob("repo_auditor-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _clean_env() -> dict[str, str]:
    """This process's environment without what would point a child at the checkout instead of the wheel."""
    drop = ("PYTHONPATH", "AUDITOR_TEMPLATES", "AUDITOR_CONFIG", "AUDITOR_WORKSPACE", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _fresh_env(tmp: Path, wheel: Path) -> Path:
    """A new venv with only the wheel installed; the dependencies are borrowed from this interpreter's
    site-packages through a .pth line (its own .pth files, e.g. an editable install of the checkout, are
    not processed from there)."""
    env = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300, env=_clean_env())
    py = env / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True, timeout=300, env=_clean_env()
    )
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, env=_clean_env(),
    ).stdout.strip()  # fmt: skip
    outer = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "_outer_dependencies.pth").write_text("\n".join(outer) + "\n", encoding="utf-8")
    return env


def test_wheel_carries_package_data_and_runs_the_pipeline(tmp_path: Path, samples: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (ROOT / "reports" / "templates").iterdir():
        assert f"auditor/reports/templates/{template.name}" in names
    for sql in ROOT.joinpath("auditor").rglob("*.sql"):
        assert sql.relative_to(ROOT).as_posix() in names
    for data in ROOT.joinpath("auditor", "checks", "frameworks").glob("*.yaml"):
        assert data.relative_to(ROOT).as_posix() in names
    for schema in ROOT.joinpath("auditor", "schemas").glob("*.json"):
        assert schema.relative_to(ROOT).as_posix() in names

    env = _fresh_env(tmp_path, wheel)
    work = tmp_path / "elsewhere"
    work.mkdir()
    clean = _clean_env()

    def auditor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(env / "bin" / "auditor"), "--workspace", "ws", *args],
            cwd=work, env=clean, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    where = subprocess.run(
        [str(env / "bin" / "python"), "-c",
         "import auditor, auditor.reports.render as r; print(auditor.__file__); print(r.templates_dir())"],
        cwd=work, env=clean, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert Path(where[0]).is_relative_to(env), f"auditor imported from {where[0]}, not the installed wheel"
    assert Path(where[1]).is_relative_to(env) and Path(where[1]).name == "templates"

    imported = auditor(
        "import", "--json",
        str(samples / "github" / "org-audit-log.ndjson"),
        str(samples / "entra" / "signinlogs-diagnostic.ndjson"),
        str(samples / "gitlab" / "audit-events.ndjson"),
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["imported"] > 0
    detected = auditor("detect")
    assert detected.returncode == 0, detected.stderr
    checked = auditor("check", "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["controls"]
    reported = auditor("report", "--out", "out")
    assert reported.returncode == 0, reported.stderr
    pdf, html = work / "out" / "report.pdf", work / "out" / "report.html"
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000
    assert "AN0732" in html.read_text(encoding="utf-8")
