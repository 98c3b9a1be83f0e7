"""The sandbox Graph server over plain HTTP: auth, OData paging and options, licences, faults, data.

One small tenant per module; servers bind 127.0.0.1 on a free port. The msgraph-sdk side is tested
with the Entra connector.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor_sandbox.generate import generate_tenant
from auditor_sandbox.graph import GraphServer, serve_graph
from auditor_sandbox.graph.directory import load_directory

TOKEN = "sandbox-token"
Response = tuple[int, dict[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("acme")
    generate_tenant(out, users=60, repos=60, days=20)
    return out


@pytest.fixture(scope="module")
def server(tenant: Path) -> Iterator[GraphServer]:
    with serve_graph(tenant) as running:
        yield running


@pytest.fixture(scope="module")
def signins(tenant: Path) -> list[dict[str, Any]]:
    """The diagnostic records of the tenant's sign-in file, parsed (the test's own reading)."""
    lines = (tenant / "entra" / "signins.ndjson").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def get(server: GraphServer, target: str, *, token: str | None = TOKEN, host: str | None = None) -> Response:
    """GET a path (or a full nextLink) on the server; `host` overrides the Host header."""
    split = urlsplit(target)
    path = f"{split.path}?{split.query}" if split.query else split.path
    address = urlsplit(server.url)
    conn = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if host is not None:
        headers["Host"] = host
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = json.loads(response.read())
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def get_all(server: GraphServer, target: str) -> tuple[list[dict[str, Any]], int]:
    """Follow @odata.nextLink to the end: (all items, number of pages)."""
    items: list[dict[str, Any]] = []
    pages = 0
    next_target: str | None = target
    while next_target:
        status, _, body = get(server, next_target)
        assert status == 200, body
        items += body["value"]
        pages += 1
        next_target = body.get("@odata.nextLink")
    return items, pages


def q(text: str) -> str:
    return quote(text, safe="=,()'$")


def test_requests_without_the_token_get_401_in_graphs_error_shape(server: GraphServer) -> None:
    for token in (None, "wrong-token"):
        status, headers, body = get(server, "/v1.0/users", token=token)
        assert status == 401
        assert headers["content-type"].startswith("application/json")
        assert body["error"]["code"] == "InvalidAuthenticationToken"
    assert ("GET", "/v1.0/users", 401) in server.requests


def test_unknown_path_is_404_with_inner_error(server: GraphServer) -> None:
    status, _, body = get(server, "/v1.0/noSuchThing")
    assert status == 404
    assert body["error"]["code"] == "Request_ResourceNotFound"
    assert {"request-id", "date"} <= set(body["error"]["innerError"])


def test_select_returns_only_selected_properties_plus_id(server: GraphServer, tenant: Path) -> None:
    status, _, body = get(server, "/v1.0/users?$select=userPrincipalName,department&$top=5")
    assert status == 200
    assert all(set(u) == {"id", "userPrincipalName", "department"} for u in body["value"])
    _, _, plain = get(server, "/v1.0/users?$top=5")
    assert "signInActivity" not in plain["value"][0] and "department" not in plain["value"][0]
    status, _, bad = get(server, "/v1.0/users?$select=noSuchProperty")
    assert status == 400 and "noSuchProperty" in bad["error"]["message"]


def test_paging_follows_next_links_to_every_user_once(server: GraphServer, tenant: Path) -> None:
    expected = json.loads((tenant / "entra" / "users.json").read_text(encoding="utf-8"))["value"]
    users, pages = get_all(server, "/v1.0/users?$top=7&$select=id,userPrincipalName")
    assert [u["id"] for u in users] == [u["id"] for u in expected]
    assert pages == -(-len(expected) // 7)


def test_next_link_is_built_from_the_request_host(server: GraphServer) -> None:
    port = urlsplit(server.url).port
    _, _, body = get(server, "/v1.0/users?$top=2", host=f"localhost:{port}")
    assert body["@odata.nextLink"].startswith(f"http://localhost:{port}/v1.0/users?$top=2&$skiptoken=")
    _, _, body = get(server, "/v1.0/users?$top=2")
    assert body["@odata.nextLink"].startswith(f"{server.url}/v1.0/users?")


def test_sign_in_activity_and_manager(server: GraphServer, signins: list[dict[str, Any]]) -> None:
    target = "/v1.0/users?$select=id,department,signInActivity&$expand=manager($select=id,userPrincipalName)"
    users, _ = get_all(server, target)
    by_id = {u["id"]: u for u in users}
    for user in users:
        manager = user["manager"]
        if manager is not None:
            assert set(manager) == {"@odata.type", "id", "userPrincipalName"}
            assert by_id[manager["id"]]["department"] == user["department"]
    last: dict[str, str] = {}
    for record in signins:
        props = record["properties"]
        if record["category"] == "SignInLogs":
            last[props["userId"]] = max(last.get(props["userId"], ""), props["createdDateTime"])
    user_id, stamp = next(iter(last.items()))
    assert by_id[user_id]["signInActivity"]["lastSignInDateTime"] == stamp[:19] + "Z"
    managed = next(u for u in users if u["manager"] is not None)
    status, _, body = get(server, f"/v1.0/users/{managed['id']}/manager")
    assert (status, body["id"]) == (200, managed["manager"]["id"])
    head = next(u for u in users if u["manager"] is None)
    assert get(server, f"/v1.0/users/{head['id']}/manager")[2]["error"]["code"] == "Request_ResourceNotFound"


def test_sign_ins_filter_by_time_newest_first(server: GraphServer, signins: list[dict[str, Any]]) -> None:
    low, high = "2026-09-18T00:00:00Z", "2026-09-25T00:00:00Z"
    flt = q(f"createdDateTime ge {low} and createdDateTime lt {high}")
    items, pages = get_all(server, f"/v1.0/auditLogs/signIns?$filter={flt}&$top=100")
    expected = {
        r["properties"]["id"]
        for r in signins
        if r["category"] == "SignInLogs" and "2026-09-18" <= r["properties"]["createdDateTime"] < "2026-09-25"
    }
    assert {s["id"] for s in items} == expected and len(items) == len(expected)
    assert pages == -(-len(expected) // 100)
    stamps = [s["createdDateTime"] for s in items]
    assert stamps == sorted(stamps, reverse=True)
    assert all(s["isInteractive"] for s in items)


def test_beta_chooses_non_interactive_sign_ins(server: GraphServer, signins: list[dict[str, Any]]) -> None:
    counts = {c: sum(r["category"] == c for r in signins) for c in ("SignInLogs", "NonInteractiveUserSignInLogs")}
    flt = q("createdDateTime ge 2026-01-01T00:00:00Z and signInEventTypes/any(t: t eq 'nonInteractiveUser')")
    items, _ = get_all(server, f"/beta/auditLogs/signIns?$filter={flt}&$top=500")
    assert len(items) == counts["NonInteractiveUserSignInLogs"]
    assert all(not s["isInteractive"] and s["signInEventTypes"] == ["nonInteractiveUser"] for s in items)
    default, _ = get_all(server, "/beta/auditLogs/signIns?$top=1000")
    assert len(default) == counts["SignInLogs"]
    both = q("signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')")
    every, _ = get_all(server, f"/beta/auditLogs/signIns?$filter={both}")
    assert len(every) == sum(counts.values())
    status, _, _ = get(server, f"/v1.0/auditLogs/signIns?$filter={flt}")
    assert status == 400  # v1.0 has no signInEventTypes


def test_page_size_is_capped(tenant: Path) -> None:
    with serve_graph(tenant, page_size_cap=25) as small:
        _, _, body = get(small, "/v1.0/auditLogs/signIns?$top=1000")
        assert len(body["value"]) == 25 and "@odata.nextLink" in body
    with serve_graph(tenant) as normal:
        assert get(normal, "/v1.0/users?$top=1000")[0] == 400  # Graph's limit for directory objects is 999
        assert get(normal, "/v1.0/users?$skiptoken=garbage")[0] == 400


@pytest.mark.parametrize(
    ("licence", "path", "code"),
    [
        ("none", "/v1.0/auditLogs/signIns", "Authentication_RequestFromNonPremiumTenantOrB2CTenant"),
        ("none", "/v1.0/users?$select=id,signInActivity", "Authentication_RequestFromNonPremiumTenantOrB2CTenant"),
        ("p1", "/v1.0/roleManagement/directory/roleEligibilitySchedules", "AadPremiumLicenseRequired"),
        ("p1", "/v1.0/identityProtection/riskyUsers", "Forbidden"),
        ("p1", "/v1.0/identityProtection/riskDetections", "Forbidden"),
    ],
)
def test_licence_gated_endpoints_answer_403(tenant: Path, licence: str, path: str, code: str) -> None:
    with serve_graph(tenant, licence=licence) as gated:
        status, _, body = get(gated, path)
        assert (status, body["error"]["code"]) == (403, code)
        if code == "Forbidden":
            assert "Microsoft Entra ID P2" in body["error"]["message"]
        if licence == "p1":
            assert get(gated, "/v1.0/auditLogs/signIns?$top=1")[0] == 200


def test_every_nth_request_is_throttled_then_retry_succeeds(tenant: Path) -> None:
    with serve_graph(tenant, fault_429_every=2) as flaky:
        assert get(flaky, "/v1.0/users?$top=1")[0] == 200
        status, headers, body = get(flaky, "/v1.0/users?$top=1")
        assert (status, headers["retry-after"], body["error"]["code"]) == (429, "1", "TooManyRequests")
        assert get(flaky, "/v1.0/users?$top=1")[0] == 200
        assert [s for _, _, s in flaky.requests] == [200, 429, 200]
        assert flaky.requests[0] == ("GET", "/v1.0/users?$top=1", 200)


def test_forbidden_prefixes_answer_403(tenant: Path) -> None:
    with serve_graph(tenant, forbid=("/v1.0/auditLogs", "/providers")) as strict:
        status, _, body = get(strict, "/v1.0/auditLogs/signIns")
        assert (status, body["error"]["code"]) == (403, "Authorization_RequestDenied")
        assert "AuditLog.Read.All" in body["error"]["message"] and "innerError" in body["error"]
        status, _, body = get(strict, "/providers/microsoft.aadiam/diagnosticSettings?api-version=2017-04-01-preview")
        assert (status, body["error"]["code"]) == (403, "AuthorizationFailed")
        assert get(strict, "/v1.0/users")[0] == 200


def test_diagnostic_settings_stream_sign_ins_to_a_workspace(server: GraphServer) -> None:
    status, _, body = get(server, "/providers/microsoft.aadiam/diagnosticSettings?api-version=2017-04-01-preview")
    assert status == 200
    (setting,) = body["value"]
    assert "/workspaces/" in setting["properties"]["workspaceId"]
    enabled = {log["category"] for log in setting["properties"]["logs"] if log["enabled"]}
    assert {"SignInLogs", "NonInteractiveUserSignInLogs"} <= enabled
    assert get(server, "/providers/microsoft.aadiam/diagnosticSettings")[0] == 400  # api-version is required


def test_roles_groups_and_apps(server: GraphServer, tenant: Path) -> None:
    users = json.loads((tenant / "entra" / "users.json").read_text(encoding="utf-8"))["value"]
    admins = {u["id"] for u in users if u["jobTitle"] in ("IT Administrator", "Head of Platform")}
    _, _, body = get(server, "/v1.0/roleManagement/directory/roleAssignments?$expand=roleDefinition")
    assert {a["principalId"] for a in body["value"]} == admins
    roles = {a["roleDefinition"]["displayName"] for a in body["value"]}
    assert "Global Administrator" in roles and all(a["directoryScopeId"] == "/" for a in body["value"])
    _, _, eligible = get(server, "/v1.0/roleManagement/directory/roleEligibilitySchedules?$expand=roleDefinition")
    assert eligible["value"] and not {a["principalId"] for a in eligible["value"]} & admins

    _, _, groups = get(server, "/v1.0/groups?$filter=" + q("displayName eq 'GitHub Users'"))
    (group,) = groups["value"]
    members, _ = get_all(server, f"/v1.0/groups/{group['id']}/members?$select=id,userPrincipalName&$top=10")
    assert members and all(m["@odata.type"] == "#microsoft.graph.user" for m in members)

    _, _, grants = get(server, "/v1.0/oauth2PermissionGrants")
    tenant_wide = [g for g in grants["value"] if g["consentType"] == "AllPrincipals"]
    assert len(tenant_wide) == 1 and "Directory.ReadWrite.All" in tenant_wide[0]["scope"]
    assert any(g["consentType"] == "Principal" and g["principalId"] for g in grants["value"])
    _, _, sps = get(server, "/v1.0/servicePrincipals?$select=id,appId,displayName")
    names = {sp["displayName"]: sp for sp in sps["value"]}
    assert {"GitHub Enterprise Cloud", "GitLab", "CodeLens Insights", "Microsoft Graph"} <= set(names)
    assert set(names["GitLab"]) == {"id", "appId", "displayName"}
    _, _, assigned = get(server, f"/v1.0/servicePrincipals/{names['GitHub Enterprise Cloud']['id']}/appRoleAssignedTo")
    assert any(a["principalType"] == "Group" and a["principalId"] == group["id"] for a in assigned["value"])


def test_risky_users_include_the_departing_developer(server: GraphServer, tenant: Path) -> None:
    truth = json.loads((tenant / "ground_truth.json").read_text(encoding="utf-8"))
    leaver = next(s["identity"] for s in truth["scenarios"] if s["name"] == "gitlab-departing-export")
    _, _, risky = get(server, "/v1.0/identityProtection/riskyUsers")
    levels = {u["userPrincipalName"]: u["riskLevel"] for u in risky["value"]}
    assert levels[leaver] == "high"
    _, _, detections = get(server, "/v1.0/identityProtection/riskDetections")
    assert {"impossibleTravel", "unfamiliarFeatures"} <= {d["riskEventType"] for d in detections["value"]}


def test_directory_is_deterministic(tenant: Path) -> None:
    first, second = load_directory(tenant), load_directory(tenant)
    assert (first.groups, first.grants, first.service_principals, first.risk_detections) == (
        second.groups,
        second.grants,
        second.service_principals,
        second.risk_detections,
    )


def test_serve_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "serve", "graph", "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_directory_audits_filter_and_page_newest_first(server: GraphServer, tenant: Path) -> None:
    users = json.loads((tenant / "entra" / "users.json").read_text(encoding="utf-8"))["value"]
    leaver = next(u for u in users if u.get("employeeLeaveDateTime"))
    every, _ = get_all(server, "/v1.0/auditLogs/directoryAudits")
    stamps = [a["activityDateTime"] for a in every]
    assert stamps == sorted(stamps, reverse=True)
    assert {a["activityDisplayName"] for a in every} == {"Disable account", "Remove member from group", "Delete user"}
    name = q("activityDisplayName eq 'Remove member from group'")
    removals, pages = get_all(server, f"/v1.0/auditLogs/directoryAudits?$filter={name}&$top=1")
    assert pages == len(removals) >= 2
    removed = {(a["targetResources"][0]["userPrincipalName"], a["targetResources"][1]["displayName"]) for a in removals}
    assert any(upn == leaver["userPrincipalName"] for upn, _ in removed)
    assert ("former.rowan.hale@acme.example", "GitHub Users") in removed
    # The leaver's membership ends with the removal.
    _, _, groups = get(server, "/v1.0/groups?$filter=" + q("displayName eq 'GitHub Users'"))
    members, _ = get_all(server, f"/v1.0/groups/{groups['value'][0]['id']}/members?$select=id")
    assert leaver["id"] not in {m["id"] for m in members}
    (deletion,) = [a for a in every if a["activityDisplayName"] == "Delete user"]
    at = deletion["activityDateTime"][:19]
    for clause, found in ((f"ge {at}Z", 1), (f"gt {at}.5Z", 0), (f"le {at}.5Z", 1), (f"lt {at}Z", 0)):
        wanted = q(f"activityDisplayName eq 'Delete user' and activityDateTime {clause}")
        _, _, body = get(server, f"/v1.0/auditLogs/directoryAudits?$filter={wanted}")
        assert len(body["value"]) == found, clause
    status, _, body = get(server, "/v1.0/auditLogs/directoryAudits?$filter=" + q("category eq 'UserManagement'"))
    assert (status, body["error"]["code"]) == (400, "Request_UnsupportedQuery")


def test_deleted_users_carry_entras_renamed_upn(server: GraphServer) -> None:
    path = "/v1.0/directory/deletedItems/microsoft.graph.user?$select=id,userPrincipalName,deletedDateTime"
    _, _, body = get(server, path)
    (user,) = body["value"]
    assert user["userPrincipalName"] == user["id"].replace("-", "") + "former.rowan.hale@acme.example"
    assert set(user) == {"@odata.type", "id", "userPrincipalName", "deletedDateTime"}


def test_departure_endpoints_name_their_permission_when_forbidden(tenant: Path) -> None:
    with serve_graph(tenant, forbid=("/v1.0/directory/deletedItems", "/v1.0/auditLogs/directoryAudits")) as strict:
        _, _, body = get(strict, "/v1.0/directory/deletedItems/microsoft.graph.user")
        assert "User.Read.All" in body["error"]["message"]
        status, _, body = get(strict, "/v1.0/auditLogs/directoryAudits")
        assert status == 403 and "AuditLog.Read.All" in body["error"]["message"]
