"""The ClusterXchange programme rules, checked for every exchange: pass, fail or cannot check.

``check_rules(table, register)`` gives one result per exchange and rule (``RULES``, in that
order), with the Excel row, the outcome and a message in plain words; ``rule_summary`` counts
them per rule, ``failures`` lists what needs attention. "cannot_check" (a country, city, date or
figure unknown) is its own outcome, counted and shown, never passed silently.

Everything is vectorised: countries and cities are looked up once per distinct value, the
register is joined through a map of normalised names, distances are numpy arrays. Knows
nothing of charts or reports.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .config import DATA_RAW
from .errors import InputError

RULES = ("cross_border", "eligible_country", "distance", "duration", "single_visit", "vo_type",
         "sme_category", "max_support")
OUTCOMES = ("pass", "fail", "cannot_check")
PASS, FAIL, CANNOT = 0, 1, 2
WARNING = "warning"

MIN_DISTANCE_KM = 200
MIN_WORKING_DAYS = 3
FULL_LUMP_SUM_WORKING_DAYS = 5
MAX_SUPPORT_EUR = 1100
VISITOR_TYPES = ("cluster_organisation", "sme", "scaling_up_support_organisation")
# Recommendation 2003/361/EC: headcount below, and turnover or balance sheet at most.
SME_LIMITS = (("micro", 10, 2e6, 2e6), ("small", 50, 10e6, 10e6), ("medium", 250, 50e6, 43e6))
PROGRAMME_COUNTRIES = DATA_RAW / "programme_countries.csv"

DESCRIPTIONS = {
    "cross_border": "Host and visitor are in two different countries",
    "eligible_country": "Host and visitor are both in programme countries",
    "distance": f"Host and visitor are at least {MIN_DISTANCE_KM} km apart (closer: the lump sum is halved)",
    "duration": f"The exchange lasts {MIN_WORKING_DAYS} working days to 1 month "
                f"(under {FULL_LUMP_SUM_WORKING_DAYS} working days the lump sum is halved)",
    "single_visit": "An organisation visits only once (it may host any number of times)",
    "vo_type": "The visitor is a cluster organisation, an SME or a scaling-up support organisation",
    "sme_category": "An SME visitor is within the SME limits of Recommendation 2003/361/EC",
    "max_support": f"Financial support per visitor is at most €{MAX_SUPPORT_EUR:,}",
}
TYPE_WORDS = {"cluster_organisation": "a cluster organisation", "sme": "an SME",
              "scaling_up_support_organisation": "a scaling-up support organisation",
              "large_company": "a large company", "public_authority": "a public authority"}
PLURALS = {"large_company": "large companies", "public_authority": "public authorities"}
WARNING_DURATION_TEXT = f"under {FULL_LUMP_SUM_WORKING_DAYS} working days the lump sum is halved"


# --- the programme's countries ------------------------------------------------------------

def read_programme_countries(path: str | Path = PROGRAMME_COUNTRIES) -> frozenset[str]:
    """The ISO alpha-2 codes of a programme's countries, from a CSV with a ``code`` column
    (ISO codes or English names); the bundled file lists the COSME participants.

    >>> "TR" in read_programme_countries() and "NO" not in read_programme_countries()  # doctest: +SKIP
    True
    """
    from .geo import country_code

    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", file=path)
    try:
        frame = pd.read_csv(path, dtype="str", keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read the country list ({' '.join(str(exc).split())[:120]})", file=path) from None
    if "code" not in frame.columns:
        raise InputError("required column missing: code (ISO 3166 alpha-2)", file=path, column="code")
    codes = set()
    for position, text in enumerate(frame["code"]):
        if not text.strip():
            continue
        code = country_code(text)
        if code is None:
            raise InputError(f"unknown country '{text}'", file=path, row=position + 2, column="code")
        codes.add(code)
    return frozenset(codes)


# --- locations from the register ------------------------------------------------------------

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
               positions: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Host and visitor country (ISO code where known, else the text) and city, as object arrays,
    filled from the register where the tracker has none."""
    from .geo import country_codes, match_register

    out = {}
    for side, name in (("ho", "host_org"), ("vo", "visiting_org")):
        given = _column(table, f"{side}_country")
        country = _objects(country_codes(given).fillna(given.astype("str")))
        city = _objects(_column(table, f"{side}_city"))
        if register is not None:
            where = positions[side] if positions else match_register(_column(table, name), register)
            reg_country = _take(_column(register, "country"), where)
            reg_city = _take(_column(register, "city"), where)
            agrees = (country == None) | (country == reg_country)  # noqa: E711 (elementwise)
            country = np.where(country == None, reg_country, country)  # noqa: E711 (elementwise)
            city = np.where((city == None) & agrees, reg_city, city)  # noqa: E711
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
    filled = _locations(table, register)
    return table.assign(**{c: pd.Series(v, index=table.index, dtype="str") for c, v in filled.items()})


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

    def __init__(self, table: pd.DataFrame, register: pd.DataFrame | None):
        from .geo import country_codes, match_register, org_keys

        self.n = len(table)
        self.register = register
        self.row = table["source_row"].to_numpy(dtype=np.int64)
        self.vo_name = _objects(_column(table, "visiting_org"))
        self.vo_key = org_keys(self.vo_name)
        positions = None
        if register is not None:
            positions = {"ho": match_register(_column(table, "host_org"), register),
                         "vo": match_register(None, register, keys=self.vo_key)}
        self.vo_pos = positions["vo"] if positions else np.full(self.n, -1, dtype=np.int64)
        located = _locations(table, register, positions)
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
        self.vo_type = np.where(self.vo_type_from_register, reg_type, vo_type)
        self.nowhere = " (not in the tracker or the register)" if register is not None else " (not in the tracker)"


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
    r.set(same, FAIL, "host and visitor both in ", c.ho_cc)
    _country_unknown(r, c, "vo")
    _country_unknown(r, c, "ho")
    return r


