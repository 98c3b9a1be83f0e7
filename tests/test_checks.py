"""Governance checks: each fails on its planted condition, passes otherwise, and is not_evaluated when a
coverage gap or a missing source hides its input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.checks.controls import Control
from auditor.checks.run import CheckRun, finding_id, run_checks
from auditor.config.loader import parse_config
from auditor.config.models import AuditorConfig
from auditor.workspace.store import Workspace
from tests.inventory import Inventory

REPO = "acme-corp/payments-api"
PUBLIC = "acme-corp/docs"
GL_REPO = "acme/payments/ledger"


@pytest.fixture
def inv(ws: Workspace) -> Iterator[Inventory]:
    """A GitHub org with one restricted and one public repository and an engineer with recent activity."""
    inv = Inventory(ws)
    inv.snapshot("github", "acme-corp")
    inv.repo("github", REPO)
    inv.repo("github", PUBLIC, visibility="public")
    inv.person("github", "alice")
    inv.grant("github", "alice", REPO, "write", ["team:payments"])
    inv.membership("github", "org", "acme-corp", "alice", "member")
    inv.event("github", "alice", 2, repo=REPO)
    inv.event("github", "alice", 150, action="repo.create", repo=REPO)
    yield inv


def run(ws: Workspace, yaml: str = "") -> CheckRun:
    cfg = parse_config(yaml, "<test>") if yaml else AuditorConfig()
    return run_checks(ws, cfg)


def status(result: CheckRun, check_id: str, resource: str) -> str:
    hits = [r.status for r in result.results if r.check_id == check_id and r.resource == resource]
    assert len(hits) == 1, f"{check_id} {resource}: {hits} in {[(r.check_id, r.resource) for r in result.results]}"
    return hits[0]


def detail(result: CheckRun, check_id: str, resource: str) -> str:
    return next(r.detail for r in result.results if r.check_id == check_id and r.resource == resource)


# ---- access -------------------------------------------------------------------------------------------


def test_non_developer_on_restricted_repo_fails(inv: Inventory, ws: Workspace) -> None:
    inv.person("github", "sam", department="Sales")
    inv.grant("github", "sam", REPO, "read")
    inv.grant("github", "sam", PUBLIC, "read")
    r = run(ws)
    assert status(r, "access.non_developer_restricted", f"sam on {REPO}") == "fail"
    assert status(r, "access.non_developer_restricted", f"alice on {REPO}") == "pass"
    assert not [x for x in r.results if x.resource == f"sam on {PUBLIC}" and x.check_id.endswith("restricted")]


def test_org_owners_above_maximum_fail(inv: Inventory, ws: Workspace) -> None:
    for login in ("o1", "o2"):
        inv.person("github", login)
        inv.membership("github", "org", "acme-corp", login, "owner")
    assert status(run(ws, "checks: {max_org_owners: 2}"), "access.org_owners_max", "acme-corp") == "pass"
    inv.person("github", "o3")
    inv.membership("github", "org", "acme-corp", "o3", "owner")
    r = run(ws, "checks: {max_org_owners: 2}")
    assert status(r, "access.org_owners_max", "acme-corp") == "fail"
    assert "o1, o2, o3" in detail(r, "access.org_owners_max", "acme-corp")


def test_gitlab_top_level_group_owners_count(ws: Workspace) -> None:
    inv = Inventory(ws)
    for login in ("g1", "g2"):
        inv.person("gitlab", login)
        inv.membership("gitlab", "group", "acme", login, "owner")
    inv.membership("gitlab", "group", "acme/payments", "g3", "owner")  # a subgroup: not counted
    r = run(ws, "checks: {max_org_owners: 1}")
    assert status(r, "access.org_owners_max", "acme") == "fail"
    assert "2 owner(s)" in detail(r, "access.org_owners_max", "acme")


def test_repo_admins_above_maximum_fail_and_org_owners_are_not_counted(inv: Inventory, ws: Workspace) -> None:
    inv.grant("github", "boss", REPO, "admin", ["org_owner"])
    inv.grant("github", "boss2", REPO, "admin", ["org_owner", "team:engineering"])  # the role is the highest
    inv.grant("github", "a1", REPO, "admin", ["direct"])
    assert status(run(ws, "checks: {max_repo_admins: 1}"), "access.repo_admins_max", REPO) == "pass"
    inv.grant("github", "a2", REPO, "admin", ["team:admins"])
    assert status(run(ws, "checks: {max_repo_admins: 1}"), "access.repo_admins_max", REPO) == "fail"


def test_outside_collaborator_on_restricted_repo_fails(inv: Inventory, ws: Workspace) -> None:
    inv.account("github", "vendor-dev")
    inv.grant("github", "vendor-dev", REPO, "read", ["outside_collaborator"])
    inv.account("github", "listed-outside")
    inv.membership("github", "org", "acme-corp", "listed-outside", "outside_collaborator")
    inv.grant("github", "listed-outside", REPO, "read", ["direct"])
    r = run(ws)
    assert status(r, "access.outside_collaborators", f"vendor-dev on {REPO}") == "fail"
    assert status(r, "access.outside_collaborators", f"listed-outside on {REPO}") == "fail"
    assert status(r, "access.outside_collaborators", f"alice on {REPO}") == "pass"


def test_outside_collaborators_not_evaluated_when_the_listing_was_refused(inv: Inventory, ws: Workspace) -> None:
    inv.gap("github", "/orgs/acme-corp/outside_collaborators", "org owner (read:org)")
    r = run(ws)
    assert status(r, "access.outside_collaborators", f"alice on {REPO}") == "not_evaluated"
    assert "hidden by coverage gap" in detail(r, "access.outside_collaborators", f"alice on {REPO}")
    assert status(r, "access.outside_collaborators", "coverage gaps") == "not_evaluated"


def test_org_base_permission_path_fails_the_repository(inv: Inventory, ws: Workspace) -> None:
    assert status(run(ws), "access.org_base_permission", REPO) == "pass"
    inv.person("github", "bob")
    inv.grant("github", "bob", REPO, "read", ["org_base"])
    assert status(run(ws), "access.org_base_permission", REPO) == "fail"


def test_stale_access_fails_without_activity_in_window(inv: Inventory, ws: Workspace) -> None:
    inv.person("github", "old")
    inv.grant("github", "old", REPO, "write")
    inv.event("github", "old", 120, repo=REPO)
    r = run(ws)
    assert status(r, "access.stale", f"old on {REPO}") == "fail"
    assert status(r, "access.stale", f"alice on {REPO}") == "pass"
    assert status(run(ws, "checks: {stale_days: 130}"), "access.stale", f"old on {REPO}") == "pass"


def test_stale_access_not_evaluated_when_logs_are_shorter_than_the_window(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.snapshot("github", "acme-corp")
    inv.repo("github", REPO)
    inv.person("github", "quiet")
    inv.grant("github", "quiet", REPO, "read")
    inv.event("github", "someone", 10, repo=REPO)  # the workspace holds only 10 days
    assert status(run(ws), "access.stale", f"quiet on {REPO}") == "not_evaluated"


def test_stale_access_gap_in_git_events_turns_fail_not_pass(inv: Inventory, ws: Workspace) -> None:
    inv.person("github", "reader")
    inv.grant("github", "reader", REPO, "read")
    inv.gap("github", "imported logs", "GitHub Git events (git.clone/git.fetch): audit-log streaming", snapshot=False)
    r = run(ws)
    assert status(r, "access.stale", f"reader on {REPO}") == "not_evaluated"
    assert status(r, "access.stale", f"alice on {REPO}") == "pass"  # seen activity stands


def test_stale_access_needs_events(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.repo("github", REPO)
    inv.person("github", "alice")
    inv.grant("github", "alice", REPO, "read")
    r = run(ws)
    assert status(r, "access.stale", "github (all)") == "not_evaluated"
    assert "no github audit events" in detail(r, "access.stale", "github (all)")


def test_orphaned_accounts(inv: Inventory, ws: Workspace) -> None:
    inv.person("github", "gone", enabled=False)
    inv.grant("github", "gone", REPO, "read")
    inv.account("github", "nobody")
    inv.grant("github", "nobody", REPO, "read")
    inv.account("github", "deleted", identity_id="id-deleted-long-ago")
    inv.grant("github", "deleted", REPO, "read")
    inv.account("github", "dependabot[bot]", is_bot=True)
    inv.grant("github", "dependabot[bot]", REPO, "write")
    r = run(ws)
    assert status(r, "access.orphaned", "gone") == "fail"
    assert "disabled" in detail(r, "access.orphaned", "gone")
    assert status(r, "access.orphaned", "nobody") == "fail"
    assert status(r, "access.orphaned", "deleted") == "fail"
    assert "no longer exists" in detail(r, "access.orphaned", "deleted")
    assert status(r, "access.orphaned", "alice") == "pass"
    assert status(r, "access.orphaned", "dependabot[bot]") == "pass"


def test_orphaned_not_evaluated_without_identities_or_when_users_were_refused(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.repo("github", REPO)
    inv.account("github", "alice")
    inv.grant("github", "alice", REPO, "read")
    assert status(run(ws), "access.orphaned", "github (all)") == "not_evaluated"
    inv.person("github", "bob")
    inv.grant("github", "bob", REPO, "read")
    inv.gap("entra", "entra:tenant /v1.0/users", "User.Read.All")
    r = run(ws)
    assert status(r, "access.orphaned", "bob") == "not_evaluated"
    assert status(r, "access.orphaned", "alice") == "fail"  # a failure seen stays a failure


@pytest.mark.parametrize(
    ("identity", "role", "expected"),
    [
        ({"user_type": "Guest"}, "write", "fail"),
        ({"employee_type": "Contractor"}, "maintain", "fail"),
        ({"employee_type": "Contractor"}, "read", "pass"),
        ({"employee_type": "Contractor"}, "custom-auditor", "not_evaluated"),
    ],
)
def test_guest_and_contractor_write(
    inv: Inventory, ws: Workspace, identity: dict[str, str], role: str, expected: str
) -> None:
    inv.person("github", "ext", **identity)
    inv.grant("github", "ext", REPO, role)
    r = run(ws)
    assert status(r, "access.guest_contractor_write", f"ext on {REPO}") == expected
    assert not [x for x in r.results if x.check_id == "access.guest_contractor_write" and x.account == "alice"]


# ---- credentials --------------------------------------------------------------------------------------


def test_classic_pat_with_repo_or_admin_scope_fails(inv: Inventory, ws: Workspace) -> None:
    inv.credential("github", "classic_pat", "11", "alice", ["repo", "read:org"])
    inv.credential("github", "classic_pat", "12", "alice", ["admin:org"])
    inv.credential("github", "classic_pat", "13", "alice", ["read:packages"])
    inv.credential("github", "classic_pat", "14", "alice", None)
    r = run(ws)
    assert status(r, "credentials.classic_pat_broad_scope", "classic_pat:11") == "fail"
    assert status(r, "credentials.classic_pat_broad_scope", "classic_pat:12") == "fail"
    assert status(r, "credentials.classic_pat_broad_scope", "classic_pat:13") == "pass"
    assert status(r, "credentials.classic_pat_broad_scope", "classic_pat:14") == "not_evaluated"


def test_classic_pats_not_evaluated_when_credential_authorizations_were_refused(inv: Inventory, ws: Workspace) -> None:
    inv.credential("github", "classic_pat", "13", "alice", ["read:packages"])
    inv.gap("github", "/orgs/acme-corp/credential-authorizations", "org owner on a SAML org")
    r = run(ws)
    assert status(r, "credentials.classic_pat_broad_scope", "classic_pat:13") == "not_evaluated"


def test_token_expiry(inv: Inventory, ws: Workspace) -> None:
    inv.credential("github", "fine_grained_pat", "f1", "alice", ["contents:read"], expires_in_days=None)
    inv.credential("github", "fine_grained_pat", "f2", "alice", ["contents:read"], expires_in_days=400)
    inv.credential("github", "fine_grained_pat", "f3", "alice", ["contents:read"], expires_in_days=30)
    inv.credential("github", "ssh_key", "k1", "alice", None, expires_in_days=None)  # keys have no lifetime
    r = run(ws)
    assert status(r, "credentials.no_expiry", "fine_grained_pat:f1") == "fail"
    assert status(r, "credentials.no_expiry", "fine_grained_pat:f2") == "fail"
    assert status(r, "credentials.no_expiry", "fine_grained_pat:f3") == "pass"
    assert not [x for x in r.results if x.check_id == "credentials.no_expiry" and x.resource == "ssh_key:k1"]


def test_unused_tokens(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.credential("gitlab", "personal_access_token", "1", "dev", ["read_api"], used_days_ago=200)
    inv.credential(
        "gitlab", "personal_access_token", "2", "dev", ["read_api"], created_days_ago=100, used_days_ago=None
    )
    inv.credential("gitlab", "personal_access_token", "3", "dev", ["read_api"], used_days_ago=5)
    inv.credential("gitlab", "deploy_key", "4", "acme/x", ["read"], created_days_ago=None, used_days_ago=None)
    r = run(ws, "checks: {token_unused_days: 60}")
    assert status(r, "credentials.unused", "personal_access_token:1") == "fail"
    assert status(r, "credentials.unused", "personal_access_token:2") == "fail"
    assert "never used" in detail(r, "credentials.unused", "personal_access_token:2")
    assert status(r, "credentials.unused", "personal_access_token:3") == "pass"
    assert status(r, "credentials.unused", "deploy_key:4") == "not_evaluated"


def test_gitlab_write_tokens_of_non_developers(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.person("gitlab", "sam", department="Finance")
    inv.person("gitlab", "dev")
    inv.credential("gitlab", "personal_access_token", "1", "sam", ["api"])
    inv.credential("gitlab", "personal_access_token", "2", "sam", ["read_api"])
    inv.credential("gitlab", "personal_access_token", "3", "dev", ["write_repository"])
    inv.credential("gitlab", "project_access_token", "4", "ghost", ["api"])
    r = run(ws)
    assert status(r, "credentials.gitlab_token_non_developer", "personal_access_token:1") == "fail"
    assert status(r, "credentials.gitlab_token_non_developer", "personal_access_token:2") == "pass"
    assert status(r, "credentials.gitlab_token_non_developer", "personal_access_token:3") == "pass"
    assert status(r, "credentials.gitlab_token_non_developer", "project_access_token:4") == "not_evaluated"


def test_deploy_keys_with_write(inv: Inventory, ws: Workspace) -> None:
    inv.credential("github", "deploy_key", "7", REPO, ["write"])
    inv.credential("github", "deploy_key", "8", REPO, ["read"])
    r = run(ws)
    assert status(r, "credentials.deploy_key_write", "deploy_key:7") == "fail"
    assert status(r, "credentials.deploy_key_write", "deploy_key:8") == "pass"
    assert {x.repo for x in r.results if x.resource == "deploy_key:7"} == {REPO}


# ---- apps ---------------------------------------------------------------------------------------------


def test_org_wide_write_apps(inv: Inventory, ws: Workspace) -> None:
    inv.app("github", "github_app_installation", "1", {"contents": "write", "metadata": "read"}, "all")
    inv.app("github", "github_app_installation", "2", {"contents": "write"}, "selected:3")
    inv.app("github", "github_app_installation", "3", {"metadata": "read", "issues": "read"}, "all")
    inv.app("github", "github_app_installation", "4", "not json", "all")
    inv.app("gitlab", "oauth_application", "5", ["api", "read_user"], "all")
    r = run(ws)
    assert status(r, "apps.org_wide_write", "github_app_installation:1") == "fail"
    assert status(r, "apps.org_wide_write", "github_app_installation:2") == "pass"
    assert status(r, "apps.org_wide_write", "github_app_installation:3") == "pass"
    assert status(r, "apps.org_wide_write", "github_app_installation:4") == "not_evaluated"
    assert status(r, "apps.org_wide_write", "oauth_application:5") == "fail"


def test_entra_all_principals_consent_on_high_privilege_scopes(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.app("entra", "service_principal:Application", "sp1", None, None, name="Mail Sync")
    inv.app("entra", "oauth2_grant", "sp1", "User.Read Mail.ReadWrite", "AllPrincipals")
    inv.app("entra", "oauth2_grant", "sp2", "User.Read openid", "AllPrincipals")
    inv.app("entra", "oauth2_grant", "sp3", "Mail.ReadWrite", "Principal:user-1")
    r = run(ws)
    assert status(r, "apps.entra_tenant_wide_consent", "sp1") == "fail"
    assert "Mail Sync" in detail(r, "apps.entra_tenant_wide_consent", "sp1")
    assert status(r, "apps.entra_tenant_wide_consent", "sp2") == "pass"
    assert status(r, "apps.entra_tenant_wide_consent", "sp3 (user consent)") == "pass"
    assert status(run(ws, "checks: {high_privilege_scopes: [openid]}"), "apps.entra_tenant_wide_consent", "sp2") == (
        "fail"
    )


@pytest.mark.parametrize(("value", "expected"), [("false", "fail"), ("true", "pass"), (None, "not_evaluated")])
def test_oauth_app_restrictions(inv: Inventory, ws: Workspace, value: str | None, expected: str) -> None:
    if value is not None:
        inv.setting("github", "acme-corp", "oauth_app_restrictions_enabled", value)
    assert status(run(ws), "apps.oauth_restrictions_disabled", "acme-corp") == expected


# ---- logging ------------------------------------------------------------------------------------------


def test_log_retention(inv: Inventory, ws: Workspace) -> None:
    inv.log_source("github", "audit-log:acme-corp", 180)
    inv.log_source("github", "audit-log:archive", 400)
    inv.log_source("github", "audit-stream:splunk", None, streaming="splunk")
    r = run(ws)
    assert status(r, "logging.retention", "audit-log:acme-corp") == "fail"
    assert status(r, "logging.retention", "audit-log:archive") == "pass"
    assert status(r, "logging.retention", "audit-stream:splunk") == "not_evaluated"
    r = run(ws, "checks: {stream_retention_days: 730}")
    assert status(r, "logging.retention", "audit-stream:splunk") == "pass"
    assert (
        status(run(ws, "checks: {min_log_retention_days: 100}"), "logging.retention", "audit-log:acme-corp") == "pass"
    )


def test_github_streaming(inv: Inventory, ws: Workspace) -> None:
    r = run(ws)
    assert status(r, "logging.github_streaming", "git events") == "not_evaluated"
    inv.setting("github", "acme-corp", "audit_log_streaming", "false")
    r = run(ws)
    assert status(r, "logging.github_streaming", "git events") == "fail"
    assert status(r, "logging.github_streaming", "api.request events") == "fail"


def test_github_streaming_on_needs_api_request_events_to_pass(inv: Inventory, ws: Workspace) -> None:
    inv.setting("github", "acme-corp", "audit_log_streaming", "true")
    r = run(ws)
    assert status(r, "logging.github_streaming", "git events") == "pass"
    assert status(r, "logging.github_streaming", "api.request events") == "not_evaluated"
    inv.event("github", "alice", 1, action="api.request", repo=REPO)
    assert status(run(ws), "logging.github_streaming", "api.request events") == "pass"


def test_gitlab_git_operation_streaming(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.setting("gitlab", "acme", "audit_event_streaming", "false")
    assert status(run(ws), "logging.gitlab_git_streaming", "repository_git_operation events") == "fail"
    inv.event("gitlab", "dev", 1, action="repository_git_operation")
    assert status(run(ws), "logging.gitlab_git_streaming", "repository_git_operation events") == "pass"


def test_entra_signin_export(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.log_source("entra", "graph-signins", 30)
    r = run(ws)
    assert status(r, "logging.entra_signin_export", "graph-signins") == "fail"
    assert "30 days" in detail(r, "logging.entra_signin_export", "graph-signins")
    inv.gap(
        "entra", "/providers/microsoft.aadiam/diagnosticSettings", "Monitoring Reader", "sign-in log export unknown"
    )
    assert status(run(ws), "logging.entra_signin_export", "graph-signins") == "not_evaluated"
    inv.log_source("entra", "graph-signins", 30, streaming="diagnostic setting x -> workspaceId")
    assert status(run(ws), "logging.entra_signin_export", "graph-signins") == "pass"


def test_time_span_present_in_workspace(inv: Inventory, ws: Workspace) -> None:
    r = run(ws)
    assert status(r, "logging.time_span", "audit log (web and API events)") == "fail"  # one event, 150 days ago
    assert status(r, "logging.time_span", "api.request events") == "fail"
    assert "no events" in detail(r, "logging.time_span", "api.request events")
    inv.event("github", "alice", 10, action="repo.create")
    assert status(run(ws), "logging.time_span", "audit log (web and API events)") == "pass"


# ---- the runner ---------------------------------------------------------------------------------------


def test_missing_inventory_is_not_evaluated_never_pass(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.event("github", "alice", 1, repo=REPO)  # logs imported, nothing collected
    r = run(ws)
    assert status(r, "access.outside_collaborators", "github (all)") == "not_evaluated"
    assert "auditor collect github" in detail(r, "access.outside_collaborators", "github (all)")
    assert status(r, "credentials.gitlab_token_non_developer", "workspace") == "not_evaluated"
    assert not [x for x in r.results if x.status == "pass" and x.category != "logging"]


def test_latest_snapshot_per_source_is_used(inv: Inventory, ws: Workspace) -> None:
    inv.account("github", "vendor-dev")
    inv.grant("github", "vendor-dev", REPO, "read", ["outside_collaborator"])
    from datetime import timedelta

    inv.snapshot("github", "acme-corp", at=inv.now + timedelta(days=1))
    inv.grant("github", "alice", REPO, "write", ["team:payments"])
    r = run(ws)
    assert [x.resource for x in r.results if x.check_id == "access.outside_collaborators"] == [f"alice on {REPO}"]


def test_results_are_stored_with_frameworks(inv: Inventory, ws: Workspace) -> None:
    r = run(ws)
    rows = ws.con.execute(
        "SELECT check_id, status, frameworks FROM check_results WHERE run_id = ? AND check_id = 'access.orphaned'",
        [r.run_id],
    ).fetchall()
    assert rows and rows[0][1] == "pass"
    assert "SOC2:CC6.2" in rows[0][2] and "ISO27001:5.16" in rows[0][2]


def test_disabled_checks_do_not_run(inv: Inventory, ws: Workspace) -> None:
    r = run(ws, "checks: {disabled: [access.stale]}")
    assert "access.stale" in r.skipped
    assert not [x for x in r.results if x.check_id == "access.stale"]


def test_failures_become_findings_with_stable_ids_and_survive_detection(
    inv: Inventory, ws: Workspace, tmp_path: Path
) -> None:
    inv.account("github", "vendor-dev")
    inv.grant("github", "vendor-dev", REPO, "read", ["outside_collaborator"])
    run(ws)
    fid = finding_id("access.outside_collaborators", "github", "acme-corp")  # one per control and scope
    row = ws.con.execute("SELECT analytic, actor, repos, severity FROM findings WHERE id = ?", [fid]).fetchone()
    assert row == ("check:access.outside_collaborators", "acme-corp", [REPO], "high")
    ws.con.execute("UPDATE findings SET status = 'confirmed' WHERE id = ?", [fid])
    run(ws)
    assert ws.con.execute("SELECT status FROM findings WHERE id = ?", [fid]).fetchone() == ("confirmed",)

    from auditor.detect.bulk import run_detection

    run_detection(ws, AuditorConfig())
    assert ws.con.execute("SELECT count(*) FROM findings WHERE id = ?", [fid]).fetchone() == (1,)


def test_a_fixed_condition_removes_its_finding(inv: Inventory, ws: Workspace) -> None:
    inv.credential("github", "deploy_key", "7", REPO, ["write"])
    run(ws)
    fid = finding_id("credentials.deploy_key_write", "github", "acme-corp")
    assert ws.con.execute("SELECT count(*) FROM findings WHERE id = ?", [fid]).fetchone() == (1,)
    inv.snapshot("github", "acme-corp", at=inv.now.replace(day=21))
    inv.credential("github", "deploy_key", "7", REPO, ["read"])
    run(ws)
    assert ws.con.execute("SELECT count(*) FROM findings WHERE id = ?", [fid]).fetchone() == (0,)


def test_accepted_risk_suppresses_the_finding_but_not_the_result(inv: Inventory, ws: Workspace) -> None:
    inv.credential("github", "deploy_key", "7", REPO, ["write"])
    r = run(
        ws,
        "checks:\n  accepted_risks:\n    - {check: credentials.deploy_key_write, resources: ['deploy_key:7'], "
        "reason: release signing, ticket: RISK-9}\n",
    )
    assert status(r, "credentials.deploy_key_write", "deploy_key:7") == "fail"
    fid = finding_id("credentials.deploy_key_write", "github", "acme-corp")
    got = ws.con.execute("SELECT suppressed, suppression_reason FROM findings WHERE id = ?", [fid]).fetchone()
    assert got == (True, "accepted risk: release signing (RISK-9)")


@pytest.mark.parametrize(
    ("value", "expected"), [("none", "fail"), ("unknown", "not_evaluated"), ("siem-http, s3-archive", "pass")]
)
def test_gitlab_streaming_setting_as_the_connector_writes_it(ws: Workspace, value: str, expected: str) -> None:
    inv = Inventory(ws)
    inv.setting("gitlab", "acme", "audit_event_streaming", value)
    inv.gap("gitlab", "gitlab:https://gl audit event streaming", "an audit event streaming destination (Ultimate)")
    assert status(run(ws), "logging.gitlab_git_streaming", "repository_git_operation events") == expected


@pytest.mark.parametrize(("value", "expected"), [("none", "fail"), ("Splunk, S3", "pass")])
def test_github_streaming_setting_holds_stream_types(inv: Inventory, ws: Workspace, value: str, expected: str) -> None:
    inv.setting("github", "acme-ent", "audit_log_streaming", value)
    assert status(run(ws), "logging.github_streaming", "git events") == expected


def test_gitlab_applications_without_scopes_are_not_evaluated(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.app("gitlab", "oauth_application", "9", {"confidential": True, "callback_url": "https://x"}, "all")
    inv.app("gitlab", "oauth_application", "10", {"confidential": True, "scopes": ["read_user"]}, "all")
    inv.app("gitlab", "oauth_application", "11", {"confidential": True, "scopes": ["api"]}, "all")
    r = run(ws)
    assert status(r, "apps.org_wide_write", "oauth_application:9") == "not_evaluated"
    assert status(r, "apps.org_wide_write", "oauth_application:10") == "pass"
    assert status(r, "apps.org_wide_write", "oauth_application:11") == "fail"


def test_keys_without_reported_last_use_are_not_called_unused(inv: Inventory, ws: Workspace) -> None:
    inv.credential("github", "deploy_key", "5", REPO, ["read"], created_days_ago=400, used_days_ago=None)
    r = run(ws)
    assert status(r, "credentials.unused", "deploy_key:5") == "not_evaluated"


def test_unknown_check_ids_in_config_are_errors(ws: Workspace) -> None:
    from auditor.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown check id\(s\) access.typo"):
        run(ws, "checks: {disabled: [access.typo]}")
    with pytest.raises(ConfigError, match=r"apps\.nope"):
        run(ws, "checks:\n  accepted_risks: [{check: apps.nope, reason: r}]\n")


def test_detection_eval_does_not_count_check_findings_as_alerts(inv: Inventory, ws: Workspace, tmp_path: Path) -> None:
    import json

    from auditor.detect.evaluate import evaluate

    inv.account("github", "vendor-dev")
    inv.grant("github", "vendor-dev", REPO, "read", ["outside_collaborator"])
    run(ws)
    truth = tmp_path / "ground_truth.json"
    truth.write_text(json.dumps({"scenarios": []}), encoding="utf-8")
    assert evaluate(ws, truth).unmatched_alerts == []


@pytest.mark.parametrize(("value", "expected"), [("false", "fail"), ("true", "pass"), (None, "not_evaluated")])
def test_two_factor_requirement(inv: Inventory, ws: Workspace, value: str | None, expected: str) -> None:
    if value is not None:
        inv.setting("github", "acme-corp", "two_factor_requirement_enabled", value)
    assert status(run(ws), "access.two_factor_required", "acme-corp") == expected


def test_a_refused_fine_grained_pat_listing_does_not_hide_classic_pats(inv: Inventory, ws: Workspace) -> None:
    inv.credential("github", "classic_pat", "c1", "alice", ["read:org"], expires_in_days=30)
    inv.credential("github", "fine_grained_pat", "f1", "alice", ["contents:read"], expires_in_days=30)
    inv.gap("github", "github:acme-corp /orgs/acme-corp/personal-access-tokens (HTTP 403)", "a GitHub App token")
    inv.gap("github", "github:acme-corp /orgs/acme-corp/personal-access-token-requests (HTTP 403)", "a GitHub App")
    r = run(ws)
    assert status(r, "credentials.no_expiry", "classic_pat:c1") == "pass"
    assert status(r, "credentials.no_expiry", "fine_grained_pat:f1") == "not_evaluated"


def test_org_owners_reaching_repos_also_through_the_base_permission_are_not_repo_admins(
    inv: Inventory, ws: Workspace
) -> None:
    for login in ("o1", "o2"):
        inv.grant("github", login, REPO, "admin", ["org_owner", "org_base"])
    assert status(run(ws, "checks: {max_repo_admins: 1}"), "access.repo_admins_max", REPO) == "pass"


# ---- controls: one verdict per (check, platform, scope) -----------------------------------------------


def _control(result: CheckRun, check_id: str, scope: str) -> Control:
    hits = [c for c in result.controls if c.check_id == check_id and c.scope == scope]
    assert len(hits) == 1, [(c.check_id, c.platform, c.scope) for c in result.controls if c.check_id == check_id]
    return hits[0]


def _scopes(ws: Workspace, run_id: str, check_id: str) -> dict[str, str]:
    rows = ws.con.execute(
        "SELECT resource, scope FROM check_results WHERE run_id = ? AND check_id = ?", [run_id, check_id]
    ).fetchall()
    return dict(rows)


def test_scope_is_filled_for_every_result_and_follows_the_documented_rule(inv: Inventory, ws: Workspace) -> None:
    inv.snapshot("gitlab", "https://gitlab.example instance")
    inv.repo("gitlab", GL_REPO)
    inv.person("gitlab", "gl-dev")
    inv.grant("gitlab", "gl-dev", GL_REPO, "developer", ["group:acme/payments"])
    inv.membership("gitlab", "group", "acme/payments", "gl-dev", "developer")
    inv.account("github", "nobody")  # orphaned: an account-only result
    inv.grant("github", "nobody", REPO, "read")
    inv.setting("github", "acme-corp", "two_factor_requirement_enabled", "false")
    inv.snapshot("entra", "tenant-1")
    inv.app("entra", "oauth2_grant", "sp1", "Mail.ReadWrite", "AllPrincipals")
    inv.credential("gitlab", "personal_access_token", "9", "gl-dev", ["api"])
    r = run(ws)
    assert ws.con.execute(
        "SELECT count(*) FROM check_results WHERE run_id = ? AND scope IS NULL", [r.run_id]
    ).fetchone()
    assert ws.con.execute(
        "SELECT count(*) FROM check_results WHERE run_id = ? AND scope IS NULL", [r.run_id]
    ).fetchone() == (0,)
    # 1. a repository: its owner (GitHub org, GitLab top-level group)
    assert _scopes(ws, r.run_id, "access.non_developer_restricted") == {
        f"alice on {REPO}": "acme-corp",
        f"nobody on {REPO}": "acme-corp",
        f"gl-dev on {GL_REPO}": "acme",
    }
    # 2. an account: the source of the current snapshot holding it
    orphaned = _scopes(ws, r.run_id, "access.orphaned")
    assert orphaned["nobody"] == "acme-corp" and orphaned["gl-dev"] == "https://gitlab.example instance"
    assert _scopes(ws, r.run_id, "credentials.no_expiry")["personal_access_token:9"] == (
        "https://gitlab.example instance"
    )
    # 3. a resource that is a scope itself; 4. the platform's one current source
    assert _scopes(ws, r.run_id, "access.two_factor_required") == {"acme-corp": "acme-corp"}
    assert _scopes(ws, r.run_id, "apps.entra_tenant_wide_consent") == {"sp1": "tenant-1"}
    assert _scopes(ws, r.run_id, "logging.time_span")["api.request events"] == "acme-corp"
    assert {c.scope for c in r.controls if c.check_id == "access.non_developer_restricted"} == {"acme-corp", "acme"}


def test_a_workspace_without_snapshots_scopes_results_by_platform(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.log_source("entra", "graph-signins", 30)
    r = run(ws)
    assert _scopes(ws, r.run_id, "logging.entra_signin_export") == {"graph-signins": "entra"}
    assert _scopes(ws, r.run_id, "credentials.gitlab_token_non_developer") == {"workspace": "workspace"}


def _non_developers(inv: Inventory, repos: int = 25) -> None:
    """Four finance people reach restricted repositories: all through the base permission (read), two also
    through team finance (write) on the first two repositories."""
    inv.setting("github", "acme-corp", "default_repository_permission", "read")
    names = [f"acme-corp/fin-{i:02d}" for i in range(repos)]
    for name in names:
        inv.repo("github", name)
    for login in ("f1", "f2", "f3", "f4"):
        inv.person("github", login, department="Finance")
        inv.membership("github", "org", "acme-corp", login, "member")
        for i, name in enumerate(names):
            team = login in ("f1", "f2") and i < 2
            inv.grant("github", login, name, "write" if team else "read", ["org_base", "team:finance"] if team else
                      ["org_base"])  # fmt: skip
        if login in ("f1", "f2"):
            inv.membership("github", "team", "finance", login, "member")


def test_one_finding_per_failing_control_counts_samples_and_names_the_entitlements(
    inv: Inventory, ws: Workspace
) -> None:
    _non_developers(inv)
    r = run(ws)
    assert status(r, "access.non_developer_restricted", "f1 on acme-corp/fin-00") == "fail"  # evidence stays
    control = _control(r, "access.non_developer_restricted", "acme-corp")
    assert (control.status, control.failing, control.passing, control.platform) == ("fail", 100, 1, "github")
    rows = ws.con.execute(
        "SELECT id, actor, platform, repos, reasons FROM findings WHERE analytic = ?",
        ["check:access.non_developer_restricted"],
    ).fetchall()
    assert len(rows) == 1  # not one per grant
    fid, actor, platform, repos, reasons = rows[0]
    assert fid == finding_id("access.non_developer_restricted", "github", "acme-corp") == control.finding_id
    assert (actor, platform) == ("acme-corp", "github")
    assert len(repos) == 20 and repos == sorted(repos)  # a capped sample, not every repository
    assert reasons[0].startswith("Non-developer accounts with access to restricted repositories in acme-corp: ")
    assert "100 grants fail: 4 non-developer accounts on 25 restricted repos" in reasons[0]
    causes = [x for x in reasons if x.startswith("Cause: ")]
    assert causes[0] == (
        "Cause: base permission read gives 4 non-developer accounts read on 25 restricted repos → set the base "
        "permission to none and grant repos through teams"
    )
    assert causes[1] == (
        "Cause: team finance (member) gives 2 non-developer accounts write on 2 restricted repos → remove them "
        "from team finance, or lower the team's role on these repos"
    )
    sample = next(x for x in reasons if x.startswith("Sample ("))
    assert sample.startswith("Sample (10 of 100): f1 on acme-corp/fin-00; f2 on acme-corp/fin-00; f3 on")
    assert len(sample.split(": ", 1)[1].split("; ")) == 10
    assert reasons[-1].startswith("Remediation: ")


def test_controls_in_json_carry_counts_causes_and_sample(inv: Inventory, ws: Workspace) -> None:
    _non_developers(inv, repos=3)
    data = run(ws).to_json()
    assert len(data["results"]) == sum(sum(c[s] for s in ("pass", "fail", "not_evaluated")) for c in data["checks"])
    control = next(
        c for c in data["controls"] if c["check_id"] == "access.non_developer_restricted" and c["scope"] == "acme-corp"
    )
    assert {"check_id", "title", "severity", "platform", "scope", "status", "failing", "passing", "not_evaluated",
            "causes", "sample"} <= set(control)  # fmt: skip
    assert (control["failing"], control["passing"], control["severity"]) == (12, 1, "high")
    paths = [(c["path"], c["accounts"], c["repos"], c["grants"], c["sole_path"]) for c in control["causes"]]
    assert paths == [("org_base", 4, 3, 12, 8), ("team:finance", 2, 2, 4, 0)]
    assert "set the base permission to none" in control["causes"][0]["remediation"]
    assert len(control["sample"]) == 10
    passing = next(c for c in data["controls"] if c["check_id"] == "access.orphaned")
    assert passing["status"] == "pass" and passing["causes"] == [] and passing["finding_id"] is None


@pytest.mark.parametrize(
    ("check_id", "via", "member_role", "expected"),
    [
        ("access.guest_contractor_write", ["direct"], None,
         "direct collaborator access gives 1 contractor account write on 1 restricted repo → remove the direct"),
        ("access.guest_contractor_write", ["outside_collaborator"], None,
         "outside collaborator access gives 1 external account write on 1 restricted repo → remove the outside"),
        ("access.stale", ["org_owner"], None,
         "the organization owner role gives 1 privileged account admin on 1 restricted repo → demote the owners"),
        ("access.guest_contractor_write", ["team:contractors"], "maintainer",
         "team contractors (maintainer) gives 1 contractor account write on 1 restricted repo → remove them from "
         "team contractors"),
    ],
)  # fmt: skip
def test_each_grant_path_has_its_own_remediation(
    inv: Inventory, ws: Workspace, check_id: str, via: list[str], member_role: str | None, expected: str
) -> None:
    inv.person("github", "ext", employee_type="Contractor")
    inv.grant("github", "ext", REPO, "admin" if via == ["org_owner"] else "write", via)
    if member_role:
        inv.membership("github", "team", "contractors", "ext", member_role)
    (cause,) = _control(run(ws), check_id, "acme-corp").causes
    assert f"{cause.cause} → {cause.remediation}".startswith(expected)


def test_gitlab_group_and_shared_group_paths_name_the_group(ws: Workspace) -> None:
    inv = Inventory(ws)
    inv.snapshot("gitlab", "https://gitlab.example instance")
    inv.repo("gitlab", GL_REPO)
    inv.person("gitlab", "partner", user_type="Guest")
    inv.grant("gitlab", "partner", GL_REPO, "developer", ["shared_group:acme-partners"])
    inv.person("gitlab", "temp", employee_type="Contractor")
    inv.grant("gitlab", "temp", GL_REPO, "maintainer", ["group:acme/payments"])
    inv.membership("gitlab", "group", "acme/payments", "temp", "maintainer")
    control = _control(run(ws), "access.guest_contractor_write", "acme")
    texts = {c.path: f"{c.cause} → {c.remediation}" for c in control.causes}
    assert texts["group:acme/payments"] == (
        "membership of group acme/payments (maintainer) gives 1 contractor account maintainer on 1 restricted repo "
        "→ remove them from group acme/payments, or lower their role in it"
    )
    assert texts["shared_group:acme-partners"].endswith(
        "→ unshare group acme-partners from these projects, or lower the share's role"
    )


def test_non_grant_controls_show_the_failing_detail(inv: Inventory, ws: Workspace) -> None:
    inv.setting("github", "acme-corp", "two_factor_requirement_enabled", "false")
    control = _control(run(ws), "access.two_factor_required", "acme-corp")
    assert control.top_cause == "acme-corp: two_factor_requirement_enabled = false"


def test_accepted_risks_partly_covering_a_control_are_counted_not_suppressed(inv: Inventory, ws: Workspace) -> None:
    inv.credential("github", "deploy_key", "7", REPO, ["write"])
    inv.credential("github", "deploy_key", "8", "acme-corp/other", ["write"])
    r = run(
        ws,
        "checks:\n  accepted_risks:\n    - {check: credentials.deploy_key_write, resources: ['DEPLOY_KEY:7'], "
        "reason: release signing, ticket: RISK-9}\n",
    )
    control = _control(r, "credentials.deploy_key_write", "acme-corp")
    assert (control.failing, control.accepted) == (1, 1)
    fid = finding_id("credentials.deploy_key_write", "github", "acme-corp")
    row = ws.con.execute("SELECT suppressed, reasons FROM findings WHERE id = ?", [fid]).fetchone()
    assert row is not None
    suppressed, reasons = row
    assert not suppressed
    assert "1 failing result accepted as risk: release signing (RISK-9)" in reasons
    assert any("deploy_key:8" in x for x in reasons)
    assert not any("deploy_key:7" in x for x in reasons)  # counted and sampled: only what is not accepted
    expired = (
        "checks:\n  accepted_risks:\n    - {check: credentials.deploy_key_write, resources: ['deploy_key:?'], "
        "reason: old, expires: 2020-01-01}\n"
    )
    assert _control(run(ws, expired), "credentials.deploy_key_write", "acme-corp").accepted == 0


def test_triage_carries_over_and_a_resolved_control_reopens_when_a_newer_snapshot_still_fails(
    inv: Inventory, ws: Workspace
) -> None:
    from datetime import timedelta

    from auditor.findings import set_status

    inv.credential("github", "deploy_key", "7", REPO, ["write"])
    run(ws)
    fid = finding_id("credentials.deploy_key_write", "github", "acme-corp")
    first = ws.con.execute("SELECT first_seen FROM findings WHERE id = ?", [fid]).fetchone()
    set_status(ws, fid, "resolved", "key rotated", now=inv.now + timedelta(hours=1))
    run(ws)  # same snapshot, older than the mark: stays resolved
    assert ws.con.execute("SELECT status, first_seen FROM findings WHERE id = ?", [fid]).fetchone() == (
        "resolved",
        first[0] if first else None,
    )
    inv.snapshot("github", "acme-corp", at=inv.now + timedelta(days=1))
    inv.credential("github", "deploy_key", "7", REPO, ["write"])
    run(ws)
    assert ws.con.execute("SELECT status FROM findings WHERE id = ?", [fid]).fetchone() == ("new",)
    notes = ws.con.execute(
        "SELECT status, author, note FROM finding_notes WHERE finding_id = ? ORDER BY noted_at", [fid]
    ).fetchall()
    assert [n[0] for n in notes] == ["resolved", "new"] and notes[1][1] == "auditor check"
    assert notes[1][2].startswith("reopened: still failing")
