"""The ClusterXchange programme rules, checked for every exchange: pass, fail or cannot check.

``check_rules(table, register)`` gives one result per exchange and rule (``RULES``, in that
order), with the Excel row, the outcome and a message in plain words; ``rule_summary`` counts
them per rule, ``failures`` lists what needs attention. "cannot_check" (a country, city, date or
figure unknown) is its own outcome, counted and shown, never passed silently.

Every limit (distances, days, types, amounts, countries) comes from a rule set: a YAML file per
programme generation, each value with its source (``read_rule_set``; the bundled one is COSME's,
REMOBILISE's generation, in data/raw/rulesets/). ``limits_table`` lists them for the report.
A RuleSet is shared (cached per file): read it, never change it.

Everything is vectorised: countries and cities are looked up once per distinct value, the
register is joined through a map of normalised names, distances are numpy arrays. Knows
nothing of charts or reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxc_analysis.core.coded import Coded, at, coded, mapped, recode, union
from cxc_analysis.core.text import key_codes
from cxc_analysis.read.countries import country_codes_of
from cxc_analysis.reference.register import column, located, match_keys, objects
from cxc_analysis.reference.rulesets import (
    PLURALS,
    RULES,
    TYPE_WORDS,
    RuleSet,
    describe,
    euros,
    money,
    read_rule_set,
    words_or,
)
from cxc_analysis.table.clean import copy_of

OUTCOMES = ("pass", "fail", "cannot_check")
PASS, FAIL, CANNOT = 0, 1, 2
WARNING = "warning"

# What the lump sum of an exchange is, as ``RuleResults.lump_sums`` and the cost section say it.
FULL, HALVED, NOT_KNOWN = 0, 1, 2
LUMP_SUMS = ("full", "halved", "cannot tell")


# --- the rule set: the limits of one programme generation, each with its source -------------


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
        self.why = np.full(n, -1, dtype=np.int16)  # the reason of a cannot_check: index into ``reasons``
        self.reasons: list[str] = []
        self._sets: list[tuple[np.ndarray, tuple]] = []

    def set(self, mask, outcome: int, *parts, warning: bool = False, why: str | None = None) -> None:
        """Write the rows of ``mask``; a cannot_check has a short reason, ``why`` (default: the
        message when it is one text)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.outcome[mask] = outcome
        self.warning[mask] = warning
        if outcome == CANNOT:
            why = why or "".join(p for p in parts if isinstance(p, str)).strip()
            if why not in self.reasons:
                self.reasons.append(why)
            self.why[mask] = self.reasons.index(why)
        else:
            self.why[mask] = -1
        self._sets.append((mask, parts))

    def reason_texts(self) -> np.ndarray:
        """Each row's reason for a cannot_check as an object array ("" elsewhere)."""
        return np.array(self.reasons + [""], dtype=object)[self.why]

    def messages(self, positions: np.ndarray) -> np.ndarray:
        """The message of each row at ``positions`` (increasing), as an object array."""
        return self.texts(positions).to_numpy(zero_copy_only=False)

    def texts(self, positions: np.ndarray, escape=None):
        """The message of each row at ``positions`` as an Arrow array, each row's text built only by
        the last ``set`` that chose it, in Arrow kernels (a part over all rows is taken, not copied
        as Python strings). ``escape`` (a ``_JsonEscape``) escapes every part for a JSON string."""
        import pyarrow as pa

        winner = np.full(len(positions), -1, dtype=np.int64)
        for index, (mask, _) in enumerate(self._sets):
            winner[mask[positions]] = index
        order = np.argsort(winner, kind="stable")
        bounds = np.searchsorted(winner[order], np.arange(-1, len(self._sets) + 1))
        chunks = []
        for index in range(-1, len(self._sets)):
            pick = order[bounds[index + 1]:bounds[index + 2]]
            if not len(pick):
                continue
            mask, parts = self._sets[index] if index >= 0 else (None, ("",))
            where = positions[pick]
            chunks.append(_join([_part(part, where, escape, mask) for part in parts], len(pick)))
        joined = pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.string())
        inverse = np.empty(len(positions), dtype=np.int64)
        inverse[order] = np.arange(len(positions))
        return joined.take(pa.array(inverse))

    @property
    def message(self) -> np.ndarray:
        return self.messages(np.arange(len(self.outcome)))


