"""Reports: executive PDF and analyst HTML content, incident packs, key numbers, escaping, offline assets."""

from __future__ import annotations

import io
import logging
import socket
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from auditor.config.models import AuditorConfig, Company
from auditor.findings import load_findings
from auditor.incidents import IncidentPack, build_incident_packs
from auditor.reports.charts import daily_columns, hbar_chart
from auditor.reports.context import build_context
from auditor.reports.metrics import key_numbers
from auditor.reports.render import (
    ReportError,
    ReportPaths,
    ResourceRefused,
    build_report,
    render_reports,
    resolve_resource,
    safe_url_fetcher,
    templates_dir,
)
from auditor.workspace.store import Workspace

HOSTILE_ACTOR = "<script>alert(1)</script>"
HOSTILE_REPO = 'acme/"><img src=x onerror=alert(2)>'
HOSTILE_UA = '<script>alert("ua")</script><img src="file:///etc/passwd"><img src="http://example.com/x.png">'
T0 = datetime(2024, 5, 1, 9, 0, 0)
SHA = "ab" * 32


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket fails the test: reports must never touch the network."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted during a report test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def add_import(ws: Workspace, import_id: str, events: int, rejected: int = 0) -> None:
    ws.con.execute(
        "INSERT INTO imports VALUES (?, 's1', ?, ?, 'github_audit_json', 'github', ?, ?, 1, ?, ?, ?, ?)",
        [import_id, f"/data/{import_id}.json", SHA, events + 1 + rejected, events, rejected, T0, T0, T0],
    )


def add_event(ws: Workspace, uid: str, platform: str, ts: datetime, actor: str, repo: str | None, **extra: Any) -> None:
    fields = {"action": "git.clone", "category": "download", "line_no": int(uid.strip("e") or 0) + 1, **extra}
    columns = ["event_uid", "platform", "source_format", "ts", "actor", "repo", "evidence_sha256", "import_id", *fields]
    values = [uid, platform, "fmt", ts, actor, repo, SHA, "imp-1", *fields.values()]
    ws.con.execute(f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(values))})", values)


def add_finding(
    ws: Workspace,
    fid: str,
    actor: str,
    severity: str = "high",
    score: int = 80,
    repos: list[str] | None = None,
    suppressed: bool = False,
    reason: str | None = None,
    platform: str = "github",
    identity: str | None = None,
    evidence: list[str] | None = None,
    first: datetime = T0,
    linked: bool = True,
) -> None:
    who = (identity or f"{actor}@acme.example") if linked else None
    ws.con.execute(
        "INSERT INTO findings (id, analytic, severity, score, platform, actor, identity, repos, first_seen, "
        "last_seen, reasons, evidence, suppressed, suppression_reason, run_id, detected_at) "
        "VALUES (?, 'AN0732', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'run-1', ?)",
        [
            fid, severity, score, platform, actor, who, repos or ["acme/core"], first,
            first + timedelta(minutes=20), ["cloned 14 restricted repos in 20 minutes", "new country: PT"],
            evidence or [], suppressed, reason, T0,
        ],
    )  # fmt: skip


def populate(ws: Workspace) -> None:
    add_import(ws, "imp-1", events=6, rejected=2)
    ws.con.execute(
        "INSERT INTO rejected_lines VALUES ('imp-1', 'ab', '/data/imp-1.json', 7, 'not JSON', '{'), "
        "('imp-1', 'ab', '/data/imp-1.json', 9, 'missing field: action', NULL)"
    )
    for i in range(5):
        add_event(ws, f"e{i}", "github", T0 + timedelta(days=i), "mallory", "acme/core")
    add_event(ws, "e5", "entra", T0 + timedelta(days=2), HOSTILE_ACTOR, HOSTILE_REPO)
    ws.con.execute(
        "INSERT INTO log_sources VALUES ('github', 'audit_log', 90, NULL, ?, ?, 5), "
        "('entra', 'signin', 30, NULL, ?, ?, 1)",
        [T0, T0 + timedelta(days=4), T0, T0],
    )
    repos = [f"acme/secret-{i}" for i in range(14)]
    add_finding(ws, "f1", "mallory-top-actor", "critical", 97, repos)
    add_finding(ws, "f2", HOSTILE_ACTOR, "high", 70, [HOSTILE_REPO])
    add_finding(ws, "f3", "ci-backup-bot", "medium", 50, suppressed=True, reason="approved automation: nightly backup")


def render(ws: Workspace, out: Path, company: str = "Acme Robotics GmbH", **company_kw: Any) -> ReportPaths:
    return render_reports(ws, AuditorConfig(company=Company(name=company, **company_kw)), out, config_dir=out.parent)


def pdf_pages(path: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(path.read_bytes())).pages]


