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

import re

import numpy as np
import pandas as pd

from cxc_analysis.core.coded import Coded, arrow_codes, arrow_strings
from cxc_analysis.core.distinct import flags, one_array

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

    return flags(values.astype("str"), lambda u: u.str.startswith(FORMULA_PREFIXES), vectorised=True)


# --- amounts ------------------------------------------------------------------------------


# --- dates --------------------------------------------------------------------------------