def _eligible_country(c: _Context, eligible: frozenset[str]) -> _Result:
    r = _Result(c.n)
    ho_out = ~_missing(c.ho_cc) & ~_isin(c.ho_cc, eligible)
    vo_out = ~_missing(c.vo_cc) & ~_isin(c.vo_cc, eligible)
    r.set(~_missing(c.ho_cc) & ~_missing(c.vo_cc), PASS, c.ho_cc, " and ", c.vo_cc, " are programme countries")
    _country_unknown(r, c, "vo")
    _country_unknown(r, c, "ho")
    r.set(vo_out, FAIL, "visitor country ", c.vo_cc, " is not a programme country")
    r.set(ho_out, FAIL, "host country ", c.ho_cc, " is not a programme country")
    r.set(ho_out & vo_out, FAIL, "host country ", c.ho_cc, " and visitor country ", c.vo_cc,
          " are not programme countries")
    return r


def _distance(c: _Context) -> _Result:
    from .geo import haversine_km, locate

    r = _Result(c.n)
    both = ~_missing(c.ho_city) & ~_missing(c.vo_city)
    ho_pt = locate(pd.Series(c.ho_city[both], dtype="object"), pd.Series(c.ho_cc[both], dtype="object"))
    vo_pt = locate(pd.Series(c.vo_city[both], dtype="object"), pd.Series(c.vo_cc[both], dtype="object"))
    km = np.full(c.n, np.nan)
    km[both] = haversine_km(ho_pt["lat"], ho_pt["lon"], vo_pt["lat"], vo_pt["lon"])
    measured = ~np.isnan(km)
    far = measured & (np.round(np.nan_to_num(km), 3) >= MIN_DISTANCE_KM)
    near = measured & ~far
    shown = np.where(near, np.floor(np.nan_to_num(km) * 10) / 10, np.round(np.nan_to_num(km), 1))
    between = (" km between ", _blank(c.ho_city), " and ", _blank(c.vo_city))
    r.set(far, PASS, _fmt("{:,.1f}", shown), *between)
    r.set(near, FAIL, _fmt("{:,.1f}", shown), *between, f", under {MIN_DISTANCE_KM} km (the lump sum is halved)")
    for side, city, cc, points in (("visitor", c.vo_city, c.vo_cc, vo_pt), ("host", c.ho_city, c.ho_cc, ho_pt)):
        lost = np.zeros(c.n, dtype=bool)
        lost[both] = points["lat"].isna().to_numpy()
        where = np.where(_missing(cc), "", " (" + _blank(cc) + ")").astype(object)
        r.set(lost, CANNOT, f"{side} city '", _blank(city), "'", where, " not found in GeoNames")
    r.set(_missing(c.vo_city), CANNOT, f"visitor city unknown{c.nowhere}")
    r.set(_missing(c.ho_city), CANNOT, f"host city unknown{c.nowhere}")
    return r


