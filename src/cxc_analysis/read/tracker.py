"""Read a partner's tracker (xlsx or csv) into a raw frame of text columns + ``source_row``.

Finds the sheet that holds the exchanges and the header row below any title rows, maps
the headers a tracker uses onto the canonical field names, skips blank rows, and keeps the
row number a person sees in Excel or in the CSV file. Knows nothing of what labels mean.
"""

from __future__ import annotations

import codecs
import contextvars
import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from cxc_analysis.core.config import HEADER_SCAN_ROWS, MAX_CELL_CHARS, MAX_SHEET_CELLS, MAX_SHEET_TEXT
from cxc_analysis.core.distinct import parallel_map, remember
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.schema import DISPLAY, RAW_VALUE_FIELDS, REQUIRED, TRACKER_FIELDS
from cxc_analysis.core.yamlfile import read_yaml

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
CSV_BLOCK_SIZE = 1 << 22  # bytes the Arrow CSV reader parses per block (blocks are parsed in parallel)
PARALLEL_ROWS = 100_000  # from this many rows, a CSV's columns are decoded on several threads


class _Reading:
    """How this read finds its header (vocabulary, column map) and what it found (headers, ignored)."""

    def __init__(self, columns: dict[str, str] | None = None, vocabulary=None):
        from cxc_analysis.read.vocabulary import load_vocabulary

        self.columns = dict(columns or {})
        self.vocabulary = vocabulary or load_vocabulary()
        self.headers: dict[str, str] = {}
        self.positions: dict[str, int] = {}
        self.header_row: int | None = None
        self.ignored: list[str] = []
        self.fields: tuple[str, ...] | None = None  # only these fields' values are wanted (None: all)
        self.sheets: list[dict] = []  # the sheets read: name, rows, first source_row, header row, headers
        self.skipped_sheets: list[tuple[str, str, bool]] = []  # sheets not read, why, and if a header was half there
        self.totals_rows: list[int] = []  # source_rows of an Excel Table's totals row


_READING: contextvars.ContextVar[_Reading | None] = contextvars.ContextVar("cxc_reading", default=None)


def _current() -> _Reading:
    return _READING.get() or _Reading()


def _cell_header(cell: object) -> str:
    return " ".join(str(cell).split()) if cell is not None else ""


def match_header(row: list, reading: _Reading | None = None) -> dict[int, str]:
    """Map the positions of a candidate header row onto canonical fields: the column map first,
    then the vocabulary (first match wins; ``header_conflicts`` says where two cells match one field).

    >>> match_header(["Exchange no.", "Type of entity (VO)", "Organisation d'accueil", "Notes"])
    {0: 'exchange_id', 1: 'vo_entity_type', 2: 'host_org', 3: 'remarks'}
    """
    reading = reading or _current()
    texts = [_cell_header(cell) for cell in row]
    mapping: dict[int, str] = {}
    for field, header in reading.columns.items():
        position = _position(texts, header)
        if position is not None:
            mapping[position] = field
    mapped = set(mapping.values())
    for position, (text, field) in enumerate(zip(texts, reading.vocabulary.fields_for(texts))):
        if position in mapping or not text:
            continue
        if field and field not in mapped:
            mapping[position] = field
            mapped.add(field)
    return dict(sorted(mapping.items()))


def _position(texts: list[str], header: str) -> int | None:
    """Where a column-map header stands in a row: exactly as written, else whatever its case."""
    wanted = _cell_header(header)
    for same in (lambda t: t == wanted, lambda t: t.casefold() == wanted.casefold()):
        found = [i for i, t in enumerate(texts) if same(t)]
        if found:
            return found[0]
    return None


def header_conflicts(row: list, reading: _Reading | None = None) -> dict[str, list[str]]:
    """Fields that two or more cells of a header row name (column-mapped fields excepted).

    >>> header_conflicts(["HO", "Host organisation", "VO"])
    {'host_org': ['HO', 'Host organisation']}
    """
    reading = reading or _current()
    found: dict[str, list[str]] = {}
    texts = [_cell_header(cell) for cell in row]
    for text, field in zip(texts, reading.vocabulary.fields_for(texts)):
        if field and field not in reading.columns:
            found.setdefault(field, []).append(text)
    return {field: texts for field, texts in found.items() if len(texts) > 1}


