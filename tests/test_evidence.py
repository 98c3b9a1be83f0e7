"""Evidence packs: contents, determinism, OCSF shape, and verification catching every kind of tampering."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.config.models import AuditorConfig
from auditor.evidence.pack import MANIFEST, export_pack, sha256_of
from auditor.evidence.verify import verify_pack
from auditor.workspace.evidence import store_blob
from auditor.workspace.store import Workspace

T0 = datetime(2024, 5, 1, 9, 0, 0)


def _workspace(root: Path) -> tuple[Workspace, str]:
    """A workspace with one raw file in the evidence store, events cut from it, findings and a coverage gap."""
    ws = Workspace.open(root / "ws")
    raw = root / "audit.ndjson"
    raw.write_text("".join(json.dumps({"n": i}) + "\n" for i in range(5)), encoding="utf-8")
    sha, size = sha256_of(raw)
    stored, _ = store_blob(ws.evidence_dir, raw, sha)
    ws.con.execute("INSERT INTO evidence VALUES (?, 'import', ?, ?, ?, ?)", [sha, str(raw), str(stored), size, T0])
    for i in range(5):
        ws.con.execute(
            "INSERT INTO events (event_uid, platform, source_format, ts, action, category, actor, repo, ip, "
            "country, user_agent, credential_type, credential_id, evidence_sha256, line_no, import_id) "
            "VALUES (?, 'github', 'github-audit', ?, 'git.clone', 'download', 'mallory', ?, '203.0.113.9', 'PT', "
            "'git/2.45', 'Personal access token', '4001', ?, ?, 'imp-1')",
            [f"ev-{i}", T0 + timedelta(minutes=i), f"acme/r{i}", sha, i + 1],
        )
    findings = [
        ("AN0732-1", "critical", 97, False, None, [f"{sha}:1", f"{sha}:2"]),
        ("AN0732-2", "low", 20, False, None, []),
        ("AN0732-3", "high", 70, True, "approved automation: backup", [f"{sha}:3"]),
    ]
    for fid, severity, score, suppressed, why, evidence in findings:
        ws.con.execute(
            "INSERT INTO findings (id, analytic, severity, score, platform, actor, identity, repos, first_seen, "
            "last_seen, reasons, evidence, suppressed, suppression_reason, run_id, detected_at) VALUES "
            "(?, 'AN0732', ?, ?, 'github', 'mallory', 'mallory@acme.example', ['acme/r0', 'acme/r1'], ?, ?, "
            "['Downloaded 5 restricted repositories'], ?, ?, ?, 'run-1', ?)",
            [fid, severity, score, T0, T0 + timedelta(minutes=4), evidence, suppressed, why, T0],
        )
    ws.con.execute(
        "INSERT INTO coverage_gaps VALUES ('github', 'audit-log', 'read:audit_log', 'no git events', NULL, ?)", [T0]
    )
    # A table another branch might add later: exported without any code knowing its name.
    ws.con.execute("CREATE TABLE future_branch_table (campaign VARCHAR, account VARCHAR, decision VARCHAR)")
    ws.con.execute("INSERT INTO future_branch_table VALUES ('2026-Q4', 'sam', 'revoke')")
    return ws, sha


@pytest.fixture
def pack(tmp_path: Path) -> tuple[Path, str]:
    ws, sha = _workspace(tmp_path)
    config_file = tmp_path / "auditor.yaml"
    config_file.write_text("version: 1\n", encoding="utf-8")
    summary = export_pack(ws, AuditorConfig(), tmp_path / "out" / "pack.zip", config_file=config_file)
    ws.close()
    assert summary.raw_problems == [] and summary.raw_included == 1 and summary.incidents == 1
    assert summary.manifest_sha256 == verify_pack(summary.path).manifest_sha256
    return summary.path, sha


def _read(path: Path, name: str) -> Any:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read(name))


def _rewrite(src: Path, dst: Path, drop: str | None = None, change: str | None = None, add: str | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            data = zin.read(info.filename)
            if info.filename == change:
                data = data.replace(b"mallory", b"mallorx", 1)
            zout.writestr(info, data)
        if add:
            zout.writestr(add, b"planted")
    return dst


def test_pack_holds_every_table_raw_files_ocsf_incidents_and_metadata(pack: tuple[Path, str]) -> None:
    path, sha = pack
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        infos = zf.infolist()
    assert names == sorted(names)
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    for table in ("events", "findings", "evidence", "coverage_gaps", "grants", "check_results", "future_branch_table"):
        assert f"tables/{table}.csv" in names and f"tables/{table}.json" in names
    assert _read(path, "tables/future_branch_table.json") == [
        {"campaign": "2026-Q4", "account": "sam", "decision": "revoke"}
    ]
    assert f"evidence/{sha}" in names
    assert "incidents/AN0732-1.json" in names and "incidents/AN0732-2.json" not in names
    incident = _read(path, "incidents/AN0732-1.json")
    assert incident["recommendation_only"] is True and incident["raw_files"][0]["sha256"] == sha
    assert any("credential-authorizations/4001" in s["how"] for s in incident["containment"])
    manifest = _read(path, MANIFEST)
    assert {f["path"] for f in manifest["files"]} == set(names) - {MANIFEST}
    assert manifest["raw_evidence"][0]["status"] == "included"
    meta = _read(path, "run_metadata.json")
    assert (
        meta["tool"]["version"] and len(meta["config"]["sha256"]) == 64 and meta["config"]["source"].endswith(".yaml")
    )
    assert meta["time_spans"][0]["platform"] == "github" and meta["time_spans"][0]["events"] == 5
    assert meta["coverage_gaps"][0]["needs"] == "read:audit_log"
    assert meta["table_rows"]["findings"] == 3


def test_findings_are_ocsf_detection_findings(pack: tuple[Path, str]) -> None:
    path, sha = pack
    ocsf = {f["finding_info"]["uid"]: f for f in _read(path, "findings/ocsf_detection_findings.json")}
    top = ocsf["AN0732-1"]
    assert (top["class_uid"], top["category_uid"], top["activity_id"], top["type_uid"]) == (2004, 2, 1, 200401)
    assert (top["severity_id"], top["severity"]) == (5, "Critical")
    assert ocsf["AN0732-2"]["severity_id"] == 2
    assert top["finding_info"]["title"].startswith("Bulk extraction") and top["finding_info"]["desc"]
    assert top["finding_info"]["attacks"][0]["technique"]["uid"] == "T1213.003"
    assert top["time"] == int(datetime(2024, 5, 1, 9, 4, tzinfo=UTC).timestamp() * 1000)
    assert top["actor"]["user"] == {"name": "mallory", "email_addr": "mallory@acme.example"}
    assert [r["name"] for r in top["resources"]] == ["acme/r0", "acme/r1"]
    assert [e["data"]["raw_record"] for e in top["evidences"]] == [f"{sha}:1", f"{sha}:2"]
    assert top["evidences"][0]["src_endpoint"] == {"ip": "203.0.113.9", "location": {"country": "PT"}}
    assert top["metadata"]["version"] == "1.3.0" and top["status_id"] == 1
    assert (ocsf["AN0732-3"]["status_id"], ocsf["AN0732-3"]["status_detail"]) == (3, "approved automation: backup")


def test_verify_accepts_the_pack(pack: tuple[Path, str]) -> None:
    result = verify_pack(pack[0])
    assert result.ok and result.checked == len(_read(pack[0], MANIFEST)["files"])


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ({"change": "tables/findings.json"}, "mismatch: tables/findings.json"),
        ({"drop": "findings/ocsf_detection_findings.json"}, "missing: findings/ocsf_detection_findings.json"),
        ({"add": "tables/extra.csv"}, "extra: tables/extra.csv (not in the manifest)"),
        ({"add": "../escape.txt"}, "unsafe entry name: ../escape.txt"),
    ],
)
def test_verify_names_every_tampered_file(
    pack: tuple[Path, str], tmp_path: Path, kind: dict[str, str], expected: str
) -> None:
    bad = _rewrite(pack[0], tmp_path / "bad.zip", **kind)
    result = verify_pack(bad)
    assert not result.ok
    assert any(p.startswith(expected) for p in result.problems), result.problems


def test_verify_detects_a_changed_raw_evidence_file(pack: tuple[Path, str], tmp_path: Path) -> None:
    path, sha = pack
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp_path / "bad.zip", "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, data + b"x" if info.filename == f"evidence/{sha}" else data)
    problems = verify_pack(tmp_path / "bad.zip").problems
    assert len(problems) == 1 and problems[0].startswith(f"mismatch: evidence/{sha} (manifest {sha}, actual ")


def test_large_raw_files_are_listed_by_hash_only(tmp_path: Path) -> None:
    ws, sha = _workspace(tmp_path)
    summary = export_pack(ws, AuditorConfig(), tmp_path / "p.zip", max_raw_bytes=10)
    ws.close()
    assert (summary.raw_included, summary.raw_hash_only) == (0, 1)
    with zipfile.ZipFile(summary.path) as zf:
        assert not [n for n in zf.namelist() if n.startswith("evidence/")]
    record = _read(summary.path, MANIFEST)["raw_evidence"][0]
    assert record["status"] == "hash_only" and record["sha256"] == sha and "10 bytes" in record["reason"]
    assert verify_pack(summary.path).ok


def test_a_raw_file_altered_in_the_store_is_reported_not_packed(tmp_path: Path) -> None:
    ws, sha = _workspace(tmp_path)
    blob = ws.evidence_dir / sha[:2] / sha
    blob.chmod(0o644)
    blob.write_text("rewritten\n", encoding="utf-8")
    summary = export_pack(ws, AuditorConfig(), tmp_path / "p.zip")
    ws.close()
    assert summary.raw_problems and "no longer matches its hash" in summary.raw_problems[0]
    assert _read(summary.path, MANIFEST)["raw_evidence"][0]["status"] == "altered_in_store"


def _auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUDITOR_WORKSPACE": str(cwd / "ws")}
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_export_and_verify_exit_codes(tmp_path: Path) -> None:
    ws, _ = _workspace(tmp_path)
    ws.close()
    done = _auditor("evidence", "export", "--out", "pack.zip", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["findings"] == 3 and summary["raw_included"] == 1
    ok = _auditor("evidence", "verify", "pack.zip", "--manifest-sha256", summary["manifest_sha256"], cwd=tmp_path)
    assert ok.returncode == 0 and "OK:" in ok.stdout
    _rewrite(tmp_path / "pack.zip", tmp_path / "bad.zip", drop="tables/events.csv")
    bad = _auditor("evidence", "verify", "bad.zip", cwd=tmp_path)
    assert bad.returncode == 1 and "missing: tables/events.csv" in bad.stderr
    wrong = _auditor("evidence", "verify", "pack.zip", "--manifest-sha256", "0" * 64, cwd=tmp_path)
    assert wrong.returncode == 1 and "expected 000" in wrong.stderr
    (tmp_path / "not.zip").write_text("hello", encoding="utf-8")
    assert _auditor("evidence", "verify", "not.zip", cwd=tmp_path).returncode == 2
    with zipfile.ZipFile(tmp_path / "nomanifest.zip", "w") as zf:
        zf.writestr("a.txt", "x")
    nomanifest = _auditor("evidence", "verify", "nomanifest.zip", cwd=tmp_path)
    assert nomanifest.returncode == 2 and "no manifest.json" in nomanifest.stderr


def test_out_is_a_folder_created_when_missing(tmp_path: Path) -> None:
    ws, _ = _workspace(tmp_path)
    ws.close()
    done = _auditor("evidence", "export", "--out", "packs/2026-Q4", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / json.loads(done.stdout)["path"]).resolve() == (tmp_path / "packs/2026-Q4/evidence.zip").resolve()
    table = _auditor("evidence", "export", "--out", "packs/again", cwd=tmp_path)
    assert table.returncode == 0 and "evidence.zip" in table.stdout
    assert _auditor("evidence", "verify", "packs/again/evidence.zip", cwd=tmp_path).returncode == 0


def test_export_to_an_unusable_path_is_a_clear_error(tmp_path: Path) -> None:
    ws, _ = _workspace(tmp_path)
    ws.close()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    under_file = _auditor("evidence", "export", "--out", "afile/pack.zip", cwd=tmp_path)
    assert under_file.returncode == 2 and "cannot write the evidence pack" in under_file.stderr
    (tmp_path / "adir.zip").mkdir()  # an existing folder is a folder, whatever its name
    into_dir = _auditor("evidence", "export", "--out", "adir.zip", cwd=tmp_path)
    assert into_dir.returncode == 0 and (tmp_path / "adir.zip" / "evidence.zip").is_file(), into_dir.stderr
    plain_file = _auditor("evidence", "export", "--out", "afile", cwd=tmp_path)
    assert plain_file.returncode == 2 and "is a file; give a folder" in plain_file.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".evidence-")) == []


def _corrupt_members(src: Path, dst: Path, names: list[str]) -> None:
    """Copy `src` to `dst` with the compressed bytes of each named member overwritten in the middle."""
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        for name in names:
            info = zf.getinfo(name)
            assert info.compress_type == zipfile.ZIP_DEFLATED and info.compress_size > 8, name
            fname_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
            extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
            start = info.header_offset + 30 + fname_len + extra_len
            middle = start + info.compress_size // 2
            data[middle - 4 : middle + 4] = b"\xff\x00\xff\x00\xff\x00\xff\x00"
    dst.write_bytes(bytes(data))


def test_verify_names_every_damaged_member_and_checks_the_rest(pack: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = pack
    damaged = ["tables/events.json", "findings/ocsf_detection_findings.json"]
    _corrupt_members(path, tmp_path / "damaged.zip", damaged)
    listed = len(_read(path, MANIFEST)["files"])
    result = verify_pack(tmp_path / "damaged.zip")
    assert not result.ok and result.checked == listed - len(damaged)
    for name in damaged:
        assert any(p.startswith(f"unreadable: {name} ") for p in result.problems), result.problems
    done = _auditor("evidence", "verify", "damaged.zip", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert all(f"unreadable: {name}" in done.stderr for name in damaged)