def _duration(c: _Context) -> _Result:
    r = _Result(c.n)
    start, end = c.start, c.end
    dated = ~np.isnat(start) & ~np.isnat(end)
    ordered = dated & (end >= start)
    working = np.zeros(c.n, dtype=np.int64)
    working[ordered] = np.busday_count(start[ordered], end[ordered] + np.timedelta64(1, "D"))
    last_allowed = (pd.Series(start.astype("datetime64[ns]")) + pd.DateOffset(months=1)).to_numpy(
        dtype="datetime64[D]")
    too_long = ordered & (end > last_allowed)
    short = ordered & ~too_long & (working < MIN_WORKING_DAYS)
    halved = ordered & ~too_long & ~short & (working < FULL_LUMP_SUM_WORKING_DAYS)
    span = (_fmt("{}", start), " to ", _fmt("{}", end))
    days = (_fmt("{}", working), " working days (Mon-Fri), ", *span)
    r.set(ordered, PASS, *days)
    r.set(halved, PASS, "warning: ", *days, f"; {WARNING_DURATION_TEXT}", warning=True)
    r.set(short, FAIL, *days, f": under the minimum of {MIN_WORKING_DAYS}")
    r.set(too_long, FAIL, *span, ": longer than 1 month (it may end on ", _fmt("{}", last_allowed), " at the latest)")
    r.set(dated & ~ordered, FAIL, *span, ": the end date is before the start date")
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
    first, visits = _visits(who, c.start, c.row, present)
    later = present & (first != np.arange(c.n))
    name = _blank(c.vo_name)
    r.set(present & (visits == 1), PASS, name, " visits once")
    r.set(present & (visits > 1) & ~later, PASS, "first of ", _fmt("{}", visits), " visits by ", name)
    r.set(later, FAIL, name, " already visits on row ", _fmt("{}", c.row[first]),
          " (an organisation visits only once)")
    r.set(~present, CANNOT, "VO is empty")
    return r


def _visits(who: np.ndarray, start: np.ndarray, row: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each present row: the position of its organisation's first visit (earliest start, no
    date last, then the lower row) and the organisation's number of visits (0 where not present).

    >>> first, visits = _visits(np.array([7, 3, 7]), np.array(["2024-05-01", "NaT", "2024-01-01"],
    ...                         dtype="datetime64[D]"), np.array([4, 5, 6]), np.array([True, True, True]))
    >>> first.tolist(), visits.tolist()
    ([2, 1, 2], [2, 1, 2])
    """
    n = len(who)
    first, visits = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    placed = np.flatnonzero(present)
    if not len(placed):
        return first, visits
    day = start[placed].astype("int64")
    day[np.isnat(start[placed])] = np.iinfo(np.int64).max  # undated visits come last
    order = placed[np.lexsort((row[placed], day, who[placed]))]  # by organisation, then date, then row
    group = who[order]
    starts = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
    sizes = np.diff(np.append(starts, len(order)))
    member = np.repeat(np.arange(len(starts)), sizes)
    first[order] = order[starts][member]
    visits[order] = sizes[member]
    return first, visits


def _vo_type(c: _Context) -> _Result:
    r = _Result(c.n)
    source = np.where(c.vo_type_from_register, " (type from the register)", "").astype(object)
    for code, words in TYPE_WORDS.items():
        mask = c.vo_type == code
        if code in VISITOR_TYPES:
            r.set(mask, PASS, f"VO is {words}", source)
        else:
            r.set(mask, FAIL, f"warning: VO is {words}: visitors are cluster organisations, SMEs or "
                              f"scaling-up support organisations ({PLURALS[code]} may host); counted for the "
                              "partnership's own target", source, warning=True)
    r.set(_missing(c.vo_type), CANNOT, f"VO type unknown{c.nowhere}")
    return r


def _money(value: float) -> str:
    return f"€{value / 1e6:,.1f}M" if value >= 1e6 else f"€{value:,.0f}"


def _sme_verdicts(register: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Outcome and message of the SME check for each register row (and a last one: not in it)."""
    outcomes, messages = [], []
    if register is not None and len(register):
        staff = pd.array(_column(register, "headcount", "Int64"), dtype="Int64")
        turnover = pd.array(_column(register, "turnover_eur", "Float64"), dtype="Float64")
        balance = pd.array(_column(register, "balance_sheet_eur", "Float64"), dtype="Float64")
        within = {name: (staff < s) & ((turnover <= t_) | (balance <= b)) for name, s, t_, b in SME_LIMITS}
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
                category = next(name for name, *_ in SME_LIMITS
                                if within[name][i] is not pd.NA and bool(within[name][i]))
                outcomes.append(PASS)
                messages.append(f"within the {category}-enterprise limits ({figures})")
            else:
                outcomes.append(FAIL)
                messages.append(f"declared an SME but over the SME limits ({figures}; an SME has a headcount "
                                "under 250 and turnover at most €50M or balance sheet at most €43M)")
    outcomes.append(CANNOT)
    messages.append("VO not in the register: no headcount, turnover or balance sheet")
    return np.array(outcomes, dtype=np.int8), np.array(messages, dtype=object)


def _sme_category(c: _Context) -> _Result:
    r = _Result(c.n)
    is_sme = c.vo_type == "sme"
    outcomes, messages = _sme_verdicts(c.register)
    for outcome in (PASS, FAIL, CANNOT):
        r.set(is_sme & (outcomes[c.vo_pos] == outcome), outcome, messages[c.vo_pos])
    r.set(~_missing(c.vo_type) & ~is_sme, PASS, "not declared an SME (the rule applies to SMEs only)")
    r.set(_missing(c.vo_type), CANNOT, f"VO type unknown{c.nowhere}")
    return r


