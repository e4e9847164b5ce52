"""Read a partner's tracker (xlsx or csv) into a raw frame of text columns + ``source_row``.

Finds the sheet that holds the exchanges and the header row below any title rows, maps
the headers a tracker uses onto the canonical field names, skips blank rows, and keeps the
row number a person sees in Excel or in the CSV file. Knows nothing of what labels mean.
"""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .config import HEADER_SCAN_ROWS
from .distinct import parallel_map, remember
from .errors import InputError

REQUIRED = ("host_org", "visiting_org", "vo_entity_type", "partnership", "status")
OPTIONAL = ("exchange_id", "event", "remarks", "ho_country", "ho_city", "vo_country", "vo_city",
            "start_date", "end_date", "amount_eur")
FIELDS = (*REQUIRED, *OPTIONAL)
RAW_VALUE_FIELDS = ("start_date", "end_date", "amount_eur")  # kept as the cell holds them (dates, numbers)

# The report's own headers: how messages name a field when the tracker's header is unknown.
DISPLAY = {"exchange_id": "Exchange no.", "host_org": "HO", "visiting_org": "VO",
           "vo_entity_type": "VO Type of entity", "partnership": "Inside/outside partnership",
           "event": "(Group) exchange", "status": "Status", "remarks": "Remarks", "ho_country": "HO country",
           "ho_city": "HO city", "vo_country": "VO country", "vo_city": "VO city", "start_date": "Start date",
           "end_date": "End date", "amount_eur": "Amount"}
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
CSV_BLOCK_SIZE = 1 << 22  # bytes the Arrow CSV reader parses per block (blocks are parsed in parallel)
PARALLEL_ROWS = 100_000  # from this many rows, a CSV's columns are decoded on several threads


class _Reading:
    """How this read finds its header (vocabulary, column map) and what it found (headers, ignored)."""

    def __init__(self, columns: dict[str, str] | None = None, vocabulary=None):
        from .vocabulary import load_vocabulary

        self.columns = dict(columns or {})
        self.vocabulary = vocabulary or load_vocabulary()
        self.headers: dict[str, str] = {}
        self.positions: dict[str, int] = {}
        self.header_row: int | None = None
        self.ignored: list[str] = []


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
    for position, text in enumerate(texts):
        if position in mapping or not text:
            continue
        field = reading.vocabulary.field_for(text)
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
    for cell in row:
        text = _cell_header(cell)
        field = reading.vocabulary.field_for(text) if text else None
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
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping = match_header(row, reading)
        if all(field in mapping.values() for field in REQUIRED):
            return _accept_header(row, index, mapping, reading, file, sheet)
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


def _accept_header(row, index, mapping, reading, file, sheet) -> tuple[int, dict[int, str]]:
    _check_column_map(row, reading, file, sheet)
    conflicts = header_conflicts(row, reading)
    if conflicts:
        field, texts = next(iter(conflicts.items()))
        raise InputError(f"two columns name {DISPLAY[field]} ({field}): {_quoted(texts)}; keep one, or say "
                         f"which with --columns (e.g. '{field}: {_short(texts[0])}')",
                         file=file, sheet=sheet, row=index + 1, column=texts[1])
    texts = [_cell_header(c) for c in row]
    reading.headers = {field: texts[position] for position, field in mapping.items()}
    reading.positions = {field: position for position, field in mapping.items()}
    reading.header_row = index + 1
    reading.ignored = [t for p, t in enumerate(texts) if t and p not in mapping]
    return index, mapping


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
        if field not in FIELDS:
            raise InputError(f"unknown field '{_short(str(field), 40)}' (fields: {', '.join(FIELDS)})", file=path)
        if not isinstance(header, (str, int, float)) or isinstance(header, bool) or not str(header).strip():
            raise InputError(f"{field}: expected the tracker's header as text", file=path)
        out[field] = str(header)
    return out


