"""The one text layer: folding and keys for headers, labels, organisations and places, the one
amount parser and the one date parser. Every other module compares and reads text through here,
so "Łódź" is ``lodz`` everywhere and "1.500,00 €" is fifteen hundred euros everywhere.

- ``fold`` / ``fold_many``: accent-free, lower-case ASCII words separated by single spaces;
  letters of other scripts transliterated (``anyascii``: "Αθήνα" is ``athina``, "София" ``sofiya``).
- ``key`` / ``keys``: ``fold`` plus what makes two spellings of one label equal: "SME's" and
  "SMEs", British and American spelling ("organization"), plurals.
- ``parse_amounts``: a column of amounts (numbers or text in any European or English style);
  the decimal separator is decided per column from all its values, and a value that stays
  ambiguous ("1,100" in a column that says nothing else) is reported, never guessed.
- ``parse_dates``: a column of dates (Excel dates and serials, ISO, d.m.y with ``.``, ``/``
  or ``-``, month names in the partners' languages). Whether "03/10/2023" is day-first or
  month-first is decided by the cells that prove it (a part over 12), in the column or in all
  the date columns of a tracker together (``parse_date_columns``); where nothing proves it, or
  both orders are proven, such a cell is reported as ambiguous, never guessed. Dates with dots
  ("05.09.2022") are day-first, as everywhere dots are written. Unreadable and out-of-range
  values are reported.

Both read each distinct cell once; in a column of mostly distinct cells (timestamps, amounts to
the cent) the plain ones (ISO dates, amounts like 1100 or 1100.50) are read in Arrow kernels
instead, exactly as they would be one by one (tests/core/test_text.py compares the two).

Knows nothing of what the values mean.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from cxc_analysis.core.coded import Coded, arrow_codes, arrow_strings

# Letters that Unicode decomposition does not reduce to ASCII.
LETTERS = {"ß": "ss", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "æ": "ae", "Æ": "AE",
           "œ": "oe", "Œ": "OE", "ı": "i", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "ħ": "h", "Ħ": "H"}
_TRANSLATE = str.maketrans(LETTERS)


# --- folding and keys ---------------------------------------------------------------------

def fold(text: object) -> str:
    """Accent-free, lower-case ASCII words separated by single spaces ("&" reads "and"); Greek,
    Cyrillic and other scripts transliterated.

    >>> fold("  Łódź & Saint-Étienne "), fold("WROCŁAW"), fold(None)
    ('lodz and saint etienne', 'wroclaw', '')
    >>> fold("ΟΔΥΣΣΕΑΣ"), fold("Αθήνα"), fold("София"), fold("Клъстер „Мехатроника“")
    ('odysseas', 'athina', 'sofiya', 'klaster mekhatronika')
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    return str(fold_many([str(text)])[0].as_py() or "")


def fold_many(values):
    """``fold`` over many texts at once, in Arrow kernels (an Arrow array; missing stays null).

    >>> fold_many(["Clúster  ORGANIZATIONS", None]).to_pylist()
    ['cluster organizations', None]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pc.replace_substring(arrow_strings(values), "&", " and ")
    special = pc.fill_null(pc.match_substring_regex(array, "[" + "".join(LETTERS) + "]"), False)
    if pc.any(special).as_py():  # few names: translate those in Python
        fixed = [text.translate(_TRANSLATE) for text in pc.filter(array, special).to_pylist()]
        array = pc.replace_with_mask(array, special, pa.array(fixed, type=pa.string()))
    array = pc.utf8_lower(pc.utf8_normalize(array, "NFKD"))
    array = _transliterated(replace_where(array, r"\p{M}+", ""))
    array = replace_where(array, r"['’`´]s\b", "s")  # SME's -> SMEs
    # Words of a-z0-9 separated by single spaces already are their own fold (most names, once lower-cased).
    return replace_where(array, r"[^a-z0-9]+", " ", needs=r"[^a-z0-9 ]|  |^ | $", then=pc.utf8_trim_whitespace)


def _transliterated(array):
    """The texts holding letters of a script other than Latin with those letters transliterated
    (``latin_letters``), each distinct such text once; the others (all but a few) untouched, found
    by Arrow's ASCII test and one regex over the non-ASCII ones.

    >>> import pyarrow as pa
    >>> _transliterated(pa.array(["αθηνα", "cafe", None, "€ 5", "σοφια"])).to_pylist()
    ['athina', 'cafe', None, '€ 5', 'sofia']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    other = pc.invert(pc.fill_null(pc.string_is_ascii(array), True))
    if not pc.any(other).as_py():
        return array
    other = pc.and_(other, pc.fill_null(pc.match_substring_regex(array, r"[^\P{L}a-zA-Z]"), False))
    if not pc.any(other).as_py():
        return array
    from cxc_analysis.core.distinct import one_array

    encoded = pc.dictionary_encode(one_array(pc.filter(array, other)))
    distinct = encoded.dictionary.to_pylist()
    table = latin_table(set("".join(distinct)))
    latin = pa.array([text.translate(table) for text in distinct], type=pa.string())
    return pc.replace_with_mask(array, other, latin.take(encoded.indices).cast(array.type))


