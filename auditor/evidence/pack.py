"""Write an evidence pack: every workspace table (CSV and JSON), raw evidence files, findings as OCSF,
incident response packs, run metadata, and `manifest.json` with the SHA-256 of every other file.

Tables are discovered from the catalog, so tables added by later schema versions are included without
code changes. All tables are read in one transaction (one consistent view). Raw files larger than the
limit are listed by hash only, and the manifest says so. Zip entries are sorted, with a fixed timestamp
and mode, so the same content gives the same entries. The zip is written next to the target and renamed,
so a failed export never leaves a half-written pack.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import __version__
from auditor.csvsafe import neutralise_sql
from auditor.errors import AuditorError
from auditor.workspace.evidence import CHUNK, blob_path
from auditor.workspace.schema import SCHEMA_VERSION
from auditor.workspace.store import utcnow

if TYPE_CHECKING:
    from auditor.config.models import AuditorConfig
    from auditor.workspace.store import Workspace

PACK_FORMAT = "repo-auditor-evidence-pack/1"
MANIFEST = "manifest.json"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
DEFAULT_MAX_RAW_BYTES = 100 * 1024 * 1024


class EvidenceError(AuditorError):
    """The evidence pack cannot be written or read."""


@dataclass
class ExportSummary:
    """What went into the pack; `raw_problems` lists raw files missing from or altered in the store."""

    path: Path
    manifest_sha256: str
    files: int
    bytes: int
    tables: dict[str, int]
    findings: int
    incidents: int
    raw_included: int
    raw_hash_only: int
    raw_problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "manifest_sha256": self.manifest_sha256, "files": self.files,
            "bytes": self.bytes, "tables": self.tables, "findings": self.findings, "incidents": self.incidents,
            "raw_included": self.raw_included, "raw_hash_only": self.raw_hash_only, "raw_problems": self.raw_problems,
        }  # fmt: skip


def sha256_of(path: Path) -> tuple[str, int]:
    """(hex SHA-256, size) of a file, streamed."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _json_dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n", "utf-8")


def _sql_text(path: Path) -> str:
    """A path as a SQL string literal (COPY takes no parameters)."""
    return "'" + str(path).replace("'", "''") + "'"


def workspace_tables(ws: Workspace) -> list[str]:
    """Every base table of the workspace, by name."""
    rows = ws.con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def _csv_query(ws: Workspace, table: str) -> str:
    """SELECT of `table` for its CSV copy: text columns neutralised against formula injection
    (auditor.csvsafe), other columns as stored; rows in the same order as the JSON copy."""
    columns = ws.con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
        "AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    quoted = '"' + table.replace('"', '""') + '"'
    parts, order = [], []
    for name, data_type in columns:
        col = '"' + str(name).replace('"', '""') + '"'
        source = f"{quoted}.{col}"  # qualified: sorts by the stored value, not the neutralised alias
        parts.append(f"{neutralise_sql(source)} AS {col}" if data_type == "VARCHAR" else f"{source} AS {col}")
        order.append(source)
    return f"SELECT {', '.join(parts)} FROM {quoted} ORDER BY {', '.join(order)}"


def _export_tables(ws: Workspace, tmp: Path) -> dict[str, int]:
    """tables/NAME.csv and tables/NAME.json (a JSON array) per table, rows in a stable order."""
    out = tmp / "tables"
    out.mkdir()
    counts: dict[str, int] = {}
    for table in workspace_tables(ws):
        quoted = '"' + table.replace('"', '""') + '"'
        query = f"SELECT * FROM {quoted} ORDER BY ALL"
        csv_path, json_path = out / f"{table}.csv", out / f"{table}.json"
        ws.con.execute(f"COPY ({_csv_query(ws, table)}) TO {_sql_text(csv_path)} (FORMAT csv, HEADER true)")
        ws.con.execute(f"COPY ({query}) TO {_sql_text(json_path)} (FORMAT json, ARRAY true)")
        row = ws.con.execute(f"SELECT count(*) FROM {quoted}").fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def _raw_evidence(ws: Workspace, max_bytes: int) -> tuple[list[tuple[str, Path]], list[dict[str, Any]], list[str]]:
    """(zip entries to add, manifest records for every raw file, problems). Each stored file is re-hashed:
    a file whose content no longer matches its name is reported, not packed."""
    entries: list[tuple[str, Path]] = []
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    rows = ws.con.execute("SELECT sha256, kind, source, stored_path, bytes FROM evidence ORDER BY sha256").fetchall()
    for sha, kind, source, stored, size in rows:
        record: dict[str, Any] = {"sha256": sha, "kind": kind, "source": source, "bytes": int(size)}
        path = blob_path(ws.evidence_dir, sha)
        if not path.is_file() and stored and Path(stored).is_file():
            path = Path(stored)
        if not path.is_file():
            record["status"] = "missing_from_store"
            problems.append(f"raw file {sha} ({source}) is missing from the evidence store")
        elif int(size) > max_bytes:
            record["status"] = "hash_only"
            record["reason"] = f"larger than the pack's raw-file limit of {max_bytes:,} bytes"
        else:
            actual, _ = sha256_of(path)
            if actual != sha:
                record["status"] = "altered_in_store"
                record["actual_sha256"] = actual
                problems.append(f"raw file {sha} ({source}) no longer matches its hash (now {actual})")
            else:
                record["status"] = "included"
                record["path"] = f"evidence/{sha}"
                entries.append((f"evidence/{sha}", path))
        records.append(record)
    return entries, records, problems


