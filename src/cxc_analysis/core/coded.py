"""Columns held as codes into their distinct texts (``Coded``): a million rows of a few hundred names
cost an integer array and an Arrow dictionary; the helpers take, map, recode and join them."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from cxc_analysis.core.distinct import one_array


class Coded(NamedTuple):
    """A column of texts as integer codes into its distinct texts: ``dictionary`` (an Arrow
    string array) at ``codes`` (int64, -1 where missing). A million rows of a few dozen
    countries cost one integer array, not a million Python strings."""

    codes: np.ndarray
    dictionary: object



def arrow_codes(values) -> Coded:
    """A column (a Series, an Arrow array or a list) as :class:`Coded`, in Arrow kernels where the
    column is Arrow-backed. A value that is not a text is missing, as in ``fold_many``.

    >>> c = arrow_codes(pd.Series(["NL", None, "FR", "NL"], dtype="str"))
    >>> c.codes.tolist(), c.dictionary.to_pylist()
    ([0, -1, 1, 0], ['NL', 'FR'])
    """
    import pyarrow as pa
    import pyarrow.compute as pc


    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        array = pa.array(values.array)
    else:
        array = arrow_strings(values)
    encoded = pc.dictionary_encode(one_array(array))
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    return Coded(codes, encoded.dictionary.cast(pa.string()))


def coded(values: pd.Series) -> Coded:
    """A column as ``text.Coded`` (any value not missing read as text, as ``astype("str")``).

    >>> c = coded(pd.Series(["NL", 5, None, "NL"], dtype="object"))
    >>> c.codes.tolist(), c.dictionary.to_pylist()
    ([0, 1, -1, 0], ['NL', '5'])
    """
    import pyarrow as pa

    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = values.cat.categories
        texts = [c if isinstance(c, str) else str(c) for c in categories]
        return Coded(values.cat.codes.to_numpy().astype(np.int64), pa.array(texts, type=pa.string()))
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        values = values.astype("str")
    return arrow_codes(values)



def at(coded: Coded, positions: np.ndarray) -> Coded:
    """A ``Coded`` column (the register's) at ``positions``; missing where the position is -1."""
    return Coded(np.append(coded.codes, -1)[positions], coded.dictionary)



def mapped(coded: Coded, texts: list) -> Coded:
    """Each distinct text replaced by ``texts`` (None: missing), the result's texts distinct again.

    >>> import pyarrow as pa
    >>> mapped(Coded(np.array([0, 1, -1]), pa.array(["NL", "Netherlands"])), ["NL", "NL"]).codes.tolist()
    [0, 0, -1]
    """
    import pyarrow as pa

    codes, distinct = pd.factorize(pd.Series(list(texts), dtype="object"))
    return Coded(np.append(codes, -1)[coded.codes], pa.array(list(distinct), type=pa.string()))



def recode(coded: Coded, dictionary) -> np.ndarray:
    """The codes of ``coded`` as positions in ``dictionary`` (an Arrow array of distinct texts)."""
    import pyarrow.compute as pc

    found = pc.fill_null(pc.index_in(coded.dictionary, value_set=dictionary), -1)
    return np.append(found.to_numpy(zero_copy_only=False).astype(np.int64), -1)[coded.codes]



def union(a: Coded, b: Coded) -> tuple[np.ndarray, np.ndarray, object]:
    """Codes of two columns in one dictionary of their distinct texts (to compare or combine them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dictionary = pc.unique(pa.concat_arrays([a.dictionary, b.dictionary]))
    return recode(a, dictionary), recode(b, dictionary), dictionary


def arrow_strings(values):
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if isinstance(values, pd.Series):
        values = values.astype("object").to_numpy()
    return pa.array([v if isinstance(v, str) else None for v in values], type=pa.string())


def values(coded: Coded) -> np.ndarray:
    """The texts of a ``Coded`` column as an object array, None where missing."""
    return np.append(coded.dictionary.to_numpy(zero_copy_only=False).astype(object), None)[coded.codes]