def find_header(rows: list[list], *, file: Path, sheet: str | None = None) -> tuple[int, dict[int, str]]:
    """Index of the header row among the first rows, and its column mapping.

    Raises InputError naming the missing required columns (with the tracker's headers that
    matched nothing, the closest of them and how to map it with ``--columns``), two headers
    that name one field, or column-map headers the tracker does not have.
    """
    reading = _current()
    best: tuple[int, dict[int, str]] | None = None
    scanned = rows[:HEADER_SCAN_ROWS]
    for index, row in enumerate(scanned):
        mapping = match_header(row, reading)
        if _complete(mapping):
            lower = scanned[index + 1] if index + 1 < len(scanned) else None
            if lower is not None and _continues_header(row, lower, mapping):
                combined = combine_header_rows(row, lower)
                both = match_header(combined, reading)
                if set(mapping.values()) < set(both.values()):  # words under the header's own ("Start", "End")
                    return _accept_header(combined, index + 1, both, reading, file, sheet,
                                          below=scanned[index + 2:HEADER_SCAN_ROWS])
            return _accept_header(row, index, mapping, reading, file, sheet,
                                  below=scanned[index + 1:HEADER_SCAN_ROWS])
        if index + 1 < len(scanned) and not _complete(match_header(scanned[index + 1], reading)):
            combined = combine_header_rows(row, scanned[index + 1])
            both = match_header(combined, reading)
            if _complete(both):  # a two-row header ("Dates" over "Start" / "End"): the data starts below both
                return _accept_header(combined, index + 1, both, reading, file, sheet,
                                      below=scanned[index + 2:HEADER_SCAN_ROWS])
        if len(mapping) >= 2 and (best is None or len(mapping) > len(best[1])):
            best = (index, mapping)
    if best is None:
        raise InputError(f"no header row with the exchange columns in the first {HEADER_SCAN_ROWS} rows "
                         "(expected HO, VO, VO Type of entity, Inside/outside partnership, Status, in any of "
                         "the vocabulary's languages; map other headers with --columns)", file=file, sheet=sheet)
    index, mapping = best
    _check_column_map(rows[index], reading, file, sheet)
    missing = [f for f in REQUIRED if f not in mapping.values()]
    texts = [_cell_header(c) for c in rows[index]]
    unmatched = [t for p, t in enumerate(texts) if t and p not in mapping]
    closest = reading.vocabulary.closest(unmatched, missing[0]) if unmatched else None
    hint = (f"headers that matched nothing: {_quoted(unmatched)}" if unmatched else "no other headers")
    if closest:
        hint += f"; did you mean '{_short(closest)}'?"
    example = f"{missing[0]}: {_short(closest) if closest else DISPLAY[missing[0]]}"
    raise InputError(f"required column missing: {', '.join(f'{DISPLAY[f]} ({f})' for f in missing)} "
                     f"(header row {index + 1}; {hint} Map it with --columns FILE.yaml, e.g. '{example}')",
                     file=file, sheet=sheet, column=DISPLAY[missing[0]])


def _complete(mapping: dict[int, str]) -> bool:
    return all(field in mapping.values() for field in REQUIRED)


def _continues_header(upper: list, lower: list, mapping: dict[int, str]) -> bool:
    """Whether ``lower`` may be a header's second row: text only, and empty (or the same, merged
    down) under every column the header row names, so never a row of data."""
    if any(cell is not None and not isinstance(cell, str) for cell in lower):
        return False
    texts = [_cell_header(cell) for cell in lower]
    return any(texts) and all(position >= len(texts) or not texts[position]
                              or texts[position] == _cell_header(upper[position]) for position in mapping)


def combine_header_rows(upper: list, lower: list) -> list[str]:
    """One header row from a two-row header: each column's words from both rows (one of them
    where the other is empty or says the same, as a cell merged down both rows does).

    >>> combine_header_rows(["HO", "Dates", "Dates"], ["HO", "Start", "End"])
    ['HO', 'Dates Start', 'Dates End']
    """
    width = max(len(upper), len(lower))
    out = []
    for position in range(width):
        top = _cell_header(upper[position]) if position < len(upper) else ""
        bottom = _cell_header(lower[position]) if position < len(lower) else ""
        out.append(top if not bottom or top == bottom else bottom if not top else f"{top} {bottom}")
    return out


def _accept_header(row, index, mapping, reading, file, sheet, below=()) -> tuple[int, dict[int, str]]:
    _check_column_map(row, reading, file, sheet)
    conflicts = header_conflicts(row, reading)
    if conflicts:
        field, texts = next(iter(conflicts.items()))
        counters = _row_counters(row, texts, below)
        chosen = next((t for t in texts if t not in counters), texts[0])
        aside = (f" ({_quoted(counters)} only counts the rows: 1, 2, 3, ...)"
                 if counters and chosen not in counters else "")
        raise InputError(f"two columns name {DISPLAY[field]} ({field}): {_quoted(texts)}{aside}; keep one, or say "
                         f"which with --columns (e.g. '{field}: {_short(chosen)}')",
                         file=file, sheet=sheet, row=index + 1, column=texts[1])
    texts = [_cell_header(c) for c in row]
    reading.headers = {field: texts[position] for position, field in mapping.items()}
    reading.positions = {field: position for position, field in mapping.items()}
    reading.header_row = index + 1
    reading.ignored = [t for p, t in enumerate(texts) if t and p not in mapping]
    return index, mapping


