"""The one amount parser and the one date parser: "1.500,00 €" is fifteen hundred euros everywhere, a
column decides its decimal separator and its day/month order from its own evidence, and a value that
cannot be read with certainty is a problem with its row, never a guess."""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from cxc_analysis.core.distinct import arrow, mostly_distinct
from cxc_analysis.core.text import fold


class Parsed(NamedTuple):
    """A parsed column: the values, and per row the problem (None, or a message) and its kind
    (``unreadable``, ``ambiguous`` or ``out_of_range``)."""

    values: pd.Series
    problem: pd.Series
    kind: pd.Series



_CURRENCY = re.compile(r"(?i)€|\beur(?:os?)?\b|\beuro\b")



_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007'’_]")



_NUMBER = re.compile(r"[+-]?[\d.,]+")



def _amount_reading(value: object) -> tuple:
    """How one cell can be read: ("number", x), ("either", x_if_dot_decimal, x_if_comma_decimal,
    separator) or ("none",); plus the decimal separator the cell proves ("." or "," or "")."""
    if isinstance(value, bool):
        return ("none",), ""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (("number", float(value)) if np.isfinite(value) else ("none",)), ""
    text = _SPACES.sub("", _CURRENCY.sub("", str(value)))
    if not _NUMBER.fullmatch(text) or not any(ch.isdigit() for ch in text):
        return ("none",), ""
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    dots, commas = text.count("."), text.count(",")
    if not dots and not commas:
        return ("number", sign * float(text)), ""
    if dots and commas:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        whole, _, fraction = text.rpartition(decimal)
        if text.count(decimal) != 1 or not fraction or not re.fullmatch(r"\d{1,3}(?:%s\d{3})+" % re.escape(thousands),
                                                                         whole):
            return ("none",), ""
        return ("number", sign * float(whole.replace(thousands, "") + "." + fraction)), decimal
    separator = "." if dots else ","
    other = "," if separator == "." else "."
    whole, _, fraction = text.partition(separator)
    if dots + commas > 1:  # 1.000.000: thousands
        if re.fullmatch(r"\d{1,3}(?:%s\d{3})+" % re.escape(separator), text):
            return ("number", sign * float(text.replace(separator, ""))), other
        return ("none",), ""
    if not whole or not fraction:
        return ("none",), ""
    as_decimal = sign * float(whole + "." + fraction)
    if len(fraction) != 3 or len(whole) > 3 or whole.startswith("0"):
        return ("number", as_decimal), separator  # cannot be a thousands separator
    as_thousands = sign * float(whole + fraction)
    return (("either", as_decimal, as_thousands, separator) if separator == "." else
            ("either", as_thousands, as_decimal, separator)), ""



def parse_amounts(values: pd.Series) -> Parsed:
    """Amounts as numbers, the decimal separator decided per column from all its values.

    "1.500,00 €", "1 500 €" (any space), "€1,500.00", "EUR 1.100", "1500" and numeric cells
    are read. "1.500" or "1,100" (one separator, three digits after it) is a thousands separator
    when another value of the column shows the other one as the decimal separator; otherwise it
    is ambiguous: alone, beside both conventions, or in a column whose decimal separator it
    uses (it would be an amount with three decimals, which euro amounts do not have).

    >>> parse_amounts(pd.Series(["1.500,00 €", "1.100", None, "abc"])).values.tolist()
    [1500.0, 1100.0, <NA>, <NA>]
    >>> parse_amounts(pd.Series(["1,100"])).kind.tolist()
    ['ambiguous']
    """
    plain = _plain_rows(values, PLAIN_AMOUNT)
    if plain is not None:  # many distinct amounts: the plain ones read in Arrow, the others as below
        numbers, proves_dot = _plain_amounts(values, plain)
        return _merged(values, plain, numbers, _parse_amounts(values[~plain], {"."} if proves_dot else set()),
                       "Float64")
    return _parse_amounts(values, set())



# A plain amount: an integer or one with one or two decimals after a dot (read alike whatever the
# column's decimal separator; with decimals, it proves "." is that separator).
PLAIN_AMOUNT = r"^-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,2})?$"



def _plain_amounts(values: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, bool]:
    """The texts of ``rows`` (plain amounts) as floats (Arrow's correctly rounded parser), and
    whether one has decimals (which proves "." the column's decimal separator)."""
    import pyarrow as pa
    import pyarrow.compute as pc


    texts = arrow(values).filter(pa.array(rows))
    return (pc.cast(texts, pa.float64()).to_numpy(zero_copy_only=False),
            bool(pc.any(pc.match_substring(texts, ".")).as_py()))