def _part(part, where: np.ndarray, escape=None, mask: np.ndarray | None = None):
    """One message part for the rows at ``where`` (some of ``mask``'s): a text, or an Arrow array
    ("" where missing). With ``escape`` (a stream: every row will be asked for, block by block) a
    formatted part formats all of ``mask``'s rows at once, each distinct value once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(part, str):
        return escape.text(part) if escape else part
    if callable(part):
        part = part(where, mask if escape is not None else None)
        dictionary = escape.cached(part.dictionary) if escape and isinstance(part, Coded) else None
    else:
        dictionary = escape.cached(part.dictionary) if escape and isinstance(part, Coded) else None
        part = Coded(part.codes[where], part.dictionary) if isinstance(part, Coded) else part[where]
    if isinstance(part, Coded):
        taken = (part.dictionary if dictionary is None else dictionary).take(pa.array(part.codes, mask=part.codes < 0))
    else:
        taken = pa.array(part, type=pa.string(), from_pandas=True)
        taken = escape(taken) if escape else taken
    return pc.fill_null(taken, "")


def _join(parts: list, n: int):
    """The parts (texts and Arrow arrays of ``n`` texts) joined, as an Arrow array of ``n`` texts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not any(isinstance(p, pa.Array) for p in parts):
        return pa.array(["".join(parts)], type=pa.string()).take(pa.array(np.zeros(n, dtype=np.int64)))
    return pc.binary_join_element_wise(*parts, "")


def _blank(values):
    """Object array of texts with "" for missing, for messages (a ``Coded`` column is one already)."""
    if isinstance(values, Coded):
        return values
    return np.where(values == None, "", values).astype(object)  # noqa: E711


def _fmt(template: str, values: np.ndarray):
    """A message part formatting ``values`` at the rows asked for (``where``), each distinct value
    once; given the ``mask`` those rows belong to (a stream asks for all of them, block by block),
    every row of the mask is formatted at the first call, each distinct value once for the stream."""
    done: dict[int, tuple] = {}

    def formatted(chosen: np.ndarray) -> Coded:
        import pyarrow as pa

        codes, uniques = pd.factorize(chosen)
        texts = pa.array([template.format(v) for v in uniques] + [""], type=pa.string())
        return Coded(np.where(codes < 0, len(uniques), codes).astype(np.int32), texts)

    def part(where, mask=None):
        if mask is None:
            return formatted(values[where])
        if id(mask) not in done:
            rows = np.flatnonzero(mask)
            done[id(mask)] = (mask, rows, formatted(values[rows]))
        _, rows, whole = done[id(mask)]
        return Coded(whole.codes[np.searchsorted(rows, where)], whole.dictionary)
    return part


def _isin(values, allowed) -> np.ndarray:
    if isinstance(values, Coded):
        known = pd.Series(values.dictionary.to_pylist(), dtype="object").isin(list(allowed)).to_numpy(dtype=bool)
        return np.append(known, False)[values.codes]
    return pd.Series(values, dtype="object").isin(list(allowed)).to_numpy(dtype=bool)


def _is(values: Coded, text: str) -> np.ndarray:
    """Where a ``Coded`` column is ``text``."""
    found = np.flatnonzero(np.asarray(values.dictionary.to_pylist(), dtype=object) == text)
    return np.isin(values.codes, found)


def _wrap(values: Coded, before: str, after: str) -> Coded:
    """Each text of a ``Coded`` column between ``before`` and ``after`` (missing stays missing)."""
    import pyarrow.compute as pc

    return Coded(values.codes, pc.binary_join_element_wise(before, values.dictionary, after, ""))


def _mark(where: np.ndarray, text: str) -> Coded:
    """A message part: ``text`` where ``where``, "" elsewhere."""
    import pyarrow as pa

    return Coded(np.where(where, 0, -1), pa.array([text], type=pa.string()))


