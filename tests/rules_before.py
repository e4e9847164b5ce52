"""``cxc_analysis.rules.checks`` as it was before issue 9's scale work (commit 81562e8), kept as an oracle:
the rules, messages and JSON written from object arrays of Python strings, row by row. The
package's Arrow implementation must give byte-identical results (tests/rules/test_checks_scale.py).
Only the rule evaluation and the JSON writer are here; the rule set, countries and the GeoNames
lookup are the package's own (tested on their own). Not part of the package."""
# ruff: noqa

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from cxc_analysis.read.countries import country_codes
from cxc_analysis.reference.places import _CITY_CACHE, _resolve, city_keys
from cxc_analysis.reference.register import _LEGAL_FORM, _register_keys, org_keys


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance on a sphere of the IUGG mean Earth radius, written here (not the
    package's): the oracle does not share the function it checks."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(x, dtype=float)) for x in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


from cxc_analysis.rules.checks import (CANNOT, FAIL, OUTCOMES, PASS, PLURALS, RULES, TYPE_WORDS, WARNING, RuleSet,
                                _words_or, describe, read_rule_set)


# --- from register.py ----------------------------------------------------------------------

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
    return np.append(_register_positions(uniques, exact, stripped), -1)[codes]


def _register_positions(keys: np.ndarray, exact: dict[str, int], stripped: dict[str, int]) -> np.ndarray:
    """Register position of each distinct key (exact, else without a legal form), -1 if none;
    hashed lookups and one Arrow regex, so a million distinct names cost no Python per name.

    >>> _register_positions(np.array(["sorama", "sorama bv", "x", ""], dtype=object), {"sorama": 0}, {"sorama": 0})
    array([ 0,  0, -1, -1])
    """
    import pyarrow.compute as pc

    found = pd.Index(list(exact), dtype="object").get_indexer(keys)
    positions = np.append(np.array(list(exact.values()), dtype=np.int64), -1)[found]
    missing = np.flatnonzero((found < 0) & (keys != ""))  # noqa: E711
    if len(missing) and stripped:
        import pyarrow as pa

        short = pc.replace_substring_regex(pa.array(keys[missing].tolist(), type=pa.string()), _LEGAL_FORM.pattern, "")
        found = pd.Index(list(stripped), dtype="object").get_indexer(short.to_numpy(zero_copy_only=False))
        positions[missing] = np.append(np.array(list(stripped.values()), dtype=np.int64), -1)[found]
    return positions


def _column(table: pd.DataFrame, name: str, dtype: str = "str") -> pd.Series:
    """A column of the table, or an empty one if the table lacks it (hand-built tables)."""
    if name in table.columns:
        return table[name]
    return pd.Series(None, index=table.index, dtype=dtype)


def _objects(values) -> np.ndarray:
    """An object array with None for every missing value."""
    out = pd.Series(values).astype("object").to_numpy(copy=True)
    out[pd.isna(out)] = None
    return out


def _take(values: pd.Series, positions: np.ndarray) -> np.ndarray:
    """``values`` at ``positions`` of the register; None where the position is -1."""
    return np.append(_objects(values), None)[positions]


def _locations(table: pd.DataFrame, register: pd.DataFrame | None,
               positions: dict[str, np.ndarray] | None = None, filled: dict | None = None) -> dict[str, np.ndarray]:
    """Host and visitor country (ISO code where known, else the text) and city, as object arrays,
    filled from the register where the tracker has none; ``filled`` (if given) receives, per
    column, where the value came from the register."""

    out = {}
    filled = {} if filled is None else filled
    for side, name in (("ho", "host_org"), ("vo", "visiting_org")):
        given = _column(table, f"{side}_country")
        country = _objects(country_codes(given).fillna(given.astype("str")))
        city = _objects(_column(table, f"{side}_city"))
        if register is not None:
            where = positions[side] if positions else match_register(_column(table, name), register)
            reg_country = _take(_column(register, "country"), where)
            reg_city = _take(_column(register, "city"), where)
            agrees = (country == None) | (country == reg_country)  # noqa: E711 (elementwise)
            filled[f"{side}_country"] = (country == None) & (reg_country != None)  # noqa: E711
            filled[f"{side}_city"] = (city == None) & agrees & (reg_city != None)  # noqa: E711
            country = np.where(country == None, reg_country, country)  # noqa: E711 (elementwise)
            city = np.where((city == None) & agrees, reg_city, city)  # noqa: E711
        out[f"{side}_country"], out[f"{side}_city"] = country, city
    return out



# --- from places.py ------------------------------------------------------------------------

def resolve_before(pairs: list[tuple[str, str | None]], _CITY_CACHE: dict) -> None:
    """Fill ``_CITY_CACHE`` for (city key, country) pairs: GeoNames names first, then alternate
    names, in the large-town dataset first and the smaller ones only for what is still missing."""
    import pyarrow as pa

    from cxc_analysis.reference.places import CITY_LEVELS, _load_cities, _pick

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
            wanted = {key for key, _ in todo}
            hits = np.flatnonzero(pd.Series(keys, dtype="object").isin(wanted).to_numpy())  # hashed, not sorted
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



# --- the rules ----------------------------------------------------------------------------

class _Result:
    """Outcome codes, warning flags and messages of one rule over all exchanges.

    ``set(mask, outcome, *parts)`` writes the rows of ``mask``; the message is the parts joined,
    each a string, an object array over all rows (only the chosen rows are used) or a function
    of the chosen rows (a mask or positions) returning one string per row. Later calls overwrite
    earlier ones. Outcomes are written at once; messages only when asked for some rows
    (``messages``), so a summary of a million exchanges builds no text.
    """

    def __init__(self, n: int):
        self.outcome = np.full(n, CANNOT, dtype=np.int8)
        self.warning = np.zeros(n, dtype=bool)
        self._sets: list[tuple[np.ndarray, tuple]] = []

    def set(self, mask, outcome: int, *parts, warning: bool = False) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.outcome[mask] = outcome
        self.warning[mask] = warning
        self._sets.append((mask, parts))

    def messages(self, positions: np.ndarray) -> np.ndarray:
        """The message of each row at ``positions`` (increasing), as an object array."""
        out = np.full(len(positions), "", dtype=object)
        for mask, parts in self._sets:
            hit = mask[positions]
            if not hit.any():
                continue
            where = positions[hit]
            text = ""
            for part in parts:
                if callable(part):
                    part = np.asarray(part(where), dtype=object)
                elif isinstance(part, np.ndarray):
                    part = part[where]
                text = text + part
            out[hit] = text
        return out

    @property
    def message(self) -> np.ndarray:
        return self.messages(np.arange(len(self.outcome)))


def _blank(values: np.ndarray) -> np.ndarray:
    """Object array of texts with "" for missing, for messages."""
    return np.where(values == None, "", values).astype(object)  # noqa: E711


def _fmt(template: str, values: np.ndarray):
    """A message part formatting ``values`` (only the masked ones, each distinct value once)."""
    def part(mask):
        codes, uniques = pd.factorize(values[mask])
        return np.array([template.format(v) for v in uniques] + [""], dtype=object)[codes]
    return part


def _isin(values: np.ndarray, allowed) -> np.ndarray:
    return pd.Series(values, dtype="object").isin(list(allowed)).to_numpy(dtype=bool)


class _Context:
    """The columns the rules read, as numpy arrays, with countries as ISO codes and the register joined."""

    def __init__(self, table: pd.DataFrame, register: pd.DataFrame | None, rule_set: RuleSet,
                 eligible: frozenset[str]):

        self.n = len(table)
        self.rule_set, self.eligible = rule_set, eligible
        self.register = register
        self.row = table["source_row"].to_numpy(dtype=np.int64)
        self.vo_name = _objects(_column(table, "visiting_org"))
        self.vo_key = org_keys(self.vo_name)
        positions = None
        if register is not None:
            positions = {"ho": match_register(_column(table, "host_org"), register),
                         "vo": match_register(None, register, keys=self.vo_key)}
        self.vo_pos = positions["vo"] if positions else np.full(self.n, -1, dtype=np.int64)
        self.filled: dict[str, np.ndarray] = {}
        located = _locations(table, register, positions, self.filled)
        self.ref = {side: _register_refs(register, positions[side]) if positions else np.full(self.n, "", dtype=object)
                    for side in ("ho", "vo")}
        self.ho_country, self.vo_country = located["ho_country"], located["vo_country"]
        self.ho_city, self.vo_city = located["ho_city"], located["vo_city"]
        self.ho_cc = _objects(country_codes(pd.Series(self.ho_country, dtype="object")))
        self.vo_cc = _objects(country_codes(pd.Series(self.vo_country, dtype="object")))
        self.start = pd.to_datetime(_column(table, "start_date", "datetime64[ns]")).to_numpy(dtype="datetime64[D]")
        self.end = pd.to_datetime(_column(table, "end_date", "datetime64[ns]")).to_numpy(dtype="datetime64[D]")
        amount = pd.to_numeric(_column(table, "amount_eur", "Float64"), errors="coerce")
        self.amount = amount.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        vo_type = _objects(_column(table, "vo_entity_type"))
        reg_type = (_take(_column(register, "entity_type"), self.vo_pos) if register is not None
                    else np.full(self.n, None, dtype=object))
        self.vo_type_from_register = (vo_type == None) & (reg_type != None)  # noqa: E711
        self.filled["vo_type"] = self.vo_type_from_register
        self.filled["vo_figures"] = self.vo_pos >= 0
        self.filled["vo_identity"] = self.vo_pos >= 0
        self.vo_type = np.where(self.vo_type_from_register, reg_type, vo_type)
        self.nowhere = " (not in the tracker or the register)" if register is not None else " (not in the tracker)"


    def from_register(self, side: str, *what: str) -> np.ndarray:
        """A message part naming the register row and source where a side's ``what`` (country,
        city, type, figures, identity) came from the register; "" elsewhere."""
        word = "host" if side == "ho" else "visitor"
        used = np.zeros(self.n, dtype=bool)
        for name in what:
            used |= self.filled.get(f"{side}_{name}", np.zeros(self.n, dtype=bool))
        return np.where(used & (self.ref[side] != ""), f"; {word} {' and '.join(what)} from " + self.ref[side],
                        "").astype(object)


def _register_refs(register: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    """'register row N (source: ...)' for each exchange's register entry; "" where none."""
    rows = (_column(register, "register_row", "Int64") if "register_row" in register.columns
            else pd.Series(np.arange(len(register)) + 2, index=register.index))
    sources = _objects(_column(register, "source"))
    entries = [f"register row {row} (source: {source})" if source else f"register row {row} (no source given)"
               for row, source in zip(rows, sources)]
    return np.array(entries + [""], dtype=object)[positions]


def _missing(values: np.ndarray) -> np.ndarray:
    return values == None  # noqa: E711 (elementwise)


def _country_unknown(r: _Result, c: _Context, side: str) -> None:
    """cannot_check where a side's country is unknown: empty, or a text that is no country."""
    word = "host" if side == "ho" else "visitor"
    given, code = getattr(c, f"{side}_country"), getattr(c, f"{side}_cc")
    r.set(_missing(given), CANNOT, f"{word} country unknown{c.nowhere}")
    r.set(~_missing(given) & _missing(code), CANNOT, f"{word} country '", _blank(given), "' is not a known country")


def _cross_border(c: _Context) -> _Result:
    r = _Result(c.n)
    both = ~_missing(c.ho_cc) & ~_missing(c.vo_cc)
    same = both & (c.ho_cc == c.vo_cc)
    r.set(both & ~same, PASS, "host in ", c.ho_cc, ", visitor in ", c.vo_cc)
    r.set(same, FAIL, "host and visitor both in ", c.ho_cc, c.from_register("ho", "country"),
          c.from_register("vo", "country"))
    _country_unknown(r, c, "vo")
    _country_unknown(r, c, "ho")
    return r


def _joined(c: _Context, codes: np.ndarray) -> np.ndarray:
    """The date each exchange's country joined the programme (NaT: before the generation, or unknown)."""
    dates = {code: np.datetime64(day, "D") for code, day in c.rule_set.countries.items() if day is not None}
    return pd.Series(codes, dtype="object").map(dates).to_numpy(dtype="datetime64[D]")


def _eligible_country(c: _Context) -> _Result:
    r = _Result(c.n)
    eligible = c.eligible
    ho_out = ~_missing(c.ho_cc) & ~_isin(c.ho_cc, eligible)
    vo_out = ~_missing(c.vo_cc) & ~_isin(c.vo_cc, eligible)
    ho_reg, vo_reg = c.from_register("ho", "country"), c.from_register("vo", "country")
    r.set(~_missing(c.ho_cc) & ~_missing(c.vo_cc), PASS, c.ho_cc, " and ", c.vo_cc, " are programme countries")
    _country_unknown(r, c, "vo")
    _country_unknown(r, c, "ho")
    for side, cc, out, ref in (("visitor", c.vo_cc, vo_out, vo_reg), ("host", c.ho_cc, ho_out, ho_reg)):
        joined = _joined(c, cc)
        late = ~out & ~_missing(cc) & ~np.isnat(joined) & ~np.isnat(c.start) & (c.start < joined)
        r.set(late, FAIL, f"{side} country ", cc, " joined the programme on ", _fmt("{}", joined),
              ", after the exchange's start on ", _fmt("{}", c.start), ref)
    r.set(vo_out, FAIL, "visitor country ", c.vo_cc, " is not a programme country", vo_reg)
    r.set(ho_out, FAIL, "host country ", c.ho_cc, " is not a programme country", ho_reg)
    r.set(ho_out & vo_out, FAIL, "host country ", c.ho_cc, " and visitor country ", c.vo_cc,
          " are not programme countries", ho_reg, vo_reg)
    return r


def _distance(c: _Context) -> _Result:

    r = _Result(c.n)
    both = ~_missing(c.ho_city) & ~_missing(c.vo_city)
    ho_pt = locate(pd.Series(c.ho_city[both], dtype="object"), pd.Series(c.ho_cc[both], dtype="object"))
    vo_pt = locate(pd.Series(c.vo_city[both], dtype="object"), pd.Series(c.vo_cc[both], dtype="object"))
    km = np.full(c.n, np.nan)
    km[both] = haversine_km(ho_pt["lat"], ho_pt["lon"], vo_pt["lat"], vo_pt["lon"])
    measured = ~np.isnan(km)
    min_km, shortfall = c.rule_set.value("distance", "min_km"), c.rule_set.value("distance", "shortfall")
    far = measured & (np.round(np.nan_to_num(km), 3) >= min_km)
    near = measured & ~far
    shown = np.where(near, np.floor(np.nan_to_num(km) * 10) / 10, np.round(np.nan_to_num(km), 1))
    c.shown_km, c.near = np.where(measured, shown, np.nan), near & (shortfall == "halve")  # for max_support (issue 18)
    between = (" km between ", _blank(c.ho_city), " and ", _blank(c.vo_city))
    r.set(far, PASS, _fmt("{:,.1f}", shown), *between)
    registered = (c.from_register("ho", "city"), c.from_register("vo", "city"))
    if shortfall == "halve":
        r.set(near, PASS, "warning: ", _fmt("{:,.1f}", shown), *between,
              f", under {min_km:,} km: the lump sum is halved", *registered, warning=True)
    else:
        r.set(near, FAIL, _fmt("{:,.1f}", shown), *between, f", under the minimum of {min_km:,} km", *registered)
    for side, city, cc, given, points in (("visitor", c.vo_city, c.vo_cc, c.vo_country, vo_pt),
                                          ("host", c.ho_city, c.ho_cc, c.ho_country, ho_pt)):
        lost = np.zeros(c.n, dtype=bool)
        lost[both] = points["lat"].isna().to_numpy()
        where = np.where(_missing(cc), "", " (" + _blank(cc) + ")").astype(object)
        r.set(lost, CANNOT, f"{side} city '", _blank(city), "'", where, " not found in GeoNames")
        unread = lost & ~_missing(given) & _missing(cc)  # issue 19: the country, not GeoNames, is to blame
        r.set(unread, CANNOT, f"{side} city '", _blank(city), f"' not placed: {side} country '", _blank(given),
              "' is not a known country")
    r.set(_missing(c.vo_city), CANNOT, f"visitor city unknown{c.nowhere}")
    r.set(_missing(c.ho_city), CANNOT, f"host city unknown{c.nowhere}")
    return r


def _duration(c: _Context) -> _Result:
    r = _Result(c.n)
    start, end = c.start, c.end
    min_days = c.rule_set.value("duration", "min_working_days")
    full_days = c.rule_set.value("duration", "full_lump_sum_working_days")
    months = c.rule_set.value("duration", "max_months")
    dated = ~np.isnat(start) & ~np.isnat(end)
    ordered = dated & (end >= start)
    working = np.zeros(c.n, dtype=np.int64)
    working[ordered] = np.busday_count(start[ordered], end[ordered] + np.timedelta64(1, "D"))
    last_allowed = (pd.Series(start.astype("datetime64[ns]")) + pd.DateOffset(months=months)).to_numpy(
        dtype="datetime64[D]")
    too_long = ordered & (end > last_allowed)
    short = ordered & ~too_long & (working < min_days)
    halved = ordered & ~too_long & ~short & (working < full_days)
    span = (_fmt("{}", start), " to ", _fmt("{}", end))
    days = (_fmt("{}", working), " working days (Mon-Fri), ", *span)
    r.set(ordered, PASS, *days)
    r.set(halved, PASS, "warning: ", *days, f"; under {full_days} working days the lump sum is halved", warning=True)
    r.set(short, FAIL, *days, f": under the minimum of {min_days}")
    r.set(too_long, FAIL, *span, f": longer than {months} month{'s' if months > 1 else ''} (it may end on ",
          _fmt("{}", last_allowed), " at the latest)")
    r.set(dated & ~ordered, FAIL, *span, ": the end date is before the start date")
    c.working = np.where(ordered, working, -1)  # for max_support (issue 18)
    r.set(np.isnat(end), CANNOT, "no end date")
    r.set(np.isnat(start), CANNOT, "no start date")
    r.set(np.isnat(start) & np.isnat(end), CANNOT, "no start or end date")
    return r


def _single_visit(c: _Context) -> _Result:
    r = _Result(c.n)
    # Who visits: the register entry where the VO matched one, else its normalised name; as integers.
    blank_key = _missing(c.vo_key) | (c.vo_key == "")
    key_codes, _ = pd.factorize(np.where(blank_key, None, c.vo_key))
    registered = c.vo_pos >= 0
    offset = len(c.register) if c.register is not None else 0
    who = np.where(registered, c.vo_pos, offset + key_codes).astype(np.int64)
    present = ~_missing(c.vo_name) & (registered | ~blank_key)
    # issue 18: a later copy of an exchange (same HO, VO and event, any case) is that one visit
    copy = present & (c.copy_of != np.arange(c.n))
    first, visits, rank = _visits(who, c.start, c.row, present & ~copy)
    allowed = c.rule_set.value("single_visit", "visits_per_generation")
    later = present & ~copy & (rank >= allowed)
    name = _blank(c.vo_name)
    r.set(present & ~copy & (visits == 1), PASS, name, " visits once")
    r.set(present & ~copy & (visits > 1) & ~later, PASS, "visit ", _fmt("{}", rank + 1), " of ", _fmt("{}", visits),
          " by ", name)
    limit = "only once" if allowed == 1 else f"at most {allowed} times"
    r.set(later, FAIL, name, " already visits on row ", _fmt("{}", c.row[first]),
          f" (an organisation visits {limit})", c.from_register("vo", "identity"))
    r.set(copy, PASS, "copy of row ", _fmt("{}", c.row[c.copy_of]),
          " (same HO, VO and event): the same visit, reported once as a duplicate exchange")
    r.set(~present, CANNOT, "VO is empty")
    return r


def _visits(who: np.ndarray, start: np.ndarray, row: np.ndarray,
            present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each present row: the position of its organisation's first visit (earliest start, no
    date last, then the lower row), the organisation's number of visits and this visit's rank
    among them from 0 (all 0 where not present).

    >>> first, visits, rank = _visits(np.array([7, 3, 7]), np.array(["2024-05-01", "NaT", "2024-01-01"],
    ...                               dtype="datetime64[D]"), np.array([4, 5, 6]), np.array([True, True, True]))
    >>> first.tolist(), visits.tolist(), rank.tolist()
    ([2, 1, 2], [2, 1, 2], [1, 0, 0])
    """
    n = len(who)
    first, visits, rank = (np.zeros(n, dtype=np.int64) for _ in range(3))
    placed = np.flatnonzero(present)
    if not len(placed):
        return first, visits, rank
    day = start[placed].astype("int64")
    day[np.isnat(start[placed])] = np.iinfo(np.int64).max  # undated visits come last
    order = placed[np.lexsort((row[placed], day, who[placed]))]  # by organisation, then date, then row
    group = who[order]
    starts = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
    sizes = np.diff(np.append(starts, len(order)))
    member = np.repeat(np.arange(len(starts)), sizes)
    first[order] = order[starts][member]
    visits[order] = sizes[member]
    rank[order] = np.arange(len(order)) - starts[member]
    return first, visits, rank


def _vo_type(c: _Context) -> _Result:
    r = _Result(c.n)
    source = np.where(c.vo_type_from_register, " (type from the register)", "").astype(object)
    visitors = c.rule_set.value("vo_type", "visitor_types")
    hosts = c.rule_set.value("vo_type", "host_types")
    allowed = _words_or([PLURALS[t] for t in visitors])
    for code, words in TYPE_WORDS.items():
        mask = c.vo_type == code
        if code in visitors:
            r.set(mask, PASS, f"VO is {words}", source)
        else:
            may_host = f" ({PLURALS[code]} may host)" if code in hosts else ""
            r.set(mask, FAIL, f"VO is {words}: visitors are {allowed}{may_host}", source,
                  c.from_register("vo", "type"))
    r.set(_missing(c.vo_type), CANNOT, f"VO type unknown{c.nowhere}")
    return r


def _money(value: float) -> str:
    return f"€{value / 1e6:,.1f}M" if value >= 1e6 else f"€{value:,.0f}"


def _sme_verdicts(register: pd.DataFrame | None, sme_limits) -> tuple[np.ndarray, np.ndarray]:
    """Outcome and message of the SME check for each register row (and a last one: not in it)."""
    outcomes, messages = [], []
    if register is not None and len(register):
        staff = pd.array(_column(register, "headcount", "Int64"), dtype="Int64")
        turnover = pd.array(_column(register, "turnover_eur", "Float64"), dtype="Float64")
        balance = pd.array(_column(register, "balance_sheet_eur", "Float64"), dtype="Float64")
        within = {name: (staff < s) & ((turnover <= t_) | (balance <= b)) for name, s, t_, b in sme_limits}
        for i in range(len(register)):
            known = [staff[i] is not pd.NA, turnover[i] is not pd.NA, balance[i] is not pd.NA]
            figures = ", ".join([f"headcount {staff[i]}" if known[0] else "headcount unknown",
                                 f"turnover {_money(turnover[i])}" if known[1] else "turnover unknown",
                                 f"balance sheet {_money(balance[i])}" if known[2] else "balance sheet unknown"])
            medium = within["medium"][i]
            if not any(known):
                outcomes.append(CANNOT)
                messages.append("no headcount, turnover or balance sheet in the register")
            elif medium is pd.NA:
                outcomes.append(CANNOT)
                messages.append(f"register figures incomplete ({figures})")
            elif medium:
                category = next(name for name, *_ in sme_limits
                                if within[name][i] is not pd.NA and bool(within[name][i]))
                outcomes.append(PASS)
                messages.append(f"within the {category}-enterprise limits ({figures})")
            else:
                outcomes.append(FAIL)
                _, staff_max, turnover_max, balance_max = sme_limits[-1]
                messages.append(f"declared an SME but over the SME limits ({figures}; an SME has a headcount "
                                f"under {staff_max} and turnover at most {_money(turnover_max)} or balance sheet "
                                f"at most {_money(balance_max)})")
    outcomes.append(CANNOT)
    messages.append("VO not in the register: no headcount, turnover or balance sheet")
    return np.array(outcomes, dtype=np.int8), np.array(messages, dtype=object)


def _sme_category(c: _Context) -> _Result:
    r = _Result(c.n)
    is_sme = c.vo_type == "sme"
    outcomes, messages = _sme_verdicts(c.register, c.rule_set.sme_limits)
    for outcome in (PASS, FAIL, CANNOT):
        r.set(is_sme & (outcomes[c.vo_pos] == outcome), outcome, messages[c.vo_pos],
              c.from_register("vo", "figures") if outcome == FAIL else "")
    r.set(~_missing(c.vo_type) & ~is_sme, PASS, "not declared an SME (the rule applies to SMEs only)")
    r.set(_missing(c.vo_type), CANNOT, f"VO type unknown{c.nowhere}")
    return r


def _max_support(c: _Context) -> _Result:
    r = _Result(c.n)
    known = ~np.isnan(c.amount)
    values = np.nan_to_num(c.amount)
    paid = _fmt("€{:,.2f}", values)
    most = c.rule_set.value("max_support", "max_eur")
    # issue 18: a halved lump sum (3-4 working days, or under 200 km) has half the maximum; where
    # neither can be told, an amount between the two maximums cannot be checked. Row by row.
    full_days = c.rule_set.value("duration", "full_lump_sum_working_days")
    min_km = c.rule_set.value("distance", "min_km")
    half = most / 2
    half_text = f"€{half:,.0f}" if float(half).is_integer() else f"€{half:,.2f}"
    texts = np.full(c.n, "", dtype=object)
    kinds = np.full(c.n, "unknown", dtype=object)
    for i in range(c.n):
        short = 0 <= c.working[i] < full_days
        if short or c.near[i]:
            kinds[i] = "halved"
            texts[i] = " and ".join(([f"{c.working[i]} working days, under {full_days}"] if short else [])
                                    + ([f"{c.shown_km[i]:,.1f} km apart, under {min_km:,} km"] if c.near[i] else []))
        elif c.working[i] >= 0 and not np.isnan(c.shown_km[i]):
            kinds[i] = "full"
        else:
            texts[i] = "; ".join(([c.duration_why[i]] if c.working[i] < 0 else [])
                                 + ([c.distance_why[i]] if np.isnan(c.shown_km[i]) else []))
    r.set(known & (kinds == "full") & (values <= most), PASS, paid, f" paid, within the €{most:,} maximum")
    r.set(known & (kinds == "halved") & (values <= half), PASS, paid,
          f" paid, within the {half_text} maximum of a halved lump sum (", texts, ")")
    r.set(known & (kinds == "halved") & (values > half), FAIL, paid,
          f" paid, over the {half_text} maximum of a halved lump sum (", texts, ")")
    r.set(known & (kinds == "unknown") & (values <= half), PASS, paid,
          f" paid, within {half_text}, the maximum even of a halved lump sum")
    r.set(known & (kinds == "unknown") & (values > half) & (values <= most), CANNOT, paid,
          f" paid: within the €{most:,} maximum of a full lump sum but over the {half_text} of a halved one, "
          "and whether it is halved cannot be told: ", texts)
    r.set(known & (values > most), FAIL, paid, f" paid, over the €{most:,} maximum per visitor")
    r.set(known & (values < 0), FAIL, paid, ": a negative amount")
    r.set(~known, CANNOT, "no amount")
    return r


# --- the public API -----------------------------------------------------------------------

def check_rules(table: pd.DataFrame, register: pd.DataFrame | None = None, *, rule_set: RuleSet | None = None,
                programme_countries: frozenset[str] | set[str] | None = None) -> pd.DataFrame:
    """Every exchange against every rule: columns ``row`` (the Excel row, ``source_row``),
    ``rule`` (``RULES``), ``outcome`` (pass / fail / cannot_check), ``severity`` ("warning"
    for a visiting large company or public authority, a fail, and for 3-4 working days, a
    pass; else missing) and ``message``; ordered by row, then rule.

    With a ``register`` (``register.read_register``) missing countries and cities are filled from it
    (``fill_locations``), a missing VO type is taken from it, and its headcount / turnover /
    balance sheet decide ``sme_category``; a fail that rests on the register names its row and
    source. ``rule_set`` (``read_rule_set``) gives every limit and the programme's countries;
    it defaults to the bundled COSME rule set; ``programme_countries`` (ISO codes) overrides its
    countries. Rows with ``excluded`` true are checked like any other (no rule depends
    on the findings); filter on ``row`` to drop them. Working days are Monday to Friday, public
    holidays not counted. ``table`` is not changed.

    >>> t = pd.DataFrame({"source_row": [4], "host_org": ["A"], "visiting_org": ["B"],
    ...                   "vo_entity_type": ["sme"], "ho_country": ["FR"], "vo_country": ["Netherlands"]})
    >>> check_rules(t).set_index("rule").loc["cross_border", ["outcome", "message"]].tolist()
    ['pass', 'host in FR, visitor in NL']
    """
    return evaluate_rules(table, register, rule_set=rule_set, programme_countries=programme_countries).frame()


class RuleResults:
    """Every exchange against every rule, messages written only for the rows asked for.

    ``outcome`` and ``warning`` are (exchanges x rules) arrays; ``frame(positions)`` gives
    ``check_rules``' table for some exchanges (all by default), ``summary()`` the counts of
    ``rule_summary`` and ``attention()`` the positions ``failures`` keeps, without writing a
    message: a million exchanges are summarised, or streamed in blocks (``blocks``), without
    eight million texts in memory.
    """

    def __init__(self, row: np.ndarray, results: list[_Result], rule_set: RuleSet | None = None):
        self.row = row
        self.results = results
        self.rule_set = rule_set
        self.outcome = np.stack([r.outcome for r in results], axis=1)
        self.warning = np.stack([r.warning for r in results], axis=1)

    def __len__(self) -> int:
        return len(self.row)

    def frame(self, positions: np.ndarray | None = None) -> pd.DataFrame:
        """``check_rules``' table for the exchanges at ``positions`` (increasing; default all)."""
        if positions is None:
            positions = np.arange(len(self.row))
        n = len(positions)
        message = np.stack([r.messages(positions) for r in self.results], axis=1).ravel()
        return pd.DataFrame({
            "row": np.repeat(self.row[positions], len(RULES)),
            "rule": pd.Categorical.from_codes(np.tile(np.arange(len(RULES), dtype=np.int8), n),
                                              categories=list(RULES)),
            "outcome": pd.Categorical.from_codes(self.outcome[positions].ravel(), categories=list(OUTCOMES)),
            "severity": pd.Series(np.where(self.warning[positions].ravel(), WARNING, None), dtype="str"),
            "message": pd.Series(message, dtype="str"),
        })

    def blocks(self, size: int = 50_000):
        """``frame`` for ``size`` exchanges at a time, in order (for streaming the results)."""
        for start in range(0, len(self.row), size):
            yield self.frame(np.arange(start, min(start + size, len(self.row))))

    def summary(self) -> pd.DataFrame:
        """``rule_summary`` of these results, counted from the outcome codes."""
        counts = pd.DataFrame({name: (self.outcome == code).sum(axis=0).astype("int64")
                               for code, name in enumerate(OUTCOMES)}, index=pd.Index(list(RULES), name="rule"))
        descriptions = describe(self.rule_set or read_rule_set())
        counts["description"] = [descriptions[r] for r in RULES]
        return counts

    def attention(self) -> tuple[np.ndarray, np.ndarray]:
        """(exchange position, rule index) of every fail and warning, ordered by row, then rule."""
        need = (self.outcome == FAIL) | self.warning
        position, rule = np.nonzero(need)
        order = np.argsort(self.row[position], kind="stable")
        return position[order], rule[order]

    def messages(self, position: np.ndarray, rule: np.ndarray) -> np.ndarray:
        """The message of each (exchange position, rule index) pair."""
        out = np.empty(len(position), dtype=object)
        for index, result in enumerate(self.results):
            pick = np.flatnonzero(rule == index)
            if len(pick):
                wanted, inverse = np.unique(position[pick], return_inverse=True)
                out[pick] = result.messages(wanted)[inverse]
        return out


def _copy_of(table: pd.DataFrame) -> np.ndarray:
    """Issue 18: the first row with the same HO, VO and event (Python's casefold), row by row."""
    first, out = {}, np.arange(len(table))
    def get(column, i):
        return table[column].iloc[i] if column in table else None
    for i in range(len(table)):
        ho, vo, event = get("host_org", i), get("visiting_org", i), get("event", i)
        if not isinstance(ho, str) or not isinstance(vo, str):
            continue
        key = (ho.casefold(), vo.casefold(), event.casefold() if isinstance(event, str) else None)
        out[i] = first.setdefault(key, i)
    return out


def _why(result: _Result, n: int) -> np.ndarray:
    """Issue 18: each cannot_check message as its reason (the value it names taken out)."""
    import re
    texts = result.messages(np.arange(n))
    return np.array([re.sub(r"^(host|visitor) city '.*' (\([A-Z]{2}\) )?not found", r"\1 city not found", t)
                     for t in texts], dtype=object)


def evaluate_rules(table: pd.DataFrame, register: pd.DataFrame | None = None, *, rule_set: RuleSet | None = None,
                   programme_countries: frozenset[str] | set[str] | None = None) -> RuleResults:
    """``check_rules`` without writing the messages yet: a :class:`RuleResults`.

    >>> t = pd.DataFrame({"source_row": [4], "host_org": ["A"], "visiting_org": ["B"], "vo_entity_type": ["sme"]})
    >>> int(evaluate_rules(t).summary().loc["vo_type", "pass"])
    1
    """
    rule_set = rule_set or read_rule_set()
    eligible = frozenset(programme_countries) if programme_countries is not None else frozenset(rule_set.countries)
    c = _Context(table, register, rule_set, eligible)
    c.copy_of = _copy_of(table)
    distance, duration = _distance(c), _duration(c)
    c.distance_why = _why(distance, c.n)
    c.duration_why = np.where(duration.outcome == CANNOT, _why(duration, c.n), "the end date is before the start date")
    results = [_cross_border(c), _eligible_country(c), distance, duration, _single_visit(c),
               _vo_type(c), _sme_category(c), _max_support(c)]
    return RuleResults(c.row, results, rule_set)


def rule_summary(results: pd.DataFrame, rule_set: RuleSet | None = None) -> pd.DataFrame:
    """Counts per rule (index, in ``RULES`` order): ``pass``, ``fail``, ``cannot_check`` and a
    plain-words ``description`` of what the rule checks under ``rule_set`` (default: the bundled one).

    >>> r = pd.DataFrame({"row": [4], "rule": ["distance"], "outcome": ["fail"], "severity": [None],
    ...                   "message": ["12 km"]})
    >>> rule_summary(r).loc["distance", ["pass", "fail", "cannot_check"]].tolist()
    [0, 1, 0]
    """
    rule = pd.Categorical(results["rule"], categories=list(RULES))
    outcome = pd.Categorical(results["outcome"], categories=list(OUTCOMES))
    counts = pd.crosstab(rule, outcome, dropna=False).reindex(index=list(RULES), columns=list(OUTCOMES),
                                                               fill_value=0).astype("int64")
    counts.index.name, counts.columns.name = "rule", None
    descriptions = describe(rule_set or read_rule_set())
    counts["description"] = [descriptions[r] for r in RULES]
    return counts


def failures(results: pd.DataFrame) -> pd.DataFrame:
    """The results that need attention: every fail and every warning, ordered by row (then rule).

    >>> r = pd.DataFrame({"row": [9, 4, 4], "rule": ["duration", "distance", "duration"],
    ...                   "outcome": ["fail", "pass", "pass"], "severity": [None, None, "warning"], "message": "m"})
    >>> failures(r)[["row", "rule"]].values.tolist()
    [[4, 'duration'], [9, 'duration']]
    """
    attention = (results["outcome"] == "fail").to_numpy(dtype=bool) | \
        (results["severity"] == WARNING).fillna(False).to_numpy(dtype=bool)
    return results.loc[attention].sort_values("row", kind="stable").reset_index(drop=True)


def results_json(results: pd.DataFrame) -> str:
    """The results as JSON text, a list of ``{"row", "rule", "outcome", "message"}``, as
    ``cxc-analysis check --json`` prints it.

    >>> r = pd.DataFrame({"row": [4], "rule": ["distance"], "outcome": ["pass"], "severity": [None],
    ...                   "message": ["412.0 km"]})
    >>> results_json(r)
    '[{"row":4,"rule":"distance","outcome":"pass","message":"412.0 km"}]'
    """
    columns = ["row", "rule", "outcome", "message"]
    return results[columns].astype({"rule": "str", "outcome": "str"}).to_json(orient="records", force_ascii=False)


def write_results_json(results: RuleResults, out, *, lines: bool = False, block: int = 20_000) -> None:
    """Write ``results_json``'s records to the text stream ``out`` block by block (never the
    whole list in memory), each record built with Arrow kernels; ``lines``: one JSON object a
    line (NDJSON) instead of one list.

    >>> import io; t = pd.DataFrame({"source_row": [4], "host_org": ["A"], "visiting_org": ["B"]})
    >>> buffer = io.StringIO(); write_results_json(evaluate_rules(t), buffer, lines=True)
    >>> buffer.getvalue().splitlines()[4]
    '{"row":4,"rule":"single_visit","outcome":"pass","message":"B visits once"}'
    """
    separator = "\n" if lines else ","
    first = True
    if not lines:
        out.write("[")
    for start in range(0, len(results), block):
        positions = np.arange(start, min(start + block, len(results)))
        text = _json_records(results, positions, separator)
        out.write(text if lines or first else "," + text)
        first = False
    if not lines:
        out.write("]\n")


_RULE_JSON = [json.dumps(rule) for rule in RULES]
_OUTCOME_JSON = [json.dumps(outcome) for outcome in OUTCOMES]


def _json_records(results: RuleResults, positions: np.ndarray, separator: str) -> str:
    """The JSON objects of the exchanges at ``positions`` (all rules each), joined by ``separator``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(positions) * len(RULES)
    if not n:
        return ""
    row = pa.array(np.repeat(results.row[positions], len(RULES))).cast(pa.string())
    rule = pa.array(_RULE_JSON).take(pa.array(np.tile(np.arange(len(RULES)), len(positions))))
    outcome = pa.array(_OUTCOME_JSON).take(pa.array(results.outcome[positions].ravel().astype(np.int64)))
    message = np.stack([r.messages(positions) for r in results.results], axis=1).ravel()
    text = _json_strings(pa.array(message, type=pa.string()))
    records = pc.binary_join_element_wise('{"row":', row, ',"rule":', rule, ',"outcome":', outcome,
                                          ',"message":', text, "}", "")
    return separator.join(records.to_pylist()) + ("\n" if separator == "\n" else "")


def _json_strings(array):
    """Each text as a JSON string literal (quotes, backslashes and control characters escaped)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from cxc_analysis.core.text import replace_where

    array = replace_where(array, r"\\", r"\\\\")
    array = replace_where(array, '"', r'\\"')
    control = pc.fill_null(pc.match_substring_regex(array, "[\\x{0}-\\x{1f}]"), False)
    if pc.any(control).as_py():  # rare: Python's json escapes those
        fixed = [json.dumps(text, ensure_ascii=False)[1:-1] for text in pc.filter(array, control).to_pylist()]
        array = pc.replace_with_mask(array, control, pa.array(fixed, type=array.type))
    return pc.binary_join_element_wise('"', pc.fill_null(array, ""), '"', "")
