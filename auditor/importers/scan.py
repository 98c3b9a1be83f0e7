"""One pass over an input file (SHA-256 and line statistics), then a kernel-side copy into the evidence store."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError
from auditor.workspace.evidence import blob_path

CHUNK = 8 << 20
NL = ord("\n")


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


def _hash_and_count(path: Path) -> tuple[str, int, int, bool]:
    """(sha256, size, lines, has_blank_lines) reading into one reused buffer."""
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = lines = 0
    blank = False
    last = NL  # a blank first line counts as blank
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            digest.update(view[:n])
            size += n
            lines += buf.count(b"\n", 0, n)
            if not blank:
                blank = (
                    (last == NL and buf[0] in b"\r\n") or buf.find(b"\n\n", 0, n) >= 0 or buf.find(b"\n\r\n", 0, n) >= 0
                )
                if not blank and (buf.find(b"\n ", 0, n) >= 0 or buf.find(b"\n\t", 0, n) >= 0):
                    blank = _spaces_only_line(bytes(view[:n]))
            last = buf[n - 1]
    if size and last != NL:
        lines += 1
    return digest.hexdigest(), size, lines, blank


def scan_file(path: Path, evidence_dir: Path) -> Scanned:
    """Hash `path` and keep a copy in the content-addressed store (nothing copied if already there)."""
    try:
        sha, size, lines, blank = _hash_and_count(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from exc
    target = blob_path(evidence_dir, sha)
    if target.exists():
        return Scanned(path, sha, size, lines, blank, target, False)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    os.close(fd)
    try:
        shutil.copyfile(path, tmp_name)  # sendfile/copy_file_range: no copy through Python
        if Path(tmp_name).stat().st_size != size:
            raise InputError("the file changed while it was being imported", str(path))
        os.chmod(tmp_name, 0o444)
        os.replace(tmp_name, target)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise InputError(f"cannot copy into the evidence store: {exc.strerror}", str(path)) from exc
    except InputError:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return Scanned(path, sha, size, lines, blank, target, True)


def _spaces_only_line(window: bytes) -> bool:
    """True if a line made only of spaces or tabs appears (rare; only checked when one might)."""
    return any(line and not line.strip() for line in window.split(b"\n")[1:-1])