def read_tracker(path: str | Path, sheet: str | None = None, *, columns: dict[str, str] | None = None,
                 vocabulary=None) -> pd.DataFrame:
    """Read a tracker into ``source_row`` + one column per canonical field.

    Headers are read by meaning in the vocabulary's languages (``vocabulary``: a
    ``vocabulary.Vocabulary``, default the bundled one); ``columns`` maps fields to headers the
    vocabulary cannot know. Text cells are stripped (empty cells are missing); dates and amounts
    keep their cell values. ``df.attrs`` holds ``file``, ``sheet``, ``headers`` (field -> the
    tracker's own header) and ``ignored_columns`` (headers nothing maps).

    >>> df = read_tracker(DEFAULT_INPUT)  # doctest: +SKIP
    >>> df.loc[0, ["source_row", "host_org"]].tolist()  # doctest: +SKIP
    [4, 'NextMove']
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found" if not path.exists() else "not a file", file=path)
    suffix = path.suffix.lower()
    reading = _Reading(columns, vocabulary)
    token = _READING.set(reading)
    try:
        if suffix in EXCEL_SUFFIXES:
            frame = _read_workbook(path, sheet)
        elif suffix in CSV_SUFFIXES:
            frame = _read_csv(path)
        else:
            raise InputError(f"unsupported file type '{suffix}' (use .xlsx, .xls, .ods or .csv)", file=path)
    finally:
        _READING.reset(token)
    frame.attrs.update(file=str(path), headers=reading.headers, positions=reading.positions,
                       header_row=reading.header_row, ignored_columns=reading.ignored)
    return frame


# --- workbooks ---------------------------------------------------------------------------

def _read_workbook(path: Path, sheet: str | None) -> pd.DataFrame:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for corrupt files
        raise InputError(f"cannot read workbook ({_reason(exc)})", file=path) from None
    names = workbook.sheet_names
    if sheet is not None and sheet not in names:
        raise InputError(f"no sheet named '{sheet}' (sheets: {', '.join(names)})", file=path)
    candidates = [sheet] if sheet is not None else names
    first_error: InputError | None = None
    for name in candidates:
        try:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise InputError(f"cannot read sheet ({_reason(exc)})", file=path, sheet=name) from None
        rows = with_uncached_formulas(path, name, rows)
        try:
            index, mapping = find_header(rows, file=path, sheet=name)
        except InputError as exc:
            if sheet is not None or (first_error is None and exc.column is not None):
                first_error = exc
            continue
        frame = _frame_from_rows(rows[index + 1:], mapping, first_row=index + 2)
        frame.attrs["sheet"] = name
        return frame
    if first_error is not None:
        raise first_error
    raise InputError(f"no sheet holds an exchange table (sheets: {', '.join(names)}; expected headers "
                     "HO, VO, VO Type of entity, Inside/outside partnership, Status)", file=path)


_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_FORMULA = re.compile(rb"<f\b[^>]*>(.*?)</f>", re.S)
_VALUE = re.compile(rb"<v\b[^>]*>[^<]", re.S)


def with_uncached_formulas(path: Path, sheet: str, rows: list[list]) -> list[list]:
    """``rows`` (from A1) with the text of formula cells that have no cached value put back as
    "=FORMULA" (a workbook written by a script, e.g. pandas' to_excel of a name starting with
    "="), where the reader saw an empty cell: such text is kept and flagged, never lost.

    Only .xlsx/.xlsm; other workbooks are returned as they are.
    """
    import html
    import zipfile

    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return rows
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet)
            data = archive.read(part) if part else b""
    except (OSError, KeyError, zipfile.BadZipFile):
        return rows
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


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _sheet_part(archive, sheet: str) -> str | None:
    """The zip member holding a sheet, from workbook.xml and its relationships."""
    import posixpath
    import xml.etree.ElementTree as ET

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    workbook = ET.fromstring(archive.read("xl/workbook.xml"))
    ids = {s.get("name"): s.get(rel) for s in workbook.iter(f"{main}sheet")}
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels}
    target = targets.get(ids.get(sheet))
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _frame_from_rows(rows: list[list], mapping: dict[int, str], first_row: int) -> pd.DataFrame:
    columns = {}
    for position, field in mapping.items():
        cells = [row[position] if position < len(row) else None for row in rows]
        if field in RAW_VALUE_FIELDS:
            columns[field] = pd.Series([_blank_to_none(c) for c in cells], dtype="object")
        else:
            columns[field] = pd.Series([_cell_text(c) for c in cells], dtype="str")
    frame = pd.DataFrame(columns)
    frame.insert(0, "source_row", pd.RangeIndex(first_row, first_row + len(rows), dtype="int64"))
    return _finish(frame)


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

def _read_csv(path: Path) -> pd.DataFrame:
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    encoding = _guess_encoding(head)
    lines = head.decode(encoding, errors="replace").splitlines()[:HEADER_SCAN_ROWS]
    delimiter = _sniff_delimiter(lines)
    rows = list(csv.reader(lines, delimiter=delimiter))
    index, mapping = find_header(rows, file=path)
    try:
        return _read_csv_arrow(path, index, mapping, delimiter, len(rows[index]), encoding)
    except _Fallback:
        return _read_csv_python(path, index, mapping, delimiter)


class _Fallback(Exception):
    pass


def _read_csv_arrow(path, index, mapping, delimiter, width, encoding) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(width)]
    wanted = [names[i] for i in mapping]
    # Read as dictionaries: a tracker's columns repeat few texts, so trimming and blanking
    # work on each distinct text once, and the codes go on to ``clean`` (see distinct.py).
    text = pa.dictionary(pa.int32(), pa.large_string())
    for attempt in ("utf8", "cp1252") if encoding != "cp1252" else ("cp1252",):
        try:
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(skip_rows=index + 1, column_names=names, encoding=attempt,
                                               block_size=CSV_BLOCK_SIZE),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    include_columns=wanted, column_types={n: text for n in wanted}, null_values=[""],
                    strings_can_be_null=True, quoted_strings_can_be_null=True))  # only empty cells are missing
            break
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc) and attempt == "utf8":
                continue
            raise _Fallback from None
    first_row, rows = index + 2, table.num_rows
    parallel = parallel_map if rows >= PARALLEL_ROWS else map  # columns are independent
    found = list(parallel(_decode, [table.column(f"c{position}") for position in mapping]))
    del table
    pa.default_memory_pool().release_unused()  # the parser's buffers
    codes = {field: c for field, (c, _, _) in zip(mapping.values(), found)}
    uniques = {field: u for field, (_, u, _) in zip(mapping.values(), found)}
    texts = {field: t for field, (_, _, t) in zip(mapping.values(), found)}
    del found
    source_row = np.arange(first_row, first_row + rows, dtype="int64")
    filled = _filled_rows(list(codes.values()), rows)
    if filled is not None:  # blank rows: dropped here, codes and texts alike
        codes = {field: c[filled] for field, c in codes.items()}
        texts = {field: t.filter(pa.array(filled)) for field, t in texts.items()}
        source_row = source_row[filled]
    columns = {"source_row": source_row, **{f: t.to_pandas(types_mapper=_str_dtype) for f, t in texts.items()}}
    del texts
    frame = _finish(pd.DataFrame(columns), blank_rows=False)
    for field, c in codes.items():
        remember(frame[field], c, uniques[field].to_pandas(types_mapper=_str_dtype))
    return frame


def _filled_rows(codes: list[np.ndarray], rows: int) -> np.ndarray | None:
    """Which rows have a value in some column, or None when all do (a column without blanks says so)."""
    if any(len(c) and c.min() >= 0 for c in codes):
        return None
    filled = np.zeros(rows, dtype=bool)
    for c in codes:
        filled |= c >= 0
    return None if filled.all() else filled


def _decode(column) -> tuple[np.ndarray, object, object]:
    """Codes, distinct texts and the texts themselves (stripped, null where blank) of a dictionary column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, uniques = _distinct_texts(column)
    return codes, uniques, pc.take(uniques, pa.array(codes, mask=codes < 0))


