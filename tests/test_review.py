"""Access-review campaigns at entitlement level: rows, reach, coverage, recommendations, reviewer safety,
worksheets, partial imports, role validation, the revocation plan and the quarter-over-quarter diff."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from auditor.config.loader import parse_config
from auditor.config.models import AuditorConfig
from auditor.review.campaign import StartResult, list_campaigns, start_campaign
from auditor.review.close import close_campaign, status
from auditor.review.decisions import import_worksheets
from auditor.review.model import COLUMNS, READ_COLUMNS, ReviewError, worksheet_names
from auditor.review.worksheet import read_rows, write_csv
from auditor.workspace.store import Workspace
from tests.helpers import run_auditor
from tests.inventory import Inventory

ORG = "acme-corp"
REPO = "acme-corp/payments-api"
OTHER = "acme-corp/ledger"


def _tenant(ws: Workspace) -> Inventory:
    """boss owns the org; the base permission (read) reaches everyone; lead maintains team payments (alice's
    write path) and administers REPO directly; bob (Sales) reaches REPO only through the base permission;
    alice is also a direct collaborator on OTHER, which has no admin."""
    inv = Inventory(ws)
    inv.snapshot("github", ORG)
    for repo in (REPO, OTHER):
        inv.repo("github", repo)
    inv.repo("github", "acme-corp/docs", visibility="public")
    for login, extra in (("alice", {}), ("lead", {}), ("bob", {"department": "Sales"}), ("boss", {})):
        inv.person("github", login, **extra)
    inv.setting("github", ORG, "default_repository_permission", "read")
    inv.membership("github", "org", ORG, "boss", "owner")
    for login in ("alice", "lead", "bob"):
        inv.membership("github", "org", ORG, login, "member")
    inv.membership("github", "team", "payments", "lead", "maintainer")
    inv.membership("github", "team", "payments", "alice", "member")
    inv.grant("github", "alice", REPO, "write", ["org_base", "team:payments"])
    inv.grant("github", "bob", REPO, "read", ["org_base"])
    inv.grant("github", "lead", REPO, "admin", ["direct", "org_base"])
    inv.grant("github", "alice", OTHER, "read", ["direct", "org_base"])
    for repo in (REPO, OTHER):
        inv.grant("github", "boss", repo, "admin", ["org_owner"])
    inv.grant("github", "alice", "acme-corp/docs", "write", ["direct"])  # public: not restricted
    inv.event("github", "alice", 3, repo=REPO)
    inv.event("github", "lead", 2, repo=REPO)
    return inv


def _rows(ws: Workspace, campaign: str = "2026-Q3") -> dict[str, dict[str, object]]:
    """label -> row, for the campaign's review rows."""
    cur = ws.con.execute(
        "SELECT r.* FROM review_rows r JOIN review_campaigns c USING (campaign_id) WHERE c.name = ?", [campaign]
    )
    names = [d[0] for d in cur.description]
    return {str(r[names.index("label")]): dict(zip(names, r, strict=True)) for r in cur.fetchall()}


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
    return {"decision": "keep", "justification": "confirmed"}


def test_rows_are_entitlements_with_reach_and_cover_every_grant(ws: Workspace, started: StartResult) -> None:
    assert started.effective_grants == 6 and started.effective_grants_covered == 6
    data = started.to_json()
    assert data["rows"] == started.rows == 6 and data["coverage_pct"] == 100.0
    assert set(_rows(ws)) == {
        f"base permission of {ORG} (read)",
        f"org {ORG} owner",
        "team:payments member",
        f"team:payments grants (write) on repos of {ORG}",
        f"direct collaborator on {REPO}",
        f"direct collaborator on {OTHER}",
    }


