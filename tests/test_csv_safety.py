"""Formula injection: every CSV a person opens neutralises cells a spreadsheet would run (one rule,
auditor.csvsafe); the JSON copies keep the raw values."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import duckdb
import pytest

from auditor.config.models import AuditorConfig
from auditor.csvsafe import neutralise, neutralise_sql, unescape
from auditor.review.campaign import start_campaign
from auditor.review.close import close_campaign
from auditor.review.decisions import import_worksheets
from auditor.workspace.store import Workspace
from tests.helpers import run_auditor
from tests.inventory import Inventory
from tests.test_review import fill_xlsx

ORG = "acme-corp"
REPO = "acme-corp/payments-api"
EVIL = "=evil"
BOSS = "@boss"  # the org owner, so the reviewer
TOKEN = "+deploy-token"
JUSTIFICATION = "@SUM(1+1)*cmd|' /C calc'!A0"  # an XLSX cell typed "=..." would be a formula, not text
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _unsafe_cells(text: str) -> list[str]:
    """Cells of a CSV text that a spreadsheet would run as a formula."""
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row if cell.startswith(DANGEROUS)]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'=x", "'"])
def test_one_rule_in_python_and_sql(value: str) -> None:
    escaped = neutralise(value)
    assert escaped == ("'" + value if value != "'" else "''") and unescape(escaped) == value
    con = duckdb.connect()
    got = con.execute(f"SELECT {neutralise_sql('v')} FROM (SELECT ?::VARCHAR AS v)", [value]).fetchone()
    con.close()
    assert got == (escaped,)


def test_plain_values_and_numbers_are_unchanged() -> None:
    assert [neutralise(v) for v in ("alice", "", -5, None, "a=b")] == ["alice", "", -5, None, "a=b"]


@pytest.fixture
def tenant(tmp_path: Path) -> Path:
    """A workspace whose account, token and reviewer justification start with formula characters, after a
    closed campaign that revoked the account's access (so it is in revocations.csv and unreachable.csv)."""
    ws = Workspace.open(tmp_path / "ws")
    inv = Inventory(ws)
    inv.snapshot("github", ORG)
    inv.repo("github", REPO)
    for login in (BOSS, EVIL):
        inv.person("github", login)
    inv.membership("github", "org", ORG, BOSS, "owner")
    inv.membership("github", "org", ORG, EVIL, "member")
    inv.grant("github", BOSS, REPO, "admin", ["org_owner"])
    inv.grant("github", EVIL, REPO, "write", ["direct"])
    inv.credential("github", "pat_fine_grained", "4001", EVIL, ["contents:read"], name=TOKEN)
    inv.event("github", EVIL, 2, repo=REPO)
    started = start_campaign(ws, AuditorConfig(), "2026-Q3", tmp_path / "review")
    files = [Path(s["xlsx"]) for s in started.worksheets]
    for path in files:
        fill_xlsx(path, lambda c: {"decision": "revoke", "justification": JUSTIFICATION})
    assert {r.status for r in import_worksheets(ws, files)} == {"imported"}
    close_campaign(ws, None, force=True)
    ws.close()
    return tmp_path


def test_review_close_csvs_are_neutralised(tenant: Path) -> None:
    out = next(p for p in (tenant / "review").rglob("revocations.csv")).parent
    texts = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.csv")}
    assert {"revocations.csv", "unreachable.csv", "decisions.csv"} <= set(texts)
    assert "'" + EVIL in texts["unreachable.csv"] and "'" + EVIL in texts["revocations.csv"]
    assert "'" + JUSTIFICATION in texts["decisions.csv"]
    assert {name: _unsafe_cells(text) for name, text in texts.items()} == {key: [] for key in texts}


@pytest.mark.parametrize(
    ("args", "marker"),
    [
        (("accounts",), EVIL),
        (("access",), EVIL),
        (("credentials",), TOKEN),
        (("entitlements",), EVIL),
        (("review", "status", "--name", "2026-Q3"), BOSS),
    ],
)
def test_listing_csvs_are_neutralised_and_json_raw(tenant: Path, args: tuple[str, ...], marker: str) -> None:
    done = run_auditor(*args, "--format", "csv", cwd=tenant)
    assert done.returncode == 0, done.stderr
    assert _unsafe_cells(done.stdout) == [] and "'" + marker in done.stdout, done.stdout
    raw = run_auditor(*args, "--format", "json", cwd=tenant)
    assert marker in json.dumps(json.loads(raw.stdout)) and "'" + marker not in raw.stdout


def test_evidence_pack_tables_are_neutralised_and_json_raw(tenant: Path) -> None:
    done = run_auditor("evidence", "export", "--out", "pack.zip", cwd=tenant)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tenant / "pack.zip") as zf:
        tables = {n: zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("tables/")}
    csvs = {n: t for n, t in tables.items() if n.endswith(".csv")}
    assert {n: _unsafe_cells(t) for n, t in csvs.items()} == {key: [] for key in csvs}
    assert "'" + EVIL in csvs["tables/grants.csv"] and "'" + TOKEN in csvs["tables/credentials.csv"]
    grants = json.loads(tables["tables/grants.json"])
    assert EVIL in {g["account"] for g in grants}
    assert JUSTIFICATION in {d["justification"] for d in json.loads(tables["tables/review_decisions.json"])}
