"""The stolen-token incidents of issue #15 and their benign look-alikes: each is in the ground truth and its
records have the shape that names it (what makes it an incident, or what keeps it benign)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from auditor_sandbox.benign_lookalikes import LOOKALIKES, REBUILD_AGENT
from auditor_sandbox.generate import generate_tenant
from auditor_sandbox.incidents_tokens import REPLAY_AGENT, TOKEN_INCIDENTS
from tests.helpers import epoch_ms, read_ndjson

Records = list[dict[str, Any]]


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small tenant's records and ground truth (by scenario name), read once."""
    out = tmp_path_factory.mktemp("acme-scenarios")
    generate_tenant(out, seed=7, users=80, repos=100, days=30)
    return {
        "out": out,
        "truth": {s["name"]: s for s in json.loads((out / "ground_truth.json").read_text())["scenarios"]},
        "github": list(read_ndjson(out / "github/audit-log.ndjson")),
        "gitlab": list(read_ndjson(out / "gitlab/audit-events.ndjson")),
        "signins": list(read_ndjson(out / "entra/signins.ndjson")),
    }


def _during(records: Records, s: dict[str, Any], actor: str) -> Records:
    lo, hi = epoch_ms(s["start"]), epoch_ms(s["end"])
    return [r for r in records if r["actor"] == actor and lo <= r["@timestamp"] <= hi]


def test_every_new_scenario_is_labelled(tenant: dict[str, Any]) -> None:
    truth = tenant["truth"]
    for name in TOKEN_INCIDENTS:
        assert truth[name]["label"] == "incident" and truth[name]["technique"] == "T1213.003", name
    for name in LOOKALIKES:
        assert truth[name]["label"] == "benign" and truth[name]["technique"] is None, name


def test_replayed_pat_is_the_owners_weekday_token_used_where_the_owner_never_signed_in(
    tenant: dict[str, Any],
) -> None:
    s, github = tenant["truth"]["developer-pat-replay"], tenant["github"]
    clones = _during(github, s, s["actor"])
    assert {r["repo"] for r in clones} == set(s["repos"]) and len(s["repos"]) >= 10
    assert {r["user_agent"] for r in clones} == {REPLAY_AGENT}
    tokens = {r["token_id"] for r in clones}
    assert len(tokens) == 1 and "personal access token" in clones[0]["programmatic_access_type"].lower()
    before = [r for r in github if r["actor"] == s["actor"] and r["@timestamp"] < epoch_ms(s["start"])]
    assert any(r.get("token_id") in tokens for r in before)  # the same token, used before from the usual places
    assert datetime.fromtimestamp(epoch_ms(s["start"]) / 1000, UTC).weekday() in (5, 6)  # Saturday night (UTC)
    ips = {r["actor_ip"] for r in clones}
    owner = [r for r in tenant["signins"] if r["properties"]["userPrincipalName"] == s["identity"]]
    assert owner and not [r for r in owner if r["callerIpAddress"] in ips]
    assert {r["actor_location"]["country_code"] for r in clones}.isdisjoint({r["location"] for r in owner})


def test_worm_clones_every_restricted_repo_then_creates_public_repos(tenant: dict[str, Any]) -> None:
    s, github = tenant["truth"]["build-account-worm"], tenant["github"]
    run = _during(github, s, s["actor"])
    clones = [r for r in run if r["action"] == "git.clone"]
    restricted = {r["repo"] for r in github if r["action"] == "git.clone" and r["visibility"] != "public"}
    assert {r["repo"] for r in clones} == set(s["repos"]) == restricted  # every one there is
    assert clones[-1]["@timestamp"] - clones[0]["@timestamp"] <= 30 * 60_000
    created = [r for r in run if r["action"] == "repo.create"]
    assert created and all(r["visibility"] == "public" and r["public_repo"] for r in created)
    names = {r["repo"].split("/", 1)[1] for r in created}
    assert "Shai-Hulud" in names and any(n.endswith("-migration") for n in names)
    assert min(r["@timestamp"] for r in created) > clones[-1]["@timestamp"]
    usual = [r for r in github if r["actor"] == s["actor"] and r["@timestamp"] < epoch_ms(s["start"])]
    assert usual and {r["token_id"] for r in usual} == {clones[0]["token_id"]}  # its own token, every workday


def test_unlinked_gitlab_account_has_no_email_and_follows_a_risky_signin(tenant: dict[str, Any]) -> None:
    s, out = tenant["truth"]["gitlab-unlinked-risky-signin"], tenant["out"]
    users = json.loads((out / "inventory/gitlab.json").read_text())["users"]
    account = next(u for u in users if u["username"] == s["actor"])
    assert account["identities"] == [] and account["email"] != s["identity"]
    events = [r for r in tenant["gitlab"] if r["author_id"] == account["id"]]
    assert events and not [r for r in events if "author_email" in r["details"]]
    lo, hi = epoch_ms(s["start"]), epoch_ms(s["end"])
    pulls = [r for r in events if lo <= epoch_ms(r["created_at"]) <= hi]
    assert {r["entity_path"] for r in pulls} == set(s["repos"]) and hi - lo <= 25 * 60_000
    risky = [
        r
        for r in tenant["signins"]
        if r["properties"]["userPrincipalName"] == s["identity"]
        and r["properties"]["riskLevelDuringSignIn"] == "high"
        and epoch_ms(r["time"]) < lo
    ]
    assert risky and {r["ip_address"] for r in pulls} == {risky[-1]["callerIpAddress"]}


