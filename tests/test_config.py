"""Config validation: errors name the key path and line; secrets never come from the YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.config.loader import load_config, parse_config
from auditor.config.models import AuditorConfig, SecretRef
from auditor.errors import ConfigError
from tests.conftest import ROOT
from tests.helpers import run_auditor


def test_example_config_is_valid() -> None:
    cfg = load_config(ROOT / "config" / "auditor.example.yaml")
    assert cfg.company.name == "Acme Corp"
    assert cfg.restriction.tiers[0].tier == 1
    assert cfg.sources.github[0].token == SecretRef(env="GITHUB_TOKEN")


def test_no_config_means_defaults() -> None:
    cfg = load_config(None)
    assert cfg == AuditorConfig()
    assert cfg.restriction.visibilities == ["private", "internal"]


def test_empty_file_means_defaults() -> None:
    assert parse_config("", "c.yaml") == AuditorConfig()


def test_unknown_key_names_path_and_line() -> None:
    text = "version: 1\nrestriction:\n  visibilities: [private]\n  colour: blue\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, "c.yaml")
    assert "c.yaml:4: restriction.colour: unknown key" in str(err.value)


def test_wrong_type_names_path_and_line() -> None:
    text = "detection:\n  bulk_window_minutes: soon\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, "c.yaml")
    assert "c.yaml:2: detection.bulk_window_minutes" in str(err.value)


def test_error_inside_a_list_item_names_the_index() -> None:
    text = "approved_automation:\n  - name: a\n    actors: [x]\n    purpose: ci\n  - name: b\n    actors: [y]\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, "c.yaml")
    assert "approved_automation.1.purpose" in str(err.value)
    assert "c.yaml:5" in str(err.value)


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"c\.yaml:2"):
        parse_config("company:\n  name: a: b\n", "c.yaml")


def test_literal_secret_is_refused() -> None:
    text = "sources:\n  github:\n    - org: acme\n      token: ghp_abcdefabcdef\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, "c.yaml")
    message = str(err.value)
    assert "sources.github.0.token" in message and "never read from the config file" in message
    assert "ghp_abcdefabcdef" not in message


def test_secret_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_TOKEN", "s3cret")
    assert SecretRef(env="T_TOKEN").resolve("github").get_secret_value() == "s3cret"
    secret_file = tmp_path / "tok"
    secret_file.write_text("from-file\n")
    ref = SecretRef(file=secret_file)
    assert ref.resolve("gitlab").get_secret_value() == "from-file"
    assert "from-file" not in repr(ref.resolve("gitlab"))


def test_missing_secret_env_is_a_config_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="NOPE_TOKEN"):
        SecretRef(env="NOPE_TOKEN").resolve("github")


def test_secret_ref_needs_exactly_one_source() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        parse_config("sources:\n  github:\n    - token: {env: A, file: /x}\n", "c.yaml")


def test_unreadable_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    "pasted",
    [
        "ghp_" + "a1B2c3D4e5" * 3 + "zzzzzz",  # a GitHub token: matches the name pattern, still refused
        "glpat-Xy12ab34CD56ef78GH90",
        "s3cr3t value with spaces",
        "Zx81Qw72Er63Ty54Ui45Op36",  # a long mixed-case, digit string
        "A" * 65,
    ],
)
def test_a_token_pasted_as_the_env_name_is_never_echoed(pasted: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"sources:\n  github:\n    - token: {{env: '{pasted}'}}\n", "c.yaml")
    message = str(caught.value)
    assert "the env reference is not a valid variable name (value not shown)" in message and "c.yaml:3" in message
    assert pasted not in message and pasted[:8] not in message
    config = tmp_path / "auditor.yaml"
    config.write_text(f"sources:\n  github:\n    - token: {{env: '{pasted}'}}\n", encoding="utf-8")
    done = run_auditor("--config", str(config), "check", "--list", cwd=tmp_path)
    assert done.returncode == 2 and pasted[:8] not in done.stderr + done.stdout and "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "gitlab_token", "_X", "ENTRA_CLIENT_SECRET_2026"])
def test_ordinary_variable_names_are_accepted(name: str) -> None:
    assert SecretRef(env=name).env == name
