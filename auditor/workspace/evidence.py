"""Content-addressed evidence store: each input kept as received, named by its SHA-256."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def blob_path(evidence_dir: Path, sha256: str) -> Path:
    return evidence_dir / sha256[:2] / sha256


def store_blob(evidence_dir: Path, source: Path, sha256: str) -> tuple[Path, bool]:
    """Copy `source` into the store unless present; returns (path, newly_written)."""
    target = blob_path(evidence_dir, sha256)
    if target.exists():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    shutil.copyfile(source, tmp)
    tmp.chmod(0o444)
    tmp.replace(target)
    return target, True


def store_bytes(evidence_dir: Path, body: bytes, sha256: str) -> Path:
    """Keep `body` (whose SHA-256 is `sha256`) in the store unless present, read-only like `store_blob`."""
    target = blob_path(evidence_dir, sha256)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    tmp.write_bytes(body)
    tmp.chmod(0o444)
    tmp.replace(target)
    return target
