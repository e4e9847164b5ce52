"""Distinct values of text columns, found once and shared along the pipeline.

A tracker's columns repeat few texts (entity types, statuses, hosts, events), so the
pipeline works on each distinct text once and maps the result back by code: a million
rows cost little more than a thousand. :func:`factorize` gives a column's codes and
distinct values; it remembers them for the column's (immutable) Arrow data, so a column
is hashed once however many steps look at it; :func:`per_distinct` remembers the codes of
the column it derives. A column whose values rarely repeat (a visitor's name, an exchange
number: :func:`mostly_distinct`) is not hashed at all where a step can work row by row in
Arrow kernels.

Only speed depends on this memory: a column without remembered codes is factorised anew.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd

_KNOWN: dict[int, tuple[weakref.ref, np.ndarray, pd.Series]] = {}
DIRECT_ROWS = 10_000  # from this many rows, ``recode`` keys a column without remembered codes row by row


def _arrow_data(values: pd.Series):
    array = values.array
    return array.__arrow_array__() if hasattr(array, "_pa_array") else None


def remember(values: pd.Series, codes: np.ndarray, uniques: pd.Series) -> None:
    """Note that ``values`` has these codes (-1 where missing) into these distinct ``uniques``."""
    data = _arrow_data(values)
    if data is None or len(codes) != len(values):
        return
    key = id(data)
    _KNOWN[key] = (weakref.ref(data, lambda _, key=key: _KNOWN.pop(key, None)), codes, uniques)


def factorize(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes (-1 where missing) and distinct values, in order of first appearance.

    >>> codes, uniques = factorize(pd.Series(["b", None, "a", "b"], dtype="str"))
    >>> codes.tolist(), uniques.tolist()
    ([0, -1, 1, 0], ['b', 'a'])
    """
    data = _arrow_data(values)
    known = _KNOWN.get(id(data)) if data is not None else None
    if known is not None and known[0]() is data:
        return known[1], known[2]
    if data is not None and data.null_count == len(data):  # an empty column (one the tracker lacks): nothing to hash
        return np.full(len(values), -1, dtype=np.int32), pd.Series([], dtype=values.dtype)
    codes, uniques = pd.factorize(values)
    codes = codes.astype(np.int32) if len(codes) < 2 ** 31 else codes
    uniques = pd.Series(uniques, dtype=values.dtype if len(uniques) else None)
    remember(values, codes, uniques)
    return codes, uniques


