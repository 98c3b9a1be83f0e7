"""Render the demo report: a self-contained analyst HTML page and a short PDF (WeasyPrint).

Safety rules, because event fields (repo names, actors, reasons, user agents) are attacker-controlled:
- Jinja2 autoescapes everything and `StrictUndefined` turns template typos into errors; only our own
  CSS, script and generated SVG (whose text is escaped in `charts`) are marked safe.
- The HTML carries a Content-Security-Policy that allows only its own inline style and script (by
  hash) and data: images, so even an escaping bug could not load anything from the network.
- WeasyPrint gets a URL fetcher that serves files inside the templates folder and data: URIs only;
  any other URL (http, ftp, a file elsewhere, a symlink out) raises `ResourceRefused`.
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
from auditor.errors import AuditorError
from auditor.reports.charts import SEVERITY_COLORS, daily_columns, hbar_chart
from auditor.reports.context import ReportContext, build_context

if TYPE_CHECKING:
    from auditor.config.models import AuditorConfig
    from auditor.workspace.store import Workspace

TEMPLATES_ENV = "AUDITOR_TEMPLATES"
HTML_FILE, PDF_FILE = "report.html", "report.pdf"
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


def templates_dir() -> Path:
    """The report templates: `$AUDITOR_TEMPLATES`, else `reports/templates` at the project top level."""
    override = os.environ.get(TEMPLATES_ENV)
    default = Path(auditor.__file__).resolve().parent.parent / "reports" / "templates"
    root = (Path(override) if override else default).resolve()
    if not (root / "demo.html.j2").is_file():
        raise ReportError("report templates not found (set AUDITOR_TEMPLATES to the folder)", str(root))
    return root


def resolve_resource(url: str, root: Path) -> tuple[bytes, str]:
    """Bytes and MIME type for a URL WeasyPrint wants, if it is allowed; else raise `ResourceRefused`.

    Allowed: `file:` URLs naming a regular file inside `root` (after resolving symlinks and `..`),
    and `data:` URIs (decoded here, in memory). Everything else, http(s) included, is refused.
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
        inside = path.is_relative_to(root.resolve()) and path.is_file()
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

        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
            self.root = root.resolve()

        def fetch(self, url: str, headers: Any = None) -> Any:
            data, mime = resolve_resource(url, self.root)
            content_type = f"{mime}; charset=utf-8" if mime.startswith("text/") else mime
            return URLFetcherResponse(url, body=data, headers={"Content-Type": content_type})

    return TemplatesOnlyFetcher


def safe_url_fetcher(root: Path) -> Any:
    """A `url_fetcher` for `weasyprint.HTML` that serves only `root` (see `resolve_resource`)."""
    return _fetcher_class()(root)


def logo_data_uri(path: Path | None) -> str | None:
    """The configured logo as a data: URI, or None if unset, not a regular file, too big or not an image."""
    if path is None or not path.is_file():
        return None
    mime = LOGO_TYPES.get(path.suffix.lower())
    try:
        if mime is None or path.stat().st_size > LOGO_MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None  # an unreadable logo is not worth failing the report over
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def number(value: int | None) -> str:
    """Thousands separators for counts; "unknown" for a missing number."""
    return "unknown" if value is None else f"{value:,}"


def make_env(root: Path) -> Environment:
    """The Jinja2 environment: autoescape always on, undefined names are errors."""
    env = Environment(
        loader=FileSystemLoader(root),
        autoescape=select_autoescape(("html", "htm", "xml", "j2"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
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


def _charts(ctx: ReportContext) -> dict[str, Markup]:
    platforms = [(p.platform, p.events) for p in ctx.events_by_platform]
    return {
        "severity": _ours(hbar_chart(ctx.open_by_severity, "Open findings by severity", SEVERITY_COLORS)),
        "platforms": _ours(hbar_chart(platforms, "Events per platform")),
        "daily": _ours(daily_columns(ctx.events_per_day, "Events per day (UTC)")),
    }


def render_html(ctx: ReportContext, root: Path) -> str:
    """The analyst page: one file with inline CSS and script, readable offline and without JS."""
    css = _trusted(root, "report.css", "</style")
    script = _trusted(root, "report.js", "</script")
    csp = (
        f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(script)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    template = make_env(root).get_template("demo.html.j2")
    return template.render(r=ctx, charts=_charts(ctx), css=_ours(css), script=_ours(script), csp=csp, pdf_name=PDF_FILE)


def render_pdf_bytes(ctx: ReportContext, root: Path) -> bytes:
    """The print layout through WeasyPrint, with the templates-only fetcher."""
    from weasyprint import HTML

    text = make_env(root).get_template("demo_pdf.html.j2").render(r=ctx, charts=_charts(ctx))
    pdf = HTML(string=text, base_url=str(root) + os.sep, url_fetcher=safe_url_fetcher(root)).write_pdf()
    return bytes(pdf)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write next to the target and rename, so a failed render never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def render_demo_report(ws: Workspace, config: AuditorConfig, out_dir: Path) -> ReportPaths:
    """Render `report.html` and `report.pdf` for the workspace into `out_dir` and return their paths."""
    root = templates_dir()
    ctx = build_context(ws, config, logo_data_uri=logo_data_uri(config.company.logo))
    html_text = render_html(ctx, root)
    pdf = render_pdf_bytes(ctx, root)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = ReportPaths(html=out_dir / HTML_FILE, pdf=out_dir / PDF_FILE)
        _write_atomic(paths.html, html_text.encode("utf-8"))
        _write_atomic(paths.pdf, pdf)
    except OSError as exc:
        raise ReportError(f"cannot write the report: {exc.strerror}", str(out_dir)) from exc
    return paths