class _Context:
    """The columns the rules read, as numpy arrays (texts as ``text.Coded``: codes into their
    distinct texts), with countries as ISO codes and the register joined."""

    def __init__(self, table: pd.DataFrame, register: pd.DataFrame | None, rule_set: RuleSet,
                 eligible: frozenset[str]):

        self.n = len(table)
        self.rule_set, self.eligible = rule_set, eligible
        self.register = register
        self.row = table["source_row"].to_numpy(dtype=np.int64)

        self.copy_of = copy_of(table)  # a later copy of the same exchange: the first row's position
        self.vo_name = coded(column(table, "visiting_org"))  # a million names: codes, texts in Arrow
        self.vo_key = key_codes(self.vo_name)  # each distinct name's key once, shared by all rules
        positions = None
        if register is not None:
            host = key_codes(coded(column(table, "host_org")))
            positions = {"ho": match_keys(*host, register), "vo": match_keys(*self.vo_key, register)}
        self.vo_pos = positions["vo"] if positions else np.full(self.n, -1, dtype=np.int64)
        self.filled: dict[str, np.ndarray] = {}
        places = located(table, register, positions, self.filled)
        self.ref = {side: _register_refs(register, positions[side]) if positions else _mark(np.zeros(self.n, bool), "")
                    for side in ("ho", "vo")}
        self.ho_country, self.vo_country = places["ho_country"], places["vo_country"]
        self.ho_city, self.vo_city = places["ho_city"], places["vo_city"]
        self.ho_cc = mapped(self.ho_country, country_codes_of(self.ho_country.dictionary.to_pylist()))
        self.vo_cc = mapped(self.vo_country, country_codes_of(self.vo_country.dictionary.to_pylist()))
        self.start = pd.to_datetime(column(table, "start_date", "datetime64[ns]")).to_numpy(dtype="datetime64[D]")
        self.end = pd.to_datetime(column(table, "end_date", "datetime64[ns]")).to_numpy(dtype="datetime64[D]")
        amount = pd.to_numeric(column(table, "amount_eur", "Float64"), errors="coerce")
        self.amount = amount.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        vo_type = coded(column(table, "vo_entity_type"))
        reg_type = (at(coded(column(register, "entity_type")), self.vo_pos) if register is not None
                    else Coded(np.full(self.n, -1, dtype=np.int64), vo_type.dictionary))
        given, registered, types = union(vo_type, reg_type)
        self.vo_type_from_register = (given < 0) & (registered >= 0)
        self.filled["vo_type"] = self.vo_type_from_register
        self.filled["vo_figures"] = self.vo_pos >= 0
        self.filled["vo_identity"] = self.vo_pos >= 0
        self.vo_type = Coded(np.where(self.vo_type_from_register, registered, given), types)
        self.nowhere = " (not in the tracker or the register)" if register is not None else " (not in the tracker)"
        self.cancelled = (column(table, "status").astype("object") == "cancelled").to_numpy(dtype=bool)

    def from_register(self, side: str, *what: str) -> Coded:
        """A message part naming the register row and source where a side's ``what`` (country,
        city, type, figures, identity) came from the register; "" elsewhere."""
        word = "host" if side == "ho" else "visitor"
        used = np.zeros(self.n, dtype=bool)
        for name in what:
            used |= self.filled.get(f"{side}_{name}", np.zeros(self.n, dtype=bool))
        ref = self.ref[side]
        return Coded(np.where(used, ref.codes, -1), _wrap(ref, f"; {word} {' and '.join(what)} from ", "").dictionary)


def _register_refs(register: pd.DataFrame, positions: np.ndarray) -> Coded:
    """'register row N (source: ...)' for each exchange's register entry; missing where none."""
    import pyarrow as pa

    rows = (column(register, "register_row", "Int64") if "register_row" in register.columns
            else pd.Series(np.arange(len(register)) + 2, index=register.index))
    sources = objects(column(register, "source"))
    entries = [f"register row {row} (source: {source})" if source else f"register row {row} (no source given)"
               for row, source in zip(rows, sources)]
    return Coded(np.asarray(positions, dtype=np.int64), pa.array(entries, type=pa.string()))


def _missing(values) -> np.ndarray:
    if isinstance(values, Coded):
        return values.codes < 0
    return values == None  # noqa: E711 (elementwise)


def _country_unknown(r: _Result, c: _Context, side: str) -> None:
    """cannot_check where a side's country is unknown: empty, or a text that is no country."""
    word = "host" if side == "ho" else "visitor"
    given, code = getattr(c, f"{side}_country"), getattr(c, f"{side}_cc")
    r.set(_missing(given), CANNOT, f"{word} country unknown{c.nowhere}")
    r.set(~_missing(given) & _missing(code), CANNOT, f"{word} country '", _blank(given), "' is not a known country",
          why=f"{word} country is not a known country")