def _row_counters(row: list, texts: list[str], below) -> list[str]:
    """Of the headers ``texts``, those whose column below the header (the rows read so far) holds
    only 1, 2, 3, ...: a row counter, not an ID a person gave the exchange.

    >>> _row_counters(["N°", "Exchange no."], ["N°", "Exchange no."], [[1, "EX-07"], ["2", "EX-09"], [3.0, None]])
    ['N°']
    """
    out = []
    for position, text in enumerate(_cell_header(cell) for cell in row):
        if text not in texts or text in out:
            continue
        values = [cell for cells in below if position < len(cells)
                  for cell in [cells[position]] if cell is not None and str(cell).strip()]
        if values and [_whole(v) for v in values] == list(range(1, len(values) + 1)):
            out.append(text)
    return out


def _whole(value: object) -> int | None:
    """A cell's whole number (1, 1.0, "1"), or None."""
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _check_column_map(row, reading, file, sheet) -> None:
    texts = [_cell_header(c) for c in row]
    for field, header in reading.columns.items():
        if _position(texts, header) is None:
            raise InputError(f"--columns maps {field} to '{_short(header)}', but the header row has no such "
                             f"column (headers: {_quoted([t for t in texts if t])})", file=file, sheet=sheet,
                             column=_short(header))


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _quoted(texts: list[str], limit: int = 12) -> str:
    shown = ", ".join(f"'{_short(t, 40)}'" for t in texts[:limit])
    return shown + (f" and {len(texts) - limit} more" if len(texts) > limit else "")


def read_column_map(path: str | Path) -> dict[str, str]:
    """A ``--columns`` file: canonical field -> the header exactly as the tracker writes it.

    InputError for an unknown field name or a header that is not text.
    """
    data = read_yaml(path)
    out = {}
    for field, header in data.items():
        if field not in TRACKER_FIELDS:
            raise InputError(f"unknown field '{_short(str(field), 40)}' (fields: {', '.join(TRACKER_FIELDS)})", file=path)
        if not isinstance(header, (str, int, float)) or isinstance(header, bool) or not str(header).strip():
            raise InputError(f"{field}: expected the tracker's header as text", file=path)
        out[field] = str(header)
    return out


