"""Recognise a file's container (NDJSON, JSON array, Graph page, CSV) and vendor format from its head."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.importers.formats.base import Container, Format, Record
from auditor.importers.registry import FORMATS

HEAD_BYTES = 1 << 20
SAMPLE_RECORDS = 50
_COMPRESSED = (b"\x1f\x8b", b"PK\x03\x04", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")
_VALUE_ARRAY = re.compile(r'"value"\s*:\s*\[')


@dataclass(frozen=True)
class Sniffed:
    """What a file is: its container and vendor format."""

    container: Container
    fmt: Format


def _decode_elements(text: str, start: int) -> list[Any]:
    """Decode up to SAMPLE_RECORDS JSON values of an array whose first element begins at `start`."""
    decoder = json.JSONDecoder()
    out: list[Any] = []
    pos = start
    while len(out) < SAMPLE_RECORDS:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError):  # RecursionError: nested deeper than Python's stack
            break
        out.append(value)
    return out


def _ndjson_records(lines: list[str]) -> list[Any]:
    out: list[Any] = []
    for line in lines[:-1] if len(lines) > 1 else lines:  # the last line of the head may be cut
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError):  # a line-level reject later, not a sniffing error
            continue
        if len(out) >= SAMPLE_RECORDS:
            break
    return out


def _container_and_records(text: str) -> tuple[Container, list[Any]]:
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise InputError("the file is empty")
    if stripped[0] == "[":
        return Container.JSON_ARRAY, _decode_elements(stripped, 1)
    if stripped[0] == "{":
        lines = stripped.splitlines()
        try:
            first = json.loads(lines[0])
        except (json.JSONDecodeError, RecursionError):
            first = None
        if isinstance(first, dict) and isinstance(first.get("value"), list):
            return Container.JSON_VALUE, first["value"][:SAMPLE_RECORDS]
        if first is None:
            match = _VALUE_ARRAY.search(stripped)
            if match:
                return Container.JSON_VALUE, _decode_elements(stripped, match.end())
        return Container.NDJSON, _ndjson_records(lines)
    reader = csv.reader(io.StringIO(stripped))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return Container.CSV, []
    rows: list[Any] = []
    try:
        for row in reader:
            if len(row) == len(header):
                rows.append(dict(zip(header, row, strict=True)))
            if len(rows) >= SAMPLE_RECORDS:
                break
    except csv.Error:
        pass
    if len(header) < 2:
        return Container.CSV, []
    return Container.CSV, rows or [dict.fromkeys(header, "")]


def _best_format(records: list[Any]) -> Format | None:
    objects: list[Record] = [r for r in records if isinstance(r, dict)]
    best: tuple[int, Format] | None = None
    for fmt in FORMATS:
        hits = sum(1 for r in objects if fmt.matches(r))
        if hits and (best is None or hits > best[0]):
            best = (hits, fmt)
    return best[1] if best else None


def sniff(path: Path, forced: Format | None = None) -> Sniffed:
    """Identify `path`; a file of no known format is an InputError naming it."""
    try:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from exc
    if head.startswith(_COMPRESSED):
        raise InputError("line 1: a compressed file (gzip, zip, bzip2, xz or zstd); decompress it first", str(path))
    if head[:4096].count(b"\x00") > 16 and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("line 1: a binary file, not a text export", str(path))
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("line 1: UTF-16 text; convert it to UTF-8 first (e.g. iconv -f UTF-16 -t UTF-8)", str(path))
    text = head.decode("utf-8", errors="replace")
    try:
        container, records = _container_and_records(text)
    except InputError as exc:
        raise InputError(exc.message, str(path)) from None
    fmt = forced or _best_format(records)
    if fmt is None:
        raise InputError(
            "not a known format (GitHub audit log, GitLab audit or API log, Entra sign-ins or users); "
            "use --format to name one",
            str(path),
        )
    if fmt.csv_columns is None and container is Container.CSV and fmt.platform != "github":
        raise InputError(f"format {fmt.name} has no CSV variant", str(path))
    return Sniffed(container=container, fmt=fmt)
