"""Workbooks (xlsx, xlsm, xls, xlsb, ods): sizes measured from their XML before loading, every sheet
with an exchange table read, merged cells filled, Excel Tables' totals rows and uncached formulas found."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from cxc_analysis.core.config import HEADER_SCAN_ROWS, MAX_SHEET_CELLS, MAX_SHEET_TEXT
from cxc_analysis.core.errors import InputError
from cxc_analysis.read.frame import SHEET_ROWS, check_cell_sizes, column_index, frame_from_rows, reason
from cxc_analysis.read.header import current_reading, find_header, short

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE container: an old .xls, or an encrypted .xlsx



class SheetSize(NamedTuple):
    """A sheet's extent up to its last filled cell, and the bytes of text its cells would hold."""
    rows: int
    columns: int
    text: int



def read_workbook(path: Path, sheet: str | None) -> pd.DataFrame:
    """Every sheet that holds an exchange table (only ``sheet`` when given), as one frame (with a
    ``sheet`` column when several are read); the k-th sheet read (from 0) numbers its rows ``k * SHEET_ROWS`` + the Excel
    row (:func:`sheet_row`). The sheets read and those skipped (and why) are kept on the reading."""
    from python_calamine import CalamineWorkbook

    _refuse_ole_container(path)
    sizes = _sheet_sizes(path)
    if path.suffix.lower() == ".ods":  # the reader loads every table of an .ods when it opens it
        for name, size in sizes.items():
            _check_sheet_size(size, file=path, sheet=name)
    workbook = _calamine(lambda: CalamineWorkbook.from_path(str(path)), "cannot read workbook", file=path)
    names = workbook.sheet_names
    if sheet is not None and sheet not in names:
        raise InputError(f"no sheet named '{sheet}' (sheets: {', '.join(names)})", file=path)
    reading = current_reading()
    frames: list[pd.DataFrame] = []
    first_error: InputError | None = None
    for name in [sheet] if sheet is not None else names:
        try:
            frame = _read_sheet(path, workbook, name, sizes, offset=len(frames) * SHEET_ROWS)
        except _NoTable as no_table:
            exc = no_table.error
            if sheet is not None or (first_error is None and exc.column is not None):
                first_error = exc
            reading.skipped_sheets.append((name, exc.message, exc.column is not None))
            continue
        frames.append(frame)
    if not frames:
        if first_error is not None:
            raise first_error
        raise InputError(f"no sheet holds an exchange table (sheets: {', '.join(names)}; expected headers "
                         "HO, VO, VO Type of entity, Inside/outside partnership, Status, in any of the vocabulary's "
                         "languages; map other headers with --columns FILE.yaml)", file=path)
    first = reading.sheets[0]
    reading.headers, reading.positions = first["headers"], first["positions"]
    reading.header_row, reading.ignored = first["header_row"], first["ignored"]
    if len(frames) > 1:  # several sheets: one table, each row with its sheet
        for frame, read in zip(frames, reading.sheets):
            frame.insert(1, "sheet", pd.Series(read["name"], index=frame.index, dtype="str"))
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    frame.attrs["sheet"] = first["name"]
    return frame



class _NoTable(Exception):
    """A sheet without an exchange header (``error`` says why)."""

    def __init__(self, error: InputError):
        super().__init__(error.message)
        self.error = error