def _cross_border(c: _Context) -> _Result:
    r = _Result(c.n)
    both = ~_missing(c.ho_cc) & ~_missing(c.vo_cc)
    same = both & (recode(c.vo_cc, c.ho_cc.dictionary) == c.ho_cc.codes)
    r.set(both & ~same, PASS, "host in ", c.ho_cc, ", visitor in ", c.vo_cc)
    r.set(same, FAIL, "host and visitor both in ", c.ho_cc, c.from_register("ho", "country"),
          c.from_register("vo", "country"))
    _country_unknown(r, c, "vo")
    _country_unknown(r, c, "ho")
    return r


def _joined(c: _Context, codes: np.ndarray) -> np.ndarray:
    """The date each exchange's country joined the programme (NaT: before the generation, or unknown)."""
    dates = {code: np.datetime64(day, "D") for code, day in c.rule_set.countries.items() if day is not None}
    known = pd.Series(codes.dictionary.to_pylist(), dtype="object").map(dates).to_numpy(dtype="datetime64[D]")
    return np.append(known, np.datetime64("NaT", "D"))[codes.codes]


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


def _points(city: Coded, cc: Coded, mask: np.ndarray) -> np.ndarray:
    """(latitude, longitude) of the city of each row of ``mask`` (in its country where known),
    each distinct (city, country) located once (``places.locate``)."""
    from cxc_analysis.reference.places import locate

    width = len(cc.dictionary) + 1
    codes, pairs = pd.factorize(city.codes[mask] * width + (cc.codes[mask] + 1))
    city_code, country_code = np.divmod(np.asarray(pairs, dtype=np.int64), width)
    countries = np.append(None, np.array(cc.dictionary.to_pylist(), dtype=object))[country_code]
    points = locate(pd.Series(city.dictionary.take(city_code).to_pylist(), dtype="object"),
                    pd.Series(countries, dtype="object"))
    return points[["lat", "lon"]].to_numpy(dtype=float)[codes] if len(codes) else np.empty((0, 2))


def _distance(c: _Context) -> _Result:
    from cxc_analysis.reference.places import haversine_km

    r = _Result(c.n)
    both = ~_missing(c.ho_city) & ~_missing(c.vo_city)
    ho_pt, vo_pt = _points(c.ho_city, c.ho_cc, both), _points(c.vo_city, c.vo_cc, both)
    km = np.full(c.n, np.nan)
    km[both] = haversine_km(ho_pt[:, 0], ho_pt[:, 1], vo_pt[:, 0], vo_pt[:, 1])
    measured = ~np.isnan(km)
    min_km, shortfall = c.rule_set.value("distance", "min_km"), c.rule_set.value("distance", "shortfall")
    far = measured & (np.round(np.nan_to_num(km), 3) >= min_km)
    near = measured & ~far
    c.km, c.near = np.where(measured, km, np.nan), near
    shown = np.where(near, np.floor(np.nan_to_num(km) * 10) / 10, np.round(np.nan_to_num(km), 1))
    between = (" km between ", _blank(c.ho_city), " and ", _blank(c.vo_city))
    km_text = _fmt("{:,.1f}", shown)
    r.set(far, PASS, km_text, *between)
    registered = (c.from_register("ho", "city"), c.from_register("vo", "city"))
    if shortfall == "halve":
        r.set(near, PASS, "warning: ", km_text, *between,
              f", under {min_km:,} km: the lump sum is halved", *registered, warning=True)
    else:
        r.set(near, FAIL, km_text, *between, f", under the minimum of {min_km:,} km", *registered)
    for side, city, cc, given, points in (("visitor", c.vo_city, c.vo_cc, c.vo_country, vo_pt),
                                          ("host", c.ho_city, c.ho_cc, c.ho_country, ho_pt)):
        lost = np.zeros(c.n, dtype=bool)
        lost[both] = np.isnan(points[:, 0])
        where = _wrap(cc, " (", ")")
        r.set(lost, CANNOT, f"{side} city '", _blank(city), "'", where, " not found in GeoNames",
              why=f"{side} city not found in GeoNames")
        unread = lost & ~_missing(given) & _missing(cc)  # the country, not the city, is what is unknown
        r.set(unread, CANNOT, f"{side} city '", _blank(city), f"' not placed: {side} country '", _blank(given),
              "' is not a known country", why=f"{side} country not known")
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
    c.working_days = np.where(ordered, working, -1)
    r.set(np.isnat(end), CANNOT, "no end date")
    r.set(np.isnat(start), CANNOT, "no start date")
    r.set(np.isnat(start) & np.isnat(end), CANNOT, "no start or end date")
    return r


