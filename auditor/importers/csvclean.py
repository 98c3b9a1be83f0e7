"""CSV exports rewritten as a strict, numbered CSV before DuckDB reads them.

DuckDB's CSV reader reports a malformed row once per dialect it tries and numbers the rows after it
by position, so a bad row shifted every later line number. Python's csv module knows the physical
line each record starts on; rows with the wrong field count, invalid UTF-8 or a broken quote are
rejected here, once each, and every good row is written with its line number (columns c0..cN, so
any header text is safe). CSV exports are UI downloads; the columnar fast path is NDJSON's.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import InputError
from auditor.importers.lines import BadLine, excerpt

if TYPE_CHECKING:
    from _csv import Reader as _reader
    from _csv import Writer as _writer

_SURROGATE = re.compile("[\udc80-\udcff]")
LINE_COLUMN = "line_no"


@dataclass
class CleanCsv:
    """The header (original names, in order), the rewritten file and the rows rejected on the way."""

    header: list[str]
    path: Path
    rejected: list[BadLine] = field(default_factory=list)

    def column(self, k: int) -> str:
        return f"c{k}"


def _raw(row: list[str]) -> bytes:
    return ",".join(row).encode("utf-8", errors="surrogateescape")


def clean_csv(src: Path, dst: Path) -> CleanCsv:
    """Rewrite `src` as `dst` (line_no, c0..cN); a header that cannot be used is an InputError naming line 1."""
    with src.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fin:
        reader = csv.reader(fin, strict=True)
        try:
            header = next(reader)
        except (StopIteration, csv.Error) as exc:
            raise InputError(f"line 1: no usable CSV header ({exc or 'empty'})", str(src)) from None
        if _SURROGATE.search("".join(header)):
            raise InputError("line 1: the CSV header is not valid UTF-8", str(src))
        out = CleanCsv(header, dst)
        with dst.open("w", encoding="utf-8", newline="") as fout:
            writer = csv.writer(fout)  # minimal quoting: an empty field stays NULL, as DuckDB reads it
            writer.writerow([LINE_COLUMN, *(out.column(k) for k in range(len(header)))])
            _rows(reader, header, writer, out)
    return out


def _rows(reader: _reader, header: list[str], writer: _writer, out: CleanCsv) -> None:
    prev = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            out.rejected.append(BadLine(prev + 1, f"malformed CSV: {exc}", ""))
            prev = reader.line_num
            continue
        start, prev = prev + 1, reader.line_num
        if not row or row == [""]:
            continue  # a blank line is not a record
        if len(row) != len(header):
            reason = f"CSV row has {len(row)} fields, the header has {len(header)}"
            out.rejected.append(BadLine(start, reason, excerpt(_raw(row))))
        elif _SURROGATE.search(joined := "".join(row)):
            out.rejected.append(BadLine(start, "invalid UTF-8", excerpt(_raw(row))))
        elif "\x00" in joined:
            out.rejected.append(BadLine(start, "NUL byte in a field", excerpt(_raw(row))))
        else:
            writer.writerow([start, *row])
