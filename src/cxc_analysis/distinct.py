"""Distinct values of text columns, found once and shared along the pipeline.

A tracker's columns repeat few texts (entity types, statuses, hosts, events), so the
pipeline works on each distinct text once and maps the result back by code: a million
rows cost little more than a thousand. :func:`factorize` gives a column's codes and
distinct values; it remembers them for the column's (immutable) Arrow data, so a column
is hashed once however many steps look at it. The CSV loader, which dictionary-encodes
while parsing, hands its codes over with :func:`remember`; :func:`per_distinct` remembers
the codes of the column it derives.

Only speed depends on this memory: a column without remembered codes is factorised anew.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd

_KNOWN: dict[int, tuple[weakref.ref, np.ndarray, pd.Series]] = {}


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
    codes, uniques = pd.factorize(values)
    uniques = pd.Series(uniques, dtype=values.dtype if len(uniques) else None)
    remember(values, codes, uniques)
    return codes, uniques


def per_distinct(values: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``transform`` (text -> text, row by row) applied to each distinct value once, mapped back.

    >>> per_distinct(pd.Series(["a ", None, "a "], dtype="str"), lambda u: u.str.strip()).tolist()
    ['a', nan, 'a']
    """
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
    new_codes, new_uniques = pd.factorize(done)
    remember(out, np.append(new_codes, -1)[codes], pd.Series(new_uniques, dtype=done.dtype))
    return out


def flags(values: pd.Series, predicate: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """``predicate`` (text -> bool, row by row) on each distinct value once; false where missing.

    >>> flags(pd.Series(["ab", None, "b"], dtype="str"), lambda u: u.str.startswith("a")).tolist()
    [True, False, False]
    """
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
    codes, uniques = factorize(values)
    if not len(uniques):
        return codes
    keyed, _ = pd.factorize(key(uniques))
    return np.append(keyed, -1).astype(np.int32 if len(keyed) < 2 ** 31 else np.int64)[codes]


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
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        del key
        new = np.concatenate([[True], ordered[1:] != ordered[:-1]])
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
