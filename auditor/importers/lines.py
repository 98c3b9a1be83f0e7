"""Lines DuckDB's readers cannot take (invalid UTF-8, longer than the object limit): found in one
block-wise read, so they become line-level rejects instead of aborting the whole file.

A block that decodes as UTF-8 costs one C-level decode; only a block that fails is split into lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError

BLOCK = 8 << 20
EXCERPT = 200


@dataclass(frozen=True)
class BadLine:
    """A physical line (1-based, counted by "\\n") that is rejected before any SQL reads it."""

    line_no: int
    reason: str
    excerpt: str


def excerpt(raw: bytes) -> str:
    """A printable excerpt of raw bytes: invalid UTF-8 shown as U+FFFD, NULs and control bytes escaped."""
    text = raw[: EXCERPT * 4].decode("utf-8", errors="replace")
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)[:EXCERPT]


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return f"invalid UTF-8 (byte {exc.start + 1} of the line)"


def _too_long(max_line: int) -> str:
    return f"line longer than {max_line} bytes"


def _check_line(line: bytes, line_no: int, out: list[BadLine]) -> None:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.append(BadLine(line_no, _not_utf8(exc), excerpt(line)))


def find_bad_lines(path: Path, max_line: int) -> list[BadLine]:
    """Every line of `path` that is not UTF-8 or is longer than `max_line` bytes."""
    bad: list[BadLine] = []
    lines = 0  # complete lines before `carry`
    carry = b""
    too_long = False  # inside a line already reported as too long
    try:
        with path.open("rb") as fh:
            while block := fh.read(BLOCK):
                data = carry + block
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    if len(carry) > max_line and not too_long:
                        bad.append(BadLine(lines + 1, _too_long(max_line), excerpt(carry)))
                        too_long = True
                    if too_long:
                        carry = b""
                    continue
                complete, carry = data[: cut + 1], data[cut + 1 :]
                _check_block(complete, lines, max_line, too_long, bad)
                lines += complete.count(b"\n")
                too_long = False
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from exc
    if carry and not too_long:
        _check_block(carry, lines, max_line, False, bad)
    return bad


def _check_block(complete: bytes, before: int, max_line: int, continues_long: bool, bad: list[BadLine]) -> None:
    """Lines of one block of whole lines; `continues_long` means its first line's head was already reported."""
    try:
        complete.decode("utf-8")
        clean = True
    except UnicodeDecodeError:
        clean = False
    if clean and len(complete) <= max_line and not continues_long:
        return
    for k, line in enumerate(complete.split(b"\n")[: complete.count(b"\n") or 1]):
        if k == 0 and continues_long:
            continue
        if len(line) > max_line:
            bad.append(BadLine(before + k + 1, _too_long(max_line), excerpt(line)))
        elif not clean:
            _check_line(line, before + k + 1, bad)


def blank_lines(src: Path, dst: Path, line_nos: set[int]) -> None:
    """Copy `src` to `dst` with the given lines emptied; every other line keeps its number."""
    with src.open("rb") as fin, dst.open("wb") as fout:
        for k, line in enumerate(fin, start=1):
            if k in line_nos:
                fout.write(b"\n" if line.endswith(b"\n") else b"")
            else:
                fout.write(line)


_BLANK = re.compile(rb"\n[ \t\r\x0b\x0c]*\n")
_WS = b" \t\r\x0b\x0c"


def first_blank_line(path: Path) -> int | None:
    """The first line holding only ASCII whitespace, which the columnar reader skips without a row: the
    columnar path's line numbers are right only before it."""
    lines = 0
    carry = b""
    try:
        with path.open("rb") as fh:
            first = True
            while block := fh.read(BLOCK):
                data = carry + block
                if first:
                    head = data.split(b"\n", 1)
                    if len(head) == 2 and not head[0].strip(_WS):
                        return 1
                    first = False
                match = _BLANK.search(data)
                if match:
                    return lines + data.count(b"\n", 0, match.start()) + 2
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                lines += data.count(b"\n", 0, cut)
                carry = data[cut:]
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from exc
    return None


def has_stray_cr(path: Path) -> bool:
    """Whether DuckDB's line reader would misread the file: a CR other than in a plain CRLF line end (a lone CR,
    or a blank CRLF line), where it ends lines too, so its line numbers would not be the file's; or a 0x01 byte,
    its column delimiter, which would cut a line short."""
    prev = b""
    try:
        with path.open("rb") as fh:
            while block := fh.read(BLOCK):
                data = prev + block
                if (
                    b"\x01" in data
                    or b"\n\r" in data
                    or data.count(b"\r") != data.count(b"\r\n") + data.endswith(b"\r")
                ):
                    return True
                prev = data[-1:]
                if prev == b"\r":
                    prev = b""
                    nxt = fh.read(1)
                    if nxt != b"\n":
                        return True
                    prev = b"\n"
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from exc
    return False


def _block_starts(path: Path, starts: list[int]) -> dict[int, int]:
    """Byte offset of each wanted line start (0-based count of lines before it), in one block-wise read."""
    want = sorted(set(starts))
    found: dict[int, int] = {}
    if want and want[0] == 0:
        found[0] = 0
        want.pop(0)
    lines = pos = 0
    with path.open("rb") as fh:
        while want and (data := fh.read(BLOCK)):
            n = data.count(b"\n")
            while want and lines + n >= want[0]:
                at, need = -1, want[0] - lines
                for _ in range(need):
                    at = data.find(b"\n", at + 1)
                found[want.pop(0)] = pos + at + 1
            lines += n
            pos += len(data)
    return found


def write_block_lines(src: Path, dst: Path, blocks: list[int], size: int, max_line: int) -> list[BadLine]:
    """The lines of `blocks` (blocks of `size` lines) as LF-numbered records {"n", "raw"} in `dst`, for the exact
    path; a line that is not UTF-8 or longer than `max_line` is written empty and returned as a BadLine.
    Only these blocks are read line by line; the rest of the file is only counted."""
    bad: list[BadLine] = []
    try:
        offsets = _block_starts(src, [b * size for b in blocks])
        with src.open("rb") as fin, dst.open("w", encoding="utf-8") as fout:
            for b in sorted(blocks):
                if b * size not in offsets:
                    continue  # past the end of the file
                fin.seek(offsets[b * size])
                for k in range(b * size + 1, (b + 1) * size + 1):
                    line = fin.readline(max_line + 2)
                    if not line:
                        break
                    if len(line) > max_line + 1 or (len(line) == max_line + 1 and not line.endswith(b"\n")):
                        bad.append(BadLine(k, _too_long(max_line), excerpt(line)))
                        while line and not line.endswith(b"\n"):
                            line = fin.readline(1 << 20)
                        text = ""
                    else:
                        raw = line[:-1] if line.endswith(b"\n") else line
                        try:
                            text = raw.decode("utf-8")
                        except UnicodeDecodeError as exc:
                            bad.append(BadLine(k, _not_utf8(exc), excerpt(raw)))
                            text = ""
                    fout.write(json.dumps({"n": k, "raw": text}) + "\n")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(src)) from exc
    return bad
