"""Issue #17's performance rule: a bad line sends only its block of lines down the exact path; the columnar
rows of every other block stay. The outcome must equal a whole-file exact pass, line for line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest

from auditor.importers import sources
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import gh_event


def _file(path: Path) -> Path:
    """300 lines: a malformed line, an invalid UTF-8 byte, a blank line, an implausible timestamp, an in-file
    repeat across blocks and a record without the required fields, spread over blocks of 50."""
    lines = [json.dumps(gh_event(k)).encode() for k in range(300)]
    lines[9] = b'{"action": "git.clone", "actor": '
    lines[119] = lines[119].replace(b'"actor"', b'"act\xff"', 1)
    lines[249] = b""
    lines[260] = json.dumps({**gh_event(260), "@timestamp": "infinity"}).encode()
    lines[270] = lines[20]  # the same event again, in another block
    lines[280] = b'{"note": "no fields this format needs"}'
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


class Outcome(NamedTuple):
    counts: tuple[int, int, int, int]  # records, events, duplicates, rejected
    events: list[tuple[str, int, str]]  # event_uid, line_no, evidence_sha256
    rejects: list[tuple[int, str]]  # line_no, reason
    staged: int | None  # lines the exact pass read


def _outcome(root: Path, path: Path) -> Outcome:
    ws = Workspace.open(root)
    try:
        (f,) = import_files(ws, [path]).files
        staged = ws.con.execute("SELECT count(*) FROM staged_lines").fetchone()
        events = ws.con.execute("SELECT event_uid, line_no, evidence_sha256 FROM events ORDER BY line_no").fetchall()
        rejects = ws.con.execute("SELECT line_no, reason FROM rejected_lines ORDER BY line_no").fetchall()
        return Outcome(
            (f.records, f.events, f.duplicates, f.rejected),
            [(str(u), int(n), str(h)) for u, n, h in events],
            [(int(n), str(r)) for n, r in rejects],
            int(staged[0]) if staged else None,
        )
    finally:
        ws.close()


def test_only_the_blocks_with_a_bad_line_are_redone_and_the_result_equals_an_exact_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path / "audit.ndjson")
    exact = _outcome(tmp_path / "exact", path)
    monkeypatch.setattr(sources, "BLOCK_LINES", 50)
    blocks = _outcome(tmp_path / "blocks", path)
    assert blocks[:3] == exact[:3]
    counts, events, rejects, _ = blocks
    assert counts == (299, 294, 1, 4)  # records (the blank line is none), events, duplicates, rejected
    assert [n for n, _ in rejects] == [10, 120, 261, 281]
    assert 21 in [n for _, n, _ in events] and 271 not in [n for _, n, _ in events]
    assert all(sha != "pending" for _, _, sha in events)
    # Blocks 0 (line 10), 2 (line 120) and 4-5 (lines 250-281) were redone: 200 lines, not 300.
    assert exact[3] == 300 and blocks[3] == 200


def test_a_lone_carriage_return_falls_back_to_a_whole_file_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [json.dumps(gh_event(k)) for k in range(120)]
    lines[70] += "\r" + json.dumps(gh_event(500))  # one line to the columnar reader, two to the line reader
    lines[5] = "not json"
    path = tmp_path / "cr.ndjson"
    path.write_text("\n".join(lines) + "\n")
    exact = _outcome(tmp_path / "exact", path)
    monkeypatch.setattr(sources, "BLOCK_LINES", 50)
    blocks = _outcome(tmp_path / "blocks", path)
    assert blocks[:3] == exact[:3]
    assert [(n, r) for n, r in exact[2]] == [(6, "not valid JSON"), (71, "not valid JSON")]
    assert all(str(uid).endswith(f"doc-{n - 1}") for uid, n, _ in exact[1])


@pytest.mark.parametrize("blank", [b"", b"  ", b"\r", b"\t \x0b\x0c"])
@pytest.mark.parametrize("where", [1, 30, 149])
def test_blank_lines_anywhere_keep_every_line_number_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blank: bytes, where: int
) -> None:
    """The columnar reader skips whitespace-only lines without a row; line numbers after one must not shift."""
    lines = [json.dumps(gh_event(k)).encode() for k in range(150)]
    lines[where] = blank
    lines[100] = b"{not json"
    path = tmp_path / "b.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    exact = _outcome(tmp_path / "exact", path)
    monkeypatch.setattr(sources, "BLOCK_LINES", 50)
    blocks = _outcome(tmp_path / "blocks", path)
    assert blocks[:3] == exact[:3]
    events = blocks[1]
    assert isinstance(events, list) and len(events) == 148
    assert all(str(uid).endswith(f"doc-{n - 1}") for uid, n, _ in events), events[:3]


@pytest.mark.parametrize(
    ("data", "stray"),
    [
        (b'{"a":1}\n{"b":2}\n', False),
        (b'{"a":1}\r\n{"b":2}\r\n', False),
        (b'{"a":1}\r\n{"b":2}', False),
        (b'{"a":1}\r{"b":2}\n', True),
        (b'{"a":1}\n\r\n{"b":2}\n', True),
        (b'{"a":1}\r', True),
        (b'{"ab":1}\r\n{"b":2}\r\n\r\n', True),
        (b'{"a":1}\n\x01!\n', True),
    ],
)
@pytest.mark.parametrize("block", [3, 4, 1 << 20])
def test_stray_carriage_returns_are_found_across_read_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, stray: bool, block: int
) -> None:
    from auditor.importers import lines

    monkeypatch.setattr(lines, "BLOCK", block)
    path = tmp_path / "f.ndjson"
    path.write_bytes(data)
    assert lines.has_stray_cr(path) is stray


@pytest.mark.parametrize("block", [5, 17, 1 << 20])
def test_block_lines_are_cut_at_the_right_bytes_and_bad_lines_blanked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    from auditor.importers import lines

    monkeypatch.setattr(lines, "BLOCK", block)
    rows = [f'{{"k": {k}}}'.encode() for k in range(40)]
    rows[12] = b'{"k": "\xff"}'
    rows[25] = b"x" * 30
    src = tmp_path / "f.ndjson"
    src.write_bytes(b"\n".join(rows))  # no final LF
    dst = tmp_path / "n.ndjson"
    bad = lines.write_block_lines(src, dst, [1, 3, 4, 9], 10, 20)
    got = [json.loads(x) for x in dst.read_text().splitlines()]
    assert [g["n"] for g in got] == list(range(11, 21)) + list(range(31, 41))
    assert all(g["raw"] == rows[g["n"] - 1].decode() for g in got if g["n"] != 13)
    assert [(b.line_no, b.reason.split(" (")[0]) for b in bad] == [(13, "invalid UTF-8")]
    bad = lines.write_block_lines(src, dst, [2], 10, 20)
    assert [(b.line_no, b.reason) for b in bad] == [(26, "line longer than 20 bytes")]
    assert json.loads(dst.read_text().splitlines()[5]) == {"n": 26, "raw": ""}


def test_a_line_with_a_0x01_byte_is_a_record_rejected_not_a_blank(tmp_path: Path) -> None:
    """Found by the property test: the line reader's column delimiter (0x01) once cut such a line to nothing."""
    path = tmp_path / "signins.ndjson"
    path.write_bytes(b'{"category": "SignInLogs", "time": "2024-05-10T17:46:49Z", "properties": {"id": "x"}}\n\x01!\n')
    outcome = _outcome(tmp_path / "ws", path)
    assert outcome.counts == (2, 1, 0, 1)
    assert outcome.rejects == [(2, "not valid JSON")]
