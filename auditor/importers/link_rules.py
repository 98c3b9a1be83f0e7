"""Explicit identity linking rules from the config: a mapping file (CSV of platform, login, upn) and
username conventions (prefix + UPN local part + suffix). Each is a linking rule with its own confidence
and evidence, applied after the platforms' own evidence (SAML/SCIM identities, e-mails); a weaker link
never replaces a stronger one. Set-based SQL; the CSV is read once into a temp table."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from auditor.config.models import LinkingRules, UsernameConvention
from auditor.errors import InputError
from auditor.importers.derive import LINK_STATEMENTS

RULE_KINDS = ("mapping_file", "username_convention")
MAPPING_COLUMNS = ("platform", "login", "upn")
PLATFORMS = ("github", "gitlab")

_STRONGER = """NOT EXISTS (SELECT 1 FROM account_links l WHERE l.platform = a.platform AND l.login = a.login
                           AND l.confidence >= $confidence)"""

_MAPPING = f"""
INSERT OR REPLACE INTO account_links (platform, login, identity_id, upn, linked_by, confidence, evidence)
SELECT a.platform, a.login, any_value(i.identity_id), lower(any_value(m.upn)), 'mapping_file', $confidence,
       'mapping file ' || $file || ' line ' || CAST(min(m.line_no) AS VARCHAR) || ': ' || a.platform || ' '
       || a.login || ' is ' || lower(any_value(m.upn))
FROM link_mapping m
JOIN accounts a ON a.platform = m.platform AND lower(a.login) = lower(m.login)
LEFT JOIN identities i ON lower(i.upn) = lower(m.upn) OR lower(i.mail) = lower(m.upn)
WHERE {_STRONGER}
GROUP BY a.platform, a.login
"""

_CONVENTION = f"""
INSERT OR REPLACE INTO account_links (platform, login, identity_id, upn, linked_by, confidence, evidence)
SELECT a.platform, a.login, u.identity_id, lower(u.upn), 'username_convention', $confidence,
       'username convention ' || $name || ': login ' || a.login || ' is ' || $shape || ' of ' || lower(u.upn)
FROM accounts a
JOIN (
    SELECT lower($prefix || split_part(upn, '@', 1) || $suffix) AS login, any_value(identity_id) AS identity_id,
           any_value(upn) AS upn
    FROM identities WHERE upn IS NOT NULL AND upn LIKE '%@%'
    GROUP BY lower($prefix || split_part(upn, '@', 1) || $suffix)
    HAVING count(DISTINCT lower(upn)) = 1
) u ON lower(a.login) = u.login
WHERE a.platform = $platform AND {_STRONGER}
"""


def read_mapping(path: Path) -> list[tuple[str, str, str, int]]:
    """(platform, login, upn, line) from a mapping CSV; a missing column or value names the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read the identity mapping file: {exc.strerror}", str(path)) from exc
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in MAPPING_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"the identity mapping file needs columns {', '.join(MAPPING_COLUMNS)}", f"{path}:1")
    rows = []
    for row in reader:
        line = reader.line_num
        platform, login, upn = ((row.get(c) or "").strip() for c in MAPPING_COLUMNS)
        if platform.lower() not in PLATFORMS or not login or "@" not in upn:
            raise InputError("each row needs a platform (github or gitlab), a login and a UPN", f"{path}:{line}")
        rows.append((platform.lower(), login, upn, line))
    return rows


def _shape(rule: UsernameConvention) -> str:
    return f"'{rule.prefix}' + the UPN's local part + '{rule.suffix}'"


def apply_link_rules(con: duckdb.DuckDBPyConnection, rules: LinkingRules) -> None:
    """Recompute the configured links inside the caller's transaction: drop the previous ones, restore
    the platforms' own links they may have replaced, then apply the mapping file and the conventions,
    strongest first."""
    con.execute(f"DELETE FROM account_links WHERE linked_by IN {RULE_KINDS!r}")
    for statement in LINK_STATEMENTS:
        con.execute(statement)
    steps: list[tuple[float, str, dict[str, object]]] = []
    if rules.mapping_file is not None:
        mapping = read_mapping(rules.mapping_file)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE link_mapping (platform VARCHAR, login VARCHAR, upn VARCHAR, line_no BIGINT)"
        )
        if mapping:
            con.executemany("INSERT INTO link_mapping VALUES (?, ?, ?, ?)", mapping)
        params: dict[str, object] = {"confidence": rules.mapping_confidence, "file": rules.mapping_file.name}
        steps.append((rules.mapping_confidence, _MAPPING, params))
    for rule in rules.conventions:
        params = {
            "confidence": rule.confidence,
            "name": rule.name,
            "shape": _shape(rule),
            "prefix": rule.prefix.lower(),
            "suffix": rule.suffix.lower(),
            "platform": rule.platform,
        }
        steps.append((rule.confidence, _CONVENTION, params))
    for _, sql, params in sorted(steps, key=lambda s: -s[0]):
        con.execute(sql, params)
    if rules.mapping_file is not None:
        con.execute("DROP TABLE IF EXISTS link_mapping")