def test_reach_recommendation_and_reviewer_per_row(ws: Workspace) -> None:
    _tenant(ws)
    start_campaign(ws, AuditorConfig(), "2026-Q3", None)
    rows = _rows(ws)
    base = rows[f"base permission of {ORG} (read)"]
    assert json.loads(str(base["reach"])) == {"repos": 2, "by_tier": {"tier2": 2}, "max_role": "read",
                                              "accounts": 3}  # fmt: skip
    assert base["recommendation"] == "revoke" and "1 non-developer" in str(base["recommendation_reason"])
    assert base["reviewer"] == "boss" and base["reviewer_rule"] == f"owner of {ORG}"
    member = rows["team:payments member"]
    assert member["account"] == "alice" and member["reviewer"] == "lead"
    # use is judged at the end of the audit log in the workspace (lead's pull 2 days before the snapshot)
    assert member["reach_text"] == "write on 1 restricted repo (1 tier-2); last use 1 day ago"
    assert member["recommendation"] == "keep"
    assert member["recommendation_reason"] == "used 1 day ago by a developer account"
    assert rows[f"team:payments grants (write) on repos of {ORG}"]["reviewer"] == "lead"
    # lead's own direct grant: lead is the repo admin, so it goes to the org owner instead, and says why.
    own = rows[f"direct collaborator on {REPO}"]
    assert own["account"] == "lead" and own["reviewer"] == "boss"
    assert "lead (repository admin of acme-corp/payments-api) is the account under review" in str(own["reviewer_rule"])
    other = rows[f"direct collaborator on {OTHER}"]
    assert other["recommendation"] == "revoke" and "unused for 90 days (never used)" in str(
        other["recommendation_reason"]
    )
    # boss's own ownership: nobody else owns the org, no manager: the default reviewer, with the reason.
    owner = rows[f"org {ORG} owner"]
    assert owner["reviewer"] == "unassigned" and "boss (owner of acme-corp) is the account under review" in str(
        owner["reviewer_rule"]
    )


def test_reviewer_safety_routes_around_findings_bots_and_externals(ws: Workspace) -> None:
    inv = _tenant(ws)
    inv.identity("id-mgr", "mgr@acme.example")
    ws.con.execute("UPDATE identities SET manager_id = 'id-mgr' WHERE identity_id = 'id-alice'")
    ws.con.execute(
        "INSERT INTO findings (id, analytic, severity, score, platform, actor, identity, repos, first_seen, "
        "last_seen, reasons, evidence, suppressed, run_id, detected_at) VALUES ('AN0732-x', 'AN0732', 'critical', "
        "95, 'github', 'lead', NULL, [], ?, ?, [], [], false, 'r', ?)",
        [inv.now, inv.now, inv.now],
    )
    inv.account("github", "ci-bot", is_bot=True)
    inv.membership("github", "team", "docs", "ci-bot", "maintainer")
    inv.membership("github", "team", "docs", "bob", "member")
    inv.grant("github", "bob", OTHER, "read", ["org_base", "team:docs"])
    start_campaign(ws, AuditorConfig(), "2026-Q3", None)
    rows = _rows(ws)
    member = rows["team:payments member"]  # lead has an open critical finding: not a reviewer
    assert member["reviewer"] == "boss"
    assert "lead (team maintainer of payments) is open critical finding AN0732-x" in str(member["reviewer_rule"])
    docs = rows["team:docs member"]  # a bot maintains the team: the org owner reviews
    assert docs["reviewer"] == "boss" and "ci-bot (team maintainer of docs) is a" in str(docs["reviewer_rule"])
    # by manager: alice's entitlements go to her manager
    start_campaign(ws, AuditorConfig(), "2026-Q3-mgr", None, by="manager")
    by_manager = _rows(ws, "2026-Q3-mgr")
    assert by_manager["team:payments member"]["reviewer"] == "mgr@acme.example"
    assert by_manager[f"org {ORG} member"]["account"] in ("alice", "bob", "lead")
    assert all(r["reviewer"] != r["account"] for r in by_manager.values())


def test_reviewers_come_from_config_first_and_the_mode_from_config(ws: Workspace) -> None:
    _tenant(ws)
    cfg = parse_config("review:\n  by: manager\n  reviewers:\n    - {reviewer: ciso, repos: ['*/ledger']}\n", "<t>")
    result = start_campaign(ws, cfg, "2026-Q3", None)
    assert result.campaign.mode == "manager"
    assert _rows(ws)[f"direct collaborator on {OTHER}"]["reviewer"] == "ciso"


def test_worksheet_names_never_collide() -> None:
    names = worksheet_names(["john.smith", "john.doe", "John_Smith", "john_smith", "a/b", "lead"])
    assert len(set(names.values())) == 6
    assert len({n.lower() for n in names.values()}) == 6
    assert names["lead"] == "lead"
    assert all("/" not in n and "." not in n for n in names.values())