def _parse_amounts(values: pd.Series, proven: set[str]) -> Parsed:
    codes, uniques = _distinct_cells(values)  # each distinct cell read once
    readings = [_amount_reading(u) for u in uniques]
    proven = proven | {sep for _, sep in readings if sep}
    numbers, problems, kinds = [], [], []
    for value, (reading, _) in zip(uniques, readings):
        problem = kind = None
        if reading[0] == "number":
            number = reading[1]
        elif reading[0] == "either" and proven and proven == {"." if reading[3] == "," else ","}:
            number = reading[1] if proven == {"."} else reading[2]  # the column's thousands separator
        elif reading[0] == "either":
            number, kind = np.nan, "ambiguous"
            thousands, decimal = (reading[1], reading[2]) if reading[3] == "," else (reading[2], reading[1])
            why = ("the column uses both '.' and ',' as the decimal separator" if len(proven) == 2 else
                   f"'{reading[3]}' is this column's decimal separator, but an amount in euro has no three decimals"
                   if proven else "no other value in the column shows which separator is the decimal one")
            problem = f"cannot tell whether '{value}' means {thousands:,.2f} or {decimal:g}: {why}"
        else:
            number, kind, problem = np.nan, "unreadable", f"cannot read '{value}' as an amount in EUR"
        numbers.append(number)
        problems.append(problem)
        kinds.append(kind)
    return _column(values, codes, np.array(numbers + [np.nan], dtype=float), problems, kinds, "Float64")



def _plain_rows(values: pd.Series, pattern: str) -> np.ndarray | None:
    """In a text column of mostly distinct values (a million distinct cells would each be read in
    Python), the rows whose text fully matches the RE2 ``pattern``, found in one Arrow kernel; None
    where values repeat (each distinct one is read once instead) or none matches."""
    import pyarrow.compute as pc


    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow") or not mostly_distinct(values):
        return None
    plain = pc.fill_null(pc.match_substring_regex(arrow(values), pattern), False).to_numpy(zero_copy_only=False)
    return plain if plain.any() else None



def _merged(values: pd.Series, plain: np.ndarray, parsed: np.ndarray, rest: Parsed, dtype: str) -> Parsed:
    """One Parsed column from the plain rows' values (no problem) and the other rows' Parsed."""
    out = np.empty(len(values), dtype=parsed.dtype)
    out[plain] = parsed
    out[~plain] = rest.values.to_numpy(dtype=parsed.dtype, na_value=np.nan if dtype == "Float64" else np.datetime64("NaT"))
    column = pd.Series(out, index=values.index)
    column = column.astype(dtype) if dtype == "Float64" else column

    def spread(per_row: pd.Series) -> pd.Series:
        codes = np.full(len(values), -1, dtype=np.int32)
        codes[~plain] = per_row.cat.codes.to_numpy()
        return pd.Series(pd.Categorical.from_codes(codes, categories=per_row.cat.categories), index=values.index)

    return Parsed(column, spread(rest.problem), spread(rest.kind))



def _distinct_cells(values: pd.Series) -> tuple[np.ndarray, list]:
    """Codes (-1 where missing) and the distinct cells as Python values. A text column (a CSV's)
    is factorised in Arrow (or its codes reused, ``distinct.factorize``): no million Python
    strings; a workbook's mixed cells (dates, numbers, text) as objects."""
    if isinstance(values.dtype, pd.StringDtype):
        from cxc_analysis.core.distinct import factorize

        codes, uniques = factorize(values)
        return np.asarray(codes), uniques.tolist()
    codes, uniques = pd.factorize(values.astype("object"))
    return codes, list(uniques)



def _column(values, codes, parsed, problems, kinds, dtype) -> Parsed:
    if not problems:  # an empty column (one the tracker lacks): every row missing, no problem
        nothing = pd.Series(pd.Categorical.from_codes(np.full(len(values), -1, dtype=np.int8), categories=[]),
                            index=values.index)
        out = pd.Series(np.full(len(values), parsed[-1]), index=values.index)
        return Parsed(out.astype(dtype) if dtype == "Float64" else out, nothing, nothing.copy())
    out = pd.Series(parsed[codes], index=values.index)
    out = out.astype(dtype) if dtype == "Float64" else out
    return Parsed(out, _per_row(problems, codes, values.index), _per_row(kinds, codes, values.index))



def _per_row(per_distinct: list, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """A value per distinct cell, spread over the rows as a categorical (missing where None):
    a million rows cost an integer array, not a million strings."""
    categories, positions = pd.factorize(pd.Series(per_distinct + [None], dtype="object"))
    return pd.Series(pd.Categorical.from_codes(categories[codes], categories=list(positions)), index=index)



EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)  # dates an exchange can have
EXCEL_EPOCH = dt.date(1899, 12, 30)



