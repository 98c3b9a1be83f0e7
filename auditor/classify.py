"""Account classes by ordered config rules (first match wins), each decision kept with its evidence.

Facts per account come from one set-based query (IdP attributes through the account's link,
Entra roles and groups, admin grants and code activity in the audit logs); the rules are then
evaluated per account, which is per account rather than per event.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.config.models import AccountClassRules, ClassRule
from auditor.patterns import any_match, glob_match
from auditor.workspace.store import Workspace, json_rows

_FACTS = """
WITH horizon AS (SELECT max(ts) - to_days(CAST($days AS INTEGER)) AS since FROM events),
writes AS (
    SELECT platform, actor, count(*) AS n FROM events, horizon
    WHERE category IN ('push', 'merge') AND ts >= since GROUP BY platform, actor
),
admin_grants AS (
    SELECT platform, target AS login, arg_max(action || ' by ' || coalesce(actor, '?') || ' at ' ||
           strftime(ts, '%Y-%m-%dT%H:%MZ'), ts) AS grant_event
    FROM events
    WHERE category = 'membership' AND lower(coalesce(permission, '')) IN ('admin', 'owner')
    GROUP BY platform, target
),
linked AS (
    SELECT a.platform, a.login, a.is_bot, l.identity_id, i.department, i.job_title, i.employee_type, i.user_type
    FROM accounts a
    LEFT JOIN account_links l ON l.platform = a.platform AND l.login = a.login
    LEFT JOIN identities i ON i.identity_id = l.identity_id
)
SELECT k.platform, k.login, coalesce(k.is_bot, false), k.identity_id, k.department, k.job_title,
       k.employee_type, k.user_type,
       (SELECT list(DISTINCT r.role || ' (' || r.assignment || ')') FROM identity_roles r
          WHERE r.identity_id = k.identity_id) AS roles,
       (SELECT list(DISTINCT g.group_name) FROM identity_groups g WHERE g.identity_id = k.identity_id) AS groups,
       (SELECT list(DISTINCT x) FROM (SELECT unnest(list_append(gr.via, gr.role)) AS x FROM grants gr
          WHERE gr.platform = k.platform AND gr.account = k.login)) AS inventory_roles,
       ag.grant_event, coalesce(w.n, 0) AS code_writes
FROM linked k
LEFT JOIN writes w ON w.platform = k.platform AND w.actor = k.login
LEFT JOIN admin_grants ag ON ag.platform = k.platform AND ag.login = k.login
"""


@dataclass(frozen=True)
class AccountFacts:
    """What the rules can look at for one account."""

    platform: str
    login: str
    is_bot: bool
    identity_id: str | None
    department: str | None
    job_title: str | None
    employee_type: str | None
    user_type: str | None
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    admin_grant: str | None
    code_writes: int
    inventory_roles: tuple[str, ...] = ()


def _in(value: str | None, options: list[str]) -> bool:
    return value is not None and value.lower() in {o.lower() for o in options}


def evidence_for(rule: ClassRule, f: AccountFacts, window_days: int) -> str | None:
    """The first condition of `rule` that holds for `f`, as evidence text; None if none holds."""
    w = rule.when
    checks: list[tuple[bool, str]] = [
        (f.login in w.logins, f"login {f.login} is listed"),
        (any_match(f.login, w.login_patterns), f"login {f.login} matches {w.login_patterns}"),
        (w.bot_accounts and f.is_bot, "the platform marks the account as a bot"),
        (
            any(glob_match(r.rsplit(" (", 1)[0], p) for r in f.roles for p in w.entra_role_patterns),
            f"Entra directory role {', '.join(f.roles)}",
        ),
        (
            any(_in(r, w.inventory_roles) for r in f.inventory_roles),
            f"collected access: {', '.join(r for r in f.inventory_roles if _in(r, w.inventory_roles))}",
        ),
        (w.admin_grant_in_audit and f.admin_grant is not None, f"admin grant in the audit log: {f.admin_grant}"),
        (_in(f.user_type, w.user_types), f"IdP userType is {f.user_type}"),
        (_in(f.employee_type, w.employee_types), f"IdP employeeType is {f.employee_type}"),
        (_in(f.department, w.departments), f"IdP department is {f.department}"),
        (any_match(f.job_title, w.title_patterns), f"IdP jobTitle is {f.job_title}"),
        (any(_in(g, w.groups) for g in f.groups), f"member of Entra group(s) {', '.join(f.groups)}"),
        (w.code_activity and f.code_writes > 0, f"{f.code_writes} push/merge events in the last {window_days} days"),
        (w.always, _fallback(f)),
    ]
    return next((text for ok, text in checks if ok), None)


def _fallback(f: AccountFacts) -> str:
    if not f.identity_id:
        return "no earlier rule matched; the account is not linked to an identity"
    return (
        f"no earlier rule matched: IdP department {f.department or '-'}, jobTitle {f.job_title or '-'}, "
        f"employeeType {f.employee_type or '-'}"
    )


def decide(rules: AccountClassRules, f: AccountFacts) -> tuple[str, str, str]:
    """(account_class, rule name, evidence) from the first matching rule."""
    for rule in rules.rules:
        evidence = evidence_for(rule, f, rules.behaviour_window_days)
        if evidence is not None:
            return rule.account_class, rule.name, evidence
    return "non_developer", "(no rule matched)", "no configured rule matched"


def account_facts(ws: Workspace, rules: AccountClassRules) -> list[AccountFacts]:
    rows = ws.con.execute(_FACTS, {"days": rules.behaviour_window_days}).fetchall()
    return [
        AccountFacts(
            r[0],
            r[1],
            bool(r[2]),
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            tuple(r[8] or ()),
            tuple(r[9] or ()),
            r[11],
            int(r[12]),
            tuple(r[10] or ()),
        )
        for r in rows
    ]


def classify_accounts(ws: Workspace, rules: AccountClassRules) -> None:
    """Write accounts.account_class, class_rule and class_evidence for every account."""
    updates: list[tuple[object, ...]] = []
    for f in account_facts(ws, rules):
        cls, rule, evidence = decide(rules, f)
        updates.append((cls, rule, evidence, f.platform, f.login))
    if updates:
        cols = {"cls": "VARCHAR", "rule": "VARCHAR", "evidence": "VARCHAR", "platform": "VARCHAR", "login": "VARCHAR"}
        sql, params = json_rows(cols, updates)
        ws.con.execute(
            f"UPDATE accounts SET account_class = u.cls, class_rule = u.rule, class_evidence = u.evidence "
            f"FROM ({sql}) u WHERE accounts.platform = u.platform AND accounts.login = u.login",
            params,
        )
