"""Small SVG charts as strings, built in pure Python so reports need no browser or plotting library.

Every piece of text that reaches the SVG goes through `_text`, which strips control characters and
XML-escapes it: labels can come from event data (platform names, dates) and must never become markup.
The SVGs carry their own width/height and viewBox so both browsers and WeasyPrint size them alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

SEVERITY_COLORS: Mapping[str, str] = {
    "critical": "#7f1d1d",
    "high": "#c2410c",
    "medium": "#b45309",
    "low": "#1d4ed8",
    "info": "#4b5563",
}
DEFAULT_COLOR = "#334155"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


def _text(value: object, limit: int = 40) -> str:
    """Escape a value for SVG text or attribute content, shortening it to `limit` characters."""
    text = _CONTROL.sub("", str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text, quote=True)


def _num(value: float) -> str:
    """A coordinate with at most one decimal, so the SVG stays small and reproducible."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open_svg(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" {_FONT} font-size="11">'
        f"<title>{_text(title, 200)}</title>"
    )


def hbar_chart(
    items: Sequence[tuple[str, int]],
    title: str,
    colors: Mapping[str, str] | None = None,
    width: int = 360,
) -> str:
    """Horizontal bars, one per (label, value), with the value written after each bar.

    Bars are scaled to the largest value; zero values keep their row (a zero is information, e.g.
    "0 critical"), drawn as a thin tick so the reader sees the category was counted.
    """
    row, label_w, value_w = 22, 96, 52
    height = max(row * len(items), row) + 4
    biggest = max((value for _, value in items), default=0)
    plot_w = width - label_w - value_w
    parts = [_open_svg(width, height, title)]
    for i, (label, value) in enumerate(items):
        y = 2 + i * row
        bar = plot_w * value / biggest if biggest else 0.0
        bar = max(bar, 1.5)
        color = (colors or {}).get(label, DEFAULT_COLOR)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="#1f2937">{_text(label, 14)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{_num(bar)}" height="14" rx="2" fill="{_text(color)}"/>'
            f'<text x="{_num(label_w + bar + 6)}" y="{y + 15}" fill="#1f2937">{value:,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def daily_columns(days: Sequence[tuple[str, int]], title: str, width: int = 360, height: int = 90) -> str:
    """A column sparkline of counts per day (ISO dates, oldest first), with the first/last date and peak.

    Days with no events should be passed as zeros: gaps in telemetry are then visible as gaps, not
    hidden by a line drawn across them. Returns "" when there is nothing to draw.
    """
    if not days:
        return ""
    top, bottom = 14, 18
    plot_h = height - top - bottom
    peak = max(count for _, count in days)
    step = width / len(days)
    bar_w = max(step - 1.0, 0.8) if step > 2 else step
    parts = [_open_svg(width, height, title)]
    base = top + plot_h
    parts.append(f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#cbd5e1" stroke-width="1"/>')
    for i, (_, count) in enumerate(days):
        if count <= 0:
            continue
        h = max(plot_h * count / peak, 1.0) if peak else 0.0
        parts.append(
            f'<rect x="{_num(i * step)}" y="{_num(top + plot_h - h)}" width="{_num(bar_w)}" '
            f'height="{_num(h)}" fill="#0f766e"/>'
        )
    parts.append(f'<text x="0" y="10" fill="#475569">peak {peak:,}/day</text>')
    parts.append(f'<text x="0" y="{height - 4}" fill="#475569">{_text(days[0][0], 12)}</text>')
    if len(days) > 1:
        parts.append(
            f'<text x="{width}" y="{height - 4}" text-anchor="end" fill="#475569">{_text(days[-1][0], 12)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