# Month names and their usual abbreviations, folded (accents dropped), in the partners' languages.
MONTHS = {
    1: "january jan janvier janv januar jaenner janner enero ene gennaio gen januari jan janeiro",
    2: "february feb fevrier fevr fev februar febrero febbraio febr februari fevereiro fever",
    3: "march mar mars maerz marz marzo maart marco mrt",
    4: "april apr avril avr abril abr aprile",
    5: "may mai mayo maggio mag mei maio",
    6: "june jun juin juni junio giugno giu junho",
    7: "july jul juillet juil juli julio luglio lug julho",
    8: "august aug aout agosto ago augustus",
    9: "september sep sept septembre septiembre set settembre setembro",
    10: "october oct octobre oktober okt octubre ottobre ott outubro out",
    11: "november nov novembre noviembre novembro",
    12: "december dec decembre dezember dez diciembre dic dicembre desember dezembro",
}



MONTH_WORDS = {word: number for number, words in MONTHS.items() for word in words.split()}



DATE_FILLERS = {"de", "del", "of", "the", "le", "der", "den", "di", "do", "el", "er", "th", "st", "nd", "rd"}



_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")



_NUMERIC = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?: \d{1,2}:\d{2}(?::\d{2})?)?")



def _year(text: str) -> int:
    year = int(text)
    return year if len(text) == 4 else (2000 + year if year < 30 else 1900 + year)  # as Excel reads "22"



def _date_reading(value: object) -> tuple:
    """How one cell can be read: ("date", d), ("either", d_day_first, d_month_first), ("none",)
    or ("range", text); plus "d" or "m" where the cell proves day-first or month-first."""
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)) and not pd.isna(value):
        return ("date", value.date() if isinstance(value, dt.datetime) else value), ""
    if isinstance(value, bool):
        return ("none",), ""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _serial(float(value)), ""
    text = " ".join(str(value).split())
    if re.fullmatch(r"\d{5}(?:\.0+)?", text):  # an Excel serial exported as text
        return _serial(float(text)), ""
    match = _ISO.fullmatch(text)
    if match:
        return _make(int(match[1]), int(match[2]), int(match[3])), ""
    match = _NUMERIC.fullmatch(text)
    if match:
        first, second, year = int(match[1]), int(match[3]), _year(match[4])
        day_first, month_first = _make(year, second, first), _make(year, first, second)
        if first > 12 or second > 12 or first == second:
            proof = ("d" if first > 12 else "m") if first != second else ""
            return (day_first if day_first[0] == "date" or month_first[0] != "date" else month_first), proof
        if day_first[0] != "date" or match[2] == ".":  # both readings fail alike; d.m.y with dots
            return day_first, ""
        return ("either", day_first[1], month_first[1]), ""
    return _named_month(text), ""



def _serial(number: float) -> tuple:
    if not np.isfinite(number) or abs(number) > 3e6:
        return ("range", f"{number:g}")
    day = EXCEL_EPOCH + dt.timedelta(days=int(number))
    return ("date", day) if EARLIEST <= day <= LATEST else ("range", f"{number:g} ({day.isoformat()})")



def _make(year: int, month: int, day: int) -> tuple:
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return ("none",)
    return ("date", date) if EARLIEST <= date <= LATEST else ("range", date.isoformat())



def _named_month(text: str) -> tuple:
    text = re.sub(r"\b(\d{1,2})(?:er|re|st|nd|rd|th|º|°|o|a)(?=\W|$)", r"\1", text)  # 1er, 1st, 1º
    words = [w for w in fold(text).split() if w not in DATE_FILLERS]
    months = [MONTH_WORDS[w] for w in words if w in MONTH_WORDS]
    numbers = [w for w in words if w.isdigit()]
    if len(months) != 1 or len(numbers) != 2 or len(words) != 3:
        return ("none",)
    years = [n for n in numbers if len(n) == 4]
    days = [n for n in numbers if len(n) <= 2]
    if len(years) != 1 or len(days) != 1:
        return ("none",)
    return _make(int(years[0]), months[0], int(days[0]))



def parse_dates(values: pd.Series, proven: set[str] | None = None) -> Parsed:
    """Dates (datetime64). A date that reads both day-first and month-first ("09/05/2022") is
    read in the order ``proven`` holds ({"d"} or {"m"}; default: what the column's own cells
    prove, a part over 12); ambiguous where nothing or both are proven. Unreadable and
    out-of-range values are reported.

    >>> parse_dates(pd.Series(["05.09.2022", "5 sept. 2022", "2022-09-05", "5. September 2022"])).values.dt.day.tolist()
    [5, 5, 5, 5]
    >>> parse_dates(pd.Series(["09/05/2022", "12/31/2022"])).values.dt.month.tolist()
    [9, 12]
    >>> parse_dates(pd.Series(["09/05/2022", "01/02/2023"])).kind.tolist()
    ['ambiguous', 'ambiguous']
    >>> parse_dates(pd.Series(["9999-12-31", "31/02/2022"])).kind.tolist()
    ['out_of_range', 'unreadable']
    """
    plain = _plain_rows(values, PLAIN_DATE)
    if plain is not None:  # many distinct dates (times of day): the plain ones read in Arrow, the others as below
        days = _plain_dates(values, plain)
        plain[plain] = ~np.isnat(days)  # an impossible or out-of-range day is read below, with its problem
        if plain.any():
            return _merged(values, plain, days[~np.isnat(days)], _parse_dates(values[~plain], proven),
                           "datetime64[ns]")
    return _parse_dates(values, proven)