# Transliterations that differ from anyascii's: Bulgarian "ъ" is a vowel, "a" in Bulgaria's official
# system (Transliteration Act, 2009), where anyascii writes an apostrophe that would split the word.
# Other letters follow anyascii ("щ" is "shch", "sht" in the Bulgarian system): keys only need to
# be the same for the same spelling, and GeoNames' Cyrillic alternate names are folded alike.
TRANSLITERATION = {"ъ": "a", "Ъ": "a"}


def folding_source() -> str:
    """The source of everything that decides how a text folds (the functions, their tables, the
    transliteration library's version): a cache of folded names is keyed on it."""
    import inspect
    from importlib.metadata import version

    parts = [inspect.getsource(f) for f in (fold_many, replace_where, arrow_strings, _transliterated, latin_table,
                                            _latin_letter)]
    return "\n".join(parts + [repr(LETTERS), repr(TRANSLITERATION), version("anyascii")])


def latin_letters(text: str) -> str:
    """``text`` with every non-ASCII letter in lower-case Latin letters and digits (``anyascii``,
    a maintained transliteration table: Greek and Cyrillic by their usual romanisation; a letter
    it writes as a mark, such as the soft sign "ь", is dropped); the rest unchanged.

    >>> latin_letters("αθηνα 2023 €"), latin_letters("пловдив"), latin_letters("търговище")
    ('athina 2023 €', 'plovdiv', 'targovishche')
    """
    return text.translate(latin_table(set(text)))


def latin_table(chars: set[str]) -> dict[int, str]:
    """A ``str.translate`` table giving each non-ASCII letter of ``chars`` its Latin letters."""
    return {ord(char): _latin_letter(char) for char in chars if not char.isascii() and char.isalpha()}


def _latin_letter(char: str) -> str:
    from anyascii import anyascii

    latin = TRANSLITERATION.get(char)
    return latin if latin is not None else re.sub(r"[^a-z0-9]+", "", anyascii(char).lower())


def replace_where(array, pattern: str, replacement: str, needs: str | None = None, then=None):
    """``replace_substring_regex`` (then ``then``) only on the texts where ``needs`` (default:
    ``pattern``) matches: an Arrow regex match costs a fraction of a replacement, and most
    names need none, so a million distinct names fold quickly.

    >>> import pyarrow as pa
    >>> replace_where(pa.array(["a-b", "ab", None]), "-", " ").to_pylist()
    ['a b', 'ab', None]
    """
    import pyarrow.compute as pc

    if len(array) < 1000:  # a few texts (a label, a header): one replacement costs less than a match first
        done = pc.replace_substring_regex(array, pattern, replacement)
        return then(done) if then else done
    hit = pc.fill_null(pc.match_substring_regex(array, needs or pattern), False)
    if not pc.any(hit).as_py():
        return array
    done = pc.replace_substring_regex(pc.filter(array, hit), pattern, replacement)
    return pc.replace_with_mask(array, hit, then(done) if then else done)


def keys(values) -> np.ndarray:
    """``key`` over many texts at once (each distinct text once); missing stays None.

    >>> keys(["SME's", "Scaling-Up Support Organizations", None]).tolist()
    ['sme', 'scaling up support organisation', None]
    """

    values = values.to_numpy() if isinstance(values, pd.Series) else values
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    array = fold_many(uniques)
    array = replace_where(array, r"iz(e|es|ed|ing|ation|ations)\b", r"is\1")  # British spelling
    array = replace_where(array, r"\b([a-z0-9]{2,})ies\b", r"\1y")  # plurals
    array = replace_where(array, r"\b([a-z0-9]+[a-hj-rtv-z0-9])s\b", r"\1")
    return np.append(array.to_numpy(zero_copy_only=False), None)[codes]