def test_worksheet_layout_reader_first_protected_and_frozen(started: StartResult) -> None:
    sheet = _sheet(started, "lead")
    wb = openpyxl.load_workbook(sheet["xlsx"])
    review = wb["Review"]
    header = [c.value for c in review[1]]
    assert header == list(COLUMNS) and header[: len(READ_COLUMNS)] == list(READ_COLUMNS)
    assert header[-4:] == ["campaign", "row_id", "entitlement_id", "row_hash"]
    assert review.freeze_panes == "B2" and review.protection.sheet
    decision = header.index("decision") + 1
    assert not review.cell(row=2, column=decision).protection.locked
    assert review.cell(row=2, column=1).protection.locked
    validations = review.data_validations.dataValidation
    assert any(v.formula1 == '"keep,revoke,modify,accept"' for v in validations)
    with open(sheet["csv"], encoding="utf-8") as fh:
        assert {r["entitlement"] for r in csv.DictReader(fh)} == {
            "team:payments member",
            f"team:payments grants (write) on repos of {ORG}",
        }


def test_partial_submission_records_decided_rows_and_leaves_the_rest_pending(
    ws: Workspace, started: StartResult
) -> None:
    boss = Path(_sheet(started, "boss")["xlsx"])
    fill_xlsx(boss, lambda c: {"decision": "revoke"} if c["entitlement"].startswith("base permission") else {})
    [result] = import_worksheets(ws, [boss])
    assert result.status == "imported" and result.decisions == {"revoke": 1} and result.pending == 2
    _, per_reviewer = status(ws.con, None)
    assert {r["reviewer"]: (r["decided"], r["pending"]) for r in per_reviewer}["boss"] == (1, 2)
    with pytest.raises(ReviewError, match="have no decision"):
        close_campaign(ws, None, force=False)


def test_modify_is_validated_against_the_platforms_roles(ws: Workspace, started: StartResult) -> None:
    lead = Path(_sheet(started, "lead")["xlsx"])
    fill_xlsx(lead, lambda c: {"decision": "modify", "new_role": "write"} if c["kind"] == "team_membership" else {})
    [result] = import_worksheets(ws, [lead])
    assert result.status == "rejected"
    assert any("'write' is not a github role for a team_membership (member, maintainer)" in e for _, e in result.errors)
    fill_xlsx(
        lead, lambda c: {"decision": "modify", "new_role": "maintainer"} if c["kind"] == "team_membership" else {}
    )
    [result] = import_worksheets(ws, [lead])
    assert result.status == "imported" and result.decisions == {"modify": 1}


def test_accepting_recommendations_in_bulk(ws: Workspace, started: StartResult) -> None:
    boss = Path(_sheet(started, "boss")["xlsx"])
    fill_xlsx(boss, lambda c: {"decision": "accept"})
    [result] = import_worksheets(ws, [boss])
    assert result.status == "imported", result.errors
    recorded = dict(
        ws.con.execute(
            "SELECT r.label, d.decision || ': ' || d.justification FROM review_decisions d "
            "JOIN review_rows r USING (campaign_id, row_id)"
        ).fetchall()
    )
    assert recorded[f"base permission of {ORG} (read)"].startswith("revoke: accepted recommendation: gives 1 non")
    assert recorded[f"direct collaborator on {REPO}"].startswith("keep: accepted recommendation: used today by a")


