"""Bidirectional control characters in event-derived text are shown, not obeyed: a finding actor
"\\u202eevil\\u202c-actor" must never read as "live-actor" in the HTML, the PDF or the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.bidi import BIDI_CONTROLS, visible
from auditor.workspace.store import Workspace
from tests.helpers import run_auditor
from tests.inventory import Inventory
from tests.test_reports import add_finding, pdf_pages, populate, render

SPOOF = "\u202eevil\u202c-actor"
SHOWN = "<U+202E>evil<U+202C>-actor"


def test_every_bidi_control_gets_a_visible_escape() -> None:
    assert visible(SPOOF) == SHOWN
    assert visible("a\u2066b\u2069\u200e\u200f\u061c") == "a<U+2066>b<U+2069><U+200E><U+200F><U+061C>"
    assert visible("plain – text") == "plain – text"
    assert len(BIDI_CONTROLS) == 12


def test_reports_show_bidi_controls_as_escapes(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    add_finding(ws, "f9", SPOOF, "critical", 99, ["acme/\u2067core\u2069"])
    paths = render(ws, tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert not any(c in html for c in BIDI_CONTROLS)
    assert "&lt;U+202E&gt;evil&lt;U+202C&gt;-actor" in html and "acme/&lt;U+2067&gt;core&lt;U+2069&gt;" in html
    assert "unicode-bidi: isolate" in html
    pdf = "\n".join(pdf_pages(paths.pdf))
    assert not any(c in pdf for c in BIDI_CONTROLS)
    assert SHOWN in pdf.replace("\n", "")


@pytest.mark.parametrize("args", [("findings",), ("accounts",)])
def test_terminal_tables_show_bidi_controls_as_escapes(tmp_path: Path, args: tuple[str, ...]) -> None:
    ws = Workspace.open(tmp_path / "ws")
    add_finding(ws, "f1", SPOOF, "critical", 99)
    Inventory(ws).person("github", SPOOF)
    ws.close()
    done = run_auditor(*args, cwd=tmp_path, COLUMNS="250")
    assert done.returncode == 0, done.stderr
    assert not any(c in done.stdout for c in BIDI_CONTROLS), done.stdout
    assert "<U+202E>evil<U+202C>" in done.stdout, done.stdout
