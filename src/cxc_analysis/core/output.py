"""Writing outputs safely: atomically (temporary file, then rename), never under data/raw/,
and CSV cells that a spreadsheet would run as formulas neutralised."""

from __future__ import annotations

import csv
import functools
import io
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxc_analysis.core.config import DATA_RAW, NOTEBOOKS, notebook_files
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.text import starts_like_formula  # one test, shared with clean's formula_like_text finding


def check_writable(path: str | Path) -> Path:
    """Refuse any output under data/raw/ (raw data is never written)."""
    path = Path(path).resolve()
    if path == DATA_RAW.resolve() or DATA_RAW.resolve() in path.parents:
        raise InputError("refusing to write under data/raw/ (raw data is never changed); choose another --out",
                         file=path)
    return path


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = check_writable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and move the result into place."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


@contextmanager
def atomic_folder(folder: str | Path, *, last: Iterable[str] = (), stale: Iterable[str] = ()):
    """Yield a temporary folder beside ``folder``; when the block succeeds, its files replace
    ``folder``'s as a whole. A new folder is renamed into place in one step. In an existing one
    (which may hold a person's other files) the files named in ``last`` are removed first and
    renamed in last, so a reader never sees them describe other files; the files in ``stale``
    are removed. A failed or interrupted block leaves ``folder`` as it was; so does a failure
    while the files are put in place (the old ones are moved aside first and moved back).
    """
    folder = check_writable(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~current_umask())
        if not folder.exists():
            os.replace(tmp, folder)
            return
        last = [name for name in last if (tmp / name).exists()]
        _swap_files(tmp, folder, order=sorted(tmp.iterdir(), key=lambda p: p.name in last), stale=stale)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_files(tmp: Path, folder: Path, *, order: list[Path], stale: Iterable[str]) -> None:
    """Put the files ``order`` (in ``tmp``) into ``folder`` in that order, removing ``stale``:
    the old files they replace are moved aside first, and moved back if any step fails."""
    aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
    moved, placed = [], []
    try:
        for name in dict.fromkeys([*(item.name for item in order), *stale]):
            if (folder / name).exists() or (folder / name).is_symlink():
                os.replace(folder / name, aside / name)
                moved.append(name)
        for item in order:
            os.replace(item, folder / item.name)
            placed.append(item.name)
    except BaseException:
        for name in placed:
            (folder / name).unlink(missing_ok=True)
        for name in moved:
            os.replace(aside / name, folder / name)
        aside.rmdir()  # empty again (were a file not moved back, it would stay here, not be lost)
        raise
    shutil.rmtree(aside, ignore_errors=True)


class Terminated(BaseException):
    """SIGTERM received: raised like KeyboardInterrupt, so every cleanup runs."""


@contextmanager
def terminate_as_exception():
    """While the block runs, SIGTERM raises ``Terminated`` (and SIGINT KeyboardInterrupt), so
    temporary files and folders are removed by the code that made them. Only in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    interrupt = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, interrupt)


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells starting with = + - @ by an apostrophe, so spreadsheets show them as text.
    A categorical keeps its codes: its risky categories are prefixed (as text, when that would
    make two categories one).

    >>> neutralise_formulas(pd.DataFrame({"vo": ["=HYPERLINK(1)", "ok"]})).vo.tolist()
    ["'=HYPERLINK(1)", 'ok']
    >>> neutralise_formulas(pd.DataFrame({"t": pd.Categorical(["@a", "b", "@a"])})).t.cat.categories.tolist()
    ["'@a", 'b']
    """
    out = df.copy(deep=False)
    for position in range(out.shape[1]):
        values = out.iloc[:, position]
        safe = neutralised_categories(values) if isinstance(values.dtype, pd.CategoricalDtype) \
            else neutralised_text(values)
        if safe is not values:
            out.isetitem(position, safe)
    return out


def neutralised_text(values: pd.Series) -> pd.Series:
    """A text column with its formula-like cells prefixed (the column itself if it has none)."""
    if not pd.api.types.is_string_dtype(values):
        return values
    risky = starts_like_formula(values)
    return values.where(~risky, "'" + values) if risky.any() else values