def test_round_trip_revocation_plan_and_next_quarter(ws: Workspace, started: StartResult) -> None:
    def decide(cells: dict[str, str]) -> dict[str, str]:
        if cells["entitlement"].startswith("base permission") or cells["entitlement"].endswith(OTHER):
            return {"decision": "revoke", "justification": "least privilege"}
        return keep_all(cells)

    files = [Path(s["xlsx"]) for s in started.worksheets]
    for path in files:
        fill_xlsx(path, decide)
    assert {r.status for r in import_worksheets(ws, files)} == {"imported"}
    closed = close_campaign(ws, None, force=False)
    out = closed.evidence_dir
    with (out / "revocations.csv").open(encoding="utf-8") as fh:
        plan = {r["kind"]: r for r in csv.DictReader(fh)}
    assert plan["base_permission"]["platform_call"] == f'PATCH /orgs/{ORG} {{"default_repository_permission": "none"}}'
    assert plan["base_permission"]["effective_grants_removed"] == "2"  # bob on REPO, alice on OTHER
    assert plan["direct_collaborator"]["platform_call"] == f"DELETE /repos/{OTHER}/collaborators/alice"
    with (out / "unreachable.csv").open(encoding="utf-8") as fh:
        unreachable = {r["account"]: r["repos"] for r in csv.DictReader(fh)}
    assert unreachable == {"alice": OTHER, "bob": REPO}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["revocations"] == 2 and summary["effective_grants_removed"] == 2
    assert summary["accounts_losing_access"] == 2 and summary["not_reviewed"] == 0
    stored = {r[0] for r in ws.con.execute("SELECT source FROM evidence WHERE kind = 'review_evidence'").fetchall()}
    assert "review:2026-Q3/revocations.csv" in stored and "review:2026-Q3/unreachable.csv" in stored
    assert list_campaigns(ws.con)[0]["status"] == "closed"

    # Next quarter: the base permission was not changed, alice became a team maintainer, carol is new.
    inv = Inventory(ws)
    inv.snapshot("github", ORG, at=inv.now.replace(day=25))
    inv.setting("github", ORG, "default_repository_permission", "read")
    inv.membership("github", "org", ORG, "boss", "owner")
    inv.membership("github", "team", "payments", "alice", "maintainer")
    inv.grant("github", "alice", REPO, "write", ["org_base", "team:payments"])
    inv.grant("github", "bob", REPO, "read", ["org_base"])
    inv.grant("github", "carol", REPO, "read", ["direct"])
    q4 = start_campaign(ws, AuditorConfig(), "2026-Q4", None)
    assert q4.campaign.previous_campaign == "2026-Q3"
    rows = _rows(ws, "2026-Q4")
    base = rows[f"base permission of {ORG} (read)"]
    assert base["recommendation"] == "revoke" and base["recommendation_reason"] == (
        "revoked in campaign 2026-Q3 but still present"
    )
    assert rows["team:payments maintainer"]["change"] == "role_changed"
    assert rows[f"direct collaborator on {REPO}"]["account"] == "carol"
    assert q4.changes["removed"] >= 1


def test_bad_worksheets_are_rejected_with_file_row_and_reason_and_change_nothing(
    ws: Workspace, started: StartResult
) -> None:
    lead = Path(_sheet(started, "lead")["xlsx"])
    fill_xlsx(lead, lambda c: {"reach": "admin on everything", "decision": "keep"} if c["kind"] == "team_repos" else {})
    [result] = import_worksheets(ws, [lead])
    assert result.status == "rejected" and any("was altered (reach was" in e for _, e in result.errors)
    csv_file = Path(_sheet(started, "lead")["csv"])
    with csv_file.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    write_csv(csv_file, [r | {"decision": "maybe"} for r in rows])
    [result] = import_worksheets(ws, [csv_file])
    assert result.status == "rejected" and all("invalid decision 'maybe'" in e for _, e in result.errors)
    assert ws.con.execute("SELECT count(*) FROM review_decisions").fetchone() == (0,)


def test_unreadable_and_malformed_files_are_rejected(ws: Workspace, started: StartResult, tmp_path: Path) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a zip")
    other = tmp_path / "sheet.txt"
    other.write_text("x", encoding="utf-8")
    results = import_worksheets(ws, [junk, other])
    assert [r.status for r in results] == ["rejected", "rejected"]
    assert "cannot read worksheet" in results[0].errors[0][1]


def test_start_refuses_duplicates_bad_names_and_empty_inventories(ws: Workspace, started: StartResult) -> None:
    with pytest.raises(ReviewError, match="already exists"):
        start_campaign(ws, AuditorConfig(), "2026-Q3", None)
    with pytest.raises(ReviewError, match="campaign name"):
        start_campaign(ws, AuditorConfig(), "../etc", None)


