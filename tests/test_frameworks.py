"""Framework mappings: every referenced check exists, every check maps somewhere, bad files are rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks.frameworks import PACKAGED, labels_by_check, load_frameworks, manual_requirements
from auditor.checks.model import CheckMeta
from auditor.checks.registry import CHECKS, CheckDefinitionError, registry, validate
from auditor.errors import ConfigError
from tests.conftest import ROOT

EXPECTED = {
    "SOC2": {"CC6.1", "CC6.2", "CC6.3", "CC7.2"},
    "ISO27001": {"5.15", "5.16", "5.18", "8.2", "8.15", "8.16"},
    "NIST800-53": {"AC-2", "AC-6", "AU-6", "AU-11"},
    "CISv8": {"5", "6", "8"},
}


def test_shipped_frameworks_cover_the_requirements_named_in_the_issue() -> None:
    got = {fw.framework: {r.id for r in fw.requirements} for fw in load_frameworks()}
    assert got == EXPECTED


def test_every_referenced_check_exists() -> None:
    known = set(registry())
    for fw in load_frameworks():
        for req in fw.requirements:
            assert set(req.checks) <= known, (fw.framework, req.id)


def test_every_check_maps_to_at_least_one_requirement() -> None:
    labels = labels_by_check(load_frameworks())
    assert [c for c in registry() if not labels.get(c)] == []


def test_requirements_without_automation_are_listed_as_manual() -> None:
    manual = {label for label, _, _ in manual_requirements(load_frameworks())}
    assert "ISO27001:8.16" in manual  # no automated check at all
    assert "SOC2:CC6.2" in manual  # automated in part


def test_config_frameworks_is_the_packaged_copy() -> None:
    user_copy = ROOT / "config" / "frameworks"
    assert sorted(p.name for p in user_copy.glob("*.yaml")) == sorted(p.name for p in PACKAGED.glob("*.yaml"))
    for path in PACKAGED.glob("*.yaml"):
        assert (user_copy / path.name).read_bytes() == path.read_bytes()


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "fw.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "framework: X\ntitle: t\nrequirements:\n  - {id: A, title: abc, checks: [access.nope]}\n",
            "fw.yaml: requirement A names unknown check(s): access.nope",
        ),
        ("framework: X\ntitle: t\nrequirements:\n  - {id: A, title: abc}\n", "give checks or a manual procedure"),
        (
            "framework: X\ntitle: t\nrequirements:\n"
            "  - {id: A, title: abc, manual: m}\n  - {id: A, title: abc, manual: m}\n",
            "duplicate requirement ids: A",
        ),
        ("framework: X\ntitle: t\nextra: 1\nrequirements:\n  - {id: A, title: abc, manual: m}\n", "extra"),
        ("framework: [unclosed\n", "cannot read framework mapping"),
    ],
)
def test_bad_mapping_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_frameworks(_write(tmp_path, text))
    assert message in str(err.value)
    assert "fw.yaml" in str(err.value)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no framework mapping files"):
        load_frameworks(tmp_path)


def test_check_metadata_is_validated() -> None:
    good = CHECKS[0].meta.model_dump()
    bads: list[dict[str, object]] = [
        {"id": "Access Bad"},
        {"category": "network"},
        {"severity": "urgent"},
        {"references": []},
        {"references": ["http://insecure.example"]},
        {"id": "credentials.wrong_category"},
        {"rationale": "short"},
        {"unknown_key": 1},
    ]
    for bad in bads:
        with pytest.raises(ValueError):  # pydantic ValidationError is a ValueError
            CheckMeta.model_validate({**good, **bad})


def test_duplicate_check_ids_are_rejected() -> None:
    with pytest.raises(CheckDefinitionError, match="registered twice"):
        validate((CHECKS[0], CHECKS[0]))
