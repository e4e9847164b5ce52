"""Findings back in the partner's own file: ``tracker_annotated.xlsx``, a copy of the tracker's
exchange sheet with every cell that has a finding highlighted (colour by severity) and its
message as a cell comment, and a first sheet listing the findings with links to their cells —
the "feedback file" the EU's mobility tools give beneficiaries. The original is never written,
and no other sheet of it (a partner's contacts, notes) is copied.

>>> annotate_tracker(table, findings, "out/tracker_annotated.xlsx")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from cxc_analysis.core.config import HEADER_SCAN_ROWS
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.output import write_atomic
from cxc_analysis.core.schema import DISPLAY, TRACKER_FIELDS
from cxc_analysis.core.text import excel_text
from cxc_analysis.read.csvfile import HEAD_BYTES, decode_csv, sniff_delimiter
from cxc_analysis.read.frame import sheet_row

FILLS = {"error": "FFC7CE", "warning": "FFEB9C"}  # Excel's own "bad" and "neutral" cell styles
FONTS = {"error": "9C0006", "warning": "9C5700"}
NAME_FIELDS = ("host_org", "visiting_org", "event")
FINDINGS_SHEET = "Findings"
MAX_COLUMNS = 16_384  # columns an Excel sheet holds (A to XFD): a wider tracker's copy stops there
SHEET_TITLE_BANNED = str.maketrans({c: "_" for c in "[]:*?/\\"})  # characters Excel refuses in a sheet name


def annotate_tracker(table: pd.DataFrame, findings: pd.DataFrame, out: str | Path) -> Path:
    """Write the annotated copy of the sheet ``table`` was read from (``table.attrs``: file,
    sheet, headers, positions) to ``out``, atomically; return ``out``. An .xlsx keeps its
    formatting (cell values as last calculated); a CSV, .ods, .xls or .xlsb becomes an xlsx of
    the same rows and cells."""
    source = Path(table.attrs.get("file", ""))
    out = Path(out)
    if not source.is_file():
        raise InputError("the tracker to annotate is not there any more", file=source)
    if out.resolve() == source.resolve():
        raise InputError("refusing to write over the tracker itself; choose another folder", file=out)
    workbook, sheet, width = _copy(source, table.attrs.get("sheet"))
    findings, elsewhere = _on_this_sheet(table, findings)
    cells = _cells(table, findings)
    _mark(sheet, findings, cells)
    _findings_sheet(workbook, sheet.title, findings, cells, cut=width if width > MAX_COLUMNS else None,
                    elsewhere=elsewhere)
    workbook.active = 0
    return write_atomic(out, lambda tmp: workbook.save(tmp))


def _on_this_sheet(table: pd.DataFrame, findings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The findings of the sheet the copy holds (the first read, rows as Excel counts them), and
    those of the other sheets of a workbook read sheet by sheet (listed, with their sheet and row,
    below the others: the copy holds one sheet)."""
    sheets = table.attrs.get("sheets") or []
    if len(sheets) < 2:
        return findings, findings.iloc[:0]
    placed = [sheet_row(row, sheets) for row in findings["row"]]
    here = pd.Series([name == sheets[0]["name"] for name, _ in placed], index=findings.index)
    rows = pd.Series([row for _, row in placed], index=findings.index)
    return findings.loc[here].assign(row=rows[here]), findings.loc[~here]


def _copy(source: Path, sheet_name: str | None):
    """A workbook holding only the exchange sheet, that sheet, and the source's width in columns."""
    suffix = source.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        copied = _workbook_copy(source, sheet_name)
        if copied is not None:
            return copied
    if suffix in (".csv", ".txt", ".tsv"):
        return _values_copy(_csv_rows(source), "Tracker")
    return _values_copy(_sheet_rows(source, sheet_name), sheet_name or "Tracker")