def _single_visit(c: _Context) -> _Result:
    import pyarrow.compute as pc

    r = _Result(c.n)
    # Who visits: the register entry where the VO matched one, else its normalised name; as integers.
    key_codes, distinct = c.vo_key
    blank_key = np.append(pc.equal(distinct, "").to_numpy(zero_copy_only=False), True)[key_codes]
    registered = c.vo_pos >= 0
    offset = len(c.register) if c.register is not None else 0
    who = np.where(registered, c.vo_pos, offset + key_codes).astype(np.int64)
    present = ~_missing(c.vo_name) & (registered | ~blank_key) & ~c.cancelled  # a cancelled exchange is no visit
    copy = present & (c.copy_of != np.arange(c.n))  # one exchange written twice: one visit
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
    source = _mark(c.vo_type_from_register, " (type from the register)")
    visitors = c.rule_set.value("vo_type", "visitor_types")
    hosts = c.rule_set.value("vo_type", "host_types")
    allowed = words_or([PLURALS[t] for t in visitors])
    for code, words in TYPE_WORDS.items():
        mask = _is(c.vo_type, code)
        if code in visitors:
            r.set(mask, PASS, f"VO is {words}", source)
        else:
            may_host = f" ({PLURALS[code]} may host)" if code in hosts else ""
            r.set(mask, FAIL, f"VO is {words}: visitors are {allowed}{may_host}", source,
                  c.from_register("vo", "type"))
    r.set(_missing(c.vo_type), CANNOT, f"VO type unknown{c.nowhere}")
    return r


def _sme_verdicts(register: pd.DataFrame | None, sme_limits) -> tuple[np.ndarray, np.ndarray]:
    """Outcome, message and reason (of a cannot_check; else "") of the SME check for each
    register row (and a last one: not in it)."""
    outcomes, messages, reasons = [], [], []
    if register is not None and len(register):
        staff = pd.array(column(register, "headcount", "Int64"), dtype="Int64")
        turnover = pd.array(column(register, "turnover_eur", "Float64"), dtype="Float64")
        balance = pd.array(column(register, "balance_sheet_eur", "Float64"), dtype="Float64")
        within = {name: (staff < s) & ((turnover <= t_) | (balance <= b)) for name, s, t_, b in sme_limits}
        for i in range(len(register)):
            known = [staff[i] is not pd.NA, turnover[i] is not pd.NA, balance[i] is not pd.NA]
            figures = ", ".join([f"headcount {staff[i]}" if known[0] else "headcount unknown",
                                 f"turnover {money(turnover[i])}" if known[1] else "turnover unknown",
                                 f"balance sheet {money(balance[i])}" if known[2] else "balance sheet unknown"])
            medium = within["medium"][i]
            reasons.append("")
            if not any(known):
                outcomes.append(CANNOT)
                messages.append("no headcount, turnover or balance sheet in the register")
                reasons[-1] = "no headcount, turnover or balance sheet in the register"
            elif medium is pd.NA:
                outcomes.append(CANNOT)
                messages.append(f"register figures incomplete ({figures})")
                reasons[-1] = "register figures incomplete"
            elif medium:
                category = next(name for name, *_ in sme_limits
                                if within[name][i] is not pd.NA and bool(within[name][i]))
                outcomes.append(PASS)
                messages.append(f"within the {category}-enterprise limits ({figures})")
            else:
                outcomes.append(FAIL)
                _, staff_max, turnover_max, balance_max = sme_limits[-1]
                messages.append(f"declared an SME but over the SME limits ({figures}; an SME has a headcount "
                                f"under {staff_max} and turnover at most {money(turnover_max)} or balance sheet "
                                f"at most {money(balance_max)})")
    outcomes.append(CANNOT)
    messages.append("VO not in the register: no headcount, turnover or balance sheet")
    reasons.append("VO not in the register")
    return np.array(outcomes, dtype=np.int8), np.array(messages, dtype=object), np.array(reasons, dtype=object)