def _max_support(c: _Context) -> _Result:
    r = _Result(c.n)
    known = ~np.isnan(c.amount)
    values = np.nan_to_num(c.amount)
    paid = _fmt("€{:,.2f}", values)
    r.set(known & (values <= MAX_SUPPORT_EUR), PASS, paid, f" paid, within the €{MAX_SUPPORT_EUR:,} maximum")
    r.set(known & (values > MAX_SUPPORT_EUR), FAIL, paid, f" paid, over the €{MAX_SUPPORT_EUR:,} maximum per visitor")
    r.set(known & (values < 0), FAIL, paid, ": a negative amount")
    r.set(~known, CANNOT, "no amount")
    return r


# --- the public API -----------------------------------------------------------------------

def check_rules(table: pd.DataFrame, register: pd.DataFrame | None = None, *,
                programme_countries: frozenset[str] | set[str] | None = None) -> pd.DataFrame:
    """Every exchange against every rule: columns ``row`` (the Excel row, ``source_row``),
    ``rule`` (``RULES``), ``outcome`` (pass / fail / cannot_check), ``severity`` ("warning"
    for a visiting large company or public authority, a fail, and for 3-4 working days, a
    pass; else missing) and ``message``; ordered by row, then rule.

    With a ``register`` (``geo.read_register``) missing countries and cities are filled from it
    (``fill_locations``), a missing VO type is taken from it, and its headcount / turnover /
    balance sheet decide ``sme_category``. ``programme_countries`` (ISO codes) defaults to the
    bundled COSME list. Rows with ``excluded`` true are checked like any other (no rule depends
    on the findings); filter on ``row`` to drop them. Working days are Monday to Friday, public
    holidays not counted. ``table`` is not changed.

    >>> t = pd.DataFrame({"source_row": [4], "host_org": ["A"], "visiting_org": ["B"],
    ...                   "vo_entity_type": ["sme"], "ho_country": ["FR"], "vo_country": ["Netherlands"]})
    >>> check_rules(t).set_index("rule").loc["cross_border", ["outcome", "message"]].tolist()
    ['pass', 'host in FR, visitor in NL']
    """
    return evaluate_rules(table, register, programme_countries=programme_countries).frame()


class RuleResults:
    """Every exchange against every rule, messages written only for the rows asked for.

    ``outcome`` and ``warning`` are (exchanges x rules) arrays; ``frame(positions)`` gives
    ``check_rules``' table for some exchanges (all by default), ``summary()`` the counts of
    ``rule_summary`` and ``attention()`` the positions ``failures`` keeps, without writing a
    message: a million exchanges are summarised, or streamed in blocks (``blocks``), without
    eight million texts in memory.
    """

    def __init__(self, row: np.ndarray, results: list[_Result]):
        self.row = row
        self.results = results
        self.outcome = np.stack([r.outcome for r in results], axis=1) if results else np.zeros((0, len(RULES)))
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
        counts["description"] = [DESCRIPTIONS[r] for r in RULES]
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


def evaluate_rules(table: pd.DataFrame, register: pd.DataFrame | None = None, *,
                   programme_countries: frozenset[str] | set[str] | None = None) -> RuleResults:
    """``check_rules`` without writing the messages yet: a :class:`RuleResults`.

    >>> t = pd.DataFrame({"source_row": [4], "host_org": ["A"], "visiting_org": ["B"], "vo_entity_type": ["sme"]})
    >>> int(evaluate_rules(t).summary().loc["vo_type", "pass"])
    1
    """
    eligible = frozenset(programme_countries) if programme_countries is not None else read_programme_countries()
    c = _Context(table, register)
    results = [_cross_border(c), _eligible_country(c, eligible), _distance(c), _duration(c), _single_visit(c),
               _vo_type(c), _sme_category(c), _max_support(c)]
    return RuleResults(c.row, results)


def rule_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Counts per rule (index, in ``RULES`` order): ``pass``, ``fail``, ``cannot_check`` and a
    plain-words ``description`` of what the rule checks.

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
    counts["description"] = [DESCRIPTIONS[r] for r in RULES]
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

    from .text import _replace_where

    array = _replace_where(array, r"\\", r"\\\\")
    array = _replace_where(array, '"', r'\\"')
    control = pc.fill_null(pc.match_substring_regex(array, "[\\x{0}-\\x{1f}]"), False)
    if pc.any(control).as_py():  # rare: Python's json escapes those
        fixed = [json.dumps(text, ensure_ascii=False)[1:-1] for text in pc.filter(array, control).to_pylist()]
        array = pc.replace_with_mask(array, control, pa.array(fixed, type=array.type))
    return pc.binary_join_element_wise('"', pc.fill_null(array, ""), '"', "")
