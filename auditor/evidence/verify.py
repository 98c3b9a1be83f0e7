"""Check an evidence pack: every file the manifest lists is present with its SHA-256 and size, and
nothing else is in the zip. Entries are hashed as streams; nothing is extracted to disk."""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from auditor.errors import InputError
from auditor.evidence.pack import MANIFEST, PACK_FORMAT
from auditor.workspace.evidence import CHUNK


@dataclass
class VerifyResult:
    path: Path
    manifest_sha256: str
    checked: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok, "checked": self.checked,
                "manifest_sha256": self.manifest_sha256, "problems": self.problems}  # fmt: skip


# What reading one damaged member raises: a bad CRC or header (BadZipFile), a corrupt deflate stream
# (zlib.error), a truncated one (EOFError), an unsupported method or encryption (NotImplementedError,
# RuntimeError), a read failure (OSError). Each is one problem; the other members are still checked.
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError)


def _entry_hash(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    """(SHA-256 hex, bytes) of one member, streamed; raises one of _UNREADABLE when it is damaged."""
    digest, size = hashlib.sha256(), 0
    with zf.open(name) as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _manifest(zf: zipfile.ZipFile, path: Path) -> tuple[dict[str, Any], str]:
    try:
        raw = zf.read(MANIFEST)
    except KeyError:
        raise InputError(f"no {MANIFEST} in the zip: not an evidence pack", str(path)) from None
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"{MANIFEST} is not valid JSON: {exc}", str(path)) from exc
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != PACK_FORMAT
        or not isinstance(manifest.get("files"), list)
    ):
        raise InputError(f"{MANIFEST} is not a {PACK_FORMAT} manifest", str(path))
    return manifest, hashlib.sha256(raw).hexdigest()


def verify_pack(path: Path) -> VerifyResult:
    """Recompute every hash; problems name each mismatched, missing, extra or unsafe entry."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot open the evidence pack: {exc}", str(path)) from exc
    with zf:
        manifest, manifest_sha = _manifest(zf, path)
        result = VerifyResult(path=path, manifest_sha256=manifest_sha, checked=0)
        names = Counter(info.filename for info in zf.infolist())
        for name, count in sorted(names.items()):
            if count > 1:
                result.problems.append(f"duplicate entry: {name} appears {count} times")
            pure = PurePosixPath(name)
            if pure.is_absolute() or ".." in pure.parts or "\\" in name:
                result.problems.append(f"unsafe entry name: {name}")
        listed: set[str] = set()
        for item in manifest["files"]:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                result.problems.append(f"malformed manifest entry: {item!r}"[:300])
                continue
            name = item["path"]
            listed.add(name)
            if name not in names:
                result.problems.append(f"missing: {name}")
                continue
            try:
                digest, size = _entry_hash(zf, name)
            except _UNREADABLE as exc:
                result.problems.append(f"unreadable: {name} (damaged in the zip: {exc})")
                continue
            result.checked += 1
            if digest != item.get("sha256"):
                result.problems.append(f"mismatch: {name} (manifest {item.get('sha256')}, actual {digest})")
            elif size != item.get("bytes"):
                result.problems.append(f"size mismatch: {name} (manifest {item.get('bytes')}, actual {size})")
        for name in sorted(set(names) - listed - {MANIFEST}):
            result.problems.append(f"extra: {name} (not in the manifest)")
    return result
