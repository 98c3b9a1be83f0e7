"""A malformed-input corpus generated from the real samples (nothing large is checked in).

Every case ends in line-level rejects or a clean InputError (exit 2) naming the file, and no valid
line is lost: imported + duplicates + rejected add up to the file's records, one record a line.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.conftest import SHARED_SAMPLES
from tests.helpers import run_auditor

SOURCES = {
    "github": ("github/org-audit-log.ndjson", "created_at"),
    "gitlab": ("gitlab/api-log.ndjson", "time"),
    "entra": ("entra/signinlogs-diagnostic.ndjson", "time"),
}
Lines = list[bytes]
# A mutation turns a sample's lines into (file bytes, lines expected rejected or None for exit 2).
Mutation = Callable[[Lines, str], tuple[bytes, int | None]]


def _join(lines: Lines, end: bytes = b"\n") -> bytes:
    return end.join(lines) + end


def _at(lines: Lines, k: int, line: bytes) -> Lines:
    return [*lines[:k], line, *lines[k + 1 :]]


def _set_time(lines: Lines, field: str, value: object) -> Lines:
    """Line 2 with its time set to `value` (an Entra diagnostic record carries it twice)."""
    record = json.loads(lines[1])
    record[field] = value
    if isinstance(record.get("properties"), dict):
        record["properties"]["createdDateTime"] = value
    return _at(lines, 1, json.dumps(record).encode())


MUTATIONS: dict[str, Mutation] = {
    "truncated_file": lambda ls, f: (_join(ls)[:-25], 1),
    "truncated_line": lambda ls, f: (_join(_at(ls, 2, ls[2][: len(ls[2]) // 2])), 1),
    "bad_byte": lambda ls, f: (_join(_at(ls, 1, ls[1][:10] + b"\xff\xfe" + ls[1][10:])), 1),
    "nul_byte": lambda ls, f: (_join(_at(ls, 1, ls[1][:10] + b"\x00" + ls[1][10:])), 1),
    "bom": lambda ls, f: (b"\xef\xbb\xbf" + _join(ls), 0),
    "crlf": lambda ls, f: (_join(ls, b"\r\n"), 0),
    "no_final_newline": lambda ls, f: (_join(ls)[:-1], 0),
    "blank_lines": lambda ls, f: (_join([ls[0], b"", b"  ", *ls[1:]]), 0),
    "not_an_object": lambda ls, f: (_join(_at(ls, 1, b'["a", 1]')), 1),
    "scalar_line": lambda ls, f: (_join(_at(ls, 1, b"42")), 1),
    "time_is_object": lambda ls, f: (_join(_set_time(ls, f, {"a": 1})), 1),
    "time_is_bool": lambda ls, f: (_join(_set_time(ls, f, True)), 1),
    "time_infinity": lambda ls, f: (_join(_set_time(ls, f, "infinity")), 1),
    "time_year_0": lambda ls, f: (_join(_set_time(ls, f, "0000-01-01T00:00:00Z")), 1),
    "time_year_1": lambda ls, f: (_join(_set_time(ls, f, "0001-01-01T00:00:00Z")), 1),
    "time_year_99999": lambda ls, f: (_join(_set_time(ls, f, "99999-01-01T00:00:00Z")), 1),
    "time_future": lambda ls, f: (_join(_set_time(ls, f, "2999-01-01T00:00:00Z")), 1),
    "time_1980": lambda ls, f: (_join(_set_time(ls, f, 315532800)), 1),
    "time_ns": lambda ls, f: (_join(_set_time(ls, f, 1_700_000_000_123_456_789)), 0),
    "time_us": lambda ls, f: (_join(_set_time(ls, f, 1_700_000_000_123_456)), 0),
    "time_s_fraction": lambda ls, f: (_join(_set_time(ls, f, 1_700_000_000.25)), 0),
    "time_huge_int": lambda ls, f: (_join(_set_time(ls, f, 10**30)), 1),
    "time_huge_float": lambda ls, f: (_join(_set_time(ls, f, 1e300)), 1),
    "time_us_style": lambda ls, f: (_join(_set_time(ls, f, "11/14/2023 10:13:20 PM")), 0),
    "deep_nesting": lambda ls, f: (_join(_at(ls, 1, b"[" * 100_000 + b"]" * 100_000)), 1),
    "huge_line": lambda ls, f: (
        _join(_at(ls, 1, ls[1][:-1] + b', "padding": "' + b"x" * (3 << 20) + b'"}')),
        0,
    ),
    "gzip": lambda ls, f: (gzip.compress(_join(ls)), None),
    "binary": lambda ls, f: (random.Random(7).randbytes(4096) + b"\x00" * 64, None),
    "utf16": lambda ls, f: (_join(ls).decode().encode("utf-16"), None),
    "empty": lambda ls, f: (b"", None),
}


@pytest.fixture(scope="module")
def sample_lines() -> dict[str, Lines]:
    if not SHARED_SAMPLES.is_dir():
        pytest.skip("real samples not present (../shared is absent)")
    return {name: (SHARED_SAMPLES / rel).read_bytes().splitlines()[:12] for name, (rel, _) in SOURCES.items()}


def _records(data: bytes) -> int:
    return sum(1 for line in data.replace(b"\r\n", b"\n").split(b"\n") if line.strip())


def _check(ws: Workspace, path: Path, expected_rejects: int | None) -> None:
    try:
        (f,) = import_files(ws, [path]).files
    except InputError as exc:
        assert expected_rejects is None, f"unexpected exit 2: {exc}"
        assert str(path) in str(exc)
        return
    assert expected_rejects is not None, "expected a clean refusal (exit 2)"
    assert f.rejected == expected_rejects
    assert f.records == _records(path.read_bytes())
    assert f.events + f.duplicates + f.rejected == f.records
    lines = ws.con.execute("SELECT line_no FROM rejected_lines").fetchall()
    assert len({n for (n,) in lines}) == f.rejected


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_malformed_ndjson(
    ws: Workspace, tmp_path: Path, sample_lines: dict[str, Lines], source: str, mutation: str
) -> None:
    data, expected = MUTATIONS[mutation](sample_lines[source], SOURCES[source][1])
    path = tmp_path / f"{source}-{mutation}.ndjson"
    path.write_bytes(data)
    _check(ws, path, expected)


def test_mixed_formats_reject_the_minority(ws: Workspace, tmp_path: Path, sample_lines: dict[str, Lines]) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(_join(sample_lines["github"] + sample_lines["gitlab"][:3]))
    _check(ws, path, 3)


def _csv(sample: Lines) -> list[str]:
    rows = [json.loads(line) for line in sample]
    keys = ["action", "actor", "created_at", "org"]
    return [",".join(keys)] + [",".join(str(r.get(k, "")) for k in keys) for r in rows]


@pytest.mark.parametrize(
    ("name", "edit", "expected"),
    [
        ("short_row", lambda rows: _lines_at(rows, 2, rows[2].rsplit(",", 1)[0]), 1),
        ("long_row", lambda rows: _lines_at(rows, 2, rows[2] + ",extra,more"), 1),
        ("two_bad_rows", lambda rows: _lines_at(_lines_at(rows, 2, "x"), 5, rows[5] + ",1"), 2),
        ("open_quote", lambda rows: [*rows[:-1], 'git.clone,"bob,2020-01-01T00:00:00Z,acme'], 1),
        (
            "quoted_newline",
            lambda rows: _lines_at(rows, 3, rows[3].replace(",", ',"a\nb",', 1)[: -len("Example-Org")]),
            1,
        ),
        ("crlf", lambda rows: [r + "\r" for r in rows], 0),
        ("bad_time", lambda rows: _lines_at(rows, 4, "git.clone,bob,99999-01-01,acme"), 1),
    ],
)
def test_malformed_csv(
    ws: Workspace,
    tmp_path: Path,
    sample_lines: dict[str, Lines],
    name: str,
    edit: Callable[[list[str]], list[str]],
    expected: int,
) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_text("\n".join(edit(_csv(sample_lines["github"]))) + "\n", encoding="utf-8")
    (f,) = import_files(ws, [path]).files
    assert f.rejected == expected
    assert f.events + f.duplicates + f.rejected == f.records


def _lines_at(rows: list[str], k: int, row: str) -> list[str]:
    return [*rows[:k], row, *rows[k + 1 :]]


def test_csv_invalid_utf8_row(ws: Workspace, tmp_path: Path, sample_lines: dict[str, Lines]) -> None:
    rows = [r.encode() for r in _csv(sample_lines["github"])]
    rows[3] = rows[3].replace(b"github", b"git\xffhub", 1)
    path = tmp_path / "u.csv"
    path.write_bytes(b"\n".join(rows) + b"\n")
    (f,) = import_files(ws, [path]).files
    assert (f.rejected, f.events + f.duplicates) == (1, len(rows) - 2)
    assert ws.con.execute("SELECT line_no, reason FROM rejected_lines").fetchall() == [(4, "invalid UTF-8")]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("truncated.json", b'[{"action": "git.clone", "created_at": 1583364251067},\n{"action": "gi'),
        ("badbyte.json", b'[{"action": "git.clone",\n "actor": "\xff", "created_at": 1583364251067}]'),
    ],
)
def test_broken_json_documents_exit_2_with_line(tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / name).write_bytes(data)
    done = run_auditor("import", name, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{name}: line 2" in done.stderr


def test_compressed_file_exits_2_via_the_cli(tmp_path: Path, sample_lines: dict[str, Lines]) -> None:
    (tmp_path / "a.ndjson.gz").write_bytes(gzip.compress(_join(sample_lines["github"])))
    done = run_auditor("import", "a.ndjson.gz", cwd=tmp_path)
    assert done.returncode == 2 and "a.ndjson.gz: line 1: a compressed file" in done.stderr