def per_distinct(values: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``transform`` (text -> text, row by row) applied to each distinct value once, mapped back.

    >>> per_distinct(pd.Series(["a ", None, "a "], dtype="str"), lambda u: u.str.strip()).tolist()
    ['a', nan, 'a']
    """
    if mostly_distinct(values):  # hashing a million distinct names would cost more than the transform
        done = transform(values)
        return pd.Series(done.array, index=values.index, name=values.name)
    codes, uniques = factorize(values)
    if not len(uniques):
        return values.copy()
    done = transform(uniques)
    if done.dtype == values.dtype and done.equals(uniques):
        return values.copy()  # nothing to change: shares the data (and the codes)
    data = _arrow_data(done)
    if data is not None:
        import pyarrow as pa

        taken = data.take(pa.array(codes, mask=codes < 0))
        out = pd.Series(done.dtype.__from_arrow__(taken), index=values.index, name=values.name)
    else:
        out = pd.Series(done.array.take(codes, allow_fill=True), index=values.index, name=values.name)
    if 2 * len(uniques) <= len(values):  # values repeat: their codes save later steps a hashing
        new_codes, new_uniques = pd.factorize(done)
        remember(out, np.append(new_codes, -1)[codes], pd.Series(new_uniques, dtype=done.dtype))
    return out


def flags(values: pd.Series, predicate: Callable[[pd.Series], pd.Series], vectorised: bool = False) -> np.ndarray:
    """``predicate`` (text -> bool, row by row) on each distinct value once; false where missing.
    ``vectorised``: the predicate is a kernel (no Python per value), so a column of mostly
    distinct values is tested row by row rather than hashed first.

    >>> flags(pd.Series(["ab", None, "b"], dtype="str"), lambda u: u.str.startswith("a")).tolist()
    [True, False, False]
    """
    if vectorised and mostly_distinct(values):
        return pd.Series(predicate(values)).fillna(False).to_numpy(dtype=bool) & values.notna().to_numpy()
    codes, uniques = factorize(values)
    if not len(uniques):
        return np.zeros(len(values), dtype=bool)
    found = pd.Series(predicate(uniques)).fillna(False).to_numpy(dtype=bool)
    return np.append(found, False)[codes]


def recode(values: pd.Series, key: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """Codes that are equal where ``key`` of the values is equal (-1 where missing).

    >>> recode(pd.Series(["A", "b", "a", None], dtype="str"), lambda u: u.str.casefold()).tolist()
    [0, 1, 0, -1]
    """
    if mostly_distinct(values):  # the keys of all rows, hashed once
        keyed, _ = pd.factorize(key(values))
        return keyed.astype(np.int32 if len(keyed) < 2 ** 31 else np.int64)
    codes, uniques = factorize(values)
    if not len(uniques):
        return codes
    keyed, _ = pd.factorize(key(uniques))
    return np.append(keyed, -1).astype(np.int32 if len(keyed) < 2 ** 31 else np.int64)[codes]


SAMPLE_ROWS = 20_000  # rows a column's repetition is judged on


def mostly_distinct(values: pd.Series) -> bool:
    """Whether a column (of DIRECT_ROWS rows or more, without remembered codes) holds mostly
    distinct values, judged on its first rows: then a per-value step costs less done on every
    row than hashing the column first. Only speed depends on this.

    >>> mostly_distinct(pd.Series([f"name {i}" for i in range(20_000)], dtype="str"))
    True
    >>> mostly_distinct(pd.Series(["SME", "Cluster"] * 10_000, dtype="str"))
    False
    """
    if len(values) < DIRECT_ROWS or _known(values):
        return False
    return distinct_at_start(arrow(values.iloc[:SAMPLE_ROWS]))


def distinct_at_start(data) -> bool:
    """Whether most of the first SAMPLE_ROWS texts of an Arrow array are distinct (the judgement
    of ``mostly_distinct``, for a column not yet in a frame).

    >>> import pyarrow as pa
    >>> distinct_at_start(pa.array([f"n{i}" for i in range(5_000)])), distinct_at_start(pa.array(["a", "b"] * 2_500))
    (True, False)
    """
    import pyarrow.compute as pc

    sample = data.slice(0, SAMPLE_ROWS)
    valid = len(sample) - sample.null_count
    return valid > DIRECT_ROWS // 10 and 2 * pc.count_distinct(sample).as_py() > valid


def _known(values: pd.Series) -> bool:
    """Whether the codes of ``values`` are remembered."""
    data = _arrow_data(values)
    known = _KNOWN.get(id(data)) if data is not None else None
    return known is not None and known[0]() is data


def first_rows(*codes: np.ndarray) -> np.ndarray:
    """For each row, the position of the first row with the same combination of codes
    (-1 counts as a value); a row is a repeat where that position is not its own.

    >>> first_rows(np.array([0, 1, 0, -1, -1]), np.array([2, 2, 2, -1, -1])).tolist()
    [0, 1, 0, 3, 3]
    >>> first_rows(np.array([-1, 1, 0, 1, -1])).tolist()
    [0, 1, 2, 1, 0]
    """
    if not len(codes[0]):
        return np.zeros(0, dtype=np.intp)
    n = len(codes[0])
    if n >= DIRECT_ROWS:  # most rows have a value no other row has (a visitor's name): each its own first
        widest = max(codes, key=lambda c: int(c.max()))
        repeated = np.bincount(widest + 1)[widest + 1] > 1
        if 4 * int(repeated.sum()) < n:
            out = np.arange(n, dtype=np.intp)
            rows = np.flatnonzero(repeated)  # every row sharing a repeated row's combination is among them
            out[rows] = rows[first_rows(*(c[rows] for c in codes))]
            return out
    sizes = [int(c.max()) + 2 for c in codes]
    combinations = float(np.prod(sizes, dtype=np.float64))
    if combinations < 2.0 ** 62:  # one integer key per combination
        key = np.zeros(n, dtype=np.int32 if combinations < 2.0 ** 31 else np.int64)
        for c, size in zip(codes, sizes):
            key *= size
            key += c
            key += 1
        if combinations <= 4 * n:  # few enough for a table of first positions
            position = np.int32 if n < 2 ** 31 else np.int64
            first = np.full(int(combinations), n, dtype=position)
            np.minimum.at(first, key, np.arange(n, dtype=position))
            return first[key]
        groups, _ = pd.factorize(key)  # hashed: no sort of a million keys
        del key
        # Groups are numbered in order of first appearance: a row starts its group where its number
        # exceeds every earlier one, and the starts, in order, are the groups' first rows.
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.greater(groups[1:], np.maximum.accumulate(groups)[:-1], out=new[1:])
        return np.flatnonzero(new)[groups]
    else:
        order = np.lexsort(codes[::-1])  # stable: equal combinations keep their row order
        new = np.zeros(n, dtype=bool)
        new[0] = True
        for c in codes:
            ordered = c[order]
            new[1:] |= ordered[1:] != ordered[:-1]
    del ordered
    starts = np.flatnonzero(new)  # sorting is stable: each run of equal keys starts at its first row
    out = np.empty(n, dtype=np.intp)
    out[order] = np.repeat(order[starts], np.diff(np.append(starts, n)))
    return out


def parallel_map(func: Callable, items: list) -> list:
    """``map`` on threads, one per core at most, results in order: for independent steps whose
    work is in Arrow, numpy or pandas kernels that release the GIL (big trackers only)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(len(items), os.cpu_count() or 1))) as pool:
        return list(pool.map(func, items))