def read_tracker(path: str | Path, sheet: str | None = None, *, columns: dict[str, str] | None = None,
                 vocabulary=None, fields: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Read a tracker into ``source_row`` + one column per canonical field.

    Headers are read by meaning in the vocabulary's languages (``vocabulary``: a
    ``vocabulary.Vocabulary``, default the bundled one); ``columns`` maps fields to headers the
    vocabulary cannot know. Text cells are stripped (empty cells are missing); dates and amounts
    keep their cell values. ``df.attrs`` holds ``file``, ``sheet``, ``headers`` (field -> the
    tracker's own header) and ``ignored_columns`` (headers nothing maps); for a workbook also
    ``sheets`` (each sheet read), ``skipped_sheets`` (name, why, header half there) and
    ``totals_rows`` (an Excel Table's totals row). A workbook's every sheet with an exchange table
    is read (``sheet``: that one only), merged cells filled. ``fields``: only these
    fields' values are read, the others come back empty (the same rows all the same: a row is
    blank only if all its columns are), for a step that needs only some fields (``kpis --json``).

    >>> df = read_tracker(DEFAULT_INPUT)  # doctest: +SKIP
    >>> df.loc[0, ["source_row", "host_org"]].tolist()  # doctest: +SKIP
    [4, 'NextMove']
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found" if not path.exists() else "not a file", file=path)
    use_quick_arrow_pool()
    suffix = path.suffix.lower()
    reading = _Reading(columns, vocabulary)
    reading.fields = fields
    token = _READING.set(reading)
    try:
        if suffix in EXCEL_SUFFIXES:
            frame = _read_workbook(path, sheet)
        elif suffix in CSV_SUFFIXES:
            if sheet:
                raise InputError(f"a CSV file has no sheets (sheet '{sheet}' was asked for; leave the sheet out)",
                                 file=path)
            frame = _read_csv(path)
        else:
            raise InputError(f"unsupported file type '{suffix}' (use .xlsx, .xls, .ods or .csv)", file=path)
    finally:
        _READING.reset(token)
    if fields is not None:  # the other fields' values (a reader that read them all), as if the tracker lacked them
        frame = _finish(frame.drop(columns=[f for f in TRACKER_FIELDS if f not in fields]), blank_rows=False)
    frame.attrs.update(file=str(path), headers=reading.headers, positions=reading.positions,
                       header_row=reading.header_row, ignored_columns=reading.ignored, sheets=reading.sheets,
                       skipped_sheets=reading.skipped_sheets, totals_rows=reading.totals_rows)
    return frame


def use_quick_arrow_pool() -> None:
    """Arrow's jemalloc memory pool, where this pyarrow has one and ARROW_DEFAULT_MEMORY_POOL
    chooses none: with the default (mimalloc), reading and cleaning a million rows cost about
    1 s more of system time here, pages handed back to the system and faulted in again; freed
    pages are handed back after 100 ms (jemalloc's default 1 s held about 250 MB more at the
    peak). See docs/benchmarks.md. Only speed and memory depend on this."""
    import os

    import pyarrow as pa

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") or pa.default_memory_pool().backend_name == "jemalloc":
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(100)  # freed pages go back soon: 1 s keeps a million rows' buffers twice
    except (NotImplementedError, pa.ArrowException):  # a pyarrow built without jemalloc
        pass


# --- workbooks ---------------------------------------------------------------------------

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE container: an old .xls, or an encrypted .xlsx


class SheetSize(NamedTuple):
    """A sheet's extent up to its last filled cell, and the bytes of text its cells would hold."""
    rows: int
    columns: int
    text: int


def _read_workbook(path: Path, sheet: str | None) -> pd.DataFrame:
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
    reading = _current()
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
    reading = _current()
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
    _check_cell_sizes(head[:index + 1], first_row=1, file=path, sheet=name)  # rows below: in _frame_from_rows
    rows = _calamine(lambda: loaded.to_python(skip_empty_area=False), "cannot read sheet", file=path, sheet=name)
    rows = with_merged_cells(with_uncached_formulas(path, name, rows, xml), merged)
    if offset and len(rows) >= SHEET_ROWS:
        raise InputError(f"sheet too long to read with other sheets ({len(rows):,} rows; at most "
                         f"{SHEET_ROWS - 1:,}); name it with --sheet", file=path, sheet=name)
    frame = _frame_from_rows(rows[index + 1:], mapping, first_row=index + 2, header=head[index], file=path,
                             sheet=name)
    if offset:
        frame["source_row"] += offset
    totals = {offset + row for row in table_totals_rows(path, name) if row > index + 1}
    reading.totals_rows.extend(sorted(totals.intersection(frame["source_row"].tolist())) if totals else [])
    reading.sheets.append({"name": name, "rows": len(frame), "first_row": offset, "header_row": reading.header_row,
                           "headers": reading.headers, "positions": reading.positions, "ignored": reading.ignored})
    return frame


SHEET_ROWS = 1_000_000  # a workbook read sheet by sheet: the k-th sheet read (from 0) numbers its rows from k * SHEET_ROWS


def sheet_row(row: int, sheets: list[dict] | None) -> tuple[str | None, int]:
    """The sheet and Excel row a ``source_row`` stands for (sheets: ``df.attrs["sheets"]``).

    >>> sheet_row(1_000_007, [{"name": "Partner A", "first_row": 0}, {"name": "Partner B", "first_row": 1_000_000}])
    ('Partner B', 7)
    >>> sheet_row(7, None)
    (None, 7)
    """
    if not sheets:
        return None, int(row)
    k = min(int(row) // SHEET_ROWS, len(sheets) - 1)
    return sheets[k]["name"], int(row) - sheets[k]["first_row"]


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
        return [("warning", f"sheet skipped: '{name}' ({_short(why, 120)})") for name, why, partial in skipped
                if partial]
    return [("info", "sheets read: " + ", ".join(f"'{s['name']}' ({s['rows']} rows)" for s in read)),
            *(("warning" if partial else "info", f"sheet skipped: '{name}' ({_short(why, 120)})")
              for name, why, partial in skipped)]


def where(frame: pd.DataFrame, rows: pd.Series) -> pd.Series:
    """How a message names rows of ``frame``'s tracker: "row 7", or "sheet 'Partner B', row 7"
    when several sheets were read (``frame.attrs["sheets"]``)."""
    sheets = frame.attrs.get("sheets") or []
    if len(sheets) < 2:
        return "row " + rows.astype("int64").astype(str)
    named = [sheet_row(row, sheets) for row in rows.to_numpy()]
    return pd.Series([f"sheet '{name}', row {row}" for name, row in named], index=rows.index, dtype="str")


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
            reason = _reason(exc)
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
        raise InputError(f"cannot read workbook ({_reason(exc)})", file=path) from None


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
        row, column = int(ref.group(2)) - 1, _column_index(ref.group(1).decode())
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
    return [(int(r0) - 1, _column_index(c0.decode()), int(r1) - 1, _column_index(c1.decode()))
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


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _frame_from_rows(rows: list[list], mapping: dict[int, str], first_row: int, *, header: list | None = None,
                     file: Path | None = None, sheet: str | None = None,
                     numbers: list[int] | None = None) -> pd.DataFrame:
    columns = {}
    lengths = set(map(len, rows))
    if len(lengths) == 1 and min(lengths) > max(mapping, default=0):  # a sheet's rows: one transpose, in C
        transposed = list(zip(*rows))
        cells_of = transposed.__getitem__
    else:  # CSV records may be ragged
        cells_of = lambda position: [row[position] if position < len(row) else None for row in rows]  # noqa: E731
    for position, field in mapping.items():
        cells = cells_of(position)
        text_only = set(map(type, cells)) <= {str, type(None)}
        texts = filter(None, cells) if text_only else (c for c in cells if isinstance(c, str))
        if max(map(len, texts), default=0) > MAX_CELL_CHARS:
            long = next(i for i, c in enumerate(cells) if isinstance(c, str) and len(c) > MAX_CELL_CHARS)
            row = numbers[long] if numbers else first_row + long
            raise cell_too_long(len(cells[long]), file=file, sheet=sheet, row=row,
                                column=str(header[position]) if header else field)
        if field in RAW_VALUE_FIELDS:
            columns[field] = pd.Series([_blank_to_none(c) for c in cells], dtype="object")
        elif text_only:  # trimmed in Arrow, as a CSV's
            columns[field] = _texts(cells)
        else:
            columns[field] = pd.Series([_cell_text(c) for c in cells], dtype="str")
    frame = pd.DataFrame(columns)
    frame.insert(0, "source_row", pd.RangeIndex(first_row, first_row + len(rows), dtype="int64"))
    return _finish(frame)


def _texts(cells) -> pd.Series:
    """Text cells (str or None) as a text column, trimmed and blank as missing, as ``_cell_text``
    gives them one by one (Arrow's white space is Python's, tests/read/test_tracker.py checks).

    >>> _texts([" SME ", "", None, "\u00a0"]).tolist()
    ['SME', nan, nan, nan]
    """
    import pyarrow as pa

    return _trimmed(pa.array(cells, type=pa.large_string())).to_pandas(types_mapper=_str_dtype)


def _cell_text(cell: object) -> str | None:
    if cell is None or cell == "":
        return None
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    elif isinstance(cell, dt.datetime) and cell.time() == dt.time(0):
        cell = cell.date()
    text = " ".join(str(cell).split()) if not isinstance(cell, str) else cell.strip()
    return text or None


def _blank_to_none(cell: object) -> object:
    if isinstance(cell, str):
        return cell.strip() or None
    return cell


# --- csv ---------------------------------------------------------------------------------

HEAD_BYTES = 1 << 16  # bytes that decide the encoding (when they can) and the delimiter
HEADER_SCAN_CHARS = 1 << 24  # characters read at most while looking for the header row
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


class _Fallback(Exception):
    pass


class _NotUtf8(Exception):
    pass


def _read_csv(path: Path) -> pd.DataFrame:
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    encoding = guess_encoding(head)
    delimiter = sniff_delimiter(head.decode(encoding or "latin-1", errors="replace").split("\n")[:HEADER_SCAN_ROWS])
    if encoding is None:  # not UTF-8 from the start: the whole file decides
        encoding = _legacy_encoding(path.read_bytes(), path, delimiter)
    try:
        rows, lines = _header_rows(path, encoding, delimiter)
    except UnicodeDecodeError:  # a byte that is not UTF-8 after the sample
        if encoding not in ("utf-8", "utf-8-sig"):
            _utf8_bytes(path, encoding, delimiter)  # raises InputError with the row
            raise
        encoding = _legacy_encoding(path.read_bytes(), path, delimiter)
        rows, lines = _header_rows(path, encoding, delimiter)
    index, mapping = find_header(rows, file=path)
    _check_cell_sizes(rows[:index + 1], first_row=1, file=path)  # rows below: where they are read
    read = dict(index=index, skip=lines[index], mapping=mapping, delimiter=delimiter, header=rows[index])
    try:
        try:
            return _read_csv_arrow(path, encoding=encoding, **read)
        except _NotUtf8:
            encoding = _legacy_encoding(path.read_bytes(), path, delimiter)
            if encoding == "utf-8":  # the file is UTF-8 after all: let the careful reader say what is wrong
                raise _Fallback from None
            return _read_csv_arrow(path, encoding=encoding, **read)
    except _Fallback:
        return _read_csv_python(path, encoding=encoding, **read)


def _header_rows(path: Path, encoding: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """The first CSV records (as many as a header may sit below) and, for each, the physical lines
    read up to its end: the header's record index is its row, its line count what the fast reader skips."""
    rows, lines = [], []
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(_bounded_lines(handle, HEADER_SCAN_CHARS), delimiter=delimiter)
        try:
            for row in reader:
                rows.append(row)
                lines.append(reader.line_num)
                if len(rows) == HEADER_SCAN_ROWS:
                    break
        except csv.Error as exc:
            raise _csv_error(exc, file=path, row=len(rows) + 1) from None
    return rows, lines


def _bounded_lines(handle, budget: int):
    """The file's lines while their total length stays within the budget (a hostile first line is not read whole)."""
    while budget > 0:
        line = handle.readline(budget)
        if not line or (len(line) == budget and not line.endswith(("\n", "\r"))):
            return
        budget -= len(line)
        yield line


def _csv_error(exc: csv.Error, **where) -> InputError:
    if "field larger than field limit" in str(exc):
        return cell_too_long(None, **where)
    return InputError(f"cannot parse CSV ({exc})", **where)


def _read_csv_arrow(path, *, index, skip, mapping, delimiter, header, encoding) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(len(header))]
    wanted = [names[i] for i in mapping]
    # Read as plain texts (pandas' own storage, so no copy on the way to the frame), each column
    # trimmed in Arrow kernels. Nothing is hashed here: the steps that need a column's distinct
    # values factorise it once (distinct.py), and a column of a million distinct names is worked row by row.
    utf8 = encoding in ("utf-8", "utf-8-sig")  # others are decoded here, so Arrow only ever reads UTF-8
    source = path if utf8 else pa.BufferReader(_utf8_bytes(path, encoding, delimiter))
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(skip_rows=skip, column_names=names, encoding="utf8",
                                           block_size=CSV_BLOCK_SIZE),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted, column_types={n: pa.large_string() for n in wanted}, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True))  # only empty cells are missing
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) and utf8:
            raise _NotUtf8 from None
        raise _Fallback from None
    first_row, rows = index + 2, table.num_rows
    wanted_fields = _current().fields
    read = {f: p for p, f in mapping.items() if wanted_fields is None or f in wanted_fields}
    others = {f: table.column(f"c{p}") for p, f in mapping.items() if f not in read}
    columns = [table.column(f"c{position}") for position in read.values()]
    del table
    parallel = parallel_map if rows >= PARALLEL_ROWS else map  # columns are independent
    texts = dict(zip(read, parallel(_trimmed, columns)))
    del columns
    long = {f: _trimmed(c) for f, c in others.items() if _max_bytes(c) > MAX_CELL_CHARS}  # refused all the same
    _check_arrow_sizes({**texts, **long}, header, {p: f for p, f in mapping.items() if f in read or f in long},
                       first_row, path)
    source_row = np.arange(first_row, first_row + rows, dtype="int64")
    filled = _filled_rows(list(texts.values()), rows)
    if filled is not None and others:  # blank in the fields read: a row all the same if another column is filled
        blank = np.flatnonzero(~filled)
        found = np.zeros(len(blank), dtype=bool)
        for column in others.values():
            found |= _valid(_trimmed(column.take(pa.array(blank))))
        filled[blank] = found
        filled = None if filled.all() else filled
    del others
    if filled is not None:  # blank rows: dropped here
        mask = pa.array(filled)
        texts = {field: t.filter(mask) for field, t in texts.items()}
        source_row = source_row[filled]
    # A big tracker's columns of repeating texts are hashed here, on threads, for the steps that
    # need their distinct values (distinct.factorize finds the codes); the others are not hashed.
    coded = dict(zip(texts, parallel(_codes_if_repeating, list(texts.values())))) if rows >= PARALLEL_ROWS else {}
    columns = {"source_row": source_row, **{f: t.to_pandas(types_mapper=_str_dtype) for f, t in texts.items()}}
    del texts
    frame = _finish(pd.DataFrame(columns), blank_rows=False)
    for field, found in coded.items():
        if found is not None:
            remember(frame[field], found[0], found[1].to_pandas(types_mapper=_str_dtype))
    return frame


