"""Writing outputs safely: atomically (temporary file, then rename), never under data/raw/,
and CSV cells that a spreadsheet would run as formulas neutralised."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .config import DATA_RAW
from .errors import InputError
from .text import FORMULA_PREFIXES  # one list, shared with clean's formula_like_text finding


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
    are removed. A failed or interrupted block leaves ``folder`` as it was.
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
        for name in [*last, *stale]:
            (folder / name).unlink(missing_ok=True)
        for item in sorted(tmp.iterdir(), key=lambda p: p.name in last):
            os.replace(item, folder / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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

    >>> neutralise_formulas(pd.DataFrame({"vo": ["=HYPERLINK(1)", "ok"]})).vo.tolist()
    ["'=HYPERLINK(1)", 'ok']
    """
    out = {}
    for name, values in df.items():
        if pd.api.types.is_string_dtype(values) or isinstance(values.dtype, pd.CategoricalDtype):
            text = values.astype("str") if isinstance(values.dtype, pd.CategoricalDtype) else values
            risky = text.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
            out[name] = values.where(~risky, "'" + text) if risky.any() else values
        else:
            out[name] = values
    return pd.DataFrame(out, index=df.index)


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """CSV (utf-8 with BOM so Excel reads accents) with formula cells neutralised, atomically."""
    safe = neutralise_formulas(df)
    return write_atomic(path, lambda tmp: safe.to_csv(tmp, index=False, encoding="utf-8-sig"))


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Parquet, atomically."""
    return write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))
