"""Worksheets as XLSX (openpyxl, a drop-down on the decision column) and CSV, and reading them back.

Values that a spreadsheet would run as a formula (leading = + - @) are written as plain text: in XLSX
as string cells, in CSV behind a leading apostrophe that reading removes again.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.review.model import COLUMNS, DECISIONS, EDIT_COLUMNS

SHEET = "Review"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
INSTRUCTIONS = [
    "Each row is one account's access to a restricted repository, frozen when the campaign started.",
    "Fill in the last three columns only: decision (keep, revoke or modify), new_role (for modify), justification.",
    "A row about your own account needs a justification. Do not change, add or reorder the other cells:",
    "every row carries a hash and an altered row makes the whole file be rejected.",
    "flags: governance checks this access fails (see `auditor check`). change: since the previous campaign.",
    "Return the file as it is (XLSX or CSV); `auditor review import FILE` records the decisions.",
]


def _csv_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) or value.startswith("'") else value


def _csv_unescape(value: str) -> str:
    return value[1:] if value.startswith("'") and len(value) > 1 and value[1] in (*_FORMULA_START, "'") else value


def write_csv(path: Path, rows: Sequence[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_csv_safe(row[c]) for c in COLUMNS])


def write_xlsx(
    path: Path, campaign: str, reviewer: str, rows: Sequence[dict[str, str]], removed: Sequence[dict[str, str]]
) -> None:
    """Sheet 'Review' (the rows), 'Removed since previous' (for information) and 'Instructions'.

    Written in openpyxl's streaming (write-only) mode: a large campaign has tens of thousands of rows.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(SHEET)

    def text(value: str, bold: bool = False, fill: bool = False) -> Any:
        """A plain string, or a cell forced to text when it would run as a formula or needs a style."""
        if not (bold or fill or value.startswith(_FORMULA_START)):
            return value
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        if bold:
            cell.font = Font(bold=True)
        if fill:
            cell.fill = PatternFill("solid", fgColor="FFF2CC")
        return cell

    for i, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = 28 if name in ("repo", "justification", "flags") else 16
    decision_col = get_column_letter(COLUMNS.index("decision") + 1)
    validation = DataValidation(
        type="list",
        formula1='"' + ",".join(DECISIONS) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Decision",
        error="Choose keep, revoke or modify.",
    )
    validation.add(f"{decision_col}2:{decision_col}{max(2, len(rows) + 1)}")
    sheet.data_validations.append(validation)
    sheet.freeze_panes = "D2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    sheet.append([text(c, bold=True, fill=c in EDIT_COLUMNS) for c in COLUMNS])
    for row in rows:
        sheet.append([text(row[c]) for c in COLUMNS])

    gone = wb.create_sheet("Removed since previous")
    gone.append(["platform", "repo", "account", "previous_role"])
    for old in removed:
        gone.append([text(old[k]) for k in ("platform", "repo", "account", "previous_role")])
    info = wb.create_sheet("Instructions")
    info.append(["Access review", text(campaign)])
    info.append(["Reviewer", text(reviewer)])
    info.append([])
    for line in INSTRUCTIONS:
        info.append([line])
    wb.save(path)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, cells by column) for every non-empty data row; bad files raise InputError."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise InputError("a worksheet is .xlsx or .csv", str(path))


def _check_header(path: Path, header: Sequence[str]) -> None:
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(f"row 1: missing column(s) {', '.join(missing)}", str(path))
    extra = [c for c in header if c and c not in COLUMNS]
    if extra:
        raise InputError(f"row 1: unknown column(s) {', '.join(extra)}", str(path))


def _read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            lines = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read worksheet: {exc}", str(path)) from exc
    if not lines:
        raise InputError("empty worksheet", str(path))
    header = [h.strip() for h in lines[0]]
    _check_header(path, header)
    out = []
    for number, values in enumerate(lines[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        cells = {h: _csv_unescape(v) for h, v in zip(header, values, strict=False) if h}
        out.append((number, {c: cells.get(c, "") for c in COLUMNS}))
    return out


def _read_xlsx(path: Path) -> list[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors for a damaged file
        raise InputError(f"cannot read worksheet: {exc}", str(path)) from exc
    try:
        if SHEET not in wb.sheetnames:
            raise InputError(f"no sheet named {SHEET!r}", str(path))
        values = list(wb[SHEET].iter_rows(values_only=True))
    finally:
        wb.close()
    if not values:
        raise InputError("empty worksheet", str(path))
    header = [_text(h).strip() for h in values[0]]
    _check_header(path, header)
    out = []
    for number, row in enumerate(values[1:], start=2):
        texts = [_text(v) for v in row]
        if not any(t.strip() for t in texts):
            continue
        cells = {h: t for h, t in zip(header, texts, strict=False) if h}
        out.append((number, {c: cells.get(c, "") for c in COLUMNS}))
    return out