class TagCollector(HTMLParser):
    """Every start tag with its attributes, and the text of script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse(html: str) -> TagCollector:
    parser = TagCollector()
    parser.feed(html)
    parser.close()
    return parser


# ---- both reports ----


def test_render_writes_both_reports_with_top_finding_and_company(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    paths = render(ws, tmp_path / "out")
    assert paths == ReportPaths(html=tmp_path / "out" / "report.html", pdf=tmp_path / "out" / "report.pdf")
    pages = pdf_pages(paths.pdf)
    assert 2 <= len(pages) <= 4
    text = "\n".join(pages)
    assert "mallory-top-actor" in text and "Acme Robotics GmbH" in text
    assert "The five most important actions" in text and "Telemetry blind spots" in text
    assert "not collected" in text  # no grants or credentials in this workspace: never shown as zero
    html = paths.html.read_text(encoding="utf-8")
    assert "mallory-top-actor" in html and "Acme Robotics GmbH" in html
    assert (
        "2 high or critical bulk-extraction incidents need containment; not collected: restricted repositories" in html
    )
    assert "2 lines rejected" in html and "missing field: action" in html
    assert "approved automation: nightly backup" in html


def test_html_escapes_hostile_repo_names_user_agents_and_company(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    add_event(ws, "e9", "github", T0 + timedelta(minutes=5), HOSTILE_ACTOR, HOSTILE_REPO, user_agent=HOSTILE_UA)
    html = render(ws, tmp_path / "out", company="<b>Evil & Co</b>").html.read_text(encoding="utf-8")
    doc = parse(html)
    assert [t for t, _ in doc.tags].count("script") == 1  # only our own inline script
    assert not [t for t, _ in doc.tags if t == "img"]  # no logo configured; planted <img> stayed text
    assert not [t for t, _ in doc.tags if t == "b"]
    for _, attrs in doc.tags:
        for _, value in attrs:
            assert "alert" not in (value or "") and "example.com" not in (value or "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#34;ua&#34;)&lt;/script&gt;" in html  # the user agent, in the incident timeline
    assert "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in html


def test_pdf_renders_hostile_values_as_text_and_fetches_nothing(
    ws: Workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    populate(ws)
    add_finding(ws, "f9", '<img src="file:///etc/passwd">', "critical", 99, ['<img src="http://example.com/x.png">'])
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        paths = render(ws, tmp_path / "out")
    assert not [r for r in caplog.records if r.name.startswith("weasyprint")], caplog.text
    assert '<img src="file:///etc/passwd">' in "".join(pdf_pages(paths.pdf))


def test_html_is_self_contained(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    html = render(ws, tmp_path / "out").html.read_text(encoding="utf-8")
    lowered = html.lower()
    for needle in ('src="http', "src='http", 'href="http', "href='http", "url(", "@import", "<link"):
        assert needle not in lowered, needle
    assert "content-security-policy" in lowered and "default-src &#39;none&#39;" in lowered
    assert "table.sortable" in parse(html).scripts[0]


def test_empty_workspace_says_not_collected_and_never_pass(ws: Workspace, tmp_path: Path) -> None:
    paths = render(ws, tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert "No open findings" in html and "no events" in html and "Nothing analysed yet" in html
    assert "Governance checks have not been run" in html
    assert "Grants were not collected" not in html  # no accounts at all: the accounts section says so instead
    assert "No accounts in the workspace (not collected)" in html
    assert 'class="st st-pass"' not in html
    pages = pdf_pages(paths.pdf)
    assert 2 <= len(pages) <= 4
    text = "\n".join(pages)
    assert "No open bulk-extraction findings" in text and "Not run: no control is shown as passing" in text


def test_many_findings_pdf_names_the_top_five_html_lists_all(ws: Workspace, tmp_path: Path) -> None:
    add_import(ws, "imp-1", events=1)
    add_event(ws, "e0", "github", T0, "a", "acme/core")
    for i in range(250):
        add_finding(ws, f"f{i:03d}", f"actor-{i:03d}", "medium", 1000 - i)
    paths = render(ws, tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert "actor-000" in html and "actor-249" in html
    pages = pdf_pages(paths.pdf)
    text = "\n".join(pages)
    assert "actor-000" in text and "actor-004" in text and "actor-005" not in text
    assert "245 more open AN0732 detections" in text
    assert 2 <= len(pages) <= 4


# ---- key numbers ----


def _inventory(ws: Workspace) -> None:
    """Two GitHub grant snapshots (the second adds a non-developer) and credentials in the second."""
    ws.con.execute(
        "INSERT INTO snapshots VALUES ('s-old', 'collect', 'github', 'acme', ?, '0'), "
        "('s-new', 'collect', 'github', 'acme', ?, '0')",
        [T0, T0 + timedelta(days=90)],
    )
    ws.con.execute(
        "INSERT INTO repos (platform, full_name, visibility, restricted, tier) VALUES "
        "('github', 'acme/core', 'private', true, 1), ('github', 'acme/web', 'private', true, 2), "
        "('github', 'acme/docs', 'public', false, NULL)"
    )
    ws.con.execute(
        "INSERT INTO accounts (platform, login, account_class) VALUES ('github', 'alice', 'developer'), "
        "('github', 'root', 'privileged'), ('github', 'sam', 'non_developer')"
    )
    ws.con.execute(
        "INSERT INTO grants VALUES ('s-old', 'github', 'alice', 'acme/core', 'write', ['team:core']), "
        "('s-old', 'github', 'root', 'acme/core', 'admin', ['org_owner']), "
        "('s-new', 'github', 'alice', 'acme/core', 'write', ['team:core']), "
        "('s-new', 'github', 'root', 'acme/core', 'admin', ['org_owner']), "
        "('s-new', 'github', 'root', 'acme/web', 'admin', ['org_owner']), "
        "('s-new', 'github', 'sam', 'acme/web', 'read', ['direct']), "
        "('s-new', 'github', 'sam', 'acme/docs', 'read', ['org_base'])"
    )
    now = T0 + timedelta(days=90)
    ws.con.execute(
        "INSERT INTO credentials (snapshot_id, platform, kind, credential_id, owner, scopes, created_at, last_used_at, "
        "expires_at, source) VALUES "
        "('s-new', 'github', 'classic_pat', '1', 'alice', ['repo'], ?, ?, NULL, 't'), "  # no expiry: risky
        "('s-new', 'github', 'classic_pat', '2', 'alice', ['read:org'], ?, ?, NULL, 't'), "  # read only
        "('s-new', 'github', 'fine_grained_pat', '3', 'sam', ['write'], ?, ?, ?, 't'), "  # used, expires soon
        "('s-new', 'github', 'deploy_key', '4', 'acme/core', ['write'], ?, ?, ?, 't')",  # unused 100 days: risky
        [T0, now, T0, now, T0, now, now + timedelta(days=30), T0, now - timedelta(days=100), now + timedelta(days=30)],
    )


def test_key_numbers_count_the_latest_snapshot_and_the_change(ws: Workspace) -> None:
    _inventory(ws)
    numbers = {n.key: n for n in key_numbers(ws)}
    assert (numbers["restricted_repos"].value, numbers["restricted_repos"].previous) == (2, 1)
    assert (numbers["accounts_with_access"].value, numbers["accounts_with_access"].change) == (3, "+1")
    assert (numbers["privileged_accounts"].value, numbers["privileged_accounts"].change) == (1, "no change")
    assert (numbers["non_developers_with_access"].value, numbers["non_developers_with_access"].previous) == (1, 0)
    assert numbers["risky_credentials"].value == 2
    assert numbers["risky_credentials"].change == "no earlier snapshot"


def test_key_numbers_say_not_collected_without_inventory(ws: Workspace) -> None:
    numbers = {n.key: n for n in key_numbers(ws)}
    assert all(n.value is None and n.change == "not collected" for n in numbers.values())


def test_inventory_reaches_the_html_views_and_the_pdf(ws: Workspace, tmp_path: Path) -> None:
    _inventory(ws)
    paths = render(ws, tmp_path / "out")
    text = "\n".join(pdf_pages(paths.pdf))
    assert "+1" in text and "non-developers with access" in text
    html = paths.html.read_text(encoding="utf-8")
    assert 'id="accounts-table"' in html and 'id="repos-table"' in html
    assert "Remove restricted-repo access from 1 non-developer accounts" in html


# ---- incident response packs ----


def _github_incident(ws: Workspace) -> IncidentPack:
    ws.con.execute(
        "INSERT INTO evidence VALUES (?, 'import', '/data/audit.ndjson', '/ws/evidence/ab', 1234, ?)", [SHA, T0]
    )
    ws.con.execute("INSERT INTO identities (identity_id, upn) VALUES ('0000-idp-mallory', 'mallory@acme.example')")
    ws.con.execute("INSERT INTO snapshots VALUES ('s1', 'collect', 'github', 'acme', ?, '0')", [T0])
    ws.con.execute(
        "INSERT INTO grants VALUES ('s1', 'github', 'mallory', 'acme/core', 'write', ['team:core', 'direct']), "
        "('s1', 'github', 'mallory', 'acme/web', 'read', ['org_base'])"
    )
    ws.con.execute(
        "INSERT INTO credentials (snapshot_id, platform, kind, credential_id, owner, scopes, name) VALUES "
        "('s1', 'github', 'classic_pat', '4001', 'mallory', ['repo', 'read:org'], 'laptop'), "
        "('s1', 'github', 'ssh_key', '5002', 'mallory', [], 'old key')"
    )
    add_event(ws, "e1", "entra", T0 - timedelta(hours=30), "mallory@acme.example", None, category="signin",
              action="SignInLogs", identity="mallory@acme.example", country="PT", ip="203.0.113.9",
              app_name="GitHub Enterprise", app_id="gh-app")  # fmt: skip
    add_event(ws, "e2", "github", T0 - timedelta(hours=29), "mallory", None, category="credential",
              action="org_credential_authorization.grant", credential_id="4001", org="acme")  # fmt: skip
    add_event(ws, "e3", "github", T0, "mallory", "acme/core", credential_type="Personal access token",
              credential_id="4001", org="acme", actor_id="77", user_agent=HOSTILE_UA)  # fmt: skip
    add_event(ws, "e4", "github", T0 + timedelta(minutes=3), "mallory", "acme/web",
              credential_type="Fine-grained personal access token", credential_id="9009", org="acme")  # fmt: skip
    add_event(ws, "e5", "github", T0 - timedelta(days=30), "mallory", "acme/core", org="acme")  # outside the window
    add_finding(ws, "inc-1", "mallory", "critical", 95, ["acme/core", "acme/web"],
                identity="mallory@acme.example", evidence=[f"{SHA}:4", f"{SHA}:5"])  # fmt: skip
    add_finding(ws, "low-1", "bob", "low", 20)
    packs = build_incident_packs(ws, load_findings(ws), lookback_hours=72)
    assert [p.finding_id for p in packs] == ["inc-1"]  # only high/critical open AN0732 findings
    return packs[0]


def test_github_incident_pack_timeline_credentials_and_exact_containment(ws: Workspace) -> None:
    pack = _github_incident(ws)
    assert [e.event_uid for e in pack.timeline] == ["e1", "e2", "e3", "e4"]
    assert [e.category for e in pack.timeline] == ["signin", "credential", "download", "download"]
    assert pack.timeline_total == 4
    creds = {c.credential_id: c for c in pack.credentials}
    assert creds["4001"].kind == "classic_pat" and creds["4001"].events == 2 and creds["4001"].name == "laptop"
    assert creds["4001"].scopes == ("repo", "read:org")
    assert creds["9009"].kind == "Fine-grained personal access token" and not creds["9009"].in_inventory
    assert creds["5002"].events == 0  # held, not seen in use
    how = [s.how for s in pack.containment]
    assert any(h.startswith("DELETE /orgs/acme/members/mallory") for h in how)
    assert "DELETE /orgs/acme/credential-authorizations/4001" in how
    assert "DELETE /orgs/acme/credential-authorizations/5002" in how
    assert any(h.startswith('POST /orgs/acme/personal-access-tokens/9009 with {"action": "revoke"}') for h in how)
    assert "POST /users/0000-idp-mallory/revokeSignInSessions" in how
    assert "DELETE /orgs/acme/teams/core/memberships/mallory" in how
    assert "DELETE /repos/acme/core/collaborators/mallory" in how
    assert any("default_repository_permission" in h for h in how)
    assert pack.event_uids == ("e1", "e2", "e3", "e4")
    assert [(f.sha256, f.bytes) for f in pack.raw_files] == [(SHA, 1234)]
    assert pack.to_json()["recommendation_only"] is True


def test_gitlab_incident_pack_blocks_user_and_revokes_token_by_id(ws: Workspace) -> None:
    ws.con.execute("INSERT INTO snapshots VALUES ('s1', 'collect', 'gitlab', 'acme', ?, '0')", [T0])
    ws.con.execute(
        "INSERT INTO grants VALUES ('s1', 'gitlab', 'eve', 'acme/core/api', 'developer', ['group:acme/core'])"
    )
    ws.con.execute(
        "INSERT INTO credentials (snapshot_id, platform, kind, credential_id, owner, scopes) VALUES "
        "('s1', 'gitlab', 'personal_access_token', '77', 'eve', ['read_repository'])"
    )
    add_event(ws, "e1", "gitlab", T0, "eve", "acme/core/api", actor_id="333", credential_type="PersonalAccessToken",
              credential_id="77")  # fmt: skip
    add_finding(ws, "g-1", "eve", "high", 80, ["acme/core/api"], platform="gitlab", linked=False)
    pack = build_incident_packs(ws, load_findings(ws))[0]
    how = [s.how for s in pack.containment]
    assert how[0].startswith("POST /users/333/block")
    assert "DELETE /personal_access_tokens/77" in how
    assert "DELETE /groups/acme%2Fcore/members/333" in how
    assert not any("revokeSignInSessions" in h for h in how)  # no identity linked


def test_incident_pack_is_in_the_html(ws: Workspace, tmp_path: Path) -> None:
    _github_incident(ws)
    html = render(ws, tmp_path / "out").html.read_text(encoding="utf-8")
    assert 'id="incident-inc-1"' in html
    assert "DELETE /orgs/acme/credential-authorizations/4001" in html
    assert "Evidence timeline" in html and SHA in html


# ---- check results ----


def test_check_results_by_framework(ws: Workspace, tmp_path: Path) -> None:
    ws.con.execute(
        "INSERT INTO check_results (run_id, snapshot_id, check_id, title, category, severity, platform, resource, "
        "status, detail, frameworks, evaluated_at) VALUES "
        "('c1', NULL, 'access.nondev', 'Non-developers with access', 'access', 'high', 'github', 'sam', 'fail', "
        "'read on acme/web', ['SOC2:CC6.1', 'ISO27001:5.15'], ?), "
        "('c1', NULL, 'access.nondev', 'Non-developers with access', 'access', 'high', 'github', 'alice', 'pass', "
        "NULL, ['SOC2:CC6.1', 'ISO27001:5.15'], ?), "
        "('c1', NULL, 'logging.git', 'Git events streamed', 'logging', 'medium', 'github', 'acme', 'not_evaluated', "
        "'no streaming configuration visible', ['SOC2:CC7.2'], ?)",
        [T0, T0, T0],
    )
    rep = build_report(ws, AuditorConfig())
    status = {(r.framework, r.requirement): r.status for r in rep.checks.requirements}
    assert status == {("ISO27001", "5.15"): "fail", ("SOC2", "CC6.1"): "fail", ("SOC2", "CC7.2"): "not_evaluated"}
    assert [(c.check_id, c.status, c.objects, c.sample) for c in rep.checks.controls] == [
        ("access.nondev", "fail", 1, ("sam: read on acme/web",)),
        ("logging.git", "not_evaluated", 1, ("acme: no streaming configuration visible",)),
    ]
    assert any(a.title == "Fix failing control: Non-developers with access" for a in rep.actions)
    paths = render(ws, tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert "CC6.1" in html and 'class="st st-fail"' in html and 'class="st st-not_evaluated"' in html
    assert "ISO27001" in "\n".join(pdf_pages(paths.pdf))


# ---- logo, fetcher, templates ----


def test_logo_is_embedded_and_fetched_only_from_the_config_folder(
    ws: Workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "utf-8")
    config = AuditorConfig(company=Company(name="Acme", logo=Path("logo.svg")))
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        paths = render_reports(ws, config, tmp_path / "a", config_dir=tmp_path)
    assert 'src="data:image/svg+xml;base64,' in paths.html.read_text(encoding="utf-8")
    assert not caplog.records, caplog.text  # WeasyPrint was allowed to read exactly this file
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    for outside in (tmp_path / "logo.svg", Path("../logo.svg")):
        escaping = AuditorConfig(company=Company(logo=outside))
        with pytest.raises(ReportError, match=r"company.logo must be inside"):
            render_reports(ws, escaping, tmp_path / "b", config_dir=elsewhere)
    (elsewhere / "link.svg").symlink_to(tmp_path / "logo.svg")
    with pytest.raises(ReportError, match=r"company.logo must be inside"):
        render_reports(ws, AuditorConfig(company=Company(logo=Path("link.svg"))), tmp_path / "b", config_dir=elsewhere)
    assert not (tmp_path / "b").exists()
    with pytest.raises(ReportError, match="not a file"):
        render_reports(ws, AuditorConfig(company=Company(logo=Path("."))), tmp_path / "c", config_dir=tmp_path)
    (tmp_path / "logo.txt").write_text("x", "utf-8")
    with pytest.raises(ReportError, match="must be one of"):
        render_reports(ws, AuditorConfig(company=Company(logo=Path("logo.txt"))), tmp_path / "d", config_dir=tmp_path)


def test_url_fetcher_serves_only_the_templates_folder_and_the_logo(tmp_path: Path) -> None:
    root = templates_dir()
    data, mime = resolve_resource((root / "report.css").as_uri(), root)
    assert mime == "text/css" and b"@page" in data
    for url in ("http://example.com/x.png", "https://example.com/a.css", "file:///etc/passwd",
                (root / ".." / ".." / "pyproject.toml").as_uri(), "ftp://example.com/x",
                "file://evil.example/share/x.css", root.as_uri(), "file:///tmp/a%00b"):  # fmt: skip
        with pytest.raises(ResourceRefused):
            resolve_resource(url, root)
    outside = tmp_path / "secret.txt"
    outside.write_text("secret", encoding="utf-8")
    link_root = tmp_path / "tpl"
    link_root.mkdir()
    (link_root / "link.css").symlink_to(outside)
    with pytest.raises(ResourceRefused):
        resolve_resource((link_root / "link.css").as_uri(), link_root)
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG")
    assert resolve_resource(logo.as_uri(), root, frozenset({logo.resolve()}))[0] == b"\x89PNG"
    fetcher = safe_url_fetcher(root, frozenset({logo}))
    assert b"@page" in fetcher.fetch((root / "report.css").as_uri()).read()
    with pytest.raises(ResourceRefused):
        fetcher.fetch("http://example.com/x.png")
    with pytest.raises(ResourceRefused):
        fetcher.fetch(outside.as_uri())
    assert resolve_resource("data:image/png;base64,iVBORw0KGgo=", root) == (b"\x89PNG\r\n\x1a\n", "image/png")


def test_weasyprint_never_fetches_outside_the_templates(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Even markup that asks for remote or local files gets nothing: the fetcher refuses, the PDF renders."""
    from weasyprint import HTML

    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not really a png")
    page = (
        '<link rel="stylesheet" href="report.css"><link rel="stylesheet" href="http://example.com/x.css">'
        f'<img src="http://example.com/x.png"><img src="{secret.as_uri()}"><img src="file:///etc/passwd">'
        "<p>hello</p>"
    )
    root = templates_dir()
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = HTML(string=page, base_url=str(root) + "/", url_fetcher=safe_url_fetcher(root)).write_pdf()
    assert pdf.startswith(b"%PDF")
    refused = [r.getMessage() for r in caplog.records if "ResourceRefused" in r.getMessage()]
    assert len(refused) == 4, caplog.text