def neutralised_categories(values: pd.Series) -> pd.Series:
    """A categorical column with its formula-like categories prefixed, codes kept; as text when
    a prefixed category would equal another one."""
    text = values.cat.categories.astype("str")
    risky = starts_like_formula(pd.Series(text))
    if not risky.any():
        return values
    renamed = values.cat.categories.astype(object).where(~risky, "'" + text)
    if renamed.is_unique:
        return values.cat.rename_categories(renamed)
    return neutralised_text(values.astype("str"))


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """CSV (utf-8 with BOM so Excel reads accents) with formula cells neutralised, atomically.
    The bytes are those of pandas' ``to_csv(index=False, encoding="utf-8-sig")``, but each
    column is turned into text by Arrow, a block of rows at a time (``csv_writer``); a frame with
    a column of a kind it does not handle is written by pandas itself.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> frame = pd.DataFrame({"id": [1, 2], "vo": ["=1+2", 'say "hi", then go'], "eur": [550.0, None]})
    >>> write_csv(frame, folder / "t.csv").read_bytes()
    b'\\xef\\xbb\\xbfid,vo,eur\\n1,\\'=1+2,550.0\\n2,"say ""hi"", then go",\\n'
    """
    safe = neutralise_formulas(df)
    writer = csv_writer(safe)
    if writer is None:
        return write_atomic(path, lambda tmp: safe.to_csv(tmp, index=False, encoding="utf-8-sig"))
    return write_atomic(path, writer)


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Parquet, atomically."""
    return write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


# --- CSV text in Arrow ----------------------------------------------------------------------
# pandas' to_csv turns every cell into a Python object for the csv module: 4-5 s for a million
# exchanges. The same text, made column by column in Arrow kernels and joined into lines there,
# is written as one buffer per block of rows. Each rule below is the one pandas (3.x) and the
# csv module follow for that kind of column; tests/core/test_csv_writer.py compares the bytes.

CSV_LINE_END = os.linesep  # pandas' default line terminator
CSV_BLOCK_CELLS = 1_000_000  # cells turned into text at a time: 50,000 rows of 20 columns
TEXT = pa.large_string()
# The pandas kinds of column written here (besides NumPy's); any other is left to pandas.
ARROW_WRITES = (pd.CategoricalDtype, pd.StringDtype, pd.BooleanDtype, pd.Float64Dtype, pd.Int8Dtype, pd.Int16Dtype,
                pd.Int32Dtype, pd.Int64Dtype, pd.UInt8Dtype, pd.UInt16Dtype, pd.UInt32Dtype, pd.UInt64Dtype)


def pandas_chunk_cells() -> int:
    """How many cells pandas' to_csv turns into text at a time: it decides a datetime column's
    format per chunk of rows."""
    from pandas.io.formats import csvs

    return getattr(csvs, "_DEFAULT_CHUNKSIZE_CELLS", 100_000)


@functools.cache
def csv_quoted_characters() -> str | None:
    """The characters for which Python's csv module, as pandas calls it (QUOTE_MINIMAL, double
    quotes doubled), puts a field in quotes; None if it follows another rule than "a field
    containing one of these characters" (then pandas writes the CSV).

    >>> set(',"\\n') <= set(csv_quoted_characters())
    True
    """
    def line(*fields: str) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=CSV_LINE_END).writerow(fields)
        return buffer.getvalue()

    quoted = ""
    for character in [chr(code) for code in range(256)] + ["\u2028", "\u2029", "\ufeff"]:
        field = f"a{character}b"
        written = line(field, "x")
        doubled = field.replace('"', '""')
        if written == f'"{doubled}",x{CSV_LINE_END}':
            quoted += character
        elif written != f"{field},x{CSV_LINE_END}":
            return None
    plain = line("", " a", "b ")
    return quoted if '"' in quoted and plain == f", a,b {CSV_LINE_END}" else None


def csv_writer(df: pd.DataFrame) -> Callable[[Path], None] | None:
    """A function writing ``df`` as ``df.to_csv(path, index=False, encoding="utf-8-sig")``
    would, or None if a column (or the header) is of a kind it does not turn into text."""
    quoted = csv_quoted_characters()
    if quoted is None or isinstance(df.columns, pd.MultiIndex) or df.shape[1] < 2 \
            or not all(isinstance(label, str) for label in df.columns):
        return None  # a single column's empty cells are quoted; other labels are written otherwise
    chunk_rows = (pandas_chunk_cells() // df.shape[1]) or 1
    columns = [csv_column(df.iloc[:, position], chunk_rows, quoted) for position in range(df.shape[1])]
    if any(column is None for column in columns):
        return None
    header = io.StringIO()
    csv.writer(header, lineterminator=CSV_LINE_END).writerow(df.columns)
    block_rows = max(1, CSV_BLOCK_CELLS // df.shape[1])

    def lines(start: int) -> pa.Array:
        return csv_lines([column(start, min(start + block_rows, len(df))) for column in columns])

    def write(path: Path) -> None:
        with open(path, "wb") as handle:
            handle.write(header.getvalue().encode("utf-8-sig"))
            for start in range(0, len(df), block_rows):
                write_text(handle, lines(start))

    return write


def csv_lines(cells: list[pa.Array]) -> pa.Array:
    """The rows of these text columns (no missing cells) as CSV lines, line end included."""
    last = pc.binary_join_element_wise(cells[-1], pa.scalar(CSV_LINE_END, TEXT), pa.scalar("", TEXT))
    return pc.binary_join_element_wise(*cells[:-1], last, pa.scalar(",", TEXT))


def write_text(handle, text: pa.Array) -> None:
    """Write the bytes of these texts, one after the other."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:text.offset + len(text) + 1]
    handle.write(memoryview(text.buffers()[2])[offsets[0]:offsets[-1]])


