"""One pass over an input file: SHA-256, a copy into the evidence store, and line statistics."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError
from auditor.workspace.evidence import blob_path

CHUNK = 8 << 20


@dataclass(frozen=True)
class Scanned:
    """A file read once: its hash, its evidence copy, and whether every line holds a record."""

    path: Path
    sha256: str
    size: int
    lines: int
    has_blank_lines: bool
    evidence: Path
    evidence_is_new: bool


def scan_file(path: Path, evidence_dir: Path) -> Scanned:
    """Hash and copy `path` into the content-addressed store; blank lines make NDJSON take the exact path."""
    evidence_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    lines = 0
    blank = False
    prev_tail = b"\n"  # a blank first line counts as blank
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=evidence_dir, suffix=".partial")
    try:
        with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
                lines += chunk.count(b"\n")
                if not blank:
                    window = prev_tail + chunk
                    blank = b"\n\n" in window or b"\n\r\n" in window or _spaces_only_line(window)
                prev_tail = chunk[-2:]
        if size and not prev_tail.endswith(b"\n"):
            lines += 1
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from exc
    sha = digest.hexdigest()
    target = blob_path(evidence_dir, sha)
    if target.exists():
        Path(tmp_name).unlink()
        return Scanned(path, sha, size, lines, blank, target, False)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(tmp_name, 0o444)
    os.replace(tmp_name, target)
    return Scanned(path, sha, size, lines, blank, target, True)


def _spaces_only_line(window: bytes) -> bool:
    """True if a line made only of spaces or tabs appears (rare; checked cheaply first)."""
    if b"\n " not in window and b"\n\t" not in window:
        return False
    return any(line and not line.strip() for line in window.split(b"\n")[1:-1])