# --- text kernels: vectorised (Arrow), for columns whose values rarely repeat ---------------

# Python's white space (str.isspace, regex \s), written for RE2: ASCII controls, \x1c-\x1f, \x85, Unicode Z*.
WHITE_SPACE = r"[\t-\r\x{1c}-\x{1f}\x{85}\p{Z}]+"
# A text whose white space is not already single spaces between words.
UNUSUAL_SPACE = (r"[\t-\r\x{1c}-\x{1f}\x{85}\p{Z}]{2}|^[\t-\r\x{1c}-\x{1f}\x{85}\p{Z}]|"
                 r"[\t-\r\x{1c}-\x{1f}\x{85}\p{Z}]$|"
                 r"[\t-\r\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]")


# The characters whose str.casefold differs from Arrow's utf8_lower (Python 3.11, Arrow 26; ß, ſ, ﬁ,
# final sigma, Cherokee...); tests/core/test_distinct.py checks the list against every code point.
CASEFOLD_NOT_LOWER = (r"\x{b5}\x{df}\x{130}\x{149}\x{17f}\x{1f0}\x{345}\x{390}\x{3b0}\x{3c2}\x{3d0}-\x{3d1}\x{3d5}-\x{3d6}\x{3f0}-\x{3f1}\x{3f5}\x{587}\x{13a0}-\x{13f5}\x{13f8}-\x{13fd}\x{1c80}-\x{1c89}\x{1e96}-\x{1e9b}\x{1e9e}\x{1f50}\x{1f52}\x{1f54}\x{1f56}\x{1f80}-\x{1faf}\x{1fb2}-\x{1fb4}\x{1fb6}-\x{1fb7}\x{1fbc}\x{1fbe}\x{1fc2}-\x{1fc4}\x{1fc6}-\x{1fc7}\x{1fcc}\x{1fd2}-\x{1fd3}\x{1fd6}-\x{1fd7}\x{1fe2}-\x{1fe4}\x{1fe6}-\x{1fe7}\x{1ff2}-\x{1ff4}\x{1ff6}-\x{1ff7}\x{1ffc}\x{a7cb}-\x{a7cc}\x{a7ce}\x{a7d2}\x{a7d4}\x{a7da}\x{a7dc}-\x{a7dd}\x{a7e2}\x{ab6c}-\x{ab6d}\x{ab70}-\x{abbf}\x{fb00}-\x{fb06}\x{fb13}-\x{fb17}\x{10d50}-\x{10d65}\x{16ea0}-\x{16eb8}\x{1df40}\x{1df48}\x{1df4a}\x{1df4d}\x{1df51}\x{1df68}\x{1df6a}\x{1df6c}\x{1df6e}\x{1df72}\x{1df74}\x{1df76}\x{1df78}\x{1df7a}\x{1df7c}\x{1df7e}")


