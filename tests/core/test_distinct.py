"""Working on distinct values gives exactly what working row by row gives."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxc_analysis.core.distinct import DIRECT_ROWS, factorize, first_rows, flags, mostly_distinct, per_distinct, recode

texts = st.lists(st.one_of(st.none(), st.sampled_from(["A", "a", " a ", "A  b", "b", "=x", "é", ""])), max_size=40)


@given(texts)
def test_per_distinct_flags_recode_match_row_by_row(values):
    series = pd.Series(values, dtype="str")
    strip = per_distinct(series, lambda u: u.str.replace(r"\s+", " ", regex=True).str.strip())
    pd.testing.assert_series_equal(strip, series.str.replace(r"\s+", " ", regex=True).str.strip())
    starts = flags(series, lambda u: u.str.startswith("="))
    assert starts.tolist() == series.str.startswith("=").fillna(False).astype(bool).tolist()
    folded = recode(series, lambda u: u.str.casefold())
    expected, _ = pd.factorize(series.str.casefold())
    assert (pd.Series(folded).groupby(expected).nunique() <= 1).all()
    assert (pd.Series(expected).groupby(folded).nunique() <= 1).all()  # and different texts stay apart
    assert ((folded == -1) == series.isna().to_numpy()).all()
    codes, uniques = factorize(strip)  # the codes remembered for the derived column are right
    assert [None if c < 0 else uniques[c] for c in codes] == [None if pd.isna(v) else v for v in strip]


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 2)), max_size=60), st.booleans())
def test_first_rows_matches_a_dictionary(pairs, huge):
    a = np.array([p[0] for p in pairs], dtype=np.int64)
    b = np.array([p[1] for p in pairs], dtype=np.int64)
    if huge:  # codes too large for one integer key: the lexsort path
        a = np.where(a >= 0, a * 2 ** 40, a)
        b = np.where(b >= 0, b * 2 ** 40, b)
    seen = {}
    expected = [seen.setdefault(key, i) for i, key in enumerate(zip(a.tolist(), b.tolist()))]
    assert first_rows(a, b).tolist() == expected
    seen = {}
    assert first_rows(a).tolist() == [seen.setdefault(key, i) for i, key in enumerate(a.tolist())]


@settings(max_examples=100)
@given(st.lists(st.tuples(st.integers(-1, 30), st.integers(-1, 30), st.integers(-1, 1)), min_size=1, max_size=80))
def test_first_rows_every_path(triples):
    """A table of first positions (few combinations), a sort (many), a lexsort (too many for one key)."""
    columns = [np.array(c, dtype=np.int64) for c in zip(*triples)]
    seen = {}
    expected = [seen.setdefault(key, i) for i, key in enumerate(triples)]
    assert first_rows(*columns).tolist() == expected
    spread = [np.where(c >= 0, c * 1000, c) for c in columns]  # more combinations than 4 x rows
    assert first_rows(*spread).tolist() == expected
    huge = [np.where(c >= 0, c * 2 ** 30, c) for c in columns]  # more than one int64 can number
    assert first_rows(*huge).tolist() == expected
    few = [np.clip(c, -1, 0) for c in columns]  # at most 8 combinations
    seen = {}
    assert first_rows(*few).tolist() == [seen.setdefault(key, i) for i, key in enumerate(zip(*(c.tolist() for c in few)))]


# --- the Arrow text kernels give exactly what Python's str methods give -----------------------

def test_casefold_list_matches_python_on_every_code_point():
    """CASEFOLD_NOT_LOWER holds exactly the characters whose casefold is not Arrow's lower case
    (if Python or Arrow change their Unicode tables, this fails and the list is regenerated)."""
    import sys

    import pyarrow as pa
    import pyarrow.compute as pc

    from cxc_analysis.core.distinct import CASEFOLD_NOT_LOWER

    chars = [chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF]
    lower = pc.utf8_lower(pa.array(chars)).to_pylist()
    differ = {c for c, low in zip(chars, lower) if c.casefold() != low}
    found = pc.match_substring_regex(pa.array(chars), "[" + CASEFOLD_NOT_LOWER + "]").to_pylist()
    assert {c for c, hit in zip(chars, found) if hit} == differ


TEXTS = st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(
    list(" \t\n\u00a0\u2003\u3000\x1c\x85-=+@1ab AßſΣςİﬁÉé\u13a0")), max_size=8)), max_size=40)


@settings(max_examples=200)
@given(TEXTS)
def test_arrow_text_kernels_match_python(values):
    from cxc_analysis.core.distinct import candidates, casefold, collapse_spaces

    series = pd.Series(values, dtype="str")
    expected = series.str.replace(r"\s+", " ", regex=True).str.strip()
    pd.testing.assert_series_equal(collapse_spaces(series), expected)
    pd.testing.assert_series_equal(casefold(series), series.str.casefold())
    assert candidates(series, "^[=+@-]").tolist() == \
        series.str.match(r"[=+@-]").fillna(False).astype(bool).tolist()


# --- big columns of mostly distinct values: worked row by row, not hashed first ---------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("repeat_share", [0.01, 0.5])
def test_first_rows_on_many_rows_matches_a_dictionary(seed, repeat_share):
    """From DIRECT_ROWS rows, rows whose widest code no other row has are their own first; the
    rest are compared among themselves. Both when few and when many rows repeat."""
    rng = np.random.default_rng(seed)
    n = 3 * DIRECT_ROWS
    visitor = rng.permutation(n).astype(np.int64)  # every visitor distinct ...
    again = rng.random(n) < repeat_share
    visitor[again] = rng.integers(0, 50, again.sum())  # ... but some visitors many times
    visitor[rng.random(n) < 0.01] = -1
    host, event = rng.integers(-1, 3, n), rng.integers(-1, 2, n)
    seen = {}
    expected = [seen.setdefault(key, i) for i, key in enumerate(zip(host.tolist(), visitor.tolist(), event.tolist()))]
    assert first_rows(host, visitor, event).tolist() == expected


def test_steps_on_a_big_column_of_distinct_texts_match_row_by_row():
    rng = np.random.default_rng(3)
    n = 2 * DIRECT_ROWS
    words = np.array(["Next", "  move", "=SUM(1)", "Straße", "STRASSE", "a\u00a0 b", "", "Łódź", "-1"], dtype=object)
    values = [None if rng.random() < 0.05 else f"{words[rng.integers(len(words))]} {i % (n // 3)} "
              f"{words[rng.integers(len(words))]}" for i in range(n)]
    series = pd.Series(values, dtype="str")
    assert mostly_distinct(series)
    spaces = per_distinct(series, lambda u: u.str.replace(r"\s+", " ", regex=True).str.strip())
    pd.testing.assert_series_equal(spaces, series.str.replace(r"\s+", " ", regex=True).str.strip())
    starts = flags(series, lambda u: u.str.startswith(("=", "-")), vectorised=True)
    assert starts.tolist() == series.str.startswith(("=", "-")).fillna(False).astype(bool).tolist()
    folded = recode(series, lambda u: u.str.casefold())
    expected, _ = pd.factorize(series.str.casefold())
    assert (pd.Series(folded).groupby(expected).nunique() == 1).all()
    assert (pd.Series(expected).groupby(folded).nunique() == 1).all()
    assert ((folded == -1) == series.isna().to_numpy()).all()
