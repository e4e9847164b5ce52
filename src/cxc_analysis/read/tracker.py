"""Read a partner's tracker (xlsx or csv) into a raw frame of text columns + ``source_row``.

Finds the sheet that holds the exchanges and the header row below any title rows, maps
the headers a tracker uses onto the canonical field names, skips blank rows, and keeps the
row number a person sees in Excel or in the CSV file. Knows nothing of what labels mean.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxc_analysis.core.errors import InputError
from cxc_analysis.core.schema import TRACKER_FIELDS
from cxc_analysis.read.csvfile import read_csv
from cxc_analysis.read.frame import finish_frame
from cxc_analysis.read.header import READING, Reading
from cxc_analysis.read.workbook import read_workbook

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


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
    reading = Reading(columns, vocabulary)
    reading.fields = fields
    token = READING.set(reading)
    try:
        if suffix in EXCEL_SUFFIXES:
            frame = read_workbook(path, sheet)
        elif suffix in CSV_SUFFIXES:
            if sheet:
                raise InputError(f"a CSV file has no sheets (sheet '{sheet}' was asked for; leave the sheet out)",
                                 file=path)
            frame = read_csv(path)
        else:
            raise InputError(f"unsupported file type '{suffix}' (use .xlsx, .xls, .ods or .csv)", file=path)
    finally:
        READING.reset(token)
    if fields is not None:  # the other fields' values (a reader that read them all), as if the tracker lacked them
        frame = finish_frame(frame.drop(columns=[f for f in TRACKER_FIELDS if f not in fields]), blank_rows=False)
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