def _distinct_texts(column) -> tuple[np.ndarray, object]:
    """Codes per row (-1 where blank) and the distinct stripped texts of a dictionary-read column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dictionaries = [chunk.dictionary for chunk in column.chunks]
    texts = pa.concat_arrays(dictionaries) if dictionaries else pa.array([], pa.large_string())
    texts = pc.utf8_trim_whitespace(texts)
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.large_string()), texts)
    encoded = pc.dictionary_encode(texts)  # " SME " and "SME" become one text
    recode = pa.array(np.append(encoded.indices.fill_null(-1).to_numpy(), -1).astype(np.int32))
    parts, offset = [], 0
    for chunk, dictionary in zip(column.chunks, dictionaries):  # Arrow kernels: no numpy temporaries
        parts.append(recode.take(pc.fill_null(pc.add(chunk.indices.cast(pa.int32()), offset), len(recode) - 1)))
        offset += len(dictionary)
    codes = pa.chunked_array(parts, pa.int32()).combine_chunks().to_numpy()
    return codes, encoded.dictionary


def _str_dtype(arrow_type):
    import pyarrow as pa

    return pd.StringDtype("pyarrow", na_value=float("nan")) if arrow_type in (pa.string(), pa.large_string()) else None


def _read_csv_python(path: Path, index: int, mapping: dict[int, str], delimiter: str) -> pd.DataFrame:
    raw = path.read_bytes()
    text = raw.decode(_guess_encoding(raw))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, numbers = [], []
    try:
        for number, row in enumerate(reader, start=1):
            if number > index + 1:
                rows.append(row)
                numbers.append(number)  # the record, as Excel numbers rows (a quoted newline stays in its row)
    except csv.Error as exc:
        raise InputError(f"cannot parse CSV ({exc})", file=path, row=reader.line_num) from None
    frame = _frame_from_rows(rows, mapping, first_row=0)
    frame["source_row"] = pd.Series(numbers, dtype="int64").loc[frame.index].to_numpy()
    return frame


def _guess_encoding(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            data.decode(encoding)
            return encoding
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig" and exc.start > len(data) - 4 and len(data) == 1 << 16:
                return encoding  # a multi-byte character cut at the end of the sample
    return "latin-1"


def _sniff_delimiter(lines: list[str]) -> str:
    counts = {d: sum(line.count(d) for line in lines) for d in (";", ",", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


# --- shared ------------------------------------------------------------------------------

def _finish(frame: pd.DataFrame, blank_rows: bool = True) -> pd.DataFrame:
    """Drop blank rows (unless the caller did); add the optional fields the tracker lacks, as empty columns."""
    if blank_rows:
        filled = frame.drop(columns="source_row").notna().any(axis=1)
        if not filled.all():
            frame = frame.loc[filled].reset_index(drop=True)
    empty = {}  # one empty column of each kind, shared (columns are copied on write)
    for field in FIELDS:
        if field not in frame.columns:
            kind = "raw" if field in RAW_VALUE_FIELDS else "text"
            if kind not in empty:
                empty[kind] = (pd.Series(np.full(len(frame), None, dtype=object), index=frame.index, dtype=object)
                               if kind == "raw" else _empty_text(frame.index))
            frame[field] = empty[kind]
    return frame[["source_row", *FIELDS]]


def _empty_text(index: pd.Index) -> pd.Series:
    import pyarrow as pa

    return pd.Series(_str_dtype(pa.string()).__from_arrow__(pa.nulls(len(index), pa.large_string())), index=index)


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


# --- small settings files: declared in settings.py, importable from here too -------------

from .settings import read_targets, read_yaml, targets_for  # noqa: E402,F401