def _config_hash(config: AuditorConfig, config_file: Path | None) -> dict[str, Any]:
    """SHA-256 of the config file's bytes, or of the effective (default) config as canonical JSON."""
    if config_file is not None and config_file.is_file():
        return {"source": str(config_file), "sha256": sha256_of(config_file)[0]}
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return {"source": "defaults (no config file)", "sha256": hashlib.sha256(text.encode()).hexdigest()}


def _rows_as_dicts(ws: Workspace, sql: str) -> list[dict[str, Any]]:
    cur = ws.con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _run_metadata(
    ws: Workspace, config: AuditorConfig, config_file: Path | None, tables: dict[str, int], max_bytes: int
) -> dict[str, Any]:
    return {
        "pack_format": PACK_FORMAT,
        "tool": {"name": "repo-auditor", "version": __version__},
        "schema_version": SCHEMA_VERSION,
        "generated_at": utcnow().isoformat(timespec="seconds") + "Z",
        "workspace": str(ws.root),
        "config": _config_hash(config, config_file),
        "raw_file_limit_bytes": max_bytes,
        "table_rows": tables,
        "time_spans": _rows_as_dicts(
            ws, "SELECT platform, min(ts) AS first_event, max(ts) AS last_event, count(*) AS events FROM events "
            "GROUP BY 1 ORDER BY 1",
        ),
        "sources": {
            "imports": _rows_as_dicts(
                ws, "SELECT import_id, path, sha256, format, platform, records, events, duplicates, rejected, "
                "first_event_at, last_event_at, imported_at FROM imports ORDER BY imported_at, import_id",
            ),
            "snapshots": _rows_as_dicts(ws, "SELECT * FROM snapshots ORDER BY created_at, snapshot_id"),
            "log_sources": _rows_as_dicts(ws, "SELECT * FROM log_sources ORDER BY platform, source"),
        },
        "coverage_gaps": _rows_as_dicts(
            ws, "SELECT DISTINCT platform, source, needs, consequence FROM coverage_gaps ORDER BY ALL"
        ),
    }  # fmt: skip


def _write_zip(target: Path, entries: list[tuple[str, Path]]) -> None:
    """Sorted entries, fixed time and mode, deflated; written beside the target, then renamed."""
    partial = target.with_name(target.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            for name, path in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with path.open("rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise EvidenceError(f"cannot write the evidence pack: {exc.strerror or exc}", str(target)) from exc


def export_pack(
    ws: Workspace,
    config: AuditorConfig,
    target: Path,
    config_file: Path | None = None,
    max_raw_bytes: int = DEFAULT_MAX_RAW_BYTES,
) -> ExportSummary:
    """Write the evidence pack to `target` (a .zip) and return what it holds."""
    if target.is_dir():
        raise EvidenceError("the output is a directory; give a .zip file name", str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return _export(ws, config, target, config_file, max_raw_bytes)
    except OSError as exc:
        raise EvidenceError(f"cannot write the evidence pack: {exc.strerror or exc}", str(target)) from exc


def _export(
    ws: Workspace, config: AuditorConfig, target: Path, config_file: Path | None, max_raw_bytes: int
) -> ExportSummary:
    from auditor.evidence.ocsf import findings_to_ocsf
    from auditor.findings import findings_json, load_findings
    from auditor.incidents import build_incident_packs

    with tempfile.TemporaryDirectory(prefix=".evidence-", dir=target.parent) as tmp_name:
        tmp = Path(tmp_name)
        with ws.transaction():  # one consistent view of every table
            tables = _export_tables(ws, tmp)
            findings = load_findings(ws)
            _json_dump(tmp / "findings" / "findings.json", json.loads(findings_json(findings)))
            _json_dump(tmp / "findings" / "ocsf_detection_findings.json", findings_to_ocsf(ws, findings))
            packs = build_incident_packs(ws, findings, config.detection.precursor_lookback_hours)
            for pack in packs:
                _json_dump(tmp / "incidents" / f"{pack.finding_id}.json", pack.to_json())
            raw_entries, raw_records, problems = _raw_evidence(ws, max_raw_bytes)
            _json_dump(tmp / "run_metadata.json", _run_metadata(ws, config, config_file, tables, max_raw_bytes))
        entries = [(p.relative_to(tmp).as_posix(), p) for p in sorted(tmp.rglob("*")) if p.is_file()]
        entries += raw_entries
        files = []
        for name, path in sorted(entries):
            digest, size = sha256_of(path)
            files.append({"path": name, "sha256": digest, "bytes": size})
        manifest = {
            "format": PACK_FORMAT,
            "tool_version": __version__,
            "created_at": utcnow().isoformat(timespec="seconds") + "Z",
            "hash_algorithm": "sha256",
            "raw_file_limit_bytes": max_raw_bytes,
            "note": "every file in this zip except manifest.json is listed with its SHA-256; raw evidence files "
            "above the limit are listed under raw_evidence with status hash_only and are not in the zip",
            "files": files,
            "raw_evidence": raw_records,
        }
        _json_dump(tmp / MANIFEST, manifest)
        entries.append((MANIFEST, tmp / MANIFEST))
        _write_zip(target, entries)
        manifest_sha = sha256_of(tmp / MANIFEST)[0]
    return ExportSummary(
        path=target, manifest_sha256=manifest_sha, files=len(entries), bytes=target.stat().st_size, tables=tables,
        findings=len(findings), incidents=len(packs),
        raw_included=sum(1 for r in raw_records if r["status"] == "included"),
        raw_hash_only=sum(1 for r in raw_records if r["status"] == "hash_only"), raw_problems=problems,
    )  # fmt: skip