def key_codes(values):
    """``keys`` as codes into the distinct keys (an Arrow array): each text's key is
    ``distinct[codes[i]]``, -1 where the text is missing. All in Arrow kernels: a million
    distinct names are folded once each, never turned into Python strings. ``values`` may be a
    :class:`Coded` column already (its codes are reused).

    >>> codes, distinct = key_codes(["SME's", None, "smes", "Clúster B.V."])
    >>> codes.tolist(), distinct.to_pylist()
    ([0, -1, 0, 1], ['sme', 'cluster b v'])
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = values if isinstance(values, Coded) else arrow_codes(values)
    distinct = _key_array(texts.dictionary)
    encoded = pc.dictionary_encode(distinct)
    by_text = np.append(pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64), -1)
    return by_text[texts.codes], encoded.dictionary.cast(pa.string())


def _key_array(array):
    """``keys`` of an Arrow array of texts, as an Arrow array, computed per distinct word: each
    text is split at its spaces, each distinct piece keyed once (``_word_keys``) and the keys
    joined again by single spaces. The same as keying the whole text, since every step of
    ``fold`` and ``keys`` changes characters or words, never across a space; so a million
    names made of a few thousand words cost a split, a join and a few thousand folds.

    >>> import pyarrow as pa
    >>> _key_array(pa.array(["Realizations  Ltd", "", None, "Ceramics - Industries", " A&B's ", "d.o.o."])).to_pylist()
    ['realisation ltd', '', None, 'ceramic industry', 'a and bs', 'd o o']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from cxc_analysis.core.distinct import one_array

    array = one_array(arrow_strings(array)).cast(pa.string())  # binary_join has no kernel for large strings
    parts = pc.split_pattern(array, " ")
    pieces = pc.dictionary_encode(pc.list_flatten(parts))
    keyed = _word_keys(pieces.dictionary).cast(pa.string())
    lists = pa.ListArray.from_arrays(_offsets(parts), keyed.take(pieces.indices), mask=parts.is_null())
    joined = pc.binary_join(lists, " ")  # a piece keyed to "" ("-", or between two spaces) leaves spaces over
    return replace_where(joined, " +", " ", needs="  |^ | $", then=pc.utf8_trim_whitespace)


def _word_keys(array):
    """``keys`` of an Arrow array of texts: ``fold_many``, then the spelling and plural steps on
    each distinct word (a folded text is words of a-z0-9 separated by single spaces, and each
    step changes one word).

    >>> import pyarrow as pa
    >>> _word_keys(pa.array(["Realizations Ltd", "", None, "Ceramics Industries", "bus"])).to_pylist()
    ['realisation ltd', '', None, 'ceramic industry', 'bus']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from cxc_analysis.core.distinct import one_array

    folded = one_array(fold_many(array)).cast(pa.string())
    parts = pc.split_pattern(folded, " ")
    words = pc.list_flatten(parts)
    distinct = pc.dictionary_encode(words)
    changed = distinct.dictionary
    changed = replace_where(changed, r"iz(e|es|ed|ing|ation|ations)\b", r"is\1")  # British spelling
    changed = replace_where(changed, r"\b([a-z0-9]{2,})ies\b", r"\1y")  # plurals
    changed = replace_where(changed, r"\b([a-z0-9]+[a-hj-rtv-z0-9])s\b", r"\1")
    lists = pa.ListArray.from_arrays(_offsets(parts), changed.take(distinct.indices), mask=parts.is_null())
    return pc.binary_join(lists, " ")


def _offsets(lists):
    """The offsets of a list array's values, from 0 (a slice of a list array starts further on)."""
    import pyarrow as pa

    lengths = lists.value_lengths().fill_null(0).to_numpy()
    return pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))


def key(text: object) -> str:
    """Compare names and labels whatever their case, accents, punctuation, plurals or spelling.

    >>> key("  SME's "), key("Clúster Organizations"), key("Łódź")
    ('sme', 'cluster organisation', 'lodz')
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    return str(keys([str(text)])[0] or "")


# --- what a workbook can hold ---------------------------------------------------------------

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what an xlsx cannot hold


def excel_text(text: str) -> str:
    r"""Text an xlsx can hold: control characters (NUL, ESC, vertical tab, ...) shown as their
    Unicode control pictures, so nothing is lost and nothing fails; tab and newlines stay. Every
    workbook we write (report.xlsx, the annotated tracker) shows them so.

    >>> excel_text("A\x1b[2JB\x00")
    'A␛[2JB␀'
    """
    return CONTROL_CHARACTERS.sub(lambda m: chr(0x2400 + ord(m.group())), text)


# --- formulas -----------------------------------------------------------------------------

# What a spreadsheet may run as a formula when a cell starts with it (OWASP's CSV-injection list):
# such text is flagged by ``clean`` and neutralised in every CSV we write, the same list for both.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def starts_like_formula(values: pd.Series) -> np.ndarray:
    """Which texts start like a spreadsheet formula (missing: false).

    >>> starts_like_formula(pd.Series(["=1+2", "-2+3", "Axxor", None, "@SUM(A1)"])).tolist()
    [True, True, False, False, True]
    """
    from cxc_analysis.core.distinct import flags

    return flags(values.astype("str"), lambda u: u.str.startswith(FORMULA_PREFIXES), vectorised=True)


# --- amounts ------------------------------------------------------------------------------

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

    from cxc_analysis.core.distinct import arrow

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

    from cxc_analysis.core.distinct import arrow, mostly_distinct

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


# --- dates --------------------------------------------------------------------------------

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

    from cxc_analysis.core.distinct import arrow

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
