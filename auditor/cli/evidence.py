"""`auditor evidence export|verify`: a zip of the workspace's evidence with a manifest of SHA-256 hashes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli.context import AppContext
from auditor.cli.output import echo_json
from auditor.cli.progress import progress

EXIT_VERIFY_FAILED = 1


@click.group("evidence")
def evidence() -> None:
    """Export the workspace as a verifiable evidence pack, or verify one.

    \b
    Example:
      auditor evidence export --out evidence-2026-Q4
      auditor evidence verify evidence-2026-Q4/evidence.zip
    """


@evidence.command("export")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write evidence.zip into (created if missing). A path ending in .zip that is not a folder is "
    "still taken as the pack's own path, as earlier versions did.",
)
@click.option(
    "--max-raw-mb",
    default=100,
    show_default=True,
    type=click.IntRange(min=0),
    help="Raw evidence files larger than this are listed by SHA-256 only (stated in the manifest).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the export summary as JSON.")
@click.pass_obj
def export_cmd(app: AppContext, out: Path, max_raw_mb: int, as_json: bool) -> None:
    """Write every workspace table (CSV and JSON), the raw evidence files, findings (also as OCSF
    Detection Findings), incident response packs, run metadata and manifest.json.

    Exits 1 if raw files are missing from or altered in the evidence store (listed in the manifest).

    \b
    Example:
      auditor evidence export --out ./evidence-2026-Q4 --max-raw-mb 500
    """
    from auditor.evidence.pack import export_pack

    out = pack_path(out)
    config = app.config()
    ws = app.workspace()
    try:
        with progress(f"writing the evidence pack {out}…"):
            summary = export_pack(ws, config, out, app.config_file, max_raw_bytes=max_raw_mb * 1024 * 1024)
    finally:
        ws.close()
    if as_json:
        echo_json(summary.to_json())
    else:
        con = click.echo
        con(f"Evidence pack: {summary.path} ({summary.files} files, {summary.bytes:,} bytes)")
        con(f"Tables: {len(summary.tables)}; findings: {summary.findings}; incident packs: {summary.incidents}")
        con(f"Raw evidence: {summary.raw_included} files included, {summary.raw_hash_only} by hash only")
        con(f"manifest.json SHA-256: {summary.manifest_sha256} (record it to detect a rewritten manifest)")
    for problem in summary.raw_problems:
        click.echo(f"warning: {problem}", err=True)
    if summary.raw_problems:
        sys.exit(EXIT_VERIFY_FAILED)


def pack_path(out: Path) -> Path:
    """`--out` is a folder (as for every command): the pack is OUT/evidence.zip. A path ending in .zip that is not
    an existing folder is the pack itself (the earlier convention, kept so existing jobs keep working)."""
    if out.suffix.lower() == ".zip" and not out.is_dir():
        return out
    if out.exists() and not out.is_dir():
        raise click.BadParameter(f"{out} is a file; give a folder", param_hint="--out")
    return out / "evidence.zip"


@evidence.command("verify")
@click.argument("pack", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--manifest-sha256", default=None, help="Also require manifest.json to have this SHA-256.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify_cmd(pack: Path, manifest_sha256: str | None, as_json: bool) -> None:
    """Recompute the SHA-256 of every file listed in manifest.json; exit 1 naming each mismatched,
    missing or extra file (2 if the file is not an evidence pack at all).

    \b
    Example:
      auditor evidence verify evidence.zip
    """
    from auditor.evidence.verify import verify_pack

    result = verify_pack(pack)
    if manifest_sha256 and manifest_sha256.lower() != result.manifest_sha256:
        result.problems.append(f"manifest.json has SHA-256 {result.manifest_sha256}, expected {manifest_sha256}")
    if as_json:
        echo_json(result.to_json())
    elif result.ok:
        click.echo(f"OK: {result.checked} files match manifest.json (SHA-256 {result.manifest_sha256})")
    for problem in result.problems:
        click.echo(problem, err=True)
    if not result.ok:
        click.echo(f"FAILED: {len(result.problems)} problem(s) in {pack}", err=True)
        sys.exit(EXIT_VERIFY_FAILED)
