#!/usr/bin/env bash
# Set up .venv if needed, then run the whole quality gate: ruff, mypy --strict, pytest.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
echo "== ruff" >&2
.venv/bin/ruff check auditor auditor_sandbox tests bench
.venv/bin/ruff format --check auditor auditor_sandbox tests bench
echo "== mypy --strict" >&2
.venv/bin/mypy
echo "== pytest" >&2
.venv/bin/pytest -q "$@"
