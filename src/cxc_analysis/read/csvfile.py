"""CSV trackers: the encoding decided by evidence, the delimiter sniffed, the header found in the first
lines, the rows parsed by Arrow (or row by row for what Arrow cannot read)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from cxc_analysis.core.coded import arrow_codes
from cxc_analysis.core.config import HEADER_SCAN_ROWS, MAX_CELL_CHARS
from cxc_analysis.core.distinct import distinct_at_start, parallel_map, remember
from cxc_analysis.core.errors import InputError
from cxc_analysis.read import encodings
from cxc_analysis.read.frame import cell_too_long, check_cell_sizes, finish_frame, frame_from_rows, str_dtype, trimmed
from cxc_analysis.read.header import current_reading, find_header

HEAD_BYTES = 1 << 16  # bytes that decide the encoding (when they can) and the delimiter



HEADER_SCAN_CHARS = 1 << 24  # characters read at most while looking for the header row



BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))



class _Fallback(Exception):
    pass



class _NotUtf8(Exception):
    pass



def read_csv(path: Path) -> pd.DataFrame:
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
    check_cell_sizes(rows[:index + 1], first_row=1, file=path)  # rows below: where they are read
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
    wanted_fields = current_reading().fields
    read = {f: p for p, f in mapping.items() if wanted_fields is None or f in wanted_fields}
    others = {f: table.column(f"c{p}") for p, f in mapping.items() if f not in read}
    columns = [table.column(f"c{position}") for position in read.values()]
    del table
    parallel = parallel_map if rows >= PARALLEL_ROWS else map  # columns are independent
    texts = dict(zip(read, parallel(trimmed, columns)))
    del columns
    long = {f: trimmed(c) for f, c in others.items() if _max_bytes(c) > MAX_CELL_CHARS}  # refused all the same
    _check_arrow_sizes({**texts, **long}, header, {p: f for p, f in mapping.items() if f in read or f in long},
                       first_row, path)
    source_row = np.arange(first_row, first_row + rows, dtype="int64")
    filled = _filled_rows(list(texts.values()), rows)
    if filled is not None and others:  # blank in the fields read: a row all the same if another column is filled
        blank = np.flatnonzero(~filled)
        found = np.zeros(len(blank), dtype=bool)
        for column in others.values():
            found |= _valid(trimmed(column.take(pa.array(blank))))
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
    columns = {"source_row": source_row, **{f: t.to_pandas(types_mapper=str_dtype) for f, t in texts.items()}}
    del texts
    frame = finish_frame(pd.DataFrame(columns), blank_rows=False)
    for field, found in coded.items():
        if found is not None:
            remember(frame[field], found[0], found[1].to_pandas(types_mapper=str_dtype))
    return frame



def _codes_if_repeating(texts) -> tuple[np.ndarray, object] | None:
    """Codes per row (-1 where missing) and distinct texts of a column whose texts repeat (judged
    on its first rows, ``distinct.distinct_at_start``), else None. Only speed depends on this.

    >>> import pyarrow as pa
    >>> codes, uniques = _codes_if_repeating(pa.chunked_array([["a", None, "a", "b"]], pa.large_string()))
    >>> codes.tolist(), uniques.to_pylist()
    ([0, -1, 0, 1], ['a', 'b'])
    """

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
    frame = frame_from_rows(rows, mapping, first_row=0, header=header, file=path, numbers=numbers)
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


CSV_BLOCK_SIZE = 1 << 22  # bytes the Arrow CSV reader parses per block (blocks are parsed in parallel)



PARALLEL_ROWS = 100_000  # from this many rows, a CSV's columns are decoded on several threads


UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
