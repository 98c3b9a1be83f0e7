"""The evidence copy of an input file: SHA-256 in one read, then a kernel-side copy into the store."""

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


@dataclass(frozen=True)
class Scanned:
    """A file as received: its hash, size and content-addressed evidence copy."""

    path: Path
    sha256: str
    size: int
    evidence: Path
    evidence_is_new: bool


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def scan_file(path: Path, evidence_dir: Path) -> Scanned:
    """Hash `path` and keep a copy in the content-addressed store (nothing copied if already there)."""
    try:
        sha, size = _sha256(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from exc
    target = blob_path(evidence_dir, sha)
    if target.exists():
        return Scanned(path, sha, size, target, False)
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
    return Scanned(path, sha, size, target, True)
