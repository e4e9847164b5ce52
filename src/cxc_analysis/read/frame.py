"""The raw frame a reader builds from a sheet's or a CSV's rows: text columns plus ``source_row``, cells
checked for size, blank rows dropped; where a row is (sheet and row) when several sheets are read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from cxc_analysis.core.config import MAX_CELL_CHARS
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.schema import RAW_VALUE_FIELDS, TRACKER_FIELDS

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



def where(frame: pd.DataFrame, rows: pd.Series) -> pd.Series:
    """How a message names rows of ``frame``'s tracker: "row 7", or "sheet 'Partner B', row 7"
    when several sheets were read (``frame.attrs["sheets"]``)."""
    sheets = frame.attrs.get("sheets") or []
    if len(sheets) < 2:
        return "row " + rows.astype("int64").astype(str)
    named = [sheet_row(row, sheets) for row in rows.to_numpy()]
    return pd.Series([f"sheet '{name}', row {row}" for name, row in named], index=rows.index, dtype="str")



def column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1



def frame_from_rows(rows: list[list], mapping: dict[int, str], first_row: int, *, header: list | None = None,
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
    return finish_frame(frame)



def _texts(cells) -> pd.Series:
    """Text cells (str or None) as a text column, trimmed and blank as missing, as ``_cell_text``
    gives them one by one (Arrow's white space is Python's, tests/read/test_tracker.py checks).

    >>> _texts([" SME ", "", None, "\u00a0"]).tolist()
    ['SME', nan, nan, nan]
    """
    import pyarrow as pa

    return trimmed(pa.array(cells, type=pa.large_string())).to_pandas(types_mapper=str_dtype)



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



def trimmed(column):
    """A text column without white space at either end, null where blank (Arrow kernels).

    >>> import pyarrow as pa
    >>> trimmed(pa.chunked_array([[" SME ", "  ", None, "a"]], pa.large_string())).to_pylist()
    ['SME', None, None, 'a']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pc.utf8_trim_whitespace(column)
    blank = pc.equal(pc.binary_length(texts), 0)
    if pc.any(blank).as_py():
        texts = pc.if_else(blank, pa.scalar(None, texts.type), texts)
    return texts



def str_dtype(arrow_type):
    import pyarrow as pa

    return pd.StringDtype("pyarrow", na_value=float("nan")) if arrow_type in (pa.string(), pa.large_string()) else None



def check_cell_sizes(rows: list[list], first_row: int, *, file: Path, sheet: str | None = None) -> None:
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



def finish_frame(frame: pd.DataFrame, blank_rows: bool = True) -> pd.DataFrame:
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

    return pd.Series(str_dtype(pa.string()).__from_arrow__(pa.nulls(len(index), pa.large_string())), index=index)



def reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]
