"""Account classes from IdP attributes when an account is linked, else from behaviour."""

from __future__ import annotations

from auditor.config.models import AccountClassRules
from auditor.patterns import any_match
from auditor.workspace.store import Workspace, json_rows

_ACCOUNTS = """
WITH horizon AS (SELECT max(ts) - to_days(CAST($days AS INTEGER)) AS since FROM events),
writes AS (
    SELECT platform, actor, count(*) AS n FROM events, horizon
    WHERE category IN ('push', 'merge') AND ts >= since GROUP BY platform, actor
)
SELECT a.platform, a.login, i.department, i.job_title, i.employee_type, i.user_type, i.identity_id,
       coalesce(w.n, 0) AS code_writes
FROM accounts a
LEFT JOIN writes w ON w.platform = a.platform AND w.actor = a.login
LEFT JOIN account_links l ON l.platform = a.platform AND l.login = a.login
LEFT JOIN identities i ON i.identity_id = l.identity_id OR (l.identity_id IS NULL AND lower(i.upn) = l.upn)
"""


def class_of(
    rules: AccountClassRules,
    login: str,
    department: str | None,
    title: str | None,
    employee_type: str | None,
    user_type: str | None,
    linked: bool,
    code_writes: int,
) -> tuple[str, str]:
    """(account_class, the rule that decided it) — the rule text is shown to analysts as evidence."""
    if login in rules.privileged_logins:
        return "privileged", "listed in account_classes.privileged_logins"
    if any_match(login, rules.service_login_patterns):
        return "service", "login matches account_classes.service_login_patterns"
    if linked:
        if user_type and user_type.lower() == "guest":
            return "external", "IdP userType is Guest"
        if employee_type and employee_type.lower() in {t.lower() for t in rules.contractor_employee_types}:
            return "contractor", f"IdP employeeType is {employee_type}"
        if department and department.lower() in {d.lower() for d in rules.developer_departments}:
            return "developer", f"IdP department is {department}"
        if any_match(title, rules.developer_title_patterns):
            return "developer", f"IdP jobTitle is {title}"
        if department or title:
            return "non_developer", f"IdP department {department or '-'} / jobTitle {title or '-'}"
    window = rules.behaviour_window_days
    if code_writes:
        return "developer", f"pushed or merged code in the last {window} days (no IdP attributes)"
    return "non_developer", f"no push or merge activity in the last {window} days (no IdP attributes)"


def classify_accounts(ws: Workspace, rules: AccountClassRules) -> None:
    """Write accounts.account_class and class_rule for every account."""
    rows = ws.con.execute(_ACCOUNTS, {"days": rules.behaviour_window_days}).fetchall()
    updates: list[tuple[object, ...]] = []
    for platform, login, dept, title, emp, utype, identity_id, writes in rows:
        linked = identity_id is not None
        cls, rule = class_of(rules, login, dept, title, emp, utype, linked, int(writes or 0))
        updates.append((cls, rule, platform, login))
    if updates:
        cols = {"cls": "VARCHAR", "rule": "VARCHAR", "platform": "VARCHAR", "login": "VARCHAR"}
        sql, params = json_rows(cols, updates)
        ws.con.execute(
            f"UPDATE accounts SET account_class = u.cls, class_rule = u.rule FROM ({sql}) u "
            "WHERE accounts.platform = u.platform AND accounts.login = u.login",
            params,
        )
