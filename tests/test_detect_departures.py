"""Departing and departed people: Entra leave dates and disabled accounts, and a departures CSV, raise the
score of downloads in the days before a leave date or after disablement, and say so with the date."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.config.loader import parse_config
from auditor.config.models import AuditorConfig
from auditor.detect.bulk import run_detection
from auditor.detect.departures import read_departures_file
from auditor.errors import InputError
from auditor.findings import Finding, load_findings
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson

DAY = 86_400_000
AT = datetime(2026, 9, 23, 20, 0)  # the activity; Entra says the person leaves on 2026-09-26
AT_MS = int((AT - datetime(1970, 1, 1)).total_seconds() * 1000)


def _user(uid: str, upn: str, **extra: Any) -> dict[str, Any]:
    return {"id": uid, "userPrincipalName": upn, "mail": upn, "department": "Payments", "jobTitle": "Engineer",
            "userType": "Member", "accountEnabled": True, **extra}  # fmt: skip


def _pulls(actor: str, upn: str, n: int, step_ms: int, base: int = 0) -> list[dict[str, Any]]:
    """Twenty days of one usual repository a day, then `n` repositories it never pulled."""
    usual = [gh_event(base + d, actor=actor, repo="acme/own", ts_ms=AT_MS - (20 - d) * DAY) for d in range(20)]
    pull = [gh_event(base + 100 + i, actor=actor, repo=f"acme/x{i}", ts_ms=AT_MS + i * step_ms) for i in range(n)]
    return [{**r, "external_identity_nameid": upn} for r in usual + pull]


def _setup(ws: Workspace, tmp_path: Path, n: int = 12, step_ms: int = 60_000) -> None:
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps(
            {
                "value": [
                    _user("u-lea", "lea@acme.example", employeeLeaveDateTime="2026-09-26T00:00:00Z"),
                    _user("u-sam", "sam@acme.example"),
                ]
            }
        )
    )
    events = _pulls("lea", "lea@acme.example", n, step_ms) + _pulls("sam", "sam@acme.example", n, step_ms, 10_000)
    import_files(ws, [users, write_ndjson(tmp_path / "gh.ndjson", events)])


def _by_actor(ws: Workspace) -> dict[str, Finding]:
    return {f.actor or "": f for f in load_findings(ws) if f.first_seen >= AT}


def test_downloads_days_before_the_leave_date_say_so_and_score_higher(ws: Workspace, tmp_path: Path) -> None:
    _setup(ws, tmp_path)
    run_detection(ws, AuditorConfig())
    found = _by_actor(ws)
    assert "Departing person: leaves on 2026-09-26, 3 days after this activity (entra)." in found["lea"].reasons
    assert not any("Departing" in r for r in found["sam"].reasons)
    assert found["lea"].score > found["sam"].score
    assert ws.con.execute('SELECT kind, upn, "at", source FROM departures').fetchall() == [
        ("leave_date", "lea@acme.example", datetime(2026, 9, 26), "entra")
    ]


def test_outside_the_window_the_leave_date_does_not_count(ws: Workspace, tmp_path: Path) -> None:
    _setup(ws, tmp_path)
    run_detection(ws, parse_config("departures:\n  window_days: 2\n", "c"))
    assert not any("Departing" in r for r in _by_actor(ws)["lea"].reasons)


def test_a_small_pull_before_leaving_is_not_capped_as_ordinary(ws: Workspace, tmp_path: Path) -> None:
    _setup(ws, tmp_path, n=7, step_ms=3 * 60_000)  # below the fixed threshold: a candidate
    run_detection(ws, AuditorConfig())
    found = _by_actor(ws)
    assert found["lea"].severity in ("medium", "high", "critical")
    assert "sam" not in found or found["sam"].severity in ("info", "low")


def test_a_departures_file_and_activity_after_disablement(ws: Workspace, tmp_path: Path) -> None:
    _setup(ws, tmp_path)
    departures = tmp_path / "departures.csv"
    departures.write_text("login,date,kind\nsam,2026-09-20,disabled\n", encoding="utf-8")
    run_detection(ws, parse_config(f"departures:\n  departures_file: {departures}\n", "c"))
    reasons = _by_actor(ws)["sam"].reasons
    assert f"Departing person: account disabled on 2026-09-20, 3 days before this activity (file:{departures}:2)." in (
        reasons
    )


def test_bad_departures_rows_name_the_file_and_line(tmp_path: Path) -> None:
    departures = tmp_path / "departures.csv"
    departures.write_text("upn,date\nlea@acme.example,2026-09-26\nsam@acme.example,next week\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_departures_file(departures)
    assert err.value.where == f"{departures}:3"
    departures.write_text("name,date\nlea,2026-09-26\n", encoding="utf-8")
    with pytest.raises(InputError, match="a date column and a login or upn column"):
        read_departures_file(departures)


def test_the_classification_view_shows_the_leave_date(ws: Workspace, tmp_path: Path) -> None:
    _setup(ws, tmp_path)
    ws.close()
    out = CliRunner().invoke(cli, ["--workspace", str(ws.root), "accounts", "--format", "json"]).output
    leave = {r["login"]: r["leave_date"] for r in json.loads(out)}
    assert leave == {"lea": "2026-09-26", "sam": None}


def _change(ws: Workspace, change_id: str, identity: str, kind: str, at: str, group: str | None = None) -> None:
    """A row as the Entra connector writes it from the directory audit log or deleted items."""
    ws.con.execute(
        "INSERT INTO directory_changes VALUES (?, 'acme', ?, NULL, ?, ?, NULL, ?, ?, 'sha', 1)",
        [change_id, identity, kind, datetime.fromisoformat(at), group, "Remove member from group"],
    )


def test_activity_after_removal_from_a_leaver_group_says_which_group(ws: Workspace, tmp_path: Path) -> None:
    _setup(ws, tmp_path)
    _change(ws, "a1", "u-sam", "group_removal", "2026-09-21T09:30:00", "GitHub Users")
    _change(ws, "a2", "u-sam", "group_removal", "2026-09-21T09:31:00", "Payments Standup")
    run_detection(ws, AuditorConfig())  # no leaver groups: a group removal is not a departure
    assert not any("Departing" in r for r in _by_actor(ws)["sam"].reasons)
    plain = _by_actor(ws)["sam"].score
    run_detection(ws, parse_config('departures:\n  leaver_groups: ["All Employees", "GitHub Users"]\n', "c"))
    reasons = [r for r in _by_actor(ws)["sam"].reasons if r.startswith("Departing")]
    assert reasons == [
        "Departing person: removed from group 'GitHub Users' on 2026-09-21, 2 days before this activity (entra)."
    ]
    assert _by_actor(ws)["sam"].score > plain


def test_activity_after_deletion_scores_like_after_disablement(ws: Workspace, tmp_path: Path) -> None:
    _setup(ws, tmp_path)
    _change(ws, "deleted:u-sam", "u-sam", "deleted", "2026-09-21T08:00:00")
    run_detection(ws, AuditorConfig())
    deleted = _by_actor(ws)["sam"]
    assert "Departing person: account deleted on 2026-09-21, 2 days before this activity (entra)." in deleted.reasons
    ws.con.execute("DELETE FROM directory_changes")
    departures = tmp_path / "departures.csv"
    departures.write_text("login,date,kind\nsam,2026-09-21,disabled\n", encoding="utf-8")
    run_detection(ws, parse_config(f"departures:\n  departures_file: {departures}\n", "c"))
    assert _by_actor(ws)["sam"].score == deleted.score
