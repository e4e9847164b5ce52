"""Findings back in the partner's own file: ``tracker_annotated.xlsx``, a copy of the tracker
with every cell that has a finding highlighted (colour by severity) and its message as a cell
comment, and a first sheet listing the findings with links to their cells — the "feedback
file" the EU's mobility tools give beneficiaries. The original is never written.

>>> annotate_tracker(table, findings, "out/tracker_annotated.xlsx")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from .errors import InputError
from .load import FIELDS
from .output import write_atomic
from .text import excel_text

FILLS = {"error": "FFC7CE", "warning": "FFEB9C"}  # Excel's own "bad" and "neutral" cell styles
FONTS = {"error": "9C0006", "warning": "9C5700"}
NAME_FIELDS = ("host_org", "visiting_org", "event")
FINDINGS_SHEET = "Findings"


def annotate_tracker(table: pd.DataFrame, findings: pd.DataFrame, out: str | Path) -> Path:
    """Write the annotated copy of the tracker ``table`` was read from (``table.attrs``: file,
    sheet, headers, positions) to ``out``, atomically; return ``out``."""
    from openpyxl import Workbook, load_workbook

    source = Path(table.attrs.get("file", ""))
    out = Path(out)
    if not source.is_file():
        raise InputError("the tracker to annotate is not there any more", file=source)
    if out.resolve() == source.resolve():
        raise InputError("refusing to write over the tracker itself; choose another folder", file=out)
    if source.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            workbook = load_workbook(source)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for odd files
            raise InputError(f"cannot open the workbook to annotate it ({str(exc)[:120]})", file=source) from None
        sheet = workbook[table.attrs.get("sheet") or workbook.sheetnames[0]]
    else:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "Tracker"
        for row in _csv_rows(source):
            sheet.append([_safe(cell) for cell in row])
            for cell in sheet[sheet.max_row]:  # text that starts like a formula stays text
                if cell.data_type == "f":
                    cell.data_type = "s"
    cells = _cells(table, findings)
    for name in dict.fromkeys(n for n, _, _ in cells):  # several sheets read: each finding on its own sheet
        mine = [n == name for n, _, _ in cells]
        _mark(workbook[name] if name else sheet, findings[mine], [c for (_, _, c), m in zip(cells, mine) if m])
    _findings_sheet(workbook, [(n or sheet.title, row) for n, row, _ in cells], findings, [c for _, _, c in cells])
    workbook.active = 0
    return write_atomic(out, lambda tmp: workbook.save(tmp))


def _csv_rows(path: Path) -> list[list[str]]:
    """The CSV's records as a person sees them in Excel (same encoding and delimiter the reader found)."""
    from .load import _guess_encoding, _sniff_delimiter

    raw = path.read_bytes()
    text = raw.decode(_guess_encoding(raw), errors="replace")
    delimiter = _sniff_delimiter(text.splitlines()[:30])
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _safe(cell: str):
    """A CSV cell as workbook text, control characters shown as their pictures (``text.excel_text``)."""
    return excel_text(cell) if cell else None


def _cells(table: pd.DataFrame, findings: pd.DataFrame) -> list[tuple[str | None, int, list[tuple[int, int]]]]:
    """For each finding, its sheet (None: the one sheet read), its Excel row and the (row, column)
    cells it is about, 1-based as Excel counts."""
    from .load import DISPLAY, sheet_row

    sheets = table.attrs.get("sheets") if len(table.attrs.get("sheets") or []) > 1 else None
    layouts = {s["name"]: s for s in sheets or []}
    out = []
    for row, column, code in zip(findings["row"], findings["column"], findings["code"]):
        name, row = sheet_row(row, sheets)
        headers: dict[str, str] = layouts[name]["headers"] if name else table.attrs.get("headers", {})
        positions: dict[str, int] = layouts[name]["positions"] if name else table.attrs.get("positions", {})
        by_header = {text: positions[field] for field, text in headers.items() if field in positions}
        by_header.update({DISPLAY[f]: positions[f] for f in FIELDS if f in positions and DISPLAY[f] not in by_header})
        if code == "duplicate_exchange":
            columns = [positions[f] for f in NAME_FIELDS if f in positions]
        else:
            columns = [by_header[column]] if column in by_header else []
        out.append((name, int(row), [(int(row), c + 1) for c in columns]))
    return out


def _mark(sheet, findings: pd.DataFrame, cells: list[list[tuple[int, int]]]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    notes: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for targets, severity, message in zip(cells, findings["severity"], findings["message"]):
        for target in targets:
            notes.setdefault(target, []).append((severity, message))
    for (row, column), items in notes.items():
        cell = sheet.cell(row=row, column=column)
        worst = "error" if any(s == "error" for s, _ in items) else "warning"
        cell.fill = PatternFill("solid", start_color=FILLS[worst], end_color=FILLS[worst])
        cell.font = Font(color=FONTS[worst])
        text = "\n".join(f"{s.upper()}: {m}" for s, m in items)
        cell.comment = Comment(excel_text(text)[:30000], "cxc-analysis", width=320, height=120)


def _findings_sheet(workbook, places: list[tuple[str, int]], findings: pd.DataFrame, cells) -> None:
    """The findings as the first sheet, each linked to its cell (``places``: its sheet and Excel row)."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter, quote_sheetname

    name = FINDINGS_SHEET if FINDINGS_SHEET not in workbook.sheetnames else "cxc findings"
    sheet = workbook.create_sheet(name, 0)
    sheet.append(["Row", "Column", "Severity", "Code", "Message", "Go to cell"])
    for (tracker_sheet, excel_row), targets, (row, column, severity, code, message) in zip(
            places, cells, findings[["row", "column", "severity", "code", "message"]].itertuples(index=False)):
        sheet.append([excel_row, excel_text(str(column)), severity, code, excel_text(str(message)),
                      None])
        link = sheet.cell(row=sheet.max_row, column=6)
        cell = targets[0] if targets else (excel_row, 1)
        address = f"{get_column_letter(cell[1])}{cell[0]}"
        link.value = address
        link.hyperlink = f"#{quote_sheetname(tracker_sheet)}!{address}"
        link.font = Font(color="0563C1", underline="single")
        for index in (2, 5):
            value = sheet.cell(row=sheet.max_row, column=index)
            if isinstance(value.value, str) and value.value.startswith("="):
                value.data_type = "s"
        sheet.cell(row=sheet.max_row, column=3).fill = PatternFill("solid", start_color=FILLS[severity],
                                                                   end_color=FILLS[severity])
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", start_color="003399", end_color="003399")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for letter, width in zip("ABCDEF", (7, 28, 10, 20, 90, 11)):
        sheet.column_dimensions[letter].width = width
    if not len(findings):
        sheet.append([None, None, None, None, "No findings: nothing to correct.", None])
