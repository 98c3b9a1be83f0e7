"""The sandbox is its own package (issue #18): the product never imports it; only the commands that need a
simulated tenant (demo, eval, sandbox) do, lazily, so a production command never loads it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import auditor

ROOT = Path(auditor.__file__).parent
ALLOWED = {"cli/demo.py", "cli/demo_build.py", "cli/evaluate.py", "cli/sandbox.py", "cli/sandbox_serve.py"}


def _imports_sandbox(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "auditor_sandbox":
            return True
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "auditor_sandbox" for a in node.names):
            return True
    return False


def test_only_the_sandbox_commands_import_the_sandbox() -> None:
    importers = {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if _imports_sandbox(p)}
    assert importers <= ALLOWED, importers - ALLOWED
    assert "cli/demo_build.py" in importers  # the demo's pipeline moved out of the sandbox
    assert not (ROOT / "sandbox").exists()


def test_cli_modules_import_the_sandbox_only_inside_functions() -> None:
    for rel in ALLOWED - {"cli/demo_build.py"}:
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, ast.ImportFrom | ast.Import)]
        assert not any(_imports_sandbox_node(n) for n in top), rel


def _imports_sandbox_node(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] == "auditor_sandbox"
    return any(a.name.split(".")[0] == "auditor_sandbox" for a in node.names)


def test_a_production_command_never_loads_the_sandbox(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from auditor.cli import main\n"
        "sys.argv = ['auditor', '--workspace', sys.argv[1], 'coverage', '--format', 'json']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'auditor_sandbox')\n"
        "print('LOADED', loaded)\n"
    )
    from auditor.workspace.store import Workspace

    Workspace.open(tmp_path / "ws").close()
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ws")], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert "LOADED []" in done.stdout, done.stdout + done.stderr