def test_departed_pat_is_used_after_the_leave_date_of_a_disabled_account(tenant: dict[str, Any]) -> None:
    s, out = tenant["truth"]["departed-pat-after-disable"], tenant["out"]
    users = json.loads((out / "entra/users.json").read_text())["value"]
    leaver = next(u for u in users if u["userPrincipalName"] == s["identity"])
    assert leaver["accountEnabled"] is False and epoch_ms(leaver["employeeLeaveDateTime"]) < epoch_ms(s["start"])
    lo, hi = epoch_ms(s["start"]), epoch_ms(s["end"])
    api = [
        r
        for r in read_ndjson(out / "gitlab/api_json.log")
        if r["username"] == s["actor"] and lo <= epoch_ms(r["time"]) <= hi and r["token_type"] == "PersonalAccessToken"
    ]
    assert {r["meta.project"] for r in api} == set(s["repos"]) and len(s["repos"]) >= 10
    assert not [
        r
        for r in tenant["signins"]
        if r["properties"]["userPrincipalName"] == s["identity"] and lo <= epoch_ms(r["time"])
    ]


def test_unapproved_app_clones_one_repo_about_a_hundred_times_a_day(tenant: dict[str, Any]) -> None:
    s, out = tenant["truth"]["github-app-one-repo-unapproved"], tenant["out"]
    config = yaml.safe_load((out / "auditor.yaml").read_text())
    assert s["actor"] not in {a for rule in config["approved_automation"] for a in rule["actors"]}
    clones = [r for r in tenant["github"] if r["actor"] == s["actor"]]
    assert {r["repo"] for r in clones} == set(s["repos"]) and len(s["repos"]) == 1
    per_day: dict[int, int] = {}
    for r in clones:
        per_day[r["@timestamp"] // 86_400_000] = per_day.get(r["@timestamp"] // 86_400_000, 0) + 1
    assert len(per_day) == 30 and all(90 <= n <= 110 for n in per_day.values())


def test_rebuild_is_a_new_client_at_the_usual_address_on_known_repos(tenant: dict[str, Any]) -> None:
    s, github = tenant["truth"]["workstation-rebuild"], tenant["github"]
    clones = [r for r in _during(github, s, s["actor"]) if r["action"] == "git.clone" and r["repo"] in s["repos"]]
    before = [r for r in github if r["actor"] == s["actor"] and r["@timestamp"] < epoch_ms(s["start"])]
    assert {r["user_agent"] for r in clones} == {REBUILD_AGENT}
    assert REBUILD_AGENT not in {r["user_agent"] for r in before}
    assert {r["actor_ip"] for r in clones} <= {r.get("actor_ip") for r in before}
    assert {r["token_id"] for r in clones if "token_id" in r} <= {r.get("token_id") for r in before}


def test_conference_has_an_mfa_signin_from_a_new_country(tenant: dict[str, Any]) -> None:
    s = tenant["truth"]["conference-new-country-mfa"]
    clones = _during(tenant["github"], s, s["actor"])
    country = {r["actor_location"]["country_code"] for r in clones}
    assert len(country) == 1 and 3 <= len(s["repos"]) <= 4
    mine = [r for r in tenant["signins"] if r["properties"]["userPrincipalName"] == s["identity"]]
    there = [r for r in mine if r["location"] in country and epoch_ms(r["time"]) < epoch_ms(s["start"])]
    assert any(r["properties"]["authenticationRequirement"] == "multiFactorAuthentication" for r in there)
    assert there[0]["properties"]["status"]["errorCode"] == 0
    home = [r for r in mine if epoch_ms(r["time"]) < epoch_ms(s["start"]) - 3 * 86_400_000]
    assert home and country.isdisjoint({r["location"] for r in home})


def test_rotation_grants_a_new_token_then_uses_it_at_the_usual_volume(tenant: dict[str, Any]) -> None:
    s, github = tenant["truth"]["pat-rotation"], tenant["github"]
    granted = [r for r in github if r["actor"] == s["actor"] and r["action"] == "personal_access_token.access_granted"]
    token = granted[-1]["token_id"]
    used = [r for r in github if r.get("token_id") == token and r["action"] in ("git.clone", "git.fetch")]
    assert used and min(r["@timestamp"] for r in used) > granted[-1]["@timestamp"]
    per_day: dict[int, int] = {}
    for r in used:
        per_day[r["@timestamp"] // 86_400_000] = per_day.get(r["@timestamp"] // 86_400_000, 0) + 1
    assert max(per_day.values()) <= 3
    before = [r for r in github if r["actor"] == s["actor"] and r["@timestamp"] < granted[-1]["@timestamp"]]
    assert {r["actor_ip"] for r in used} <= {r.get("actor_ip") for r in before}  # the usual place


def test_weekly_mirror_clones_every_repo_each_saturday(tenant: dict[str, Any]) -> None:
    s, github = tenant["truth"]["weekly-mirror-all-repos"], tenant["github"]
    clones = [r for r in github if r["actor"] == s["actor"]]
    days = {datetime.fromtimestamp(r["@timestamp"] / 1000, UTC).date() for r in clones}
    assert days and {d.weekday() for d in days} == {5} and len({r["actor_ip"] for r in clones}) == 1
    every = {r["repo"] for r in github if r["action"] in ("git.clone", "git.fetch")}
    for day in days:
        assert {r["repo"] for r in clones if datetime.fromtimestamp(r["@timestamp"] / 1000, UTC).date() == day} == every