def _sme_category(c: _Context) -> _Result:
    import pyarrow as pa

    r = _Result(c.n)
    is_sme = _is(c.vo_type, "sme")
    outcomes, messages, reasons = _sme_verdicts(c.register, c.rule_set.sme_limits)
    verdict = Coded(np.where(c.vo_pos < 0, len(messages) - 1, c.vo_pos), pa.array(list(messages), type=pa.string()))
    for outcome in (PASS, FAIL):
        r.set(is_sme & (outcomes[c.vo_pos] == outcome), outcome, verdict,
              c.from_register("vo", "figures") if outcome == FAIL else "")
    for reason in dict.fromkeys(reasons[outcomes == CANNOT]):
        r.set(is_sme & (outcomes[c.vo_pos] == CANNOT) & (reasons[c.vo_pos] == reason), CANNOT, verdict, "", why=reason)
    r.set(~_missing(c.vo_type) & ~is_sme, PASS, "not declared an SME (the rule applies to SMEs only)")
    r.set(_missing(c.vo_type), CANNOT, f"VO type unknown{c.nowhere}")
    return r


def lump_sums(c: _Context, distance: _Result, duration: _Result) -> tuple[np.ndarray, Coded]:
    """What each exchange's lump sum is, the one decision the max_support rule and the cost
    section both use: ``HALVED`` where the stay is under the rule set's full number of working
    days or (where a shortfall halves) host and visitor are closer than its minimum distance,
    ``FULL`` where both are known and neither halves it, else ``NOT_KNOWN``; with why (what
    halves it, or what is not known), "" for a full one. Reads the working days and km that
    ``_duration`` and ``_distance`` left on ``c``."""
    import pyarrow as pa

    full_days = c.rule_set.value("duration", "full_lump_sum_working_days")
    min_km = c.rule_set.value("distance", "min_km")
    halve_near = c.rule_set.value("distance", "shortfall") == "halve"
    days_known, km_known = c.working_days >= 0, ~np.isnan(c.km)
    short = days_known & (c.working_days < full_days)
    near = c.near & halve_near
    kind = np.full(c.n, NOT_KNOWN, dtype=np.int8)
    kind[days_known & km_known & ~short & ~near] = FULL
    kind[short | near] = HALVED
    unsure = kind == NOT_KNOWN
    days_why = np.where(duration.outcome == CANNOT, duration.why, -2)  # -2: the end is before the start
    km_tenths = np.where(near, np.floor(np.nan_to_num(c.km) * 10), -1).astype(np.int64)
    key = pd.MultiIndex.from_arrays([kind, np.where(short, c.working_days, -1), km_tenths,
                                     np.where(unsure & ~days_known, days_why, -1),
                                     np.where(unsure & ~km_known, distance.why, -1)])
    codes, uniques = key.factorize()
    texts = []
    for what, days, tenths, day_why, km_why in uniques:
        if what == HALVED:
            parts = ([f"{days} working days, under {full_days}"] if days >= 0 else []) + \
                    ([f"{tenths / 10:,.1f} km apart, under {min_km:,} km"] if tenths >= 0 else [])
            texts.append(" and ".join(parts))
        elif what == NOT_KNOWN:
            parts = ([duration.reasons[day_why] if day_why >= 0 else "the end date is before the start date"]
                     if day_why != -1 else []) + ([distance.reasons[km_why]] if km_why != -1 else [])
            texts.append("; ".join(parts))
        else:
            texts.append("")
    return kind, Coded(codes.astype(np.int64), pa.array(texts, type=pa.string()))