def _workbook_copy(source: Path, sheet_name: str | None):
    """The .xlsx with every other sheet removed (and the names that point into them), cell values
    as last calculated (a formula into a removed sheet would show #REF!); None if openpyxl cannot
    open it (then the values are copied, as for an .ods)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(source, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many types for files the reader could read
        return None
    name = sheet_name if sheet_name in workbook.sheetnames else workbook.sheetnames[0]
    sheet = workbook[name]
    if sheet.max_column > MAX_COLUMNS:
        return None
    for other in [workbook[n] for n in workbook.sheetnames if n != name]:
        workbook.remove(other)
    dropped = [k for k, d in workbook.defined_names.items() if _points_elsewhere(d, name)]
    for key in dropped:
        del workbook.defined_names[key]
    validations = sheet.data_validations.dataValidation  # drop-down lists kept on a removed sheet go too
    validations[:] = [v for v in validations if not _refers_elsewhere(v, name, dropped)]
    workbook._external_links = []  # cached values of other files
    return workbook, sheet, sheet.max_column


def _points_elsewhere(defined, sheet_name: str) -> bool:
    """True for a workbook name that is not a reference into ``sheet_name`` alone (a constant, a
    formula, a range in a removed sheet)."""
    try:
        return {title for title, _ in defined.destinations} != {sheet_name}
    except Exception:  # noqa: BLE001 - a name openpyxl cannot parse
        return True


def _refers_elsewhere(validation, sheet_name: str, names: list[str]) -> bool:
    """True for a data validation whose list or bounds come from another sheet or a removed name."""
    import re

    formulas = " ".join(f for f in (validation.formula1, validation.formula2) if f)
    sheets = {m.strip("'") for m in re.findall(r"('(?:[^']|'')+'|[^\s=,;:!()'\"&+\-*/^<>]+)!", formulas)}
    words = set(re.findall(r"[A-Za-z_\\][\w.]*", re.sub(r'"[^"]*"', "", formulas)))
    return bool(sheets - {sheet_name} or words & set(names))


def _values_copy(rows, title: str):
    """A new workbook with ``rows`` (lists of cell values, from A1) in one sheet: text that starts
    like a formula stays text, control characters are shown as their pictures, columns beyond
    XFD are left out."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title.translate(SHEET_TITLE_BANNED)[:31].strip("'") or "Tracker"
    width = 0
    for number, row in enumerate(rows, start=1):
        width = max(width, len(row))
        row = [_safe(cell) for cell in row[:MAX_COLUMNS]]
        sheet.append(row)
        for column, cell in enumerate(row, start=1):
            if isinstance(cell, str) and cell.startswith("="):
                sheet.cell(row=number, column=column).data_type = "s"
    return workbook, sheet, width


