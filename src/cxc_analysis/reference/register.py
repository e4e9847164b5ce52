"""The organisation register: read it (``read_register``), join a tracker's names onto it by
normalised name or alias (``org_key``, ``match_register``), and fill the host's and visitor's
country and city from it where the tracker has none (``fill_locations``).

A register fact is about the entity that took part, with its source; empty cells are unknown.
Knows nothing of the programme rules (``rules.py``), which read what this module finds.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from cxc_analysis.core.coded import Coded, at, coded, mapped, union, values
from cxc_analysis.core.config import MAX_CELL_CHARS
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.parse import parse_amounts
from cxc_analysis.core.text import fold, key_codes
from cxc_analysis.core.text import key as text_key
from cxc_analysis.read.countries import country_code, country_codes_of
from cxc_analysis.read.csvfile import decode_csv
from cxc_analysis.read.frame import cell_too_long
from cxc_analysis.read.vocabulary import load_vocabulary

REGISTER_COLUMNS = ("name", "aliases", "country", "city", "entity_type", "headcount", "turnover_eur",
                    "balance_sheet_eur", "source")
REGISTER_HEADERS = {
    "name": ("name", "organisation", "organisation name", "org"),
    "aliases": ("aliases", "alias", "other names", "also known as"),
    "country": ("country", "country code"),
    "city": ("city", "town"),
    "entity_type": ("entity type", "entity_type", "type of entity", "type"),
    "headcount": ("headcount", "staff headcount", "employees", "staff"),
    "turnover_eur": ("turnover eur", "turnover", "annual turnover", "turnover (eur)"),
    "balance_sheet_eur": ("balance sheet eur", "balance sheet", "balance sheet total", "balance sheet (eur)"),
    "source": ("source", "sources"),
}
ALIAS_SEPARATOR = "|"

# Legal forms at the end of a name, as keys write them ("S.r.l." is "s r l", "S.r.l" and "SRL" are "srl").
LEGAL_FORMS = {"bv", "b v", "nv", "n v", "ev", "e v", "ltd", "limited", "gmbh", "ag", "sa", "s a", "sl", "s l",
               "srl", "s r l", "sas", "s a s", "sarl", "s a r l", "spa", "s p a", "oy", "oyj", "ab", "as", "a s",
               "doo", "d o o", "sro", "s r o", "kft", "zrt", "aps", "inc", "llc", "plc", "kg", "ug", "se"}


# --- keys ---------------------------------------------------------------------------------

def org_keys(values) -> np.ndarray:
    """``org_key`` over many names at once (vectorised: each distinct name once, in Arrow,
    ``text.key_codes``); missing stays None.

    >>> org_keys(["Sorama B.V.", None, "SORAMA B V"]).tolist()
    ['sorama b v', None, 'sorama b v']
    """
    codes, distinct = key_codes(values)
    return np.append(np.asarray(distinct.to_pylist(), dtype=object), None)[codes]


def org_key(text: object) -> str:
    """Compare organisation names whatever their case, accents, punctuation, plurals or spelling.

    >>> org_key("Sorama B.V.") == org_key("sorama b.v"), org_key("Clúster Organizations"), org_key("Łódź")
    (True, 'cluster organisation', 'lodz')
    """
    return text_key(text)


_LEGAL_FORM = re.compile(r" (?:%s)$" % "|".join(sorted(LEGAL_FORMS, key=len, reverse=True)))


def identity_keys(values) -> np.ndarray:
    """The key an organisation is known by whatever its legal form: ``org_keys`` with a legal form
    at the end removed; None where the name is empty (each distinct key stripped once).

    >>> identity_keys(["Sorama B.V.", "SORAMA", "Motus S.r.l.", "MOTUS SRL", "", None]).tolist()
    ['sorama', 'sorama', 'motus', 'motus', None, None]
    """
    keys = org_keys(values)
    stripped = {k: (strip_legal_form(k) or None) for k in set(keys) if k}
    return np.array([stripped.get(k) if k else None for k in keys], dtype=object)


def strip_legal_form(key: str) -> str:
    """'sorama b v' -> 'sorama' (a legal form at the end of a name)."""
    return _LEGAL_FORM.sub("", key)


# --- reading the register -----------------------------------------------------------------

def read_register(path: str | Path) -> pd.DataFrame:
    """The organisation register: one row per organisation, checked.

    A CSV (``,`` or ``;``; UTF-8 or Windows-1252) with a ``name`` column and any of ``aliases``
    (separated by ``|``), ``country`` (ISO code or English name), ``city``, ``entity_type``,
    ``headcount``, ``turnover_eur``, ``balance_sheet_eur``, ``source``. Empty cells are unknown.
    Returns those columns (countries as ISO alpha-2, entity types as codes, figures as numbers)
    plus ``register_row``, the line in the file. Raises InputError naming the file, row and
    column of anything unusable.

    >>> reg = read_register(DEFAULT_REGISTER)  # doctest: +SKIP
    >>> reg.set_index("name").loc["Inalfa", ["country", "city"]].tolist()  # doctest: +SKIP
    ['NL', 'Venray']
    """

    path = Path(path)
    if not path.is_file():
        raise InputError("file not found" if not path.exists() else "not a file", file=path)
    if path.suffix.lower() not in (".csv", ".txt"):
        raise InputError(f"the register must be a .csv file, not '{path.suffix}'", file=path)
    text = decode_csv(path.read_bytes(), path)  # as a tracker: UTF-8, UTF-16, Windows-1252, or refused with the row
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        records = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise cell_too_long(None, file=path, row=reader.line_num) from None
        raise InputError(f"cannot parse CSV ({exc})", file=path, row=reader.line_num) from None
    if not header:
        raise InputError("empty file (expected a header row with a 'name' column)", file=path)
    lookup = {fold(alias): field for field, aliases in REGISTER_HEADERS.items() for alias in (field, *aliases)}
    positions: dict[str, int] = {}
    for position, cell in enumerate(header):
        field = lookup.get(fold(cell))
        if field and field not in positions:
            positions[field] = position
    if "name" not in positions:
        raise InputError("required column missing: name (one organisation a row)", file=path, column="name")

    columns: dict[str, list] = {field: [] for field in REGISTER_COLUMNS}
    rows = []
    for line, record in records:
        cells = {f: (record[p].strip() if p < len(record) else "") for f, p in positions.items()}
        long = next((f for f, v in cells.items() if len(v) > MAX_CELL_CHARS), None)
        if long is not None:  # one limit for every cell read, tracker or register
            raise cell_too_long(len(cells[long]), file=path, row=line, column=long)
        if not any(cells.values()):
            continue
        if not cells["name"]:
            raise InputError("name is empty", file=path, row=line, column="name")
        rows.append(line)
        for field in REGISTER_COLUMNS:
            value = cells.get(field, "") or None
            if value is not None and field == "country":
                code = country_code(value)
                if code is None:
                    raise InputError(f"unknown country '{value}' (use an ISO code such as NL or an English "
                                     "name)", file=path, row=line, column="country")
                value = code
            elif value is not None and field == "entity_type":
                code = load_vocabulary().label("vo_entity_type", value)
                if code is None:
                    raise InputError(f"unknown entity type '{value}' (expected cluster organisation, SME, "
                                     "scaling-up support organisation, large company or public authority)",
                                     file=path, row=line, column="entity_type")
                value = code
            columns[field].append(value)
    for field in FIGURES:  # one parser for amounts, the tracker's; decided per column
        columns[field] = _figures(columns[field], rows, whole=field == "headcount", path=path, column=field)
    out = pd.DataFrame({
        **{f: pd.Series(columns[f], dtype="str") for f in ("name", "aliases", "country", "city", "entity_type")},
        "headcount": pd.array(columns["headcount"], dtype="Int64"),
        "turnover_eur": pd.array(columns["turnover_eur"], dtype="Float64"),
        "balance_sheet_eur": pd.array(columns["balance_sheet_eur"], dtype="Float64"),
        "source": pd.Series(columns["source"], dtype="str"),
        "register_row": pd.array(rows, dtype="int64"),
    })
    _register_keys(out, path)  # refuses a name or alias that points at two organisations
    out.attrs["file"] = str(path)
    return out


FIGURES = ("headcount", "turnover_eur", "balance_sheet_eur")


def _figures(texts: list, rows: list[int], *, whole: bool, path: Path, column: str) -> list:
    """A register column of figures read with ``parse.parse_amounts``; InputError naming the row
    of the first value that cannot be read with certainty, is negative, or (headcount) not whole."""
    parsed = parse_amounts(pd.Series(texts, dtype="object"))
    values = parsed.values.astype("object").where(parsed.values.notna(), None).tolist()
    for position, (text, value, problem) in enumerate(zip(texts, values, parsed.problem)):
        if text is None:
            continue
        if isinstance(problem, str):
            raise InputError(problem, file=path, row=rows[position], column=column)
        if value < 0 or (whole and not float(value).is_integer()) or value >= 1e15:
            kind = "a whole number" if whole else "an amount in EUR"
            raise InputError(f"cannot read '{text}' as {kind} >= 0", file=path, row=rows[position], column=column)
        values[position] = int(value) if whole else float(value)
    return values


def _register_keys(register: pd.DataFrame, path: str | Path | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """Maps from normalised name or alias to the register position: exact keys, and keys without
    a legal form ("B.V.", "GmbH"...) where those are unambiguous."""
    names, owners = [], []
    aliases = register["aliases"] if "aliases" in register.columns else pd.Series(None, index=register.index)
    for position, (name, more) in enumerate(zip(register["name"], aliases)):
        for text in [name, *(more.split(ALIAS_SEPARATOR) if isinstance(more, str) else [])]:
            if isinstance(text, str) and text.strip():
                names.append(text.strip())
                owners.append(position)
    rows = register["register_row"] if "register_row" in register.columns else pd.Series(range(len(register)))
    exact: dict[str, int] = {}
    stripped: dict[str, int | None] = {}
    for text, key, position in zip(names, org_keys(names), owners):
        if not key:
            continue
        if exact.get(key, position) != position:
            raise InputError(f"'{text}' names two organisations (also row {int(rows.iloc[exact[key]])})",
                             file=path, row=int(rows.iloc[position]), column="aliases")
        exact[key] = position
        short = strip_legal_form(key)
        stripped[short] = position if stripped.get(short, position) == position else None
    return exact, {k: v for k, v in stripped.items() if v is not None}


def match_register(names: pd.Series, register: pd.DataFrame, keys: np.ndarray | None = None) -> np.ndarray:
    """Position in ``register`` of each organisation name (by normalised name or alias, then
    without a legal form such as "B.V."), -1 where none matches. ``keys``: the names'
    ``org_keys`` if already computed.

    >>> reg = pd.DataFrame({"name": ["Sorama B.V."], "aliases": ["Sorama"], "register_row": [2]})
    >>> match_register(pd.Series(["SORAMA", "Sorama BV", "Other", None]), reg).tolist()
    [0, 0, -1, -1]
    """
    if keys is None:
        return match_keys(*key_codes(names), register)
    codes, uniques = pd.factorize(keys)
    exact, stripped = _register_keys(register, register.attrs.get("file"))
    return np.append(_register_positions(uniques, exact, stripped), -1)[codes]


def match_keys(codes: np.ndarray, distinct, register: pd.DataFrame) -> np.ndarray:
    """``match_register`` for names given as ``text.key_codes`` (codes into distinct keys): each
    distinct key is looked up once, in Arrow.

    >>> reg = pd.DataFrame({"name": ["Sorama B.V."], "register_row": [2]})
    >>> match_keys(*key_codes(["sorama bv", None, "x"]), reg).tolist()
    [0, -1, -1]
    """
    exact, stripped = _register_keys(register, register.attrs.get("file"))
    return np.append(_register_positions(distinct, exact, stripped), -1)[codes]


def _register_positions(keys, exact: dict[str, int], stripped: dict[str, int]) -> np.ndarray:
    """Register position of each distinct key (exact, else without a legal form), -1 if none;
    Arrow lookups and one Arrow regex, so a million distinct names cost no Python per name.

    >>> _register_positions(np.array(["sorama", "sorama bv", "x", ""], dtype=object), {"sorama": 0}, {"sorama": 0})
    array([ 0,  0, -1, -1])
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(keys, (pa.Array, pa.ChunkedArray)):
        keys = pa.array([k if isinstance(k, str) else None for k in keys], type=pa.string())
    found = _index_in(keys, list(exact))
    positions = np.append(np.array(list(exact.values()), dtype=np.int64), -1)[found]
    missing = np.flatnonzero((found < 0) & ~pc.fill_null(pc.equal(keys, ""), False).to_numpy(zero_copy_only=False))
    if len(missing) and stripped:
        short = pc.replace_substring_regex(keys.take(pa.array(missing)), _LEGAL_FORM.pattern, "")
        found = _index_in(short, list(stripped))
        positions[missing] = np.append(np.array(list(stripped.values()), dtype=np.int64), -1)[found]
    return positions


