"""Restriction, account-class and approval rules as users write them in the config."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from auditor.classify import AccountFacts, decide
from auditor.config.loader import parse_config
from auditor.config.models import AccountClassRules, ApprovedAutomation, Restriction, TierRule
from auditor.detect.suppress import Activity, approval_for, suppression_reason
from auditor.patterns import glob_match
from auditor.restriction import classify_repo


def test_brackets_are_literal_not_character_classes() -> None:
    assert glob_match("dependabot[bot]", "*[bot]")
    assert not glob_match("arjun.weber.ext", "*[bot]")
    assert glob_match("ACME-backup-bot", "*-bot")
    assert glob_match("a.b", "a?b") and not glob_match("ab", "a?b")


def test_default_restriction_is_private_and_internal() -> None:
    rules = Restriction()
    assert classify_repo(rules, "o/a", "private", [])[0]
    assert classify_repo(rules, "o/a", "internal", [])[0]
    assert classify_repo(rules, "o/a", "non_public", [])[0]
    assert not classify_repo(rules, "o/a", "public", [])[0]
    assert classify_repo(rules, "o/a", None, []) == (True, 2, "visibility unknown (treated as restricted)")


def test_tier_rules_and_exclusions() -> None:
    rules = Restriction(
        tiers=[TierRule(tier=1, name_patterns=["*/payments-*"], topics=["crown-jewel"])],
        exclude_patterns=["*/docs-*"],
        name_patterns=["o/public-but-secret"],
    )
    assert classify_repo(rules, "o/payments-api", "private", []) == (True, 1, "tier 1 rule")
    assert classify_repo(rules, "o/x", "private", ["crown-jewel"])[1] == 1
    assert not classify_repo(rules, "o/docs-site", "private", [])[0]
    assert classify_repo(rules, "o/public-but-secret", "public", [])[0]


def _facts(**kw: object) -> AccountFacts:
    base: dict[str, object] = {
        "platform": "github",
        "login": "x",
        "is_bot": False,
        "identity_id": "u1",
        "department": None,
        "job_title": None,
        "employee_type": None,
        "user_type": "Member",
        "roles": (),
        "groups": (),
        "admin_grant": None,
        "code_writes": 0,
    }
    base.update(kw)
    return AccountFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("facts", "expected_class", "expected_rule", "evidence_part"),
    [
        ({"roles": ("Global Administrator (active)",)}, "privileged", "privileged-role", "Global Administrator"),
        (
            {"admin_grant": "org.update_member by root at 2026-08-01T10:00Z"},
            "privileged",
            "privileged-role",
            "org.update_member",
        ),
        ({"login": "acme-ci-bot"}, "service", "automation", "acme-ci-bot"),
        ({"login": "dependabot[bot]", "identity_id": None}, "service", "automation", "[bot]"),
        ({"is_bot": True}, "service", "automation", "marks the account as a bot"),
        ({"user_type": "Guest", "department": "Engineering"}, "external", "guest", "Guest"),
        ({"employee_type": "Contractor", "department": "Engineering"}, "contractor", "contractor", "Contractor"),
        ({"department": "Platform"}, "developer", "engineering", "department is Platform"),
        ({"department": "Sales", "job_title": "Staff Software Engineer"}, "developer", "engineering", "jobTitle"),
        ({"groups": ("Engineering",)}, "developer", "engineering", "group"),
        ({"identity_id": None, "code_writes": 4}, "developer", "engineering", "4 push/merge"),
        ({"department": "Finance", "job_title": "Analyst"}, "non_developer", "everyone-else", "Finance"),
        ({"identity_id": None}, "non_developer", "everyone-else", "not linked"),
    ],
)
def test_each_default_rule_decides_with_evidence(
    facts: dict[str, object], expected_class: str, expected_rule: str, evidence_part: str
) -> None:
    cls, rule, evidence = decide(AccountClassRules(), _facts(**facts))
    assert (cls, rule) == (expected_class, expected_rule)
    assert evidence_part in evidence


def test_rule_order_comes_from_config_first_match_wins() -> None:
    rules = parse_config(
        "account_classes:\n  rules:\n"
        "    - {name: contractors-first, account_class: contractor, when: {employee_types: [Contractor]}}\n"
        "    - {name: all-devs, account_class: developer, when: {always: true}}\n",
        "c.yaml",
    ).account_classes
    assert decide(rules, _facts(employee_type="Contractor", roles=("Global Administrator (active)",)))[1] == (
        "contractors-first"
    )
    assert decide(rules, _facts())[:2] == ("developer", "all-devs")


def test_approval_must_fit_actor_platform_window_and_repos() -> None:
    rule = ApprovedAutomation(
        name="mig",
        actors=["migration-*"],
        platforms=["gitlab"],
        purpose="migration",
        not_before=datetime(2026, 8, 10),
        not_after=datetime(2026, 8, 12),
        repos=["acme/*"],
    )
    inside = datetime(2026, 8, 11)

    def act(
        platform: str = "gitlab",
        actor: str = "migration-bot",
        repos: tuple[str, ...] = ("acme/a",),
        last: datetime = inside,
    ) -> Activity:
        return Activity(platform, actor, repos, inside, last)

    assert approval_for([rule], act()) is rule
    assert approval_for([rule], act(platform="github")) is None
    assert approval_for([rule], act(actor="someone")) is None
    assert approval_for([rule], act(repos=("other/a",))) is None
    assert approval_for([rule], act(last=datetime(2026, 8, 13))) is None


def test_approval_by_credential_app_cidr_user_agent_ticket_and_expiry() -> None:
    rule = ApprovedAutomation(
        name="backup",
        purpose="backup",
        credential_ids=["tok-1"],
        ip_cidrs=["10.20.0.0/16"],
        user_agent_patterns=["backup-agent/*"],
        ticket="CHG-1234",
        expires=date(2027, 1, 1),
    )
    when = datetime(2026, 9, 1)
    good = Activity("github", "anyone", ["o/r"], when, when, ["tok-1"], [], ["10.20.3.4"], ["backup-agent/2.1"])
    assert approval_for([rule], good, today=date(2026, 12, 1)) is rule
    assert suppression_reason(rule) == "approved automation 'backup' (backup, ticket CHG-1234)"
    assert approval_for([rule], good, today=date(2027, 1, 2)) is None  # expired approvals never match
    outside = Activity("github", "anyone", ["o/r"], when, when, ["tok-1"], [], ["192.0.2.1"], ["backup-agent/2.1"])
    assert approval_for([rule], outside, today=date(2026, 12, 1)) is None
    other_token = Activity("github", "anyone", ["o/r"], when, when, ["tok-2"], [], ["10.20.3.4"], ["backup-agent/2"])
    assert approval_for([rule], other_token, today=date(2026, 12, 1)) is None
    app_rule = ApprovedAutomation(name="scanner", purpose="scanner", app_ids=["991122"])
    scan = Activity("github", "x", ["o/r"], when, when, [], ["991122"], [], [])
    assert approval_for([app_rule], scan) is app_rule


def test_an_approval_must_be_scoped() -> None:
    with pytest.raises(ValueError, match="at least one of actors"):
        ApprovedAutomation(name="all", purpose="ci")
    with pytest.raises(ValueError):
        ApprovedAutomation(name="bad", purpose="ci", actors=["x"], ip_cidrs=["not-a-cidr"])