def test_pdf_loads_its_stylesheet_without_warnings(
    ws: Workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    populate(ws)
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        render(ws, tmp_path / "out")
    assert not [r for r in caplog.records if r.name.startswith("weasyprint")], caplog.text


def test_context_counts(ws: Workspace) -> None:
    populate(ws)
    ctx = build_context(ws, AuditorConfig(), now=T0)
    assert ctx.events_total == 6 and ctx.open_total == 2 and ctx.suppressed_total == 1
    assert dict(ctx.open_by_severity)["critical"] == 1
    assert [p.platform for p in ctx.events_by_platform] == ["github", "entra"]
    assert ctx.imports.rejected == 2 and ctx.rejected_lines == 2
    assert len(ctx.events_per_day) == 5 and ctx.events_per_day[0] == ("2024-05-01", 1)
    assert ctx.top_findings[0].actor == "mallory-top-actor" and ctx.top_findings[0].repos_more == 9
    assert ctx.platforms_without_events == ("gitlab",)


def test_charts_escape_labels() -> None:
    svg = hbar_chart([("<x>", 3), ("ok", 0)], 'title "q" <t>')
    assert "<x>" not in svg and "&lt;x&gt;" in svg and "&quot;q&quot;" in svg
    assert daily_columns([], "none") == ""
    assert "2024-05-01" in daily_columns([("2024-05-01", 2), ("2024-05-02", 0)], "days")


def test_templates_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUDITOR_TEMPLATES", str(templates_dir()))
    assert (templates_dir() / "executive.html.j2").is_file()
    monkeypatch.setenv("AUDITOR_TEMPLATES", str(tmp_path))
    with pytest.raises(ReportError, match="templates not found"):
        templates_dir()


def _auditor(*args: str, cwd: Path) -> Any:
    import os
    import subprocess
    import sys

    env = {**os.environ, "AUDITOR_WORKSPACE": str(cwd / "ws")}
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def test_cli_report_writes_both_files_and_rejects_a_logo_outside_the_config_folder(tmp_path: Path) -> None:
    Workspace.open(tmp_path / "ws").close()  # an empty workspace (a missing one is an error)
    ok = _auditor("report", "--out", "rep", "--json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "rep" / "report.pdf").is_file() and (tmp_path / "rep" / "report.html").is_file()
    (tmp_path / "cfg").mkdir()
    (tmp_path / "secret.png").write_bytes(b"\x89PNG")
    (tmp_path / "cfg" / "auditor.yaml").write_text("company: {name: X, logo: ../secret.png}\n", encoding="utf-8")
    bad = _auditor("--config", "cfg/auditor.yaml", "report", "--out", "rep2", cwd=tmp_path)
    assert bad.returncode == 2 and "company.logo must be inside" in bad.stderr
    assert not (tmp_path / "rep2").exists()


# ---- decisions first: controls, open findings, runs, campaign, change, blind spots ----


def add_check_result(
    ws: Workspace, check_id: str, resource: str, status: str = "fail", platform: str = "github",
    scope: str | None = None, run_id: str = "c1", detail: str | None = "why",
) -> None:  # fmt: skip
    ws.con.execute(
        "INSERT INTO check_results (run_id, snapshot_id, check_id, title, category, severity, platform, resource, "
        "status, detail, frameworks, evaluated_at, scope) VALUES (?, NULL, ?, 'Row title', 'access', 'high', ?, ?, ?, "
        "?, ['SOC2:CC6.1'], ?, ?)",
        [run_id, check_id, platform, resource, status, detail, T0, scope],
    )


def test_open_predicate_follows_status_and_accepted_risk_expiry(ws: Workspace) -> None:
    from auditor.finding_status import open_sql

    for fid, status, expires, suppressed in [
        ("new", "new", None, False), ("triaged", "triaged", None, False), ("confirmed", "confirmed", None, False),
        ("fp", "false_positive", None, False), ("resolved", "resolved", None, False),
        ("risk-live", "accepted_risk", "2999-01-01", False), ("risk-expired", "accepted_risk", "2000-01-01", False),
        ("suppressed", "new", None, True),
    ]:  # fmt: skip
        add_finding(ws, fid, "a", suppressed=suppressed)
        ws.con.execute("UPDATE findings SET status = ?, status_expires = ? WHERE id = ?", [status, expires, fid])
    got = {r[0] for r in ws.con.execute(f"SELECT id FROM findings WHERE {open_sql()}").fetchall()}
    assert got == {"new", "triaged", "confirmed", "risk-expired"}


def test_controls_are_grouped_per_check_platform_and_scope_with_reach_and_a_sample(ws: Workspace) -> None:
    from auditor.reports.controls import control_results, failing_controls

    for i in range(25):
        add_check_result(ws, "access.stale", f"user{i % 7} on acme-corp/repo-{i}")
    add_check_result(ws, "access.stale", "bob on acme/core/api", platform="gitlab")
    add_check_result(ws, "access.stale", "eve on acme/core/api", platform="gitlab", scope="acme-top")
    add_check_result(ws, "credentials.no_expiry", "classic_pat:1")
    add_check_result(ws, "access.stale", "ok on acme-corp/x", status="pass")
    rows = {(c.check_id, c.platform, c.scope): c for c in control_results(ws, "c1")}
    assert set(rows) == {
        ("access.stale", "github", "acme-corp"), ("access.stale", "gitlab", "acme"),
        ("access.stale", "gitlab", "acme-top"), ("credentials.no_expiry", "github", "github"),
    }  # fmt: skip
    big = rows[("access.stale", "github", "acme-corp")]
    assert (big.objects, big.accounts, big.repos, len(big.sample), big.sample_more) == (25, 7, 25, 10, 15)
    assert big.reach == "7 accounts, 25 repositories" and big.title.startswith("Stale access")
    assert big.fix.startswith("Revoke grants unused")  # the check's remediation from the registry
    assert rows[("credentials.no_expiry", "github", "github")].reach == "1 object"
    merged = failing_controls(control_results(ws, "c1"))
    assert [(c.check_id, c.objects) for c in merged] == [("access.stale", 27), ("credentials.no_expiry", 1)]


def _many_controls(ws: Workspace) -> None:
    add_check_result(ws, "access.stale", "sam on acme/web")
    add_check_result(ws, "access.outside_collaborators", "ext on acme/web")
    add_check_result(ws, "access.org_owners_max", "acme")
    add_check_result(ws, "credentials.no_expiry", "classic_pat:1")
    for i in range(3000):  # per-object check findings, as `auditor check` writes them today
        add_finding(ws, f"chk-{i}", f"user{i}", "high", 75)
    ws.con.execute("UPDATE findings SET analytic = 'check:access.stale' WHERE id LIKE 'chk-%'")


def test_pdf_names_failing_controls_and_counts_incidents_apart(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    _many_controls(ws)
    paths = render(ws, tmp_path / "out")
    text = " ".join(" ".join(pdf_pages(paths.pdf)).split())
    assert "Top failing controls" in text
    named = [t for t in ("Stale access", "Outside collaborators", "owners above", "no expiry") if t in text]
    assert len(named) >= 3, named
    assert "2 high or critical bulk-extraction incidents need containment" in text
    assert "4 governance controls fail" in text
    assert "more open findings" not in text and "3,0" not in text  # check findings are never counted as triage
    assert "No access-review campaign yet" in text
    assert "Scope: " in text and "events from 2024-05-01 to 2024-05-05" in text
    html = paths.html.read_text(encoding="utf-8")
    assert html.index('id="summary"') < html.index('id="incidents"') < html.index('id="controls-table"')
    assert "user2999" not in html  # per-object check findings stay out of the page


def test_suppressed_automation_is_one_row_per_approval_rule(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    for i in range(40):
        add_finding(
            ws, f"ci-{i}", f"ci-bot-{i % 2}", "low", 10, suppressed=True, reason="approved automation 'ci' (ci)"
        )
    html = render(ws, tmp_path / "out").html.read_text(encoding="utf-8")
    table = html[html.index('id="suppressed-table"') : html.index("</table>", html.index('id="suppressed-table"'))]
    assert table.count("<tr>") == 3  # header, rule 'ci', nightly backup
    assert 'approved automation &#39;ci&#39; (ci)</td><td class="num">40</td><td class="num">2</td>' in table


def test_blind_spots_are_plain_words_without_endpoints_or_local_urls(ws: Workspace, tmp_path: Path) -> None:
    from auditor.reports.decisions import gap_sentence, plain

    ws.con.execute(
        "INSERT INTO coverage_gaps VALUES ('gitlab', 'gitlab:http://127.0.0.1:36415 GET /api/v4/groups/7/audit_events "
        "(HTTP 403)', 'Owner role on http://127.0.0.1:36415/acme', 'group audit events unknown', NULL, ?), "
        "('github', 'github:acme /orgs/acme/personal-access-tokens (HTTP 403)', 'a GitHub App', 'PATs unknown', "
        "NULL, ?)",
        [T0, T0],
    )
    assert plain("see https://x.example/a?b=1 and 127.0.0.1:8080, GET /orgs/acme/members (HTTP 404)") == "see and"
    assert gap_sentence("github", "github:acme /orgs/acme/personal-access-tokens (HTTP 403)", "x", "y").startswith(
        "GitHub: fine-grained personal access tokens could not be listed"
    )
    text = "\n".join(pdf_pages(render(ws, tmp_path / "out").pdf))
    spots = text[text.index("Telemetry blind spots") : text.index("How the numbers were counted")]
    assert "Group audit events unknown (needs Owner role on)" in " ".join(spots.split())
    for raw in ("127.0.0.1", "http", "/orgs/", "/api/v4", "HTTP 403"):
        assert raw not in spots, raw


def _campaign(ws: Workspace) -> None:
    ws.con.execute(
        "INSERT INTO snapshots VALUES ('s-new', 'collect', 'github', 'acme', ?, '0.1.0')", [T0 + timedelta(days=9)]
    )
    ws.con.execute(
        "INSERT INTO review_campaigns (campaign_id, name, status, snapshot_ids, out_dir, created_at, mode) "
        "VALUES ('rc1', '2026-Q3', 'open', ['s-old'], '/tmp/x', ?, 'entitlement')",
        [T0],
    )
    for row, ent in [("r1", "e-gone"), ("r2", "e-still"), ("r3", "e-keep"), ("r4", "e-undecided")]:
        ws.con.execute(
            "INSERT INTO review_rows (campaign_id, row_id, entitlement_id, reviewer, reviewer_rule, worksheet, "
            "platform, kind, scope, reach, reach_text, recommendation, recommendation_reason, change, row_hash, label) "
            "VALUES ('rc1', ?, ?, 'owner', 'rule', 'w', 'github', 'team_member', 'acme', '{}', '', 'keep', '', "
            "'new', 'h', 'team:x member')",
            [row, ent],
        )
    for ent in ("e-still", "e-keep", "e-undecided"):
        ws.con.execute(
            "INSERT INTO entitlements VALUES ('s-new', ?, 'github', 'team_member', 'acme', NULL, NULL, NULL, NULL, "
            "NULL, NULL)",
            [ent],
        )
    for row, decision in [("r1", "revoke"), ("r2", "revoke"), ("r3", "keep")]:
        ws.con.execute(
            "INSERT INTO review_decisions VALUES ('rc1', ?, 'owner', ?, NULL, NULL, false, 'w.xlsx', 'ab', 2, ?)",
            [row, decision, T0],
        )


def test_last_campaign_status_counts_revocations_done_in_the_newest_snapshot(ws: Workspace, tmp_path: Path) -> None:
    from auditor.reports.decisions import last_campaign

    assert last_campaign(ws) is None
    _campaign(ws)
    c = last_campaign(ws)
    assert c is not None
    assert (c.rows, c.decided, c.completion, c.revocations, c.revocations_done, c.revocations_pending) == (
        4, 3, 75, 2, 1, 1,
    )  # fmt: skip
    text = " ".join(" ".join(pdf_pages(render(ws, tmp_path / "out").pdf)).split())
    assert "75% decided (3 of 4 rows); revocations: 2, 1 done and 1 pending" in text


def test_detect_and_report_runs_are_recorded_and_give_the_change(ws: Workspace, tmp_path: Path) -> None:
    from auditor.reports.decisions import changes
    from auditor.runs import findings_summary, recent_runs, record_run

    assert changes(ws)[0].startswith("Detection: no detection run recorded yet")
    add_finding(ws, "old", "a", "critical")
    add_finding(ws, "kept", "b", "high")
    record_run(ws.con, "detect", T0, findings_summary(ws.con))
    assert "first recorded run" in changes(ws)[0]
    ws.con.execute("DELETE FROM findings WHERE id = 'old'")
    add_finding(ws, "new-1", "c", "critical")
    add_finding(ws, "new-2", "d", "high")
    add_finding(ws, "low", "e", "low")
    record_run(ws.con, "detect", T0 + timedelta(hours=1), findings_summary(ws.con))
    assert changes(ws)[0].endswith(": 2 new and 1 resolved incidents; 3 open now.")
    render(ws, tmp_path / "out")
    report = recent_runs(ws, "report", 5)
    assert len(report) == 1 and report[0].summary["open_incidents"] == 3
    assert report[0].summary["other_open_detections"] == 1 and report[0].finished_at is not None


def test_detection_records_a_run(ws: Workspace) -> None:
    from auditor.detect.bulk import run_detection
    from auditor.runs import recent_runs

    result = run_detection(ws, AuditorConfig())
    runs = recent_runs(ws, "detect")
    assert [r.run_id for r in runs] == [result.run_id]
    assert runs[0].summary["open_incidents"] == 0 and runs[0].summary["findings"] == result.findings


def test_manual_requirements_are_listed_with_their_procedure(ws: Workspace, tmp_path: Path) -> None:
    add_check_result(ws, "access.stale", "sam on acme/web")
    html = render(ws, tmp_path / "out").html.read_text(encoding="utf-8")
    table = html[html.index('id="manual-table"') :]
    assert "<td>SOC2:CC6.2</td>" in table
    assert "Access-review campaign (`auditor review`) closed with every decision" in table


def test_timeline_ip_cells_do_not_break_inside_the_address(ws: Workspace, tmp_path: Path) -> None:
    _github_incident(ws)
    add_event(ws, "e77", "github", T0 + timedelta(minutes=1), "mallory", "acme/core", ip="2001:db8:85a3::8a2e:370:7334")
    html = render(ws, tmp_path / "out").html.read_text(encoding="utf-8")
    assert '<td class="ip"><span class="ip-addr">2001:db8:85a3::8a2e:370:7334</span>' in html
    css = (templates_dir() / "report.css").read_text(encoding="utf-8")
    assert "td.ip { white-space: nowrap; }" in css