def _codes_if_repeating(texts) -> tuple[np.ndarray, object] | None:
    """Codes per row (-1 where missing) and distinct texts of a column whose texts repeat (judged
    on its first rows, ``distinct.distinct_at_start``), else None. Only speed depends on this.

    >>> import pyarrow as pa
    >>> codes, uniques = _codes_if_repeating(pa.chunked_array([["a", None, "a", "b"]], pa.large_string()))
    >>> codes.tolist(), uniques.to_pylist()
    ([0, -1, 0, 1], ['a', 'b'])
    """
    from cxc_analysis.core.coded import arrow_codes
    from cxc_analysis.core.distinct import distinct_at_start

    if texts.null_count == len(texts) or distinct_at_start(texts):
        return None
    coded = arrow_codes(texts)
    return coded.codes.astype(np.int32), coded.dictionary


def _filled_rows(texts: list, rows: int) -> np.ndarray | None:
    """Which rows have a value in some column, or None when all do (a column without blanks says so)."""
    if any(len(t) and t.null_count == 0 for t in texts):
        return None
    filled = np.zeros(rows, dtype=bool)
    for t in texts:
        filled |= _valid(t)
    return None if filled.all() else filled


def _valid(texts) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.is_valid(texts).to_numpy(zero_copy_only=False) if len(texts) else np.zeros(0, dtype=bool)


