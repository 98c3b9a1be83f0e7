"""Demo report: content, escaping of hostile event values, offline-only assets, the PDF fetcher."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from auditor.config.models import AuditorConfig, Company
from auditor.reports.charts import daily_columns, hbar_chart
from auditor.reports.context import build_context
from auditor.reports.render import (
    ReportPaths,
    ResourceRefused,
    render_demo_report,
    resolve_resource,
    safe_url_fetcher,
    templates_dir,
)
from auditor.workspace.store import Workspace

HOSTILE_ACTOR = "<script>alert(1)</script>"
HOSTILE_REPO = 'acme/"><img src=x onerror=alert(2)>'
T0 = datetime(2024, 5, 1, 9, 0, 0)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket fails the test: reports must never touch the network."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted during a report test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(tmp_path / "ws")
    yield workspace
    workspace.close()


def add_import(ws: Workspace, import_id: str, events: int, rejected: int = 0) -> None:
    ws.con.execute(
        "INSERT INTO imports VALUES (?, 's1', ?, 'ab', 'github_audit_json', 'github', ?, ?, 1, ?, ?, ?, ?)",
        [import_id, f"/data/{import_id}.json", events + 1 + rejected, events, rejected, T0, T0, T0],
    )


def add_event(ws: Workspace, uid: str, platform: str, ts: datetime, actor: str, repo: str) -> None:
    ws.con.execute(
        "INSERT INTO events (event_uid, platform, source_format, ts, action, category, actor, repo, "
        "evidence_sha256, line_no, import_id) "
        "VALUES (?, ?, 'fmt', ?, 'git.clone', 'git', ?, ?, 'ab', 1, 'imp-1')",
        [uid, platform, ts, actor, repo],
    )


def add_finding(
    ws: Workspace,
    fid: str,
    actor: str,
    severity: str = "high",
    score: int = 80,
    repos: list[str] | None = None,
    suppressed: bool = False,
    reason: str | None = None,
) -> None:
    ws.con.execute(
        "INSERT INTO findings (id, analytic, severity, score, platform, actor, identity, repos, first_seen, "
        "last_seen, reasons, evidence, suppressed, suppression_reason, run_id, detected_at) "
        "VALUES (?, 'AN0732.bulk_download', ?, ?, 'github', ?, ?, ?, ?, ?, ?, [], ?, ?, 'run-1', ?)",
        [
            fid, severity, score, actor, f"{actor}@acme.example", repos or ["acme/core"], T0,
            T0 + timedelta(minutes=20), ["cloned 14 restricted repos in 20 minutes", "new country: PT"],
            suppressed, reason, T0,
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


def render(ws: Workspace, out: Path, company: str = "Acme Robotics GmbH") -> ReportPaths:
    return render_demo_report(ws, AuditorConfig(company=Company(name=company)), out)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def test_render_writes_both_files_with_actor_and_company(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    paths = render(ws, tmp_path / "out")
    assert paths == ReportPaths(html=tmp_path / "out" / "report.html", pdf=tmp_path / "out" / "report.pdf")
    assert paths.html.is_file() and paths.pdf.read_bytes().startswith(b"%PDF")
    text = pdf_text(paths.pdf)
    assert "mallory-top-actor" in text
    assert "Acme Robotics GmbH" in text
    assert "+9 more" in text  # 14 repos, 5 shown
    assert "approved automation: nightly backup" in text
    assert 1 <= len(PdfReader(io.BytesIO(paths.pdf.read_bytes())).pages) <= 3
    html = paths.html.read_text(encoding="utf-8")
    assert "mallory-top-actor" in html and "Acme Robotics GmbH" in html
    assert "2 open findings (1 critical, 1 high)" in html
    assert "2 lines rejected" in html and "missing field: action" in html


def test_html_escapes_hostile_values(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    html = render(ws, tmp_path / "out", company="<b>Evil & Co</b>").html.read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "onerror=alert(2)>" not in html
    assert "<b>Evil" not in html and "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in html
    assert html.count("<script>") == 1  # only our own inline script


def test_html_is_self_contained(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    html = render(ws, tmp_path / "out").html.read_text(encoding="utf-8")
    lowered = html.lower()
    for needle in ('src="http', "src='http", 'href="http', "href='http", "url(", "@import", "<link"):
        assert needle not in lowered, needle
    assert "content-security-policy" in lowered and "default-src &#39;none&#39;" in lowered


def test_url_fetcher_serves_only_the_templates_folder(tmp_path: Path) -> None:
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
    fetcher = safe_url_fetcher(root)
    assert b"@page" in fetcher.fetch((root / "report.css").as_uri()).read()
    with pytest.raises(ResourceRefused):
        fetcher.fetch("http://example.com/x.png")
    assert resolve_resource("data:image/png;base64,iVBORw0KGgo=", root) == (b"\x89PNG\r\n\x1a\n", "image/png")


def test_pdf_loads_its_stylesheet_without_warnings(
    ws: Workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    populate(ws)
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        render(ws, tmp_path / "out")
    assert not [r for r in caplog.records if r.name.startswith("weasyprint")], caplog.text


def test_empty_workspace_says_no_findings(ws: Workspace, tmp_path: Path) -> None:
    paths = render(ws, tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert "No open findings" in html and "no events" in html
    assert "Live inventory (grants, tokens, apps) was not collected" in html
    assert "No open findings" in pdf_text(paths.pdf)


def test_many_findings_pdf_lists_top_ten(ws: Workspace, tmp_path: Path) -> None:
    add_import(ws, "imp-1", events=1)
    add_event(ws, "e0", "github", T0, "a", "acme/core")
    for i in range(250):
        add_finding(ws, f"f{i:03d}", f"actor-{i:03d}", "high", 1000 - i)
    paths = render(ws, tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert "actor-000" in html and "actor-249" in html
    text = pdf_text(paths.pdf)
    assert "actor-000" in text and "actor-009" in text and "actor-010" not in text
    assert "240 more open findings" in text
    assert len(PdfReader(io.BytesIO(paths.pdf.read_bytes())).pages) <= 3


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
    assert ctx.generated_at == "2024-05-01 09:00 UTC"


def test_charts_escape_labels() -> None:
    svg = hbar_chart([("<x>", 3), ("ok", 0)], 'title "q" <t>')
    assert "<x>" not in svg and "&lt;x&gt;" in svg and "&quot;q&quot;" in svg
    assert daily_columns([], "none") == ""
    assert "2024-05-01" in daily_columns([("2024-05-01", 2), ("2024-05-02", 0)], "days")


def test_templates_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUDITOR_TEMPLATES", str(templates_dir()))
    assert (templates_dir() / "demo_pdf.html.j2").is_file()
    monkeypatch.setenv("AUDITOR_TEMPLATES", str(tmp_path))
    with pytest.raises(Exception, match="templates not found"):
        templates_dir()


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


def test_logo_is_inlined_only_when_it_is_a_file(
    ws: Workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', encoding="utf-8")
    config = AuditorConfig(company=Company(name="Acme", logo=logo))
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        html = render_demo_report(ws, config, tmp_path / "a").html.read_text(encoding="utf-8")
    assert 'src="data:image/svg+xml;base64,' in html
    assert not caplog.records, caplog.text  # the PDF got the logo from the data: URI
    config = AuditorConfig(company=Company(name="Acme", logo=tmp_path))  # a directory: ignored
    html = render_demo_report(ws, config, tmp_path / "b").html.read_text(encoding="utf-8")
    assert "<img" not in html