def _read_sheet(path: Path, workbook, name: str, sizes: dict, *, offset: int) -> pd.DataFrame:
    """One sheet's exchange table (``source_row`` from ``offset``), its merged cells filled; its
    header, headers and Excel Table totals row recorded on the reading. _NoTable if it has none."""
    reading = current_reading()
    _check_sheet_size(sizes.get(name, sizes.get(None)), file=path, sheet=name)
    loaded = _calamine(lambda: workbook.get_sheet_by_name(name), "cannot read sheet", file=path, sheet=name)
    xml = _sheet_xml(path, name)
    merged = merged_ranges(xml)
    head = _calamine(lambda: loaded.to_python(skip_empty_area=False, nrows=HEADER_SCAN_ROWS),
                     "cannot read sheet", file=path, sheet=name)  # the header is found in the first rows
    head = with_merged_cells(head, merged)
    try:
        index, mapping = find_header(head, file=path, sheet=name)
    except InputError as exc:
        raise _NoTable(exc) from None
    check_cell_sizes(head[:index + 1], first_row=1, file=path, sheet=name)  # rows below: in frame_from_rows
    rows = _calamine(lambda: loaded.to_python(skip_empty_area=False), "cannot read sheet", file=path, sheet=name)
    rows = with_merged_cells(with_uncached_formulas(path, name, rows, xml), merged)
    if offset and len(rows) >= SHEET_ROWS:
        raise InputError(f"sheet too long to read with other sheets ({len(rows):,} rows; at most "
                         f"{SHEET_ROWS - 1:,}); name it with --sheet", file=path, sheet=name)
    frame = frame_from_rows(rows[index + 1:], mapping, first_row=index + 2, header=head[index], file=path,
                             sheet=name)
    if offset:
        frame["source_row"] += offset
    totals = {offset + row for row in table_totals_rows(path, name) if row > index + 1}
    reading.totals_rows.extend(sorted(totals.intersection(frame["source_row"].tolist())) if totals else [])
    reading.sheets.append({"name": name, "rows": len(frame), "first_row": offset, "header_row": reading.header_row,
                           "headers": reading.headers, "positions": reading.positions, "ignored": reading.ignored})
    return frame