def test_start_with_nothing_to_review_writes_nothing(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ReviewError, match="no entitlements"):
        start_campaign(ws, AuditorConfig(), "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert ws.con.execute("SELECT count(*) FROM review_campaigns").fetchone() == (0,)


def test_csv_cells_that_look_like_formulas_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    row = dict.fromkeys(COLUMNS, "") | {"entitlement": '=HYPERLINK("x")', "account": "-bob", "justification": "'q"}
    write_csv(path, [row])
    assert path.read_text(encoding="utf-8").splitlines()[1].count("'=HYPERLINK") == 1
    assert read_rows(path) == [(2, row)]


def _auditor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_auditor(*args, cwd=cwd)


def test_review_commands_table_and_json_output_and_exit_codes(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    _tenant(ws)
    ws.close()
    assert _auditor("review", "status", cwd=tmp_path).returncode == 2  # no campaign yet
    table = _auditor("review", "start", "--name", "2026-Q3", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "covering 6 of 6 effective grants (100.0%)" in " ".join(table.stdout.split())
    started = _auditor("review", "start", "--name", "2026-Q4", "--by", "owner", "--json", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    data = json.loads(started.stdout)
    assert data["effective_grants"] == data["effective_grants_covered"] == 6
    assert all({"reviewer", "rows", "xlsx", "csv"} <= set(w) for w in data["worksheets"])
    sheets = {s["reviewer"]: Path(s["xlsx"]) for s in data["worksheets"]}
    fill_xlsx(sheets["lead"], lambda c: {"decision": "maybe"})
    rejected = _auditor("review", "import", str(sheets["lead"]), cwd=tmp_path)
    assert rejected.returncode == 2 and "invalid decision 'maybe'" in rejected.stderr
    fill_xlsx(sheets["lead"], keep_all)
    imported = _auditor("review", "import", str(sheets["lead"]), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 decision(s) (2 keep); 0 row(s) still pending" in " ".join(imported.stdout.split())
    listing = _auditor("review", "list", cwd=tmp_path)
    assert listing.returncode == 0 and "Access-review campaigns (2)" in listing.stdout
    rows = json.loads(_auditor("review", "list", "--format", "json", cwd=tmp_path).stdout)
    assert {r["name"]: r["decided"] for r in rows} == {"2026-Q3": 0, "2026-Q4": 2}
    status_table = _auditor("review", "status", "--name", "2026-Q4", cwd=tmp_path)
    assert status_table.returncode == 0 and "lead" in status_table.stdout
    closed = _auditor("review", "close", "--name", "2026-Q4", "--force", cwd=tmp_path)
    assert closed.returncode == 0, closed.stderr
    assert "Closed 2026-Q4" in closed.stdout
    ent = _auditor("entitlements", "--format", "json", cwd=tmp_path)
    kinds = {e["kind"] for e in json.loads(ent.stdout)}
    assert {"base_permission", "team_membership", "team_repo", "org_role", "direct_collaborator"} <= kinds
    assert _auditor("entitlements", cwd=tmp_path).returncode == 0


def test_external_reviewers_are_skipped_and_review_recommendations_cannot_be_accepted(ws: Workspace) -> None:
    inv = _tenant(ws)
    inv.person("github", "guest", user_type="Guest")
    inv.membership("github", "team", "payments", "guest", "maintainer")
    ws.con.execute("DELETE FROM memberships WHERE account = 'lead' AND kind = 'team'")
    inv.credential("github", "ssh_key", "9", "bob", [], used_days_ago=None)
    inv.event("github", "bob", 1, repo=REPO)  # a non-developer using read access: neither keep nor revoke
    result = start_campaign(ws, AuditorConfig(), "2026-Q3", None)
    member = _rows(ws)["team:payments member"]
    assert member["reviewer"] == "boss" and "guest (team maintainer of payments) is an external account" in str(
        member["reviewer_rule"]
    )
    boss = Path(_sheet(result, "boss")["csv"])
    with boss.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    review_rows = [r for r in rows if r["recommendation"] == "review"]
    assert review_rows, "the tenant has a row with no recommendation either way"
    write_csv(boss, [r | {"decision": "accept"} if r is review_rows[0] else r for r in rows])
    [imported] = import_worksheets(ws, [boss])
    assert imported.status == "rejected"
    assert any("no recommendation to accept" in e for _, e in imported.errors)
    assert result.effective_grants_covered == result.effective_grants


def test_revoking_an_org_membership_cuts_every_grant_of_that_account(ws: Workspace) -> None:
    _tenant(ws)
    result = start_campaign(ws, AuditorConfig(), "2026-Q3", None, by="manager")
    decided = []
    for sheet in result.worksheets:
        path = Path(sheet["csv"])
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        marked = [r | {"decision": "revoke"} if r["entitlement"] == f"org {ORG} member" and r["account"] == "alice"
                  else r | {"decision": "keep", "justification": "ok"} for r in rows]  # fmt: skip
        decided += [r for r in marked if r["decision"] == "revoke"]
        write_csv(path, marked)
        assert import_worksheets(ws, [path])[0].status == "imported"
    assert len(decided) == 1
    out = close_campaign(ws, None, force=False).evidence_dir
    with (out / "unreachable.csv").open(encoding="utf-8") as fh:
        assert {r["account"]: r["repos"] for r in csv.DictReader(fh)} == {"alice": f"{OTHER}; {REPO}"}
    with (out / "revocations.csv").open(encoding="utf-8") as fh:
        [plan] = list(csv.DictReader(fh))
    assert plan["platform_call"] == f"DELETE /orgs/{ORG}/memberships/alice" and plan["effective_grants_removed"] == "2"


def test_an_overloaded_reviewer_hands_person_held_rows_to_managers(ws: Workspace) -> None:
    inv = _tenant(ws)
    inv.identity("id-mgr", "mgr@acme.example")
    for n in range(12):
        login = f"dev{n:02d}"
        inv.person("github", login)
        ws.con.execute("UPDATE identities SET manager_id = 'id-mgr' WHERE identity_id = ?", [f"id-{login}"])
        inv.membership("github", "team", "payments", login, "member")
        inv.grant("github", login, REPO, "write", ["org_base", "team:payments"])
    cfg = parse_config("review:\n  max_rows: 10\n", "<t>")
    start_campaign(ws, cfg, "2026-Q3", None)
    members = ws.con.execute(
        "SELECT reviewer, reviewer_rule FROM review_rows WHERE kind = 'team_membership'"
    ).fetchall()
    load = {who: sum(1 for r in members if r[0] == who) for who in {r[0] for r in members}}
    assert load == {"lead": 9, "mgr@acme.example": 4}  # lead keeps 10 rows with the team's grant row
    moved = next(r for r in members if r[0] == "mgr@acme.example")
    assert "lead has over review.max_rows=10 rows" in moved[1]


def test_close_writes_into_the_moved_workspace_not_the_folder_recorded_at_start(tmp_path: Path) -> None:
    """Issue #12: a workspace copied (or moved) after `review start` closes into its own reviews folder."""
    old = tmp_path / "old"
    ws = Workspace.open(old / "ws")
    _tenant(ws)
    started = start_campaign(ws, AuditorConfig(), "2026-Q3", None)
    assert started.campaign.out_dir == (old / "ws" / "reviews" / "2026-Q3").resolve()
    ws.close()
    new = tmp_path / "new"
    import shutil

    shutil.copytree(old, new)
    moved = run_auditor("review", "close", "--name", "2026-Q3", "--force", "--json", cwd=new)
    assert moved.returncode == 0, moved.stderr
    evidence = Path(json.loads(moved.stdout)["evidence_dir"])
    assert evidence == (new / "ws" / "reviews" / "2026-Q3" / "evidence").resolve()
    assert (evidence / "decisions.csv").is_file()
    assert not (old / "ws" / "reviews" / "2026-Q3" / "evidence").exists()


def test_an_absolute_out_folder_outside_the_workspace_stays_where_it_was_given(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    _tenant(ws)
    outside = tmp_path / "shared-drive" / "q3"
    start_campaign(ws, AuditorConfig(), "2026-Q3", outside)
    closed = close_campaign(ws, None, force=True)
    ws.close()
    assert closed.evidence_dir == outside.resolve() / "evidence"


def test_an_earlier_versions_absolute_record_is_rebased_onto_the_workspace(tmp_path: Path) -> None:
    from dataclasses import replace as _replace

    from auditor.review.campaign import campaign_dir, find_campaign

    ws = Workspace.open(tmp_path / "ws")
    _tenant(ws)
    start_campaign(ws, AuditorConfig(), "2026-Q3", None)
    legacy = _replace(find_campaign(ws.con, "2026-Q3"), out_dir=Path("/elsewhere/ws/reviews/2026-Q3"))
    assert campaign_dir(ws.root, legacy) == (tmp_path / "ws" / "reviews" / "2026-Q3").resolve()
    other = _replace(legacy, out_dir=Path("/elsewhere/q3"))
    assert campaign_dir(ws.root, other) == Path("/elsewhere/q3")
    ws.close()
