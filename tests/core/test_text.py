"""The one text layer: keys, the amount parser and the date parser."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxc_analysis.core.parse import parse_amounts, parse_dates
from cxc_analysis.core.text import fold, key


def test_one_fold_for_every_name():
    assert fold("Łódź") == key("Łódź") == "lodz"
    assert fold("Straße") == "strasse" and fold("Ærø") == "aero"


@pytest.mark.parametrize("text, value", [
    ("1.500,00 €", 1500.0), ("1 500 €", 1500.0), ("1\u00a0500 €", 1500.0), ("1\u202f500,00 €", 1500.0),
    ("€1,500.00", 1500.0), ("1500", 1500.0), ("EUR 1.100,50", 1100.5), ("1100.5", 1100.5), ("12,5", 12.5),
    ("1.000.000", 1_000_000.0), ("1,000,000", 1_000_000.0), ("0,500", 0.5), ("-550", -550.0), (825.0, 825.0),
])
def test_amounts_that_say_how_they_are_written(text, value):
    result = parse_amounts(pd.Series([text], dtype="object"))
    assert result.values.tolist() == [value] and pd.isna(result.kind.iloc[0])


@pytest.mark.parametrize("text", ["1.500 €", "€1,100", "1.100", "EUR 1,100"])
def test_one_separator_and_three_digits_alone_is_ambiguous_not_a_guess(text):
    result = parse_amounts(pd.Series([text, None], dtype="object"))
    assert result.kind.tolist()[0] == "ambiguous" and pd.isna(result.values.iloc[0])
    assert "cannot tell whether" in result.problem.iloc[0]


def test_the_column_decides_the_decimal_separator():
    european = parse_amounts(pd.Series(["1.500 €", "1.100,00 €", "550 €"], dtype="object"))
    assert european.values.tolist() == [1500.0, 1100.0, 550.0]
    english = parse_amounts(pd.Series(["€1,100", "€1,500.00"], dtype="object"))
    assert english.values.tolist() == [1100.0, 1500.0]
    mixed = parse_amounts(pd.Series(["1,100", "1.100,00", "1,500.00"], dtype="object"))
    assert mixed.kind.tolist()[0] == "ambiguous" and mixed.values.tolist()[1:] == [1100.0, 1500.0]


@pytest.mark.parametrize("text", ["lots", "1.2.3", "1,00,0", "12.5.3,1", "€", "--5"])
def test_unreadable_amounts_are_reported(text):
    result = parse_amounts(pd.Series([text], dtype="object"))
    assert result.kind.tolist() == ["unreadable"] and pd.isna(result.values.iloc[0])


STYLES = {  # how people write an amount: thousands separator, decimal separator, currency
    "de": (".", ",", "{} €"), "fr": ("\u202f", ",", "{} €"), "fr-nbsp": ("\u00a0", ",", "{} €"),
    "en": (",", ".", "€{}"), "plain-eu": ("", ",", "{}"), "plain-en": ("", ".", "EUR {}"), "ch": ("'", ".", "{}"),
}


def written(cents: int, style: str, decimals: bool) -> str:
    thousands, decimal, currency = STYLES[style]
    whole = f"{cents // 100:,}".replace(",", thousands)
    return currency.format(whole + (f"{decimal}{cents % 100:02d}" if decimals else ""))


@given(st.integers(0, 10**9), st.sampled_from(sorted(STYLES)), st.booleans(), st.integers(0, 10**7))
def test_any_supported_style_reads_back_to_its_value_or_is_flagged(cents, style, decimals, other):
    text = written(cents if decimals else cents - cents % 100, style, decimals)
    alone = parse_amounts(pd.Series([text], dtype="object"))
    expected = (cents if decimals else cents - cents % 100) / 100
    if pd.isna(alone.values.iloc[0]):
        assert alone.kind.iloc[0] == "ambiguous"
    else:
        assert alone.values.iloc[0] == pytest.approx(expected)
    # beside a value of the same style that shows its decimal separator, it is never ambiguous
    column = parse_amounts(pd.Series([text, written(other * 100 + 1, style, True)], dtype="object"))
    assert column.values.iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize("value, expected", [
    (dt.datetime(2022, 9, 5), "2022-09-05"), (44809, "2022-09-05"), ("44809", "2022-09-05"),
    ("2022-09-05", "2022-09-05"), ("2022-09-05 00:00:00", "2022-09-05"), ("05.09.2022", "2022-09-05"),
    ("5/9/2022", "2022-09-05"), ("05-09-2022", "2022-09-05"), ("5. September 2022", "2022-09-05"),
    ("5 sept. 2022", "2022-09-05"), ("5 de septiembre de 2022", "2022-09-05"), ("5 settembre 2022", "2022-09-05"),
    ("5 september 2022", "2022-09-05"), ("5 de setembro de 2022", "2022-09-05"), ("September 5, 2022", "2022-09-05"),
    ("1er mars 2023", "2023-03-01"), ("1 mars 2023", "2023-03-01"), ("3. März 2023", "2023-03-03"), ("05/09/22", "2022-09-05"),
])
def test_dates_in_their_usual_forms(value, expected):
    result = parse_dates(pd.Series([value, "31/12/2022"], dtype="object"))  # a date that proves day-first
    got = result.values.iloc[0]
    assert (got.strftime("%Y-%m-%d") if not pd.isna(got) else None) == expected


def test_day_month_order_as_the_column_proves_it_else_ambiguous():
    alone = parse_dates(pd.Series(["05/09/2022", "05-09-2022", "05.09.2022"]))
    assert alone.kind.astype(object).where(alone.kind.notna(), None).tolist() == ["ambiguous", "ambiguous", None]
    assert pd.isna(alone.values.iloc[0]) and alone.values.iloc[2] == pd.Timestamp("2022-09-05")  # dots: day-first
    assert "5 September 2022 or 9 May 2022" in alone.problem.iloc[0].replace("05 ", "5 ").replace("09 ", "9 ")
    month_first = parse_dates(pd.Series(["05/09/2022", "12/31/2022"]))
    assert month_first.values.dt.strftime("%Y-%m-%d").tolist() == ["2022-05-09", "2022-12-31"]
    both = parse_dates(pd.Series(["05/09/2022", "12/31/2022", "31/12/2022"]))
    assert both.kind.iloc[0] == "ambiguous" and both.kind.iloc[1:].isna().all()
    assert both.values.dt.strftime("%Y-%m-%d").tolist()[1:] == ["2022-12-31", "2022-12-31"]


@pytest.mark.parametrize("value", ["9999-12-31", 1e12, "2262-04-12", 2958465, "1899-12-30", -5])
def test_out_of_range_dates_are_findings_not_crashes(value):
    result = parse_dates(pd.Series([value], dtype="object"))
    assert result.kind.tolist() == ["out_of_range"] and pd.isna(result.values.iloc[0])


def test_each_distinct_value_once_and_missing_stays_missing():
    result = parse_dates(pd.Series([None, "2022-09-05", None, "2022-09-05"], dtype="object"))
    assert result.values.isna().tolist() == [True, False, True, False]
    assert result.values.dtype == np.dtype("datetime64[ns]")


# --- columns of mostly distinct dates or amounts: plain ones read in Arrow, exactly as in Python --

def _spaced(rng, n, plain, odd):
    """n texts: mostly distinct plain ones, with the odd ones (and blanks) scattered among them."""
    values = [plain(i) for i in range(n)]
    for text in odd:
        values[int(rng.integers(n))] = text
    for _ in range(n // 100):
        values[int(rng.integers(n))] = None
    return pd.Series(values, dtype="str")


_ODD_DATES = st.one_of(
    st.sampled_from(["2023-02-30", "2023-02-29 10:00", "2024-02-29", "1999-12-31 23:59", "2101-01-01", "2100-12-31",
                     "0000-01-01", "2023-13-01", "2023-00-10", "05/09/2022", "13/09/2022", "09/13/2022",
                     "2023-1-5", "2023/01/05", "2023-01-05T10:00:00.123", "2023-01-05 7:05", "2023-01-05  10:00",
                     "2023-01-05 10", "٢٠٢٣-٠١-٠٥", "5 sept. 2022", "45000", "garbage", "2023-01-05 10:00:00Z"]),
    st.builds(lambda y, m, d, t: f"{y:04d}-{m:02d}-{d:02d}{t}", st.integers(1990, 2110), st.integers(0, 13),
              st.integers(0, 32), st.sampled_from(["", " 00:00", "T12:30:45", " 9:05:00.5"])))
_ODD_AMOUNTS = st.one_of(
    st.sampled_from(["1.100", "1,100", "1,5", "1.500,00 €", "€1,500.00", "007", "-0", "0.5", ".5", "5.",
                     "1100.555", "12.345.678", "abc", "1 100", "+12", "-12.50", "1e3", "١٢٣", "9999999999999999"]),
    st.builds(lambda whole, cents: f"{whole}.{cents}", st.integers(0, 10 ** 16), st.integers(0, 999)))


@settings(max_examples=25, deadline=None)
@given(st.lists(_ODD_DATES, max_size=25), st.integers(0, 2 ** 32 - 1))
def test_plain_dates_read_in_arrow_as_python_reads_them(odd, seed):
    from cxc_analysis.core.parse import PLAIN_DATE, _parse_dates, _plain_rows

    rng = np.random.default_rng(seed)
    base = np.datetime64("2021-01-01T00:00:00")
    pivotal = ["2023-02-30", "2023-02-30 10:00", "05/09/2022", "1999-12-31 23:59"]  # no day, ambiguous, too early
    column = _spaced(rng, 12_000, lambda i: str(base + np.timedelta64(int(rng.integers(10 ** 8)), "s")).replace("T", " "),
                     [*odd, *pivotal])
    assert _plain_rows(column, PLAIN_DATE) is not None  # the Arrow path is taken
    fast, slow = parse_dates(column), _parse_dates(column)
    pd.testing.assert_series_equal(fast.values, slow.values)
    assert fast.problem.astype(object).tolist() == slow.problem.astype(object).tolist()
    assert fast.kind.astype(object).tolist() == slow.kind.astype(object).tolist()


@settings(max_examples=25, deadline=None)
@given(st.lists(_ODD_AMOUNTS, max_size=25), st.integers(0, 2 ** 32 - 1), st.booleans())
def test_plain_amounts_read_in_arrow_as_python_reads_them(odd, seed, cents):
    from cxc_analysis.core.parse import PLAIN_AMOUNT, _parse_amounts, _plain_rows

    rng = np.random.default_rng(seed)
    pivotal = ["1.100", "1,100"]  # read by what the column's other values prove of its decimal separator
    column = _spaced(rng, 12_000, lambda i: f"{rng.uniform(0, 5000):.2f}" if cents else str(int(rng.integers(10 ** 7))),
                     [*odd, *pivotal])
    assert _plain_rows(column, PLAIN_AMOUNT) is not None  # the Arrow path is taken
    fast, slow = parse_amounts(column), _parse_amounts(column, set())
    pd.testing.assert_series_equal(fast.values, slow.values)
    assert fast.problem.astype(object).tolist() == slow.problem.astype(object).tolist()
    assert fast.kind.astype(object).tolist() == slow.kind.astype(object).tolist()