def _max_support(c: _Context) -> _Result:
    r = _Result(c.n)
    known = ~np.isnan(c.amount)
    values = np.nan_to_num(c.amount)
    paid = _fmt("€{:,.2f}", values)
    most = c.rule_set.value("max_support", "max_eur")
    half, why = most / 2, _wrap(c.lump_why, " (", ")")
    full, halved, unsure = c.lump == FULL, c.lump == HALVED, c.lump == NOT_KNOWN
    r.set(known & full & (values <= most), PASS, paid, f" paid, within the €{most:,} maximum")
    r.set(known & halved & (values <= half), PASS, paid,
          f" paid, within the {euros(half)} maximum of a halved lump sum", why)
    r.set(known & halved & (values > half), FAIL, paid,
          f" paid, over the {euros(half)} maximum of a halved lump sum", why)
    r.set(known & unsure & (values <= half), PASS, paid,
          f" paid, within {euros(half)}, the maximum even of a halved lump sum")
    r.set(known & unsure & (values > half) & (values <= most), CANNOT, paid,
          f" paid: within the €{most:,} maximum of a full lump sum but over the {euros(half)} of a halved one, "
          "and whether it is halved cannot be told: ", c.lump_why, why="cannot tell whether the lump sum is halved")
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
    on the findings); filter on ``row`` to drop them. A cancelled exchange is checked by no rule
    ("cannot_check", "exchange cancelled: not checked") and is no visit for ``single_visit``. Working days are Monday to Friday, public
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

    def __init__(self, row: np.ndarray, results: list[_Result], rule_set: RuleSet | None = None,
                 lump: tuple[np.ndarray, Coded] | None = None):
        self.row = row
        self.results = results
        self.rule_set = rule_set
        self.lump = lump  # (kind, why) of each exchange's lump sum, from ``lump_sums``
        self.outcome = np.stack([r.outcome for r in results], axis=1)
        self.warning = np.stack([r.warning for r in results], axis=1)
        self._escape = None  # a _JsonEscape, kept between the blocks written

    def __len__(self) -> int:
        return len(self.row)

    def frame(self, positions: np.ndarray | None = None) -> pd.DataFrame:
        """``check_rules``' table for the exchanges at ``positions`` (increasing; default all)."""
        import pyarrow as pa

        if positions is None:
            positions = np.arange(len(self.row))
        n = len(positions)
        message = self._texts(positions).cast(pa.large_string())  # no Python string per message
        severity = pa.array([None, WARNING], type=pa.large_string()).take(
            pa.array(self.warning[positions].ravel().astype(np.int8)))
        return pd.DataFrame({
            "row": np.repeat(self.row[positions], len(RULES)),
            "rule": pd.Categorical.from_codes(np.tile(np.arange(len(RULES), dtype=np.int8), n),
                                              categories=list(RULES)),
            "outcome": pd.Categorical.from_codes(self.outcome[positions].ravel(), categories=list(OUTCOMES)),
            "severity": pd.Series(pd.array(severity, dtype="str")),
            "message": pd.Series(pd.array(message, dtype="str")),
        })

    def _texts(self, positions: np.ndarray, escape=None):
        """The messages of the exchanges at ``positions``, all rules each (row by row, then rule),
        as one Arrow array (each rule's texts made once, ``_Result.texts``, then interleaved)."""
        import pyarrow as pa

        by_rule = pa.concat_arrays([r.texts(positions, escape).cast(pa.large_string()) for r in self.results])
        interleaved = (np.arange(len(positions))[:, None] + np.arange(len(RULES))[None, :] * len(positions)).ravel()
        return by_rule.take(pa.array(interleaved))

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

    def lump_sums(self) -> pd.DataFrame:
        """Each exchange's lump sum as ``lump_sums`` decides it, by Excel row: ``lump_sum`` ("full",
        "halved" or "cannot tell") and ``why`` (what halves it, or what is not known)."""
        kind, why = self.lump
        texts = why.dictionary.take(why.codes).to_numpy(zero_copy_only=False)
        return pd.DataFrame({"lump_sum": np.array(LUMP_SUMS, dtype=object)[kind], "why": texts},
                            index=pd.Index(self.row, name="row"))

    def reasons(self) -> pd.DataFrame:
        """Why exchanges cannot be checked: ``rule``, ``reason`` and ``exchanges`` (how many), per
        rule in ``RULES`` order, most frequent reason first."""
        rows = []
        for rule, result in zip(RULES, self.results):
            counts = np.bincount(result.why[result.why >= 0], minlength=len(result.reasons))
            for index in np.argsort(-counts, kind="stable"):
                if counts[index]:
                    rows.append({"rule": rule, "reason": result.reasons[index], "exchanges": int(counts[index])})
        return pd.DataFrame(rows, columns=["rule", "reason", "exchanges"])

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
    distance, duration = _distance(c), _duration(c)
    c.lump, c.lump_why = lump_sums(c, distance, duration)
    results = [_cross_border(c), _eligible_country(c), distance, duration, _single_visit(c),
               _vo_type(c), _sme_category(c), _max_support(c)]
    for result in results:  # a cancelled exchange did not happen: no rule applies to it
        result.set(c.cancelled, CANNOT, "exchange cancelled: not checked", why="exchange cancelled")
    return RuleResults(c.row, results, rule_set, lump=(c.lump, c.lump_why))


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