def csv_column(values: pd.Series, chunk_rows: int, quoted: str) -> Callable[[int, int], pa.Array] | None:
    """A function giving the CSV text (quoted as needed, missing as "") of rows start:stop of a
    column, or None for a kind of column this module does not write like pandas."""
    dtype = values.dtype
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and not isinstance(dtype, ARROW_WRITES):
        return None
    if isinstance(dtype, pd.CategoricalDtype):
        return categorical_column(values, quoted)
    if pd.api.types.is_bool_dtype(dtype):
        return blockwise(values, boolean_text)
    if pd.api.types.is_integer_dtype(dtype):
        return blockwise(values, lambda cells: pc.cast(cells, TEXT))
    if dtype == np.float64:
        return blockwise(values, lambda cells: float_text(cells, python=False), from_pandas=True)
    if dtype == pd.Float64Dtype():
        array = values.array
        return lambda start, stop: finish(float_text(pa.array(array[start:stop].to_numpy(np.float64, na_value=0.0),
                                                              mask=np.asarray(array[start:stop].isna())), python=True))
    if dtype.kind == "M" and isinstance(dtype, np.dtype):
        return datetime_column(values, chunk_rows)
    if is_text(values):
        return blockwise(values, lambda cells: quote_csv_text(cells.cast(TEXT), quoted), from_pandas=True)
    return None


def is_text(values: pd.Series | pd.Index) -> bool:
    """Whether every cell is text or missing (missing as pandas and Arrow both see it)."""
    if isinstance(values.dtype, pd.StringDtype):
        return True
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def blockwise(values: pd.Series, text: Callable[[pa.Array], pa.Array],
              from_pandas: bool = False) -> Callable[[int, int], pa.Array]:
    """Rows start:stop of a column as Arrow, turned into text by ``text``, missing as ""."""
    array = values.array if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) else values.to_numpy()
    return lambda start, stop: finish(text(arrow(array[start:stop], from_pandas)))


def arrow(cells, from_pandas: bool = False) -> pa.Array:
    """Cells as one Arrow array (a pandas column read from Parquet may be in several chunks).

    >>> arrow(pd.concat([pd.Series(["a"]), pd.Series(["b"])]).array).to_pylist()
    ['a', 'b']
    """
    array = pa.array(cells, from_pandas=from_pandas)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def finish(text: pa.Array) -> pa.Array:
    """Text with missing cells empty, as pandas writes them (na_rep="")."""
    return pc.fill_null(text.cast(TEXT), pa.scalar("", TEXT))