def _csv_rows(path: Path):
    """The CSV's records as a person sees them in Excel (decoded and split as the reader does)."""

    text = decode_csv(path.read_bytes(), path)
    delimiter = sniff_delimiter(text[:HEAD_BYTES].split("\n")[:HEADER_SCAN_ROWS])
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _sheet_rows(path: Path, sheet_name: str | None) -> list[list]:
    """A workbook sheet's cells from A1, as the reader reads them (.ods, .xls, .xlsb, or an .xlsx
    openpyxl cannot open)."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        name = sheet_name if sheet_name in workbook.sheet_names else workbook.sheet_names[0]
        return workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as exc:  # noqa: BLE001 - calamine raises several types
        raise InputError(f"cannot open the workbook to annotate it ({str(exc)[:120]})", file=path,
                         sheet=sheet_name) from None


def _safe(cell):
    """A cell as workbook content: text with control characters shown as their pictures
    (``text.excel_text``), an empty text as an empty cell."""
    if isinstance(cell, str):
        return excel_text(cell) if cell else None
    return cell


def _cells(table: pd.DataFrame, findings: pd.DataFrame) -> list[list[tuple[int, int]]]:
    """For each finding, the (row, column) cells it is about, 1-based as Excel counts."""
    headers: dict[str, str] = table.attrs.get("headers", {})
    positions: dict[str, int] = table.attrs.get("positions", {})
    by_header = {text: positions[field] for field, text in headers.items() if field in positions}
    by_header.update({DISPLAY[f]: positions[f] for f in TRACKER_FIELDS if f in positions and DISPLAY[f] not in by_header})
    out = []
    for row, column, code in zip(findings["row"], findings["column"], findings["code"]):
        if code == "duplicate_exchange":
            columns = [positions[f] for f in NAME_FIELDS if f in positions]
        else:
            columns = [by_header[column]] if column in by_header else []
        out.append([(int(row), c + 1) for c in columns if c < MAX_COLUMNS])
    return out


def _mark(sheet, findings: pd.DataFrame, cells: list[list[tuple[int, int]]]) -> None:
    """Colour each cell with a finding by its worst severity and put its messages in a comment
    (a cell inside a merged range: on the range's first cell, the one Excel shows)."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    notes: dict[tuple[int, int], list[tuple[str, str]]] = {}
    anchors = _merged_anchors(sheet)
    for targets, severity, message in zip(cells, findings["severity"], findings["message"]):
        for target in targets:
            notes.setdefault(anchors(target), []).append((severity, message))
    styles = {worst: (PatternFill("solid", start_color=FILLS[worst], end_color=FILLS[worst]),
                      Font(color=FONTS[worst])) for worst in FILLS}
    for (row, column), items in notes.items():
        cell = sheet.cell(row=row, column=column)
        worst = "error" if any(s == "error" for s, _ in items) else "warning"
        cell.fill, cell.font = styles[worst]
        text = "\n".join(f"{s.upper()}: {m}" for s, m in items)
        cell.comment = Comment(excel_text(text)[:30000], "cxc-analysis", width=320, height=120)


def _merged_anchors(sheet):
    """A function giving, for a (row, column), the first cell of the merged range holding it (else
    the cell itself); ranges indexed by row, so each look-up sees only its row's ranges."""
    ranges = getattr(sheet, "merged_cells", None)
    if not ranges or not ranges.ranges:
        return lambda target: target
    by_row: dict[int, list] = {}
    tall = []  # ranges over many rows: looked at for every cell
    for merged in ranges.ranges:
        if merged.max_row - merged.min_row < 1000:
            for row in range(merged.min_row, merged.max_row + 1):
                by_row.setdefault(row, []).append(merged)
        else:
            tall.append(merged)

    def anchor(target: tuple[int, int]) -> tuple[int, int]:
        row, column = target
        for merged in (*by_row.get(row, ()), *tall):
            if merged.min_row <= row <= merged.max_row and merged.min_col <= column <= merged.max_col:
                return merged.min_row, merged.min_col
        return target

    return anchor


def _findings_sheet(workbook, tracker_sheet: str, findings: pd.DataFrame, cells, cut: int | None = None,
                    elsewhere: pd.DataFrame | None = None) -> None:
    """The first sheet: one row per finding, with a link to its cell; ``cut``: the tracker's width
    when it is wider than a sheet (its further columns are not in the copy, said in a last row)."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter, quote_sheetname

    name = FINDINGS_SHEET if FINDINGS_SHEET not in workbook.sheetnames else "cxc findings"
    sheet = workbook.create_sheet(name, 0)
    sheet.append(["Row", "Column", "Severity", "Code", "Message", "Go to cell"])
    link_font = Font(color="0563C1", underline="single")
    fills = {s: PatternFill("solid", start_color=FILLS[s], end_color=FILLS[s]) for s in FILLS}
    number = 1
    for targets, (row, column, severity, code, message) in zip(
            cells, findings[["row", "column", "severity", "code", "message"]].itertuples(index=False)):
        number += 1
        sheet.append([int(row), excel_text(str(column)), severity, code, excel_text(str(message)), None])
        link = sheet.cell(row=number, column=6)
        cell = targets[0] if targets else (int(row), 1)
        address = f"{get_column_letter(cell[1])}{cell[0]}"
        link.value = address
        link.hyperlink = f"#{quote_sheetname(tracker_sheet)}!{address}"
        link.font = link_font
        for index in (2, 5):
            value = sheet.cell(row=number, column=index)
            if isinstance(value.value, str) and value.value.startswith("="):
                value.data_type = "s"
        sheet.cell(row=number, column=3).fill = fills[severity]
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", start_color="003399", end_color="003399")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:F{number}"
    for letter, width in zip("ABCDEF", (7, 28, 10, 20, 90, 11)):
        sheet.column_dimensions[letter].width = width
    if not len(findings):
        sheet.append([None, None, None, None, "No findings: nothing to correct.", None])
    for message in ([] if elsewhere is None else elsewhere["message"]):
        sheet.append([None, None, None, None, excel_text(str(message)), None])  # names its sheet and row
    if cut:
        sheet.append([None, None, None, None, f"The tracker has {cut:,} columns; this copy holds the first "
                      f"{MAX_COLUMNS:,} (A to XFD, all a sheet can hold).", None])
