"""Identity linking: strongest evidence first, conflicts shown, unlinked accounts listed not guessed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import cli
from auditor.importers.pipeline import import_files
from auditor.workspace.store import Workspace
from tests.helpers import gh_event, write_ndjson

USERS = {
    "value": [
        {
            "id": "u-ann",
            "userPrincipalName": "ann@acme.example",
            "mail": "ann.smith@acme.example",
            "department": "Finance",
            "jobTitle": "Analyst",
            "userType": "Member",
        },
        {
            "id": "u-bob",
            "userPrincipalName": "bob@acme.example",
            "mail": "bob@acme.example",
            "department": "Engineering",
            "jobTitle": "Engineer",
            "userType": "Member",
        },
    ]
}


def _gitlab(i: int, name: str, email: str | None) -> dict[str, object]:
    details: dict[str, object] = {"author_name": name, "custom_message": {"action": "git-upload-pack"}}
    if email:
        details["author_email"] = email
    return {
        "id": i,
        "author_id": 100 + i,
        "author_name": name,
        "entity_id": 1,
        "entity_type": "Project",
        "entity_path": "acme/core/api",
        "event_type": "repository_git_operation",
        "created_at": "2026-09-01T10:00:00Z",
        "details": details,
    }


def _setup(ws: Workspace, tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps(USERS))
    github = write_ndjson(
        tmp_path / "gh.ndjson",
        [
            gh_event(1, actor="ann-gh", external_identity_nameid="ann@acme.example"),
            gh_event(2, actor="ann-second", external_identity_nameid="ANN@acme.example"),
            gh_event(3, actor="stranger"),
        ],
    )
    gitlab = write_ndjson(
        tmp_path / "gl.ndjson",
        [
            _gitlab(1, "Ann Smith", "ann.smith@acme.example"),
            _gitlab(2, "Bob Builder", None),
        ],
    )
    import_files(ws, [users, github, gitlab])


def test_saml_nameid_then_verified_email_never_display_name(ws: Workspace, tmp_path: Path) -> None:
    _setup(ws, tmp_path)
    links = dict(
        ((r[0], r[1]), (r[2], r[3]))
        for r in ws.con.execute("SELECT platform, login, identity_id, linked_by FROM account_links").fetchall()
    )
    assert links[("github", "ann-gh")] == ("u-ann", "saml_nameid")
    assert links[("gitlab", "Ann Smith")] == ("u-ann", "email_match")  # mail, not the UPN, matched
    # "Bob Builder" has no e-mail: a display name that resembles bob@ is never used to link.
    assert ("gitlab", "Bob Builder") not in links
    assert ("github", "stranger") not in links


def test_accounts_lists_unlinked_and_conflicting_claims(ws: Workspace, tmp_path: Path) -> None:
    _setup(ws, tmp_path)
    ws.close()
    out = CliRunner().invoke(cli, ["--workspace", str(ws.root), "accounts", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {(r["platform"], r["login"]): r for r in json.loads(out.output)}
    assert rows[("github", "stranger")]["identity"] is None
    assert rows[("github", "stranger")]["linked_by"] is None
    assert rows[("github", "ann-gh")]["link_conflict"] == "ann-second"
    assert rows[("github", "ann-second")]["link_conflict"] == "ann-gh"
    assert rows[("github", "ann-gh")]["account_class"] == "non_developer"
    assert {"platform", "login", "identity", "account_class", "class_rule", "linked_by"} <= set(
        rows[("github", "ann-gh")]
    )


def test_accounts_explain_prints_link_and_rule_evidence(ws: Workspace, tmp_path: Path) -> None:
    _setup(ws, tmp_path)
    ws.close()
    runner = CliRunner()
    out = runner.invoke(cli, ["--workspace", str(ws.root), "accounts", "explain", "ann-gh"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "ann@acme.example" in text and "saml_nameid" in text
    assert "also claimed by: ann-second" in text
    assert "everyone-else" in text and "Finance" in text
    missing = runner.invoke(cli, ["--workspace", str(ws.root), "accounts", "explain", "nobody"])
    assert missing.exit_code != 0


def test_admin_grant_in_the_audit_log_makes_an_account_privileged(ws: Workspace, tmp_path: Path) -> None:
    from auditor.classify import classify_accounts
    from auditor.config.models import AccountClassRules

    path = write_ndjson(
        tmp_path / "grant.ndjson",
        [
            gh_event(1, action="org.update_member", actor="root", user="eve", permission="admin"),
            gh_event(2, actor="eve"),
        ],
    )
    import_files(ws, [path])
    classify_accounts(ws, AccountClassRules())
    row = ws.con.execute(
        "SELECT account_class, class_rule, class_evidence FROM accounts WHERE login = 'eve'"
    ).fetchone()
    assert row is not None and row[:2] == ("privileged", "privileged-role")
    assert "org.update_member by root" in row[2]


def test_platform_identity_records_outrank_audit_event_evidence(ws: Workspace, tmp_path: Path) -> None:
    # What the GitHub (SAML external identities) and GitLab (identities.extern_uid) connectors record.
    ws.con.execute(
        "INSERT INTO external_identities VALUES "
        "('s1', 'github', 'ann-gh', 'saml', 'bob@acme.example', 'graphql:externalIdentities'), "
        "('s1', 'gitlab', 'Bob Builder', 'saml', 'bob@acme.example', 'api:/users/7 identities')"
    )
    _setup(ws, tmp_path)
    links = {
        (r[0], r[1]): (r[2], r[3], r[4])
        for r in ws.con.execute(
            "SELECT platform, login, identity_id, linked_by, confidence FROM account_links"
        ).fetchall()
    }
    # The SAML external identity says bob, the audit events' NameID says ann: the platform record wins.
    assert links[("github", "ann-gh")] == ("u-bob", "saml_identity", 1.0)
    assert links[("gitlab", "Bob Builder")] == ("u-bob", "gitlab_identity", 1.0)
    assert links[("github", "ann-second")][1] == "saml_nameid"


def test_collected_grants_make_owners_privileged_and_outside_collaborators_external(
    ws: Workspace, tmp_path: Path
) -> None:
    from auditor.classify import classify_accounts
    from auditor.config.models import AccountClassRules

    _setup(ws, tmp_path)
    # What the GitHub connector records: effective access with the path it comes from.
    ws.con.execute(
        "INSERT INTO grants VALUES ('s1', 'github', 'stranger', 'acme/r1', 'admin', ['org_owner']), "
        "('s1', 'github', 'ann-second', 'acme/r1', 'write', ['outside_collaborator'])"
    )
    classify_accounts(ws, AccountClassRules())
    rows = dict(
        ((r[0]), (r[1], r[2], r[3]))
        for r in ws.con.execute("SELECT login, account_class, class_rule, class_evidence FROM accounts").fetchall()
    )
    assert rows["stranger"][:2] == ("privileged", "privileged-role") and "org_owner" in rows["stranger"][2]
    assert rows["ann-second"][:2] == ("external", "guest") and "outside_collaborator" in rows["ann-second"][2]
