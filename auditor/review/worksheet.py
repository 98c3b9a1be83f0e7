"""Worksheets as XLSX (openpyxl: a drop-down on the decision column, locked context) and CSV, and reading
them back.

Values that a spreadsheet would run as a formula (leading = + - @) are written as plain text: in XLSX
as string cells, in CSV behind a leading apostrophe that reading removes again (auditor.csvsafe).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.csvsafe import unescape, write_rows
from auditor.errors import InputError
from auditor.review.model import COLUMNS, DECISIONS, EDIT_COLUMNS

SHEET = "Review"
INSTRUCTIONS = [
    "Each row is one entitlement (a membership, a team's grant on a repo, the base permission, a token, an app)",
    "frozen when the campaign started; 'reach' says what it gives on restricted repositories.",
    "Fill in decision (keep, revoke, modify, or accept = take the recommendation), new_role (for modify) and",
    "justification. Rows left empty stay pending: return the file whenever you like, decided rows are recorded.",
    "The other cells are locked: every row carries a hash and an altered row makes the whole file be rejected.",
    "'routed' says why you review the row (and who was skipped, e.g. the account under review).",
    "Return the file as it is (XLSX or CSV); `auditor review import FILE` records the decisions.",
]


def write_csv(path: Path, rows: Sequence[dict[str, str]]) -> None:
    """The worksheet as CSV, formula-like cells neutralised (auditor.csvsafe)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        write_rows(fh, COLUMNS, ([row[c] for c in COLUMNS] for row in rows))


_WIDTHS = {"entitlement": 34, "reach": 48, "recommendation_reason": 40, "justification": 36, "routed": 40}


def write_xlsx(path: Path, campaign: str, reviewer: str, rows: Sequence[dict[str, str]]) -> None:
    """Sheet 'Review' (the rows; protected except the decision columns, panes frozen on the account and the
    header) and 'Instructions'. Every cell is written as text, so nothing runs as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = SHEET
    editable = PatternFill("solid", fgColor="FFF2CC")
    for i, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(name, 16)
        head = sheet.cell(row=1, column=i, value=name)
        head.font = Font(bold=True)
        if name in EDIT_COLUMNS:
            head.fill = editable
    unlocked = Protection(locked=False)
    for r, row in enumerate(rows, start=2):
        for i, name in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=r, column=i)
            cell.value = row[name]
            cell.data_type = "s"
            if name in EDIT_COLUMNS:
                cell.protection = unlocked
                cell.fill = editable
    last = max(2, len(rows) + 1)
    decision_col = get_column_letter(COLUMNS.index("decision") + 1)
    validation = DataValidation(
        type="list",
        formula1='"' + ",".join(DECISIONS) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Decision",
        error="Choose keep, revoke, modify or accept (the recommendation).",
    )
    validation.add(f"{decision_col}2:{decision_col}{last}")
    sheet.add_data_validation(validation)
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    # Locked cells stay read-only; filtering, sorting and resizing stay allowed. No password: the row hash,
    # not the protection, is what detects an altered row.
    sheet.protection.sheet = True
    for option in ("autoFilter", "sort", "formatColumns", "formatRows"):
        setattr(sheet.protection, option, False)
    info = wb.create_sheet("Instructions")
    info.append(["Access review", campaign])
    info.append(["Reviewer", reviewer])
    info["B1"].data_type = info["B2"].data_type = "s"
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
        cells = {h: unescape(v) for h, v in zip(header, values, strict=False) if h}
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