def arrow(values: pd.Series):
    """The values as one Arrow string array."""
    if not isinstance(values.dtype, pd.StringDtype) or values.dtype.storage != "pyarrow":
        values = values.astype("str")
    return one_array(values.array.__arrow_array__())


def one_array(array):
    """An Arrow array in one piece: a chunked array's chunks combined (none: an empty array).

    >>> import pyarrow as pa
    >>> one_array(pa.chunked_array([["a"], ["b"]])).to_pylist(), len(one_array(pa.chunked_array([], pa.string())))
    (['a', 'b'], 0)
    """
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks() if array.num_chunks else pa.array([], type=array.type)
    return array


def _series(data, like: pd.Series) -> pd.Series:
    dtype = like.dtype if isinstance(like.dtype, pd.StringDtype) and like.dtype.storage == "pyarrow" \
        else pd.StringDtype("pyarrow", na_value=np.nan)
    return pd.Series(dtype.__from_arrow__(data), index=like.index, name=like.name)


def candidates(values: pd.Series, pattern: str) -> np.ndarray:
    """Where the RE2 ``pattern`` matches (false where missing), in one Arrow kernel.

    >>> candidates(pd.Series(["=1", "a", None], dtype="str"), "^[=+@-]").tolist()
    [True, False, False]
    """
    import pyarrow.compute as pc

    found = pc.fill_null(pc.match_substring_regex(arrow(values), pattern), False)
    return found.to_numpy(zero_copy_only=False)


def collapse_spaces(values: pd.Series) -> pd.Series:
    """Runs of white space (any Unicode space) as one space, none at either end, as
    ``.str.replace(r"\\s+", " ", regex=True).str.strip()`` gives; in Arrow kernels, rewriting
    only the texts that need it, so a million distinct names cost no Python per value.

    >>> collapse_spaces(pd.Series([" Next\\u00a0 Move\\t", "A B", None], dtype="str")).tolist()
    ['Next Move', 'A B', nan]
    """
    import pyarrow.compute as pc

    data = arrow(values)
    odd = pc.fill_null(pc.match_substring_regex(data, UNUSUAL_SPACE), False)
    if not pc.any(odd).as_py():
        return _series(data, values)
    fixed = pc.utf8_trim(pc.replace_substring_regex(pc.filter(data, odd), WHITE_SPACE, " "), " ")
    return _series(pc.replace_with_mask(data, odd, fixed), values)


def casefold(values: pd.Series) -> pd.Series:
    """``str.casefold`` of each value: Arrow's lower case, and Python's casefold only for the texts
    with a character whose case folding is not its lower case ("Straße" -> "strasse").

    >>> casefold(pd.Series(["ABC", "Straße", None], dtype="str")).tolist()
    ['abc', 'strasse', nan]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    data = arrow(values)
    # Every such character is outside ASCII: only the other texts are searched for one.
    other = pc.fill_null(pc.invert(pc.string_is_ascii(data)), False)
    if pc.any(other).as_py():
        search = pc.filter(data, other)
        found = pc.fill_null(pc.match_substring_regex(search, "[" + CASEFOLD_NOT_LOWER + "]"), False)
        other = pc.replace_with_mask(other, other, found)
    folded = pc.utf8_lower(data)
    if pc.any(other).as_py():
        fixed = pa.array([text.casefold() for text in pc.filter(data, other).to_pylist()], type=folded.type)
        folded = pc.replace_with_mask(folded, other, fixed)
    return _series(folded, values)
