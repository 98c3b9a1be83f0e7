"""Split an NDJSON file at line boundaries so DuckDB can number lines in several scans at once.

Numbering a scan (WITH ORDINALITY) makes it sequential; K chunk files read as K numbered scans
under UNION ALL run in parallel, each adding the line count of the chunks before it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError

BLOCK = 8 << 20
MIN_CHUNK = 32 << 20
NL = ord("\n")


@dataclass(frozen=True)
class LinePlan:
    """Line count of a file and where to cut it: byte bounds and the lines before each chunk.

    Blank or malformed lines need no search here: the columnar read yields fewer events than
    `lines` for them, which sends the file down the exact path.
    """

    size: int
    lines: int
    bounds: list[int]
    line_offsets: list[int]


def plan_lines(path: Path, parts: int, min_chunk: int | None = None) -> LinePlan:
    """One read: count lines and cut at the first newline past each size/parts mark."""
    size = path.stat().st_size
    parts = max(1, min(parts, size // max(1, min_chunk or MIN_CHUNK)))
    marks = [size * k // parts for k in range(1, parts)]
    bounds, offsets = [0], [0]
    lines = pos = 0
    last = NL
    buf = bytearray(BLOCK)
    try:
        with path.open("rb", buffering=0) as fh:
            while n := fh.readinto(buf):
                while marks and marks[0] < pos + n:
                    cut = buf.find(b"\n", max(0, marks[0] - pos), n)
                    if cut < 0:
                        break  # the line runs into the next block
                    marks.pop(0)
                    if pos + cut + 1 > bounds[-1] and pos + cut + 1 < size:
                        bounds.append(pos + cut + 1)
                        offsets.append(lines + buf.count(b"\n", 0, cut + 1))
                lines += buf.count(b"\n", 0, n)
                last = buf[n - 1]
                pos += n
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from exc
    if pos and last != NL:
        lines += 1
    bounds.append(pos)
    return LinePlan(pos, lines, bounds, offsets)


def write_chunks(path: Path, plan: LinePlan, out_dir: Path) -> list[Path]:
    """The file itself when it is one chunk, else chunk files copied kernel-side into `out_dir`."""
    if len(plan.bounds) <= 2:
        return [path]
    out_dir.mkdir(parents=True, exist_ok=True)
    chunks = []
    with path.open("rb") as src:
        for k in range(len(plan.bounds) - 1):
            start, end = plan.bounds[k], plan.bounds[k + 1]
            chunk = out_dir / f"chunk-{k}.ndjson"
            with chunk.open("wb") as dst:
                _copy_range(src.fileno(), dst.fileno(), start, end - start)
            chunks.append(chunk)
    return chunks


def _copy_range(src: int, dst: int, offset: int, count: int) -> None:
    copy_range = getattr(os, "copy_file_range", None)
    while count > 0:
        if copy_range is not None:
            done = int(copy_range(src, dst, count, offset))
        else:  # pragma: no cover - platforms without copy_file_range
            os.lseek(src, offset, os.SEEK_SET)
            data = os.read(src, min(count, BLOCK))
            done = os.write(dst, data)
        if done <= 0:
            raise InputError("the file changed while it was being imported")
        offset += done
        count -= done


def remove_chunks(chunks: list[Path], original: Path) -> None:
    for chunk in chunks:
        if chunk != original:
            chunk.unlink(missing_ok=True)
    if chunks and chunks[0] != original:
        shutil.rmtree(chunks[0].parent, ignore_errors=True)
