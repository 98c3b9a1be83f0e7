"""Chunked NDJSON reads: cuts fall on line boundaries and line numbers survive the parallel scan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.importers import chunks
from auditor.importers.chunks import plan_lines, remove_chunks, write_chunks
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson


@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_chunks_reassemble_the_file_and_count_lines_before_each(tmp_path: Path, parts: int) -> None:
    lines = [json.dumps({"n": i, "pad": "x" * (i % 50)}) for i in range(1000)]
    path = tmp_path / "f.ndjson"
    path.write_text("\n".join(lines))  # no final newline
    plan = plan_lines(path, parts, min_chunk=1)
    assert plan.lines == 1000
    assert len(plan.bounds) - 1 == parts
    files = write_chunks(path, plan, tmp_path / "chunks")
    assert b"".join(f.read_bytes() for f in files) == path.read_bytes()
    for f, offset in zip(files, plan.line_offsets, strict=True):
        first = json.loads(f.read_bytes().split(b"\n", 1)[0])
        assert first["n"] == offset
    remove_chunks(files, path)
    assert not (tmp_path / "chunks").exists() or parts == 1


def test_import_through_several_chunks_keeps_line_numbers(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "MIN_CHUNK", 4096)  # a tuning threshold, so a small file is split
    path = write_ndjson(tmp_path / "big.ndjson", [gh_event(i, ts_ms=1_759_000_000_000 + i) for i in range(20_000)])
    assert len(plan_lines(path, 4).bounds) == 5
    (result,) = import_files(ws, [path]).files
    assert (result.events, result.rejected) == (20_000, 0)
    wrong = ws.con.execute(
        "SELECT count(*) FROM events WHERE event_uid <> 'github:doc-' || CAST(line_no - 1 AS VARCHAR)"
    ).fetchone()
    assert wrong == (0,)
    assert not any((ws.root / "tmp").rglob("*.ndjson"))
