"""Render the reports: the analyst HTML page (one self-contained file) and the executive PDF (WeasyPrint).

Safety rules, because event fields (repo names, actors, reasons, user agents) are attacker-controlled:
- Jinja2 autoescapes everything and `StrictUndefined` turns template typos into errors; only our own
  CSS, script and generated SVG (whose text is escaped in `charts`) are marked safe.
- The HTML carries a Content-Security-Policy that allows only its own inline style and script (by
  hash) and data: images, so even an escaping bug could not load anything from the network.
- WeasyPrint gets a URL fetcher that serves files inside the templates folder, the configured logo file
  and data: URIs only; any other URL (http, ftp, a file elsewhere, a symlink out) raises `ResourceRefused`.
- Bidirectional control characters (U+202E and kin) are shown as visible `<U+202E>` escapes in both
  reports (`show_bidi`), and every text element is a bidi isolate in report.css.
- The logo must resolve (symlinks followed) inside the config file's folder or the templates folder.
WeasyPrint is imported lazily so that `auditor --help` stays fast.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

import auditor
from auditor.bidi import visible
from auditor.errors import AuditorError
from auditor.incidents import IncidentPack, build_incident_packs, incident_findings
from auditor.reports.charts import SEVERITY_COLORS, daily_columns, hbar_chart
from auditor.reports.context import FindingView, ReportContext, build_context
from auditor.reports.controls import FailingControl, ManualRequirement, failing_controls, manual_requirements
from auditor.reports.decisions import CampaignStatus, changes, gap_sentences, last_campaign, scope_line
from auditor.reports.executive import Action, blind_spots, top_actions, top_incidents
from auditor.reports.metrics import RISKY_CREDENTIAL_RULE, KeyNumber, key_numbers, open_an0732_by_severity
from auditor.reports.views import AccountRow, ChecksView, RepoRow, accounts_view, checks_view, repos_view
from auditor.runs import record_run
from auditor.workspace.store import utcnow

if TYPE_CHECKING:
    from auditor.config.models import AuditorConfig
    from auditor.workspace.store import Workspace

TEMPLATES_ENV = "AUDITOR_TEMPLATES"
HTML_FILE, PDF_FILE = "report.html", "report.pdf"
ANALYST_TEMPLATE, EXECUTIVE_TEMPLATE = "analyst.html.j2", "executive.html.j2"
CONTROLS_IN_PDF = 5  # top failing controls named in the executive summary
INCIDENTS_IN_HTML = 50  # full incident packs on the page; every pack is in the evidence pack
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
              ".svg": "image/svg+xml", ".webp": "image/webp"}  # fmt: skip
LOGO_MAX_BYTES = 2 * 1024 * 1024


class ReportError(AuditorError):
    """The report cannot be rendered (templates missing, output not writable)."""


class ResourceRefused(ValueError):
    """WeasyPrint asked for a resource outside the templates folder or by a forbidden URL scheme."""


@dataclass(frozen=True)
class ReportPaths:
    """Where the rendered report files were written."""

    html: Path
    pdf: Path


def template_candidates() -> list[Path]:
    """Where the templates are looked for, in order: `$AUDITOR_TEMPLATES` alone when set; else the copy inside
    the installed package (`auditor/reports/templates`, mapped there when the wheel is built), then the
    source folder `reports/templates` at the top of a checkout (editable install, PYTHONPATH)."""
    override = os.environ.get(TEMPLATES_ENV)
    if override:
        return [Path(override).resolve()]
    package = Path(auditor.__file__).resolve().parent
    return [package / "reports" / "templates", package.parent / "reports" / "templates"]


def templates_dir() -> Path:
    """The first folder of `template_candidates()` that holds the report templates."""
    candidates = template_candidates()
    for root in candidates:
        if (root / ANALYST_TEMPLATE).is_file() and (root / EXECUTIVE_TEMPLATE).is_file():
            return root
    looked = ", ".join(str(c) for c in candidates)
    raise ReportError(f"report templates not found (looked in {looked}; set {TEMPLATES_ENV} to the folder)")


def resolve_resource(url: str, root: Path, extra_files: frozenset[Path] = frozenset()) -> tuple[bytes, str]:
    """Bytes and MIME type for a URL WeasyPrint wants, if it is allowed; else raise `ResourceRefused`.

    Allowed: `file:` URLs naming a regular file inside `root` (after resolving symlinks and `..`) or one
    of `extra_files` (resolved paths, e.g. the logo), and `data:` URIs (decoded here, in memory).
    Everything else, http(s) included, is refused.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "data":
        header, sep, payload = url[5:].partition(",")
        if not sep:
            raise ResourceRefused(f"malformed data: URI ({url[:40]})")
        mime, _, params = header.partition(";")
        raw = unquote_to_bytes(payload)
        try:
            data = base64.b64decode(raw, validate=True) if params.endswith("base64") else raw
        except ValueError as exc:
            raise ResourceRefused("malformed base64 in data: URI") from exc
        return data, mime or "text/plain"
    if scheme != "file" or parts.netloc not in ("", "localhost"):
        raise ResourceRefused(f"refused to fetch {url[:200]!r}: only files in {root} are served")
    try:
        path = Path(url2pathname(parts.path)).resolve()
        inside = (path.is_relative_to(root.resolve()) or path in extra_files) and path.is_file()
    except (OSError, ValueError):  # e.g. an embedded NUL byte
        inside = False
    if not inside:
        raise ResourceRefused(f"refused to fetch {url[:200]!r}: not a file inside {root}")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path.read_bytes(), mime