def boolean_text(cells: pa.Array) -> pa.Array:
    """True/False as Python writes them.

    >>> boolean_text(pa.array([True, False, None])).to_pylist()
    ['True', 'False', None]
    """
    return pc.if_else(cells, pa.scalar("True", TEXT), pa.scalar("False", TEXT))


def float_text(numbers: pa.Array, python: bool) -> pa.Array:
    """Floats as pandas writes them: Python's repr (``python``) or NumPy's str (the same text).
    Arrow writes the same shortest digits, but "550" for 550.0 and exponents at other sizes:
    from 1e-4 to 1e16 its text gets ".0" if it has no point; other values (and any Arrow text
    with an exponent in that range) are written by Python.

    >>> float_text(pa.array([550.0, 1100.5, -0.0, 1e16, 1e-05, float("inf"), None]), python=True).to_pylist()
    ['550.0', '1100.5', '-0.0', '1e+16', '1e-05', 'inf', None]
    """
    text = pc.cast(numbers, TEXT)
    size = pc.abs(numbers)
    plain = pc.and_(pc.or_(pc.and_(pc.greater_equal(size, 1e-4), pc.less(size, 1e16)), pc.equal(numbers, 0.0)),
                    pc.invert(pc.match_substring(text, "e")))
    pointed = pc.if_else(pc.match_substring(text, "."), text,
                         pc.binary_join_element_wise(text, pa.scalar(".0", TEXT), pa.scalar("", TEXT)))
    other = pc.and_(numbers.is_valid(), pc.invert(pc.fill_null(plain, False)))
    if not pc.any(other).as_py():
        return pointed
    rest = pc.filter(numbers, other).to_numpy(zero_copy_only=False)
    written = [repr(float(number)) for number in rest] if python else rest.astype(str).tolist()
    return pc.replace_with_mask(pointed, other, pa.array(written, TEXT))


def quote_csv_text(text: pa.Array, quoted: str) -> pa.Array:
    """Text in quotes (inner quotes doubled) where it holds one of the ``quoted`` characters.

    >>> quote_csv_text(pa.array(['a "b" c', "c,d", "e", None], TEXT), ',"').to_pylist()
    ['"a ""b"" c"', '"c,d"', 'e', None]
    """
    if not may_hold(text, quoted):
        return text
    pattern = "[" + "".join(f"\\x{{{ord(character):x}}}" for character in quoted) + "]"
    needs = pc.fill_null(pc.match_substring_regex(text, pattern), False)
    inner = pc.replace_substring(pc.filter(text, needs), '"', '""')
    quote = pa.scalar('"', TEXT)
    return pc.replace_with_mask(text, needs, pc.binary_join_element_wise(quote, inner, quote, pa.scalar("", TEXT)))


def may_hold(text: pa.Array, characters: str) -> bool:
    """Whether the bytes of these texts hold one of the characters (false: none of the texts
    does); one scan of their buffer, no look at each text.

    >>> may_hold(pa.array(["ab", "c,d"], TEXT), ","), may_hold(pa.array(["ab", "c,d"], TEXT).slice(0, 1), ",")
    (True, False)
    """
    if len(text) == 0:
        return False
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(text.buffers()[1], dtype=width)[text.offset:text.offset + len(text) + 1]
    data = bytes(memoryview(text.buffers()[2])[offsets[0]:offsets[-1]]) if text.buffers()[2] is not None else b""
    return any(character.encode() in data for character in characters)


def categorical_column(values: pd.Series, quoted: str) -> Callable[[int, int], pa.Array] | None:
    """A categorical of text: each category quoted once, then taken by the codes."""
    categories = values.cat.categories
    if len(categories) and not is_text(categories):  # no category: every cell missing
        return None
    names = quote_csv_text(pa.array(categories.to_numpy(dtype=object), TEXT), quoted)
    codes = values.cat.codes.to_numpy()
    return lambda start, stop: finish(names.take(pa.array(codes[start:stop], mask=codes[start:stop] < 0)))


NAT = np.iinfo(np.int64).min
PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
FOUR_DIGIT_YEARS = (-30610224000, 253402300800)  # seconds of 1000-01-01 and 10000-01-01