def date_orders(values: pd.Series) -> set[str]:
    """The orders a column's dates prove: "d" (a first part over 12, "25/03/2023"), "m" (a
    second part over 12, "03/25/2023"), both, or none.

    >>> sorted(date_orders(pd.Series(["03/10/2023", "25/03/2023", None, "2023-03-14"])))
    ['d']
    """
    proven: set[str] = set()
    plain = _plain_rows(values, PLAIN_DATE)  # ISO dates prove nothing: not read one by one
    codes, uniques = _distinct_cells(values[~plain] if plain is not None else values)
    for value in uniques:
        if isinstance(value, str) and _NUMERIC.fullmatch(" ".join(value.split())):
            proven.add(_date_reading(value)[1])
    return proven - {""}



def parse_date_columns(columns: dict[str, pd.Series]) -> dict[str, Parsed]:
    """``parse_dates`` of a tracker's date columns (start and end, ...) in one day/month order,
    proven by the cells of all of them: "03/10/2023" to "03/14/2023" is 10 to 14 March, never
    3 October to 14 March.

    >>> parsed = parse_date_columns({"start": pd.Series(["03/10/2023"]), "end": pd.Series(["03/14/2023"])})
    >>> [p.values.dt.strftime("%Y-%m-%d").tolist() for p in parsed.values()]
    [['2023-03-10'], ['2023-03-14']]
    """
    proven = set().union(*(date_orders(values) for values in columns.values())) if columns else set()
    return {name: parse_dates(values, proven) for name, values in columns.items()}



# A plain date: ISO year-month-day, perhaps with a time of day (which a date drops); never
# day-first or month-first, so it proves nothing of the column's other dates.
PLAIN_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$"



def _plain_dates(values: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The days of ``rows`` (plain dates) as datetime64[ns]; NaT where no such day or outside
    EARLIEST-LATEST."""
    import pyarrow as pa
    import pyarrow.compute as pc


    days = pc.utf8_slice_codeunits(arrow(values).filter(pa.array(rows)), 0, 10)
    parsed = pc.strptime(days, format="%Y-%m-%d", unit="s", error_is_null=True)
    written = pc.cast(pc.cast(parsed, pa.date32()), pa.large_string())
    same = pc.fill_null(pc.equal(written, pc.cast(days, pa.large_string())), False)  # "2023-02-30" is no day
    out = parsed.to_numpy(zero_copy_only=False).astype("datetime64[ns]")
    out[~same.to_numpy(zero_copy_only=False)] = np.datetime64("NaT")
    out[(out < np.datetime64(EARLIEST, "ns")) | (out > np.datetime64(LATEST, "ns"))] = np.datetime64("NaT")
    return out



def _parse_dates(values: pd.Series, proven: set[str] | None = None) -> Parsed:
    codes, uniques = _distinct_cells(values)
    readings = [_date_reading(u) for u in uniques]
    if proven is None:
        proven = {proof for _, proof in readings if proof}
    dates, problems, kinds = [], [], []
    for value, (reading, _) in zip(uniques, readings):
        date = problem = kind = None
        if reading[0] == "date":
            date = reading[1]
        elif reading[0] == "either" and len(proven) == 1:
            date = reading[2] if proven == {"m"} else reading[1]
        elif reading[0] == "either":
            kind = "ambiguous"
            why = ("the dates have both day-first and month-first values" if proven else
                   "no date shows whether the day or the month comes first (none has a part over 12)")
            problem = f"cannot tell whether '{value}' is {reading[1]:%d %B %Y} or {reading[2]:%d %B %Y}: {why}"
        elif reading[0] == "range":
            kind, problem = "out_of_range", (f"date '{value}' is outside {EARLIEST.year}-{LATEST.year}, "
                                             "the years an exchange can have")
        else:
            kind, problem = "unreadable", f"cannot read '{value}' as a date"
        dates.append(np.datetime64(date, "ns") if date is not None else np.datetime64("NaT", "ns"))
        problems.append(problem)
        kinds.append(kind)
    parsed = np.array(dates + [np.datetime64("NaT", "ns")], dtype="datetime64[ns]")
    return _column(values, codes, parsed, problems, kinds, "datetime64[ns]")
