"""Access-review campaigns: worksheets, decisions, rejections, status, evidence and the quarter-over-quarter diff."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from auditor.config.loader import parse_config
from auditor.config.models import AuditorConfig
from auditor.review.campaign import StartResult, start_campaign
from auditor.review.close import close_campaign, status
from auditor.review.decisions import import_worksheets
from auditor.review.model import COLUMNS, ReviewError
from auditor.review.worksheet import read_rows, write_csv
from auditor.workspace.store import Workspace
from tests.inventory import Inventory

REPO = "acme-corp/payments-api"
OTHER = "acme-corp/ledger"


def _tenant(ws: Workspace) -> Inventory:
    """lead maintains team payments (alice's path) and administers REPO directly; bob reaches it through
    the org base permission; OTHER has nobody to review it."""
    inv = Inventory(ws)
    inv.snapshot("github", "acme-corp")
    inv.repo("github", REPO)
    inv.repo("github", OTHER)
    inv.repo("github", "acme-corp/docs", visibility="public")
    inv.person("github", "alice")
    inv.person("github", "lead")
    inv.person("github", "bob", department="Sales")
    inv.grant("github", "alice", REPO, "write", ["team:payments"])
    inv.grant("github", "bob", REPO, "read", ["org_base"])
    inv.grant("github", "lead", REPO, "admin", ["direct"])
    inv.grant("github", "alice", OTHER, "read", ["direct"])
    inv.grant("github", "alice", "acme-corp/docs", "write", ["direct"])  # public: not reviewed
    inv.membership("github", "team", "payments", "lead", "maintainer")
    inv.event("github", "alice", 3, repo=REPO)
    return inv


@pytest.fixture
def started(ws: Workspace) -> StartResult:
    _tenant(ws)
    return start_campaign(ws, AuditorConfig(), "2026-Q3", None)


def _sheet(result: StartResult, reviewer: str) -> dict[str, str]:
    return next(s for s in result.worksheets if s["reviewer"] == reviewer)


def fill_xlsx(path: Path, decide: Callable[[dict[str, str]], dict[str, str]]) -> None:
    """Fill a worksheet as a reviewer would in a spreadsheet program: only the decision columns."""
    wb = openpyxl.load_workbook(path)
    sheet = wb["Review"]
    header = [str(c.value) for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cells = {h: ("" if c.value is None else str(c.value)) for h, c in zip(header, row, strict=True)}
        for key, value in decide(cells).items():
            row[header.index(key)].value = value
    wb.save(path)


def keep_all(cells: dict[str, str]) -> dict[str, str]:
    out = {"decision": "keep"}
    if cells["account"] == cells["reviewer"]:
        out["justification"] = "sole admin; access confirmed by CTO"
    return out


def test_start_writes_worksheets_per_reviewer_with_a_decision_drop_down(started: StartResult) -> None:
    assert started.rows == 4
    assert {s["reviewer"]: s["rows"] for s in started.worksheets} == {"lead": 3, "unassigned": 1}
    sheet = _sheet(started, "lead")
    wb = openpyxl.load_workbook(sheet["xlsx"])
    review = wb["Review"]
    assert [c.value for c in review[1]] == list(COLUMNS)
    rows = {r[5]: r for r in review.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"alice", "bob", "lead"}
    bob = dict(zip(COLUMNS, rows["bob"], strict=True))
    assert (
        bob["account_class"] == "non_developer" and bob["via"] == "org_base" and bob["identity"] == "bob@acme.example"
    )
    assert "access.non_developer_restricted" in str(bob["flags"]) and bob["change"] == "first_review"
    alice = dict(zip(COLUMNS, rows["alice"], strict=True))
    assert str(alice["last_activity_repo"]).startswith("2026-11-17")
    validations = review.data_validations.dataValidation
    decision_col = openpyxl.utils.get_column_letter(COLUMNS.index("decision") + 1)
    assert any(v.formula1 == '"keep,revoke,modify"' and f"{decision_col}2" in str(v.sqref) for v in validations)
    with open(sheet["csv"], encoding="utf-8") as fh:
        assert [r["account"] for r in csv.DictReader(fh)] == ["alice", "bob", "lead"]


def test_reviewers_come_from_config_first(ws: Workspace) -> None:
    _tenant(ws)
    cfg = parse_config("review:\n  reviewers:\n    - {reviewer: ciso, repos: ['*/ledger']}\n", "<t>")
    result = start_campaign(ws, cfg, "2026-Q3", None)
    assert {s["reviewer"]: s["rows"] for s in result.worksheets} == {"lead": 3, "ciso": 1}
    rules = dict(ws.con.execute("SELECT account || ' ' || repo, reviewer_rule FROM review_items").fetchall())
    assert rules[f"alice {REPO}"] == "team maintainer of payments"
    assert rules[f"bob {REPO}"] == "repository admin"
    assert rules[f"alice {OTHER}"] == "review.reviewers[0]"


def test_grants_with_no_team_or_repository_admin_go_to_an_org_owner(ws: Workspace) -> None:
    inv = _tenant(ws)
    inv.person("github", "boss")
    inv.membership("github", "org", "acme-corp", "boss", "owner")
    result = start_campaign(ws, AuditorConfig(), "2026-Q3", None)
    assert {s["reviewer"]: s["rows"] for s in result.worksheets} == {"lead": 3, "boss": 1}
    rules = dict(ws.con.execute("SELECT account || ' ' || repo, reviewer_rule FROM review_items").fetchall())
    assert rules[f"alice {OTHER}"] == "owner of acme-corp"


def test_full_round_trip_with_filled_worksheets(ws: Workspace, started: StartResult) -> None:
    lead = Path(_sheet(started, "lead")["xlsx"])

    def decide(cells: dict[str, str]) -> dict[str, str]:
        if cells["account"] == "bob":
            return {"decision": "revoke", "justification": "sales does not need source"}
        if cells["account"] == "alice":
            return {"decision": "modify", "new_role": "read"}
        return keep_all(cells)

    fill_xlsx(lead, decide)
    unassigned = Path(_sheet(started, "unassigned")["xlsx"])
    fill_xlsx(unassigned, keep_all)
    results = import_worksheets(ws, [lead, unassigned])
    assert [r.status for r in results] == ["imported", "imported"]
    assert results[0].decisions == {"revoke": 1, "modify": 1, "keep": 1}

    _, per_reviewer = status(ws.con, None)
    assert [(r["reviewer"], r["decided"], r["pending"], r["complete_pct"]) for r in per_reviewer] == [
        ("lead", 3, 0, 100.0),
        ("unassigned", 1, 0, 100.0),
    ]
    closed = close_campaign(ws, None, force=False)
    out = closed.evidence_dir
    with (out / "revocations.csv").open(encoding="utf-8") as fh:
        actions = {(r["account"], r["decision"], r["new_role"]) for r in csv.DictReader(fh)}
    assert actions == {("bob", "revoke", ""), ("alice", "modify", "read")}
    with (out / "decisions.csv").open(encoding="utf-8") as fh:
        decisions = list(csv.DictReader(fh))
    assert len(decisions) == 4 and {d["reviewer"] for d in decisions} == {"lead", "unassigned"}
    self_row = next(d for d in decisions if d["account"] == "lead")
    assert self_row["self_review"] == "True" and self_row["justification"]
    assert all(d["decided_at"].endswith("Z") and len(d["source_sha256"]) == 64 for d in decisions)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["revocations"] == 1 and summary["modifications"] == 1 and summary["not_reviewed"] == 0
    assert summary["snapshot_ids"] == started.campaign.snapshot_ids
    assert len(summary["worksheets_imported"]) == 2
    stored = {r[0] for r in ws.con.execute("SELECT source FROM evidence WHERE kind = 'review_evidence'").fetchall()}
    assert stored == {f"review:2026-Q3/{n}" for n in ("decisions.csv", "outcomes.csv", "revocations.csv", "diff.csv",
                                                       "summary.json")}  # fmt: skip
    assert ws.con.execute("SELECT count(*) FROM evidence WHERE kind = 'review_worksheet'").fetchone() == (2,)
    assert ws.con.execute("SELECT status FROM review_campaigns").fetchone() == ("closed",)
    with pytest.raises(ReviewError, match="already closed"):
        close_campaign(ws, "2026-Q3", force=False)

    # Next quarter: bob's revocation was not applied, alice became admin, carol is new, lead left.
    inv = Inventory(ws)
    inv.snapshot("github", "acme-corp", at=inv.now.replace(day=25))
    inv.grant("github", "alice", REPO, "admin", ["team:payments"])
    inv.grant("github", "bob", REPO, "read", ["org_base"])
    inv.grant("github", "carol", REPO, "read", ["direct"])
    inv.grant("github", "alice", OTHER, "read", ["direct"])
    q4 = start_campaign(ws, AuditorConfig(), "2026-Q4", None)
    assert q4.campaign.previous_campaign == "2026-Q3"
    assert q4.changes == {"new": 1, "role_changed": 1, "unchanged": 2, "removed": 1}
    items = {
        r[0]: r[1:]
        for r in ws.con.execute(
            "SELECT account || ' ' || repo, change, previous_role, flags FROM review_items WHERE campaign_id = ?",
            [q4.campaign.campaign_id],
        ).fetchall()
    }
    assert items[f"alice {REPO}"][:2] == ("role_changed", "write")
    assert items[f"carol {REPO}"][0] == "new"
    assert "revoke_not_applied" in items[f"bob {REPO}"][2]
    removed = openpyxl.load_workbook(q4.worksheets[0]["xlsx"])["Removed since previous"]
    assert [r for r in removed.iter_rows(min_row=2, values_only=True)] == [("github", REPO, "lead", "admin")]
    for sheet in q4.worksheets:
        fill_xlsx(Path(sheet["xlsx"]), keep_all)
    assert {r.status for r in import_worksheets(ws, [Path(s["xlsx"]) for s in q4.worksheets])} == {"imported"}
    diff_file = close_campaign(ws, "2026-Q4", force=False).evidence_dir / "diff.csv"
    with diff_file.open(encoding="utf-8") as fh:
        diff = {(r["change"], r["account"]) for r in csv.DictReader(fh)}
    assert diff == {("new", "carol"), ("removed", "lead"), ("role_changed", "alice")}


def test_csv_worksheets_import_too_and_a_later_file_supersedes(ws: Workspace, started: StartResult) -> None:
    path = Path(_sheet(started, "unassigned")["csv"])
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows[0]["decision"] = "revoke"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    assert import_worksheets(ws, [path])[0].status == "imported"
    rows[0]["decision"] = "KEEP"  # case does not matter
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    assert import_worksheets(ws, [path])[0].decisions == {"keep": 1}
    _, per_reviewer = status(ws.con, "2026-Q3")
    assert next(r for r in per_reviewer if r["reviewer"] == "unassigned")["keep"] == 1


def _edit_row(who: str, **changes: str) -> Callable[[dict[str, str]], dict[str, str]]:
    def decide(cells: dict[str, str]) -> dict[str, str]:
        base = keep_all(cells)
        return {**base, **changes} if cells["account"] == who else base

    return decide


@pytest.mark.parametrize(
    ("decide", "reason"),
    [
        (_edit_row("bob", row_id="Rdeadbeef000"), "unknown row Rdeadbeef000"),
        (_edit_row("bob", role="admin"), "was altered (role was 'read', now 'admin')"),
        (_edit_row("bob", row_hash="0000000000000000"), "was altered (row_hash"),
        (_edit_row("bob", account="mallory"), "was altered (account was 'bob'"),
        (_edit_row("bob", reviewer="someone-else"), "was altered (reviewer"),
        (_edit_row("bob", decision=""), "missing decision"),
        (_edit_row("bob", decision="delete"), "invalid decision 'delete'"),
        (_edit_row("bob", decision="modify"), "decision modify needs new_role"),
        (_edit_row("bob", decision="modify", new_role="read"), "new_role 'read' is the current role"),
        (_edit_row("bob", decision="keep", new_role="admin"), "new_role is only for decision modify"),
        (_edit_row("lead", justification=""), "self-review (lead reviews own access) needs a justification"),
    ],
)
def test_bad_worksheets_are_rejected_with_file_row_and_reason_and_change_nothing(
    ws: Workspace, started: StartResult, decide: Callable[[dict[str, str]], dict[str, str]], reason: str
) -> None:
    bad = Path(_sheet(started, "lead")["xlsx"])
    fill_xlsx(bad, decide)
    good = Path(_sheet(started, "unassigned")["xlsx"])
    fill_xlsx(good, keep_all)
    bad_result, good_result = import_worksheets(ws, [bad, good])
    assert bad_result.status == "rejected"
    assert any(reason in msg for _, msg in bad_result.errors), bad_result.errors
    bob_or_lead_row = bad_result.errors[0][0]
    assert bob_or_lead_row in (2, 3, 4)  # the spreadsheet row of the offending line
    assert good_result.status == "imported"
    got = ws.con.execute("SELECT DISTINCT reviewer FROM review_decisions").fetchall()
    assert got == [("unassigned",)]  # nothing from the rejected file


def test_duplicate_rows_are_rejected(ws: Workspace, started: StartResult) -> None:
    path = Path(_sheet(started, "lead")["xlsx"])
    fill_xlsx(path, keep_all)
    wb = openpyxl.load_workbook(path)
    sheet = wb["Review"]
    sheet.append([c.value for c in sheet[2]])
    wb.save(path)
    result = import_worksheets(ws, [path])[0]
    assert (
        result.status == "rejected"
        and result.errors[0][0] == 5
        and "appears twice (also on row 2)" in result.errors[0][1]
    )


def test_unreadable_and_malformed_files_are_rejected(ws: Workspace, started: StartResult, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("keep everything", encoding="utf-8")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    short = tmp_path / "short.csv"
    short.write_text("campaign,row_id,decision\n2026-Q3,R1,keep\n", encoding="utf-8")
    other = tmp_path / "other.csv"
    write_csv(other, [dict.fromkeys(COLUMNS, "") | {"campaign": "1999-Q1", "row_id": "R1", "decision": "keep"}])
    results = import_worksheets(ws, [text, broken, short, other])
    reasons = [r.errors[0][1] for r in results]
    assert "a worksheet is .xlsx or .csv" in reasons[0]
    assert "cannot read worksheet" in reasons[1]
    assert "missing column(s) reviewer" in reasons[2]
    assert "no review campaign named '1999-Q1'" in reasons[3]
    assert {r.status for r in results} == {"rejected"}
    assert ws.con.execute("SELECT count(*) FROM review_decisions").fetchone() == (0,)


def test_a_closed_campaign_takes_no_more_decisions(ws: Workspace, started: StartResult) -> None:
    path = Path(_sheet(started, "lead")["xlsx"])
    fill_xlsx(path, keep_all)
    close_campaign(ws, None, force=True)
    result = import_worksheets(ws, [path])[0]
    assert result.status == "rejected" and "is closed" in result.errors[0][1]


def test_close_refuses_pending_rows_unless_forced(ws: Workspace, started: StartResult) -> None:
    with pytest.raises(ReviewError, match=r"4 row\(s\) have no decision: lead \(3\), unassigned \(1\)"):
        close_campaign(ws, None, force=False)
    result = close_campaign(ws, None, force=True)
    assert result.summary["not_reviewed"] == 4


def test_start_refuses_duplicates_bad_names_and_empty_inventories(ws: Workspace, started: StartResult) -> None:
    with pytest.raises(ReviewError, match="already exists"):
        start_campaign(ws, AuditorConfig(), "2026-Q3", None)
    with pytest.raises(ReviewError, match="campaign name"):
        start_campaign(ws, AuditorConfig(), "../escape", None)


def test_start_with_nothing_to_review_writes_nothing(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ReviewError, match="no grants on restricted repositories"):
        start_campaign(ws, AuditorConfig(), "2026-Q1", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert ws.con.execute("SELECT count(*) FROM review_campaigns").fetchone() == (0,)


def test_csv_cells_that_look_like_formulas_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    row = dict.fromkeys(COLUMNS, "") | {"repo": '=HYPERLINK("x")', "account": "-bob", "justification": "'quoted"}
    write_csv(path, [row])
    assert path.read_text(encoding="utf-8").splitlines()[1].count("'=HYPERLINK") == 1
    assert read_rows(path) == [(2, row)]


def _auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUDITOR_WORKSPACE": str(cwd / "ws")}
    env.pop("AUDITOR_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_review_commands_and_exit_codes(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    _tenant(ws)
    ws.close()
    assert _auditor("review", "status", cwd=tmp_path).returncode == 2  # no campaign yet
    started = _auditor("review", "start", "--name", "2026-Q4", "--json", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    sheets = {s["reviewer"]: Path(s["xlsx"]) for s in json.loads(started.stdout)["worksheets"]}
    fill_xlsx(sheets["lead"], _edit_row("bob", decision="maybe"))
    rejected = _auditor("review", "import", str(sheets["lead"]), cwd=tmp_path)
    assert rejected.returncode == 2
    assert f"{sheets['lead']}:3: row " in rejected.stderr and "invalid decision 'maybe'" in rejected.stderr
    assert _auditor("review", "close", cwd=tmp_path).returncode == 2  # rows pending
    fill_xlsx(sheets["lead"], keep_all)
    fill_xlsx(sheets["unassigned"], keep_all)
    imported = _auditor("review", "import", *map(str, sheets.values()), "--json", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["imported"] == 2
    listing = json.loads(_auditor("review", "status", "--format", "json", cwd=tmp_path).stdout)
    assert {r["reviewer"]: r["complete_pct"] for r in listing} == {"lead": 100.0, "unassigned": 100.0}
    closed = _auditor("review", "close", "--json", cwd=tmp_path)
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["decided"] == 4
    assert _auditor("review", "start", "--name", "2026-Q4", cwd=tmp_path).returncode == 2
