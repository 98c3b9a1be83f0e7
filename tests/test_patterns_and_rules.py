"""Restriction, account-class and approval rules as users write them in the config."""

from __future__ import annotations

from datetime import datetime

from auditor.classify import class_of
from auditor.config.models import AccountClassRules, ApprovedAutomation, Restriction, TierRule
from auditor.detect.suppress import approval_for
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


def test_account_classes_from_idp_then_behaviour() -> None:
    rules = AccountClassRules()
    assert class_of(rules, "x", "Finance", "Analyst", "Employee", "Member", True, 0)[0] == "non_developer"
    assert class_of(rules, "x", "Finance", "Analyst", "Contractor", "Member", True, 0)[0] == "contractor"
    assert class_of(rules, "x", None, None, None, "Guest", True, 0)[0] == "external"
    assert class_of(rules, "x", "Sales", "Staff Software Engineer", None, "Member", True, 0)[0] == "developer"
    assert class_of(rules, "ci-bot", None, None, None, None, False, 50)[0] == "service"
    assert class_of(rules, "x", None, None, None, None, False, 3)[0] == "developer"
    cls, rule = class_of(rules, "x", None, None, None, None, False, 0)
    assert cls == "non_developer" and "no push or merge" in rule


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
    assert approval_for([rule], "gitlab", "migration-bot", ["acme/a"], inside, inside) is rule
    assert approval_for([rule], "github", "migration-bot", ["acme/a"], inside, inside) is None
    assert approval_for([rule], "gitlab", "someone", ["acme/a"], inside, inside) is None
    assert approval_for([rule], "gitlab", "migration-bot", ["other/a"], inside, inside) is None
    late = datetime(2026, 8, 13)
    assert approval_for([rule], "gitlab", "migration-bot", ["acme/a"], inside, late) is None