def _index_in(values, texts: list[str]) -> np.ndarray:
    """Position of each Arrow text in ``texts`` (-1 where absent or missing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.index_in(values, value_set=pa.array(texts, type=values.type))
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


# --- locations from the register ------------------------------------------------------------

def column(table: pd.DataFrame, name: str, dtype: str = "str") -> pd.Series:
    """A column of the table, or an empty one if the table lacks it (hand-built tables)."""
    if name in table.columns:
        return table[name]
    return pd.Series(None, index=table.index, dtype=dtype)


def objects(values) -> np.ndarray:
    """An object array with None for every missing value."""
    out = pd.Series(values).astype("object").to_numpy(copy=True)
    out[pd.isna(out)] = None
    return out


def take(values: pd.Series, positions: np.ndarray) -> np.ndarray:
    """``values`` at ``positions`` of the register; None where the position is -1."""
    return np.append(objects(values), None)[positions]


def locations(table: pd.DataFrame, register: pd.DataFrame | None,
               positions: dict[str, np.ndarray] | None = None, filled: dict | None = None) -> dict[str, np.ndarray]:
    """Host and visitor country (ISO code where known, else the text) and city, as object arrays,
    filled from the register where the tracker has none; ``filled`` (if given) receives, per
    column, where the value came from the register."""
    return {column: values(coded) for column, coded in located(table, register, positions, filled).items()}


def located(table: pd.DataFrame, register: pd.DataFrame | None,
             positions: dict[str, np.ndarray] | None = None, filled: dict | None = None) -> dict[str, Coded]:
    """``locations`` as codes into distinct texts (``text.Coded``): a million rows of a few
    hundred places cost integer arrays, each distinct country looked up once."""
    out = {}
    filled = {} if filled is None else filled
    for side, name in (("ho", "host_org"), ("vo", "visiting_org")):
        given = coded(column(table, f"{side}_country"))
        texts = given.dictionary.to_pylist()
        country = mapped(given, [code or text for code, text in zip(country_codes_of(texts), texts)])
        city = coded(column(table, f"{side}_city"))
        if register is not None:
            where = positions[side] if positions else match_register(column(table, name), register)
            given_code, reg_country, countries = union(country, at(coded(column(register, "country")), where))
            city_code, reg_city, cities = union(city, at(coded(column(register, "city")), where))
            agrees = (given_code < 0) | (given_code == reg_country)
            filled[f"{side}_country"] = (given_code < 0) & (reg_country >= 0)
            filled[f"{side}_city"] = (city_code < 0) & agrees & (reg_city >= 0)
            country = Coded(np.where(given_code < 0, reg_country, given_code), countries)
            city = Coded(np.where((city_code < 0) & agrees, reg_city, city_code), cities)
        out[f"{side}_country"], out[f"{side}_city"] = country, city
    return out


def fill_locations(table: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` with host and visitor country and city taken from the register where
    the tracker has none, joining ``host_org`` / ``visiting_org`` to the register by normalised
    name or alias. Known countries become ISO alpha-2 codes ("Netherlands" -> "NL"); a text
    that is no country is kept as written. A register city is used only where the tracker's
    country is empty or agrees with the register's.

    >>> reg = pd.DataFrame({"name": ["Inalfa"], "aliases": ["Inalfa Roof Systems"], "country": ["NL"],
    ...                     "city": ["Venray"], "register_row": [2]})
    >>> t = pd.DataFrame({"host_org": ["X"], "visiting_org": ["inalfa roof systems"],
    ...                   "vo_country": [None], "vo_city": [None]})
    >>> fill_locations(t, reg)[["vo_country", "vo_city"]].values.tolist()
    [['NL', 'Venray']]
    """
    filled = locations(table, register)
    return table.assign(**{c: pd.Series(v, index=table.index, dtype="str") for c, v in filled.items()})