def sheets_read(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(level, line) saying which sheets of a workbook were read and which skipped (and why),
    from ``frame.attrs``; "warning" for a sheet skipped whose header lacks a required column (it
    may hold exchanges), "info" otherwise; none for a workbook of one sheet (or a CSV).

    >>> frame = pd.DataFrame()
    >>> frame.attrs.update(sheets=[{"name": "A", "rows": 3}, {"name": "B", "rows": 2}],
    ...                    skipped_sheets=[("Lists", "no header", False)])
    >>> sheets_read(frame)
    [('info', "sheets read: 'A' (3 rows), 'B' (2 rows)"), ('info', "sheet skipped: 'Lists' (no header)")]
    >>> frame.attrs.update(sheets=[{"name": "A", "rows": 3}])
    >>> sheets_read(frame)
    []
    """
    read, skipped = frame.attrs.get("sheets") or [], frame.attrs.get("skipped_sheets") or []
    if len(read) < 2:  # one exchange sheet: only a skipped sheet that may hold exchanges is worth a line
        return [("warning", f"sheet skipped: '{name}' ({short(why, 120)})") for name, why, partial in skipped
                if partial]
    return [("info", "sheets read: " + ", ".join(f"'{s['name']}' ({s['rows']} rows)" for s in read)),
            *(("warning" if partial else "info", f"sheet skipped: '{name}' ({short(why, 120)})")
              for name, why, partial in skipped)]



def _calamine(call, failure: str, *, file: Path, sheet: str | None = None):
    """Run a python-calamine call; what it raises, a Rust panic included, becomes one InputError."""
    try:
        return call()
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # calamine raises several types; a panic is pyo3's PanicException, a BaseException
        if type(exc).__name__ == "PasswordError":
            reason = "password-protected: encrypted, save an unprotected copy"
        elif not isinstance(exc, Exception):
            reason = "encrypted or not a workbook: the reader gave up on it"
        else:
            reason = reason(exc)
        raise InputError(f"{failure} ({reason})", file=file, sheet=sheet) from None



def _refuse_ole_container(path: Path) -> None:
    """An .xlsx that is an OLE container is encrypted (password-protected) or an old .xls renamed."""
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xlsb"):
        with path.open("rb") as handle:
            if handle.read(len(OLE_MAGIC)) == OLE_MAGIC:
                raise InputError("cannot read workbook (encrypted or not a workbook: an OLE container, as a "
                                 "password-protected workbook or an old .xls is; save an unprotected .xlsx)", file=path)



def _check_sheet_size(size: SheetSize | None, *, file: Path, sheet: str) -> None:
    """Refuse a sheet too large to read in bounded memory, before it is loaded."""
    if size is None:
        return
    cells = size.rows * size.columns
    if cells > MAX_SHEET_CELLS:
        raise InputError(f"sheet too large to read: it spans {size.rows:,} rows x {size.columns:,} columns up to its "
                         f"last filled cell ({cells:,} cells; at most {MAX_SHEET_CELLS:,}); delete stray cells far "
                         "from the table, save the sheet as CSV, or name the exchange sheet if it is another one",
                         file=file, sheet=sheet)
    if size.text > MAX_SHEET_TEXT:
        raise InputError(f"sheet too large to read: its cells hold about {size.text // 1_000_000:,} MB of text "
                         f"(at most {MAX_SHEET_TEXT // 1_000_000:,} MB); save the sheet as CSV", file=file, sheet=sheet)



def _sheet_sizes(path: Path) -> dict[str | None, SheetSize]:
    """Each sheet's size, measured from the workbook's XML without loading it (key None: a sheet not mapped
    to its name). .xlsx, .xlsm and .ods are measured; .xls and .xlsb are not (an .xls sheet is bounded by its
    format, 65,536 x 256 cells)."""
    import xml.etree.ElementTree as ET
    import zipfile
    import zlib

    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".ods"):
        return {}
    try:
        with zipfile.ZipFile(path) as archive:
            if suffix == ".ods":
                return _ods_sizes(archive)
            shared = _shared_string_sizes(archive)
            return {name: _measure_sheet(archive, part, shared) for name, part in _sheet_parts(archive).items()}
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError, ValueError,
            KeyError, ET.ParseError) as exc:
        raise InputError(f"cannot read workbook ({reason(exc)})", file=path) from None



def _sheet_parts(archive) -> dict[str | None, str]:
    """Sheet name -> worksheet XML part; every worksheet under None if the workbook does not say."""
    import posixpath
    import xml.etree.ElementTree as ET

    names = set(archive.namelist())
    if {"xl/workbook.xml", "xl/_rels/workbook.xml.rels"} <= names:
        relationships = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {el.get("Id"): el.get("Target", "") for el in relationships.iter() if el.tag.endswith("Relationship")}
        parts = {}
        for el in ET.fromstring(archive.read("xl/workbook.xml")).iter():
            if el.tag.endswith("}sheet"):
                rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
                target = targets.get(rid, "")
                part = posixpath.normpath(target[1:] if target.startswith("/") else "xl/" + target)
                if part in names:
                    parts[el.get("name")] = part
        if parts:
            return parts
    worksheets = [n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    return {None: max(worksheets, key=lambda n: archive.getinfo(n).file_size)} if worksheets else {}



SHARED_STRING_LIMIT = 1 << 27  # bytes of xl/sharedStrings.xml read to measure its strings



_SI_START = re.compile(rb"<(?:\w+:)?si[\s>]")



_COLUMN_REF = re.compile(rb' r="([A-Z]{1,3})[0-9]')  # literal prefixes keep these scans fast



_ROW_REF = re.compile(rb' r="[A-Z]{0,3}([0-9]{1,9})"')



_SHARED_CELL = re.compile(rb't="s"[^>]*>\s*<(?:\w+:)?v>([0-9]{1,9})<')



_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s>/]")



_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")



def _shared_string_sizes(archive) -> list[int]:
    """Bytes of each shared string (an upper bound of its text), in order."""
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    with archive.open("xl/sharedStrings.xml") as handle:
        data = handle.read(SHARED_STRING_LIMIT + 1)
    if len(data) > SHARED_STRING_LIMIT:
        raise ValueError(f"shared strings over {SHARED_STRING_LIMIT // (1 << 20)} MiB")
    starts = [m.start() for m in _SI_START.finditer(data)] + [len(data)]
    return [b - a for a, b in zip(starts, starts[1:])]



def _measure_sheet(archive, part: str, shared: list[int]) -> SheetSize:
    """Rows, columns and text bytes of a worksheet part, read in blocks (never whole)."""
    from collections import Counter

    rows = columns = row_tags = text = 0
    used: Counter = Counter()
    count_shared = max(shared, default=0) * MAX_SHEET_CELLS > MAX_SHEET_TEXT  # long shared strings, repeated
    carry = b""
    with archive.open(part) as handle:
        while block := handle.read(1 << 22):
            text += len(block)  # inline strings and numbers are at most their XML
            block = carry + block
            cut = block.rfind(b">") + 1
            block, carry = block[:cut], block[cut:]
            letters = _COLUMN_REF.findall(block)
            if letters:
                columns = max(columns, _column_number(max(set(letters), key=lambda t: (len(t), t))))
            numbers = _ROW_REF.findall(block)
            if numbers:
                rows = max(rows, int(max(set(numbers), key=lambda t: (len(t), t))))
            row_tags += block.count(b"<row")
            if block.count(b"<c") > len(letters):  # cells without a reference (or <col>): count them per row
                columns = max(columns, *(len(_CELL_TAG.findall(r)) for r in _ROW_TAG.split(block)))
            if count_shared:
                used.update(_SHARED_CELL.findall(block))
    text += sum(count * shared[int(i)] for i, count in used.items() if int(i) < len(shared))
    return SheetSize(max(rows, row_tags), columns, text)



ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"



ODS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"



def _ods_sizes(archive) -> dict[str | None, SheetSize]:
    """Each table's extent up to its last filled cell, repeated rows and cells counted as the reader
    expands them (a tiny .ods may ask for a billion cells), read as a stream."""
    import xml.etree.ElementTree as ET

    sizes: dict[str | None, SheetSize] = {}
    row = rows = columns = text = 0
    with archive.open("content.xml") as handle:
        for event, element in ET.iterparse(handle, events=("start", "end")):
            if element.tag == ODS_TABLE + "table":
                if event == "start":
                    row = rows = columns = text = 0
                else:
                    sizes[element.get(ODS_TABLE + "name")] = SheetSize(rows, columns, text)
                    element.clear()
            elif event == "end" and element.tag == ODS_TABLE + "table-row":
                repeat, column, last = int(element.get(ODS_TABLE + "number-rows-repeated", "1")), 0, 0
                for cell in element:
                    width = int(cell.get(ODS_TABLE + "number-columns-repeated", "1"))
                    if cell.get(ODS_OFFICE + "value-type") or len(cell):
                        last = column + width
                        text += width * repeat * sum(len(t) for t in cell.itertext())
                    column += width
                if last:
                    rows, columns = row + repeat, max(columns, last)
                row += repeat
                element.clear()
    return sizes



def _column_number(letters: bytes) -> int:
    """The number of a column from its letters.

    >>> _column_number(b"XFD")
    16384
    """
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number



_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)



_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')



_FORMULA = re.compile(rb"<f\b[^>]*>(.*?)</f>", re.S)



_VALUE = re.compile(rb"<v\b[^>]*>[^<]", re.S)



def with_uncached_formulas(path: Path, sheet: str, rows: list[list], data: bytes | None = None) -> list[list]:
    """``rows`` (from A1) with the text of formula cells that have no cached value put back as
    "=FORMULA" (a workbook written by a script, e.g. pandas' to_excel of a name starting with
    "="), where the reader saw an empty cell: such text is kept and flagged, never lost.
    ``data``: the sheet's XML when the caller has read it (:func:`_sheet_xml`).

    Only .xlsx/.xlsm; other workbooks are returned as they are.
    """
    import html

    if data is None:
        data = _sheet_xml(path, sheet)
    if b"<f" not in data:
        return rows
    for match in _CELL.finditer(data):
        body = match.group(2) or b""
        formula = _FORMULA.search(body)
        ref = _REF.search(match.group(1))
        if not formula or not ref or _VALUE.search(body) or not formula.group(1).strip():
            continue
        row, column = int(ref.group(2)) - 1, column_index(ref.group(1).decode())
        if row < len(rows) and column < len(rows[row]) and rows[row][column] in (None, ""):
            rows[row][column] = "=" + html.unescape(formula.group(1).decode("utf-8", "replace"))
    return rows



def _sheet_xml(path: Path, sheet: str) -> bytes:
    """A worksheet's XML (.xlsx/.xlsm; empty for other workbooks or a part that cannot be read)."""
    import zipfile

    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return b""
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_parts(archive).get(sheet)
            return archive.read(part) if part else b""
    except (OSError, KeyError, zipfile.BadZipFile):
        return b""



_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3})([0-9]{1,7}):([A-Z]{1,3})([0-9]{1,7})"')