def datetime_column(values: pd.Series, chunk_rows: int) -> Callable[[int, int], pa.Array] | None:
    """Datetimes as pandas writes them, deciding per chunk of ``chunk_rows`` rows as it does:
    "YYYY-MM-DD" if every time of the chunk is midnight, else "YYYY-MM-DD HH:MM:SS" with as many
    decimals (3, 6 or 9) as the finest time of the chunk needs. None for years outside
    1000-9999 (pandas writes those unpadded) and units other than s, ms, us, ns."""
    unit, count = np.datetime_data(values.dtype)
    if unit not in PER_SECOND or count != 1:
        return None
    ticks = values.to_numpy().view(np.int64)
    seconds, nanos, valid = split_ticks(ticks, unit)
    if valid.any() and not (FOUR_DIGIT_YEARS[0] <= seconds[valid].min() and seconds[valid].max() < FOUR_DIGIT_YEARS[1]):
        return None
    chunk_timed = per_chunk(valid & ((seconds % 86400 != 0) | (nanos != 0)), chunk_rows, np.logical_or)
    decimals = np.select([nanos % 1000 != 0, nanos % 10**6 != 0, nanos != 0], [9, 6, 3], 0) * valid
    chunk_decimals = per_chunk(decimals, chunk_rows, np.maximum)
    del seconds, nanos, valid, decimals  # made again for each block: a block's worth of memory, not the column's

    def text(start: int, stop: int) -> pa.Array:
        seconds, nanos, valid = split_ticks(ticks[start:stop], unit)
        chunk = np.arange(start, stop) // chunk_rows
        written = pc.cast(pa.array((seconds // 86400).astype(np.int32), pa.date32()), TEXT)
        if chunk_timed[chunk].any():
            places = chunk_decimals[chunk]
            full = pc.cast(pa.array(seconds, pa.timestamp("s")), TEXT)
            if places.any():
                fraction = nanos // 10 ** (9 - places) + 10**places  # "1" and the digits
                point = pc.utf8_replace_slice(pc.cast(pa.array(fraction), TEXT), start=0, stop=1, replacement=".")
                full = pc.binary_join_element_wise(full, pc.if_else(pa.array(places > 0), point,
                                                                    pa.scalar("", TEXT)), pa.scalar("", TEXT))
            written = pc.if_else(pa.array(chunk_timed[chunk]), full, written)
        return finish(pc.if_else(pa.array(valid), written, pa.scalar(None, TEXT)))

    return text


def split_ticks(ticks: np.ndarray, unit: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole seconds (floored), the nanoseconds after them, and which ticks are not NaT.

    >>> [part.tolist() for part in split_ticks(np.array([-1500, 2000, NAT]), "ms")]
    [[-2, 2, -9223372036854776], [500000000, 0, 192000000], [True, True, False]]
    """
    per_second = PER_SECOND[unit]
    return ticks // per_second, ticks % per_second * (10**9 // per_second), ticks != NAT


def per_chunk(flags: np.ndarray, chunk_rows: int, combine: np.ufunc) -> np.ndarray:
    """``combine`` reduced over each chunk of ``chunk_rows`` rows.

    >>> per_chunk(np.array([0, 3, 0, 0, 9]), 2, np.maximum).tolist()
    [3, 0, 9]
    """
    if len(flags) == 0:
        return flags
    return combine.reduceat(flags, np.arange(0, len(flags), chunk_rows))


def copy_notebooks(folder: str | Path, *, replace: bool = False) -> list[Path]:
    """Copy the shipped notebooks (and nothing else) into ``folder`` for an analyst to open
    in JupyterLab; an existing notebook there is kept unless ``replace``. Returns the copies."""
    import shutil

    from cxc_analysis.core.output import check_writable, write_atomic

    folder = check_writable(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError("exists and is not a folder", file=folder)
    sources = notebook_files()
    if not sources:
        raise InputError("no notebooks shipped with this installation (a broken build?)", file=NOTEBOOKS)
    taken = [folder / p.name for p in sources if (folder / p.name).exists()]
    if taken and not replace:
        raise InputError(f"{len(taken)} notebook(s) already there, e.g. {taken[0].name}; keeping them "
                         "(use --force to replace them)", file=folder)
    return [write_atomic(folder / p.name, lambda tmp, p=p: shutil.copyfile(p, tmp)) for p in sources]