def _trimmed(column):
    """A text column without white space at either end, null where blank (Arrow kernels).

    >>> import pyarrow as pa
    >>> _trimmed(pa.chunked_array([[" SME ", "  ", None, "a"]], pa.large_string())).to_pylist()
    ['SME', None, None, 'a']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pc.utf8_trim_whitespace(column)
    blank = pc.equal(pc.binary_length(texts), 0)
    if pc.any(blank).as_py():
        texts = pc.if_else(blank, pa.scalar(None, texts.type), texts)
    return texts


def _str_dtype(arrow_type):
    import pyarrow as pa

    return pd.StringDtype("pyarrow", na_value=float("nan")) if arrow_type in (pa.string(), pa.large_string()) else None


def _max_bytes(texts) -> int:
    """The most bytes of any text in an Arrow column (0 if none)."""
    import pyarrow.compute as pc

    return (pc.max(pc.binary_length(texts)).as_py() or 0) if len(texts) else 0


def _check_arrow_sizes(texts: dict, header: list, mapping: dict, first_row: int, path: Path) -> None:
    """Refuse a cell longer than Excel allows (Arrow length kernels; characters counted only
    in a column with a cell of more bytes than the limit)."""
    import pyarrow.compute as pc

    for position, field in mapping.items():
        if _max_bytes(texts[field]) <= MAX_CELL_CHARS:
            continue  # no cell has more bytes than the limit has characters
        lengths = pc.utf8_length(texts[field])
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > MAX_CELL_CHARS:
            at = pc.index(lengths, longest).as_py()
            raise cell_too_long(int(longest), file=path, row=first_row + at, column=str(header[position]))


def _read_csv_python(path: Path, *, index, skip, mapping, delimiter, header, encoding) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:  # a byte that is not UTF-8 in a column the fast reader did not read
        text = raw.decode(_legacy_encoding(raw, path, delimiter))
    del raw
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, numbers = [], []
    try:
        for number, row in enumerate(reader, start=1):
            if number > index + 1:
                rows.append(row)
                numbers.append(number)  # the record, as Excel numbers rows (a quoted newline stays in its row)
    except csv.Error as exc:
        raise _csv_error(exc, file=path, row=len(numbers) + index + 2) from None
    frame = _frame_from_rows(rows, mapping, first_row=0, header=header, file=path, numbers=numbers)
    frame["source_row"] = pd.Series(numbers, dtype="int64").loc[frame.index].to_numpy()
    return frame


def _utf8_bytes(path: Path, encoding: str, delimiter: str) -> bytes:
    """The file re-encoded as UTF-8 (for UTF-16/32 and single-byte code page files)."""
    raw = path.read_bytes()
    try:
        return raw.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot decode as {encoding.upper()}: byte {exc.start:,} is cut or invalid; save the "
                         "file as UTF-8", file=path, row=_record_number(raw, exc.start, delimiter, encoding)) from None


def guess_encoding(head: bytes) -> str | None:
    """The encoding the first bytes show: a byte-order mark, UTF-16 without one, or UTF-8; None
    when they are not UTF-8 (then :func:`_legacy_encoding` looks at the whole file).

    >>> guess_encoding("Zoë".encode("utf-16")), guess_encoding(b"caf\\xc3\\xa9"), guess_encoding(b"caf\\xe9")
    ('utf-16', 'utf-8', None)
    """
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    zeros = (head[0::2].count(0), head[1::2].count(0))
    if max(zeros) > len(head) // 8:  # ASCII text in UTF-16: every other byte is zero
        return "utf-16-be" if zeros[0] > zeros[1] else "utf-16-le"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < HEAD_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        return None


def decode_csv(data: bytes, path: Path, delimiter: str = ",") -> str:
    """A whole CSV file's text, decoded as :func:`read_tracker` decodes a tracker (BOMs, UTF-16/32,
    UTF-8, else the code page its bytes prove); InputError with the row otherwise.

    >>> decode_csv("name\\nSociété".encode("cp1252"), Path("r.csv"))
    'name\\nSociété'
    """
    encoding = guess_encoding(data[:HEAD_BYTES]) or _legacy_encoding(data, path, delimiter)
    try:
        return data.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        if encoding in ("utf-8", "utf-8-sig"):
            return data.decode(_legacy_encoding(data, path, delimiter))
        raise InputError(f"cannot decode as {encoding.upper()}; save the file as UTF-8", file=path,
                         row=_record_number(data, exc.start, delimiter, encoding)) from None


def _legacy_encoding(data: bytes, path: Path, delimiter: str) -> str:
    """UTF-8 if the whole file is; else the single-byte code page its bytes and words prove
    (``encodings.decide``: Windows-1252, Windows-1250, ISO-8859-2, Windows-1257, Mac Roman, DOS 850/852,
    Windows-1251/1253), if the file holds no UTF-8 character at all; otherwise InputError with
    the row of a byte or word that cannot be read with certainty, naming the candidates."""
    from cxc_analysis.read import encodings

    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start
    if has_utf8_sequence(data):
        why = f"byte 0x{data[bad]:02X} is not UTF-8, though the rest of the file is (edited in two programs?)"
        raise InputError(f"cannot decode: {why}; save the file as UTF-8", file=path,
                         row=_record_number(data, bad, delimiter))
    verdict = encodings.decide(data)
    if verdict.encoding is not None:
        return verdict.encoding
    if not verdict.readings:
        why = f"byte 0x{data[bad]:02X} is no character in any code page tried (saved by an unusual program?)"
    elif verdict.few:
        best = verdict.readings[0]
        undefined = re.search(b"[" + re.escape(bytes(sorted(encodings.undefined_bytes("cp1252")))) + b"]", data)
        bad = undefined.start() if undefined else max(data.find(verdict.words[0]), 0)
        why = ((f"byte 0x{data[bad]:02X} is no character in UTF-8 or Windows-1252; " if undefined else "")
               + f"the file reads as {encodings.CODE_PAGES[best.encoding]} (\"{best.words[0]}\"), but too few "
               "words show that it is")
    else:
        why = (f"the bytes read as {encodings.describe(verdict)}, and nothing in the file tells which is "
               "meant")
        word = encodings.differing_word(verdict)
        bad = data.find(word) if word else bad
    raise InputError(f"cannot decode: {why}; save the file as UTF-8 (Excel: Save As, 'CSV UTF-8')", file=path,
                     row=_record_number(data, bad, delimiter))


def has_utf8_sequence(data: bytes) -> bool:
    """Whether ``data`` holds a UTF-8 encoded character (a lead byte and its continuation bytes):
    the candidate pairs found in NumPy, each checked with ``UTF8_SEQUENCE``.

    >>> has_utf8_sequence("Zoë".encode()), has_utf8_sequence("Zoë".encode("cp1252")), has_utf8_sequence(b"\\xf3\\xbf")
    (True, False, False)
    """
    array = np.frombuffer(data, dtype=np.uint8)
    pairs = np.flatnonzero((array[:-1] >= 0xC2) & (array[:-1] <= 0xF4) & (array[1:] >= 0x80) & (array[1:] <= 0xBF))
    return any(UTF8_SEQUENCE.match(data, int(at)) for at in pairs)


def _record_number(data: bytes, offset: int, delimiter: str, encoding: str = "latin-1") -> int:
    """The CSV record (row as Excel numbers it) holding the byte at ``offset``.

    >>> _record_number(b'a,"b\\nc"\\nd,\\xe9', 11, ",")
    2
    """
    prefix = data[:offset].decode(encoding, errors="replace")
    try:
        records = sum(1 for _ in csv.reader(io.StringIO(prefix, newline=""), delimiter=delimiter))
    except csv.Error:
        records = prefix.count("\n")
    return records + 1 if not prefix or prefix.endswith(("\n", "\r")) else max(records, 1)


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter of a CSV's first lines, as the reader chooses it: the most frequent of ; , tab."""
    counts = {d: sum(line.count(d) for line in lines) for d in (";", ",", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


# --- shared ------------------------------------------------------------------------------

def _check_cell_sizes(rows: list[list], first_row: int, *, file: Path, sheet: str | None = None) -> None:
    """Refuse a cell longer than Excel allows, in the rows read to find the header."""
    for number, row in enumerate(rows, start=first_row):
        for position, cell in enumerate(row):
            if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                raise cell_too_long(len(cell), file=file, sheet=sheet, row=number, column=column_letters(position))


def cell_too_long(length: int | None, **where) -> InputError:
    """The one message for a cell over the limit, CSV or workbook, tracker or register."""
    size = f"{length:,} characters" if length else f"over {MAX_CELL_CHARS:,} characters"
    return InputError(f"cell too long: {size}, a cell may hold at most {MAX_CELL_CHARS:,} (Excel's limit)", **where)


def column_letters(position: int) -> str:
    """Excel's letters for a 0-based column position.

    >>> column_letters(0), column_letters(27), column_letters(16383)
    ('A', 'AB', 'XFD')
    """
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _finish(frame: pd.DataFrame, blank_rows: bool = True) -> pd.DataFrame:
    """Drop blank rows (unless the caller did); add the optional fields the tracker lacks, as empty columns."""
    if blank_rows:
        filled = frame.drop(columns="source_row").notna().any(axis=1)
        if not filled.all():
            frame = frame.loc[filled].reset_index(drop=True)
    empty = {}  # one empty column of each kind, shared (columns are copied on write)
    for field in TRACKER_FIELDS:
        if field not in frame.columns:
            kind = "raw" if field in RAW_VALUE_FIELDS else "text"
            if kind not in empty:
                empty[kind] = (pd.Series(np.full(len(frame), None, dtype=object), index=frame.index, dtype=object)
                               if kind == "raw" else _empty_text(frame.index))
            frame[field] = empty[kind]
    return frame[["source_row", *(["sheet"] if "sheet" in frame.columns else []), *TRACKER_FIELDS]]


def _empty_text(index: pd.Index) -> pd.Series:
    import pyarrow as pa

    return pd.Series(_str_dtype(pa.string()).__from_arrow__(pa.nulls(len(index), pa.large_string())), index=index)


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]



