"""The README's command-line conventions table matches the commands' --help: global flags, `--format
table|json|csv` on every listing (plus sarif and ocsf on findings and check), `--json` on summaries."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
from click.testing import CliRunner

from auditor.cli import cli
from tests.conftest import ROOT

# `import --format NAME` forces an input file format: not an output format.
INPUT_FORMAT = {("import",)}


def _commands(cmd: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))
    yield path, cmd


def _option(cmd: click.Command, flag: str) -> click.Option | None:
    return next((p for p in cmd.params if isinstance(p, click.Option) and flag in p.opts), None)


def _conventions() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Command-line conventions", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| (.+?) \| (.+) \|$", section, re.M)
    return {what: rule for what, rule in rows if what not in ("what", "---")}


def test_global_flags_in_the_readme_are_the_root_options() -> None:
    named = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", _conventions()["global flags"]))
    assert {"--workspace", "--config", "-q", "--quiet", "-v", "--verbose"} <= named
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for flag in named:
        assert re.search(rf"(?<![\w-]){re.escape(flag)}\b", result.output), flag


def test_every_listing_takes_format_table_json_csv() -> None:
    rule = _conventions()["listings"]
    assert "table\\|json\\|csv" in rule and "sarif\\|ocsf" in rule
    listings = 0
    for path, cmd in _commands(cli):
        option = _option(cmd, "--format")
        if option is None or path in INPUT_FORMAT:
            continue
        listings += 1
        assert isinstance(option.type, click.Choice), path
        assert {"table", "json", "csv"} <= set(option.type.choices), path
        assert option.default == "table", path
    assert listings >= 10
    for name in ("findings", "check"):
        option = _option(cli.commands[name], "--format")
        assert option is not None and isinstance(option.type, click.Choice)
        assert {"sarif", "ocsf"} <= set(option.type.choices)
    assert _option(cli.commands["check"], "--json") is not None  # kept as an alias of --format json


def test_summaries_take_json() -> None:
    for name in ("import", "collect", "detect", "report", "run", "demo", "eval"):
        assert _option(cli.commands[name], "--json") is not None, name


def test_commands_the_progress_row_names_exist() -> None:
    inside = _conventions()["progress"].split("(", 1)[1].split(")", 1)[0]
    listed = [entry.strip() for entry in inside.split(",")]
    assert len(listed) >= 8
    for entry in listed:
        words = entry.split()
        cmd: click.Command = cli
        for word in words:
            assert isinstance(cmd, click.Group) and word in cmd.commands, entry
            cmd = cmd.commands[word]


def test_every_out_option_is_a_folder() -> None:
    """`--out` names a folder everywhere (the README's row lists the commands); evidence export keeps a .zip path
    working for existing jobs, which its --help states."""
    listed = _conventions()["`--out`"].split(":", 1)[1].split("(")[0]
    named = set(re.findall(r"`([a-z][a-z ]*)`", listed))
    found = set()
    for path, cmd in _commands(cli):
        option = _option(cmd, "--out")
        if option is None:
            continue
        found.add(" ".join(path))
        assert isinstance(option.type, click.Path), path
        if path != ("evidence", "export"):
            assert option.type.file_okay is False or "folder" in (option.help or "").lower(), path
    assert named <= found and {"report", "run", "evidence export"} <= found, (named, found)