def merged_ranges(xml: bytes) -> list[tuple[int, int, int, int]]:
    """A worksheet's merged cells as 0-based (first row, first column, last row, last column),
    from the ``mergeCells`` list after its data (the reader does not report merges).

    >>> merged_ranges(b'<sheetData/><mergeCells count="1"><mergeCell ref="B5:B7"/></mergeCells>')
    [(4, 1, 6, 1)]
    """
    tail = xml.rfind(b"sheetData")
    if tail < 0 or b"mergeCell" not in xml[tail:]:
        return []
    return [(int(r0) - 1, column_index(c0.decode()), int(r1) - 1, column_index(c1.decode()))
            for c0, r0, c1, r1 in _MERGE.findall(xml, tail)]



def with_merged_cells(rows: list[list], merged: list[tuple[int, int, int, int]]) -> list[list]:
    """``rows`` (from A1) with each merged cell's value in every cell it covers (Excel keeps it
    in the first cell only), within the rows and columns read.

    >>> with_merged_cells([["SME", 1], [None, 2], [None, 3]], [(0, 0, 2, 0)])
    [['SME', 1], ['SME', 2], ['SME', 3]]
    """
    for first_row, first_column, last_row, last_column in merged:
        if first_row >= len(rows) or first_column >= len(rows[first_row]):
            continue
        value = rows[first_row][first_column]
        if value is None or value == "":
            continue
        for row in rows[first_row:last_row + 1]:
            for column in range(first_column, min(last_column + 1, len(row))):
                row[column] = value
    return rows



def table_totals_rows(path: Path, sheet: str) -> list[int]:
    """Excel rows that are an Excel Table's totals row on ``sheet`` (.xlsx/.xlsm: the table parts
    the sheet links to, ``totalsRowCount``); empty when none or unreadable."""
    import posixpath
    import zipfile

    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return []
    rows = []
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_parts(archive).get(sheet)
            if not part:
                return []
            folder, file = posixpath.split(part)
            relations = posixpath.join(folder, "_rels", file + ".rels")
            if relations not in archive.namelist():
                return []
            for target in re.findall(rb'Target="([^"]*tables/[^"]+)"', archive.read(relations)):
                target = target.decode()
                table = posixpath.normpath(target[1:] if target.startswith("/") else posixpath.join(folder, target))
                head = archive.read(table)[:4096]
                count = re.search(rb'\btotalsRowCount="([0-9]+)"', head)
                ref = re.search(rb'\bref="[A-Z]{1,3}[0-9]+:[A-Z]{1,3}([0-9]+)"', head)
                if count and ref and int(count.group(1)) > 0:
                    last = int(ref.group(1))
                    rows.extend(range(last - int(count.group(1)) + 1, last + 1))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return []
    return rows