@functools.cache
def _fetcher_class() -> type[Any]:
    """Build the WeasyPrint fetcher subclass on first use (keeps the weasyprint import lazy)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class TemplatesOnlyFetcher(URLFetcher):  # type: ignore[misc]
        """A WeasyPrint URL fetcher that never touches the network or files outside `root`."""

        def __init__(self, root: Path, extra_files: frozenset[Path]) -> None:
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
            self.root = root.resolve()
            self.extra_files = extra_files

        def fetch(self, url: str, headers: Any = None) -> Any:
            data, mime = resolve_resource(url, self.root, self.extra_files)
            content_type = f"{mime}; charset=utf-8" if mime.startswith("text/") else mime
            return URLFetcherResponse(url, body=data, headers={"Content-Type": content_type})

    return TemplatesOnlyFetcher


def safe_url_fetcher(root: Path, extra_files: frozenset[Path] = frozenset()) -> Any:
    """A `url_fetcher` for `weasyprint.HTML` that serves only `root` and `extra_files` (see `resolve_resource`)."""
    return _fetcher_class()(root, frozenset(p.resolve() for p in extra_files))


def resolve_logo(logo: Path | None, config_dir: Path | None, root: Path) -> Path | None:
    """The configured logo as a resolved path, checked; None when none is configured.

    A relative path is taken from the config file's folder (the working directory without a config
    file). The resolved file must lie inside that folder or the templates folder, be a regular file of
    an image type and at most 2 MiB; anything else is a `ReportError` naming `company.logo`.
    """
    if logo is None:
        return None
    base = (config_dir or Path.cwd()).resolve()
    try:
        path = (base / logo).resolve()
        ok_place = path.is_relative_to(base) or path.is_relative_to(root.resolve())
        is_file = path.is_file()
        size = path.stat().st_size if is_file else 0
    except (OSError, ValueError) as exc:
        raise ReportError(f"company.logo cannot be read: {exc}", str(logo)) from exc
    if not ok_place:
        raise ReportError(f"company.logo must be inside {base} or the templates folder", str(logo))
    if not is_file:
        raise ReportError("company.logo is not a file", str(logo))
    if path.suffix.lower() not in LOGO_TYPES:
        raise ReportError(f"company.logo must be one of {', '.join(sorted(LOGO_TYPES))}", str(logo))
    if size > LOGO_MAX_BYTES:
        raise ReportError(f"company.logo is larger than {LOGO_MAX_BYTES // 1024 // 1024} MiB", str(logo))
    return path


def logo_data_uri(path: Path | None) -> str | None:
    """A checked logo (see `resolve_logo`) as a data: URI for the self-contained HTML page."""
    if path is None:
        return None
    data = path.read_bytes()
    return f"data:{LOGO_TYPES[path.suffix.lower()]};base64,{base64.b64encode(data).decode('ascii')}"


def number(value: int | None) -> str:
    """Thousands separators for counts; "unknown" for a missing number."""
    return "unknown" if value is None else f"{value:,}"


def show_bidi(value: Any) -> Any:
    """Jinja `finalize` (every `{{ }}` output, HTML and PDF): bidirectional control characters become visible
    `<U+XXXX>` (auditor.bidi), so "\u202eevil" cannot read as "live". In our own markup (escaped SVG text)
    the escape is written as entities; the control characters can never be part of a tag there."""
    if isinstance(value, Markup):
        return Markup(visible(str(value)).replace("<U+", "&lt;U+"))  # noqa: S704 - see docstring
    if isinstance(value, str):
        return visible(value)
    return value


def make_env(root: Path) -> Environment:
    """The Jinja2 environment: autoescape always on, undefined names are errors, bidi controls visible."""
    env = Environment(
        loader=FileSystemLoader(root),
        autoescape=select_autoescape(("html", "htm", "xml", "j2"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=show_bidi,
    )
    env.filters["num"] = number
    return env


def _trusted(root: Path, name: str, closing: str) -> str:
    """Our own asset file, to be inlined; refuses one that could close its own element."""
    text = (root / name).read_text(encoding="utf-8")
    if closing in text.lower():
        raise ReportError(f"{name} must not contain {closing}", str(root / name))
    return text


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def _ours(text: str) -> Markup:
    """Mark markup *we* produced as safe: our asset files, and SVG from `charts` (which escapes all text).

    The single place where anything is marked safe; never call it on workspace or config values.
    """
    return Markup(text)  # noqa: S704 - trusted by construction, see docstring


@dataclass(frozen=True)
class FullReport:
    """Everything both reports show, gathered once so the PDF and the HTML page tell the same story."""

    base: ReportContext
    numbers: tuple[KeyNumber, ...]
    an0732_open: tuple[tuple[str, int], ...]
    packs: tuple[IncidentPack, ...]
    incidents: tuple[tuple[FindingView, str], ...]
    blind_spots: tuple[str, ...]
    actions: tuple[Action, ...]
    accounts: tuple[AccountRow, ...]
    repos: tuple[RepoRow, ...]
    checks: ChecksView
    scope: str = ""
    failing: tuple[FailingControl, ...] = ()
    campaign: CampaignStatus | None = None
    changes: tuple[str, ...] = ()
    manual: tuple[ManualRequirement, ...] = ()
    risky_rule: str = RISKY_CREDENTIAL_RULE
    controls_in_pdf: int = CONTROLS_IN_PDF
    incidents_in_html: int = INCIDENTS_IN_HTML

    @property
    def an0732_total(self) -> int:
        return sum(n for _, n in self.an0732_open)

    @property
    def other_detections(self) -> int:
        """Open detection findings that are not incidents (lower severity): triage, not containment."""
        return max(self.base.open_total - len(self.packs), 0)

    @property
    def failing_scopes(self) -> int:
        """Failing (control, platform, scope) results."""
        return sum(1 for c in self.checks.controls if c.status == "fail")

    @property
    def posture(self) -> str:
        """The overall posture in one line: incidents, failing controls and other detections counted apart,
        and what could not be seen. Never one "N open findings" mixing detections and check results."""
        parts: list[str] = []
        n = len(self.packs)
        if n:
            parts.append(f"{n:,} high or critical bulk-extraction incident{'s' if n != 1 else ''} need containment")
        if self.failing:
            k = len(self.failing)
            parts.append(
                f"{k:,} governance control{'s' if k != 1 else ''} fail"
                f"{'' if k != 1 else 's'} ({self.failing_scopes:,} control-scope result"
                f"{'s' if self.failing_scopes != 1 else ''})"
            )
        rest = self.other_detections
        if rest > 0:
            parts.append(f"{rest:,} lower-severity detection{'s' if rest != 1 else ''} to triage")
        if not parts:
            events = self.base.events_total
            parts.append(
                f"no open findings in the {events:,} events covered"
                if events
                else "nothing analysed yet: the workspace holds no events"
            )
        missing = [k.label for k in self.numbers if k.value is None]
        if missing:
            parts.append("not collected: " + ", ".join(missing))
        line = "; ".join(parts) + "."
        return line[0].upper() + line[1:]


def build_report(ws: Workspace, config: AuditorConfig, logo_uri: str | None = None, analyst: bool = True) -> FullReport:
    """Read every section from the workspace (a handful of set-based queries). `analyst=False` skips the
    per-account and per-repo views, which only the HTML page shows."""
    base = build_context(ws, config, logo_data_uri=logo_uri)
    numbers = tuple(key_numbers(ws))
    checks = checks_view(ws)
    packs = tuple(build_incident_packs(ws, incident_findings(ws), config.detection.precursor_lookback_hours))
    gaps = gap_sentences(ws)
    return FullReport(
        base=base,
        numbers=numbers,
        an0732_open=tuple(open_an0732_by_severity(ws)),
        packs=packs,
        incidents=tuple(top_incidents(base.open_findings)),
        blind_spots=tuple(blind_spots(base, numbers, checks, gaps)),
        actions=tuple(top_actions(base, packs, numbers, checks, gaps)),
        accounts=accounts_view(ws) if analyst else (),
        repos=repos_view(ws) if analyst else (),
        checks=checks,
        scope=scope_line(ws),
        failing=failing_controls(checks.controls),
        campaign=last_campaign(ws),
        changes=changes(ws),
        manual=manual_requirements(config.checks.frameworks_dir) if analyst else (),
    )


def _charts(rep: FullReport) -> dict[str, Markup]:
    ctx = rep.base
    platforms = [(p.platform, p.events) for p in ctx.events_by_platform]
    checks = [(status, n) for status, n in rep.checks.totals]
    check_colors = {"pass": "#15803d", "fail": "#b91c1c", "not_evaluated": "#6b7280"}
    return {
        "severity": _ours(hbar_chart(rep.an0732_open, "Open AN0732 findings by severity", SEVERITY_COLORS)),
        "platforms": _ours(hbar_chart(platforms, "Events per platform")),
        "daily": _ours(daily_columns(ctx.events_per_day, "Events per day (UTC)")),
        "checks": _ours(hbar_chart(checks, "Check results", check_colors)) if checks else _ours(""),
    }


def render_html(rep: FullReport, root: Path) -> str:
    """The analyst page: one file with inline CSS and script, readable offline and without JS."""
    css = _trusted(root, "report.css", "</style")
    script = _trusted(root, "report.js", "</script")
    csp = (
        f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(script)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    template = make_env(root).get_template(ANALYST_TEMPLATE)
    return template.render(
        rep=rep, r=rep.base, charts=_charts(rep), css=_ours(css), script=_ours(script), csp=csp, pdf_name=PDF_FILE
    )


def render_pdf_bytes(rep: FullReport, root: Path, logo: Path | None = None) -> bytes:
    """The executive summary through WeasyPrint, with the templates-and-logo-only fetcher."""
    from weasyprint import HTML

    logo_url = logo.as_uri() if logo else None
    text = (
        make_env(root)
        .get_template(EXECUTIVE_TEMPLATE)
        .render(rep=rep, r=rep.base, charts=_charts(rep), logo_url=logo_url)
    )
    extra = frozenset({logo}) if logo else frozenset()
    pdf = HTML(string=text, base_url=str(root) + os.sep, url_fetcher=safe_url_fetcher(root, extra)).write_pdf()
    return bytes(pdf)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write next to the target and rename, so a failed render never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def render_reports(ws: Workspace, config: AuditorConfig, out_dir: Path, config_dir: Path | None = None) -> ReportPaths:
    """Render `report.html` (analyst) and `report.pdf` (executive) into `out_dir` and return their paths.

    `config_dir` is the folder of the config file the run used; the logo must lie inside it.
    """
    started = utcnow()
    root = templates_dir()
    logo = resolve_logo(config.company.logo, config_dir, root)
    rep = build_report(ws, config, logo_uri=logo_data_uri(logo))
    html_text = render_html(rep, root)
    pdf = render_pdf_bytes(rep, root, logo)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = ReportPaths(html=out_dir / HTML_FILE, pdf=out_dir / PDF_FILE)
        _write_atomic(paths.html, html_text.encode("utf-8"))
        _write_atomic(paths.pdf, pdf)
    except OSError as exc:
        raise ReportError(f"cannot write the report: {exc.strerror}", str(out_dir)) from exc
    record_run(ws.con, "report", started, report_summary(rep, len(html_text.encode("utf-8")), len(pdf)))
    return paths


def report_summary(rep: FullReport, html_bytes: int, pdf_bytes: int) -> dict[str, Any]:
    """What the `runs` row of a report keeps: the headline counts, so trends between reports exist."""
    return {
        "open_incidents": len(rep.packs),
        "open_incident_ids": [p.finding_id for p in rep.packs],
        "failing_controls": [c.check_id for c in rep.failing],
        "failing_control_scopes": rep.failing_scopes,
        "other_open_detections": rep.other_detections,
        "suppressed_detections": rep.base.suppressed_total,
        "check_run_id": rep.checks.run_id,
        "html_bytes": html_bytes,
        "pdf_bytes": pdf_bytes,
    }
