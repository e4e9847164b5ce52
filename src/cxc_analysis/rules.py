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

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
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

DEFAULT_RULES = DATA_RAW / "rulesets" / "clusterxchange_cosme.yaml"
SME_CATEGORIES = ("micro", "small", "medium")
SME_KEYS = ("headcount_under", "turnover_max_eur", "balance_sheet_max_eur")
SHORTFALLS = ("halve", "fail")
TYPE_WORDS = {"cluster_organisation": "a cluster organisation", "sme": "an SME",
              "scaling_up_support_organisation": "a scaling-up support organisation",
              "large_company": "a large company", "public_authority": "a public authority"}
PLURALS = {"cluster_organisation": "cluster organisations", "sme": "SMEs",
           "scaling_up_support_organisation": "scaling-up support organisations",
           "large_company": "large companies", "public_authority": "public authorities"}


# --- the rule set: the limits of one programme generation, each with its source -------------

def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _types(value) -> bool:
    return isinstance(value, list) and bool(value) and all(v in TYPE_WORDS for v in value)


def _sme(value) -> bool:
    return (isinstance(value, dict) and set(value) == set(SME_CATEGORIES)
            and all(isinstance(v, dict) and set(v) == set(SME_KEYS) and all(_number(x) for x in v.values())
                    for v in value.values()))


# Each rule's limits and what a valid value is (the rule set file must give every one).
LIMITS = {
    "cross_border": {"countries": ("a text", lambda v: isinstance(v, str))},
    "eligible_country": {"countries": ("a text", lambda v: isinstance(v, str))},
    "distance": {"min_km": ("a number of km", _number),
                 "shortfall": ("halve or fail", lambda v: v in SHORTFALLS)},
    "duration": {"min_working_days": ("a whole number >= 1", _whole),
                 "full_lump_sum_working_days": ("a whole number >= 1", _whole),
                 "max_months": ("a whole number >= 1", _whole)},
    "single_visit": {"visits_per_generation": ("a whole number >= 1", _whole)},
    "vo_type": {"visitor_types": (f"a list of {', '.join(TYPE_WORDS)}", _types),
                "host_types": ("a list of texts", lambda v: isinstance(v, list)
                               and all(isinstance(x, str) for x in v))},
    "sme_category": {"limits": (f"micro, small and medium, each with {', '.join(SME_KEYS)}", _sme)},
    "max_support": {"max_eur": ("a number of euros", _number)},
}


@dataclass(frozen=True)
class RuleSet:
    """One programme generation's rules, read from a YAML rule set (``read_rule_set``).

    ``rules[rule][limit]`` is a mapping with ``value``, ``source`` (a list of keys of
    ``sources``) and optionally ``note``, ``other`` (what disagreeing sources say) and
    ``applied`` (why ``value`` is the one checked). ``countries`` maps each ISO code to the date
    it joined the programme (None: before this generation's exchanges began).
    """

    name: str
    path: Path
    rules: dict
    sources: dict
    countries: dict
    country_sources: dict

    def value(self, rule: str, limit: str):
        """The applied value of one limit.

        >>> read_rule_set().value("distance", "min_km")
        200
        """
        return self.rules[rule][limit]["value"]

    @property
    def sme_limits(self) -> tuple[tuple[str, int, float, float], ...]:
        """(category, headcount under, turnover at most, balance sheet at most), smallest first."""
        limits = self.value("sme_category", "limits")
        return tuple((name, *(limits[name][key] for key in SME_KEYS)) for name in SME_CATEGORIES)


def read_rule_set(path: str | Path | None = None) -> RuleSet:
    """A programme generation's rule set from a YAML file (default: the bundled COSME one,
    REMOBILISE's generation). InputError naming the file and the key of anything unusable: a
    rule or limit missing, a value of the wrong kind, a source key not in ``sources``, an
    unknown country code.

    >>> rs = read_rule_set()
    >>> rs.value("distance", "shortfall"), "NO" in rs.countries, len(rs.countries)
    ('halve', False, 38)
    """
    path = Path(path) if path else DEFAULT_RULES
    try:
        stamp = path.stat()
    except OSError:
        raise InputError("file not found", file=path) from None
    return _read_rule_set(path.resolve(), stamp.st_mtime_ns, stamp.st_size)


@lru_cache(maxsize=8)
def _read_rule_set(path: Path, _mtime: int, _size: int) -> RuleSet:
    from .load import read_yaml

    data = read_yaml(path)
    sources = data.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise _bad(path, "sources", "expected a mapping of keys to where each fact comes from")
    rules = data.get("rules")
    if not isinstance(rules, dict):
        raise _bad(path, "rules", f"expected a mapping of {', '.join(RULES)} to their limits")
    for rule, limits in LIMITS.items():
        for limit, (kind, valid) in limits.items():
            key = f"rules.{rule}.{limit}"
            entry = (rules.get(rule) or {}).get(limit) if isinstance(rules.get(rule) or {}, dict) else None
            if not isinstance(entry, dict) or "value" not in entry:
                raise _bad(path, key, "missing (expected a mapping with value and source)")
            if not valid(entry["value"]):
                raise _bad(path, key, f"{entry['value']!r} is not {kind}")
            _check_sources(entry, sources, path, key)
            for position, other in enumerate(entry.get("other") or []):
                _check_sources(other, sources, path, f"{key}.other[{position + 1}]")
    countries, country_sources = _countries(data.get("countries"), sources, path)
    return RuleSet(name=str(data.get("name") or path.stem), path=path, rules=rules, sources=sources,
                   countries=countries, country_sources=country_sources)


def _check_sources(entry, sources: dict, path: Path, key: str) -> None:
    cited = entry.get("source") if isinstance(entry, dict) else None
    cited = [cited] if isinstance(cited, str) else cited
    if not cited or not isinstance(cited, list):
        raise _bad(path, key, "no source (every limit names where it comes from)")
    unknown = [c for c in cited if c not in sources]
    if unknown:
        raise _bad(path, key, f"source '{unknown[0]}' is not in 'sources'")


def _countries(entries, sources: dict, path: Path) -> tuple[dict, dict]:
    from .geo import country_code

    if not isinstance(entries, list) or not entries:
        raise _bad(path, "countries", "expected a list of {code, name, joined, source}")
    countries, cited = {}, {}
    for position, entry in enumerate(entries, start=1):
        key = f"countries[{position}]"
        code = country_code(entry.get("code")) if isinstance(entry, dict) and entry.get("code") else None
        if code is None:
            raise _bad(path, key, f"unknown country code {entry!r}")
        _check_sources(entry, sources, path, key)
        joined = entry.get("joined")
        if joined is not None and not isinstance(joined, dt.date):
            raise _bad(path, key, f"joined '{joined}' is not a date (YYYY-MM-DD) or null")
        countries[code] = joined
        cited[code] = entry["source"] if isinstance(entry["source"], str) else entry["source"][0]
    return countries, cited


def _bad(path: Path, key: str, message: str) -> InputError:
    """A rule set's unusable value, naming the file and the key (``rules.distance.min_km``)."""
    return InputError(f"{key}: {message}", file=path)


def read_programme_countries(path: str | Path | None = None) -> frozenset[str]:
    """The ISO alpha-2 codes of a rule set's countries (default: the bundled COSME participants).

    >>> "TR" in read_programme_countries() and "NO" not in read_programme_countries()
    True
    """
    return frozenset(read_rule_set(path).countries)


def describe(rule_set: RuleSet) -> dict[str, str]:
    """What each rule checks, in plain words, with the rule set's limits.

    >>> describe(read_rule_set())["distance"]
    'Host and visitor are at least 200 km apart (closer: the lump sum is halved)'
    """
    v = rule_set.value
    visitors = v("vo_type", "visitor_types")
    closer = "the lump sum is halved" if v("distance", "shortfall") == "halve" else "a fail"
    months = v("duration", "max_months")
    return {
        "cross_border": "Host and visitor are in two different countries",
        "eligible_country": "Host and visitor are both in programme countries",
        "distance": f"Host and visitor are at least {v('distance', 'min_km'):,} km apart (closer: {closer})",
        "duration": f"The exchange lasts {v('duration', 'min_working_days')} working days to {months} "
                    f"month{'s' if months > 1 else ''} (under {v('duration', 'full_lump_sum_working_days')} "
                    "working days the lump sum is halved)",
        "single_visit": "An organisation visits only once (it may host any number of times)"
                        if v("single_visit", "visits_per_generation") == 1 else
                        f"An organisation visits at most {v('single_visit', 'visits_per_generation')} times "
                        "(it may host any number of times)",
        "vo_type": f"The visitor is {_words_or([TYPE_WORDS[t] for t in visitors])}",
        "sme_category": "An SME visitor is within the SME limits of the rule set "
                        "(Recommendation 2003/361/EC in the bundled one)",
        "max_support": f"Financial support per visitor is at most €{v('max_support', 'max_eur'):,}",
    }


def limits_table(rule_set: RuleSet) -> pd.DataFrame:
    """Every limit of a rule set with where it comes from, one row each, in ``RULES`` order:
    ``rule``, ``limit``, ``value`` (as text), ``source`` (the cited sources' texts), ``note``
    (the file's note, what disagreeing sources say and which one is applied; else empty).

    >>> t = limits_table(read_rule_set()).set_index(["rule", "limit"])
    >>> t.loc[("distance", "shortfall"), "value"], "applied" in t.loc[("distance", "shortfall"), "note"]
    ('halve', True)
    """
    rows = []
    for rule, limits in LIMITS.items():
        for limit in limits:
            entry = rule_set.rules[rule][limit]
            notes = [str(entry["note"]).strip()] if entry.get("note") else []
            for other in entry.get("other") or []:
                notes.append(f"{_cited(rule_set, other)} says {_value_text(other.get('value'))}"
                             + (f" ({str(other['note']).strip()})" if other.get("note") else ""))
            if entry.get("applied"):
                notes.append(f"applied: {_value_text(entry['value'])}, {str(entry['applied']).strip()}")
            rows.append({"rule": rule, "limit": limit, "value": _value_text(entry["value"]),
                         "source": _cited(rule_set, entry), "note": "; ".join(notes)})
            if (rule, limit) == ("eligible_country", "countries"):
                rows.append(_country_row(rule_set))
    return pd.DataFrame(rows, columns=["rule", "limit", "value", "source", "note"])


def _country_row(rule_set: RuleSet) -> dict:
    """The country list as one row of ``limits_table``: codes, with the date where one is given."""
    codes = [f"{code} ({day:%Y-%m-%d})" if day else code for code, day in rule_set.countries.items()]
    cited = list(dict.fromkeys(rule_set.country_sources.values()))
    return {"rule": "eligible_country", "limit": "country list", "value": ", ".join(codes),
            "source": _cited(rule_set, {"source": cited}),
            "note": "date: joined the programme (without one: before this generation's exchanges began)"}


def _cited(rule_set: RuleSet, entry: dict) -> str:
    cited = entry.get("source")
    cited = [cited] if isinstance(cited, str) else cited
    return "; ".join(" ".join(str(rule_set.sources[key]).split()) for key in cited)


def _value_text(value) -> str:
    """A limit's value in plain words.

    >>> _value_text({"micro": {"headcount_under": 10, "turnover_max_eur": 2e6, "balance_sheet_max_eur": 2e6}})
    'micro: headcount under 10, turnover at most €2.0M or balance sheet at most €2.0M'
    """
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{name}: headcount under {v['headcount_under']}, turnover at most "
                         f"{_money(v['turnover_max_eur'])} or balance sheet at most "
                         f"{_money(v['balance_sheet_max_eur'])}" for name, v in value.items())
    return f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _words_or(words: list[str]) -> str:
    """Words joined as a sentence lists them: "a, b or c"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


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
               positions: dict[str, np.ndarray] | None = None, filled: dict | None = None) -> dict[str, np.ndarray]:
    """Host and visitor country (ISO code where known, else the text) and city, as object arrays,
    filled from the register where the tracker has none; ``filled`` (if given) receives, per
    column, where the value came from the register."""
    from .geo import country_codes, match_register

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
    each a string, an object array over all rows (only the masked rows are used) or a function
    of the mask returning one string per masked row. Later calls overwrite earlier ones.
    """

    def __init__(self, n: int):
        self.outcome = np.full(n, CANNOT, dtype=np.int8)
        self.warning = np.zeros(n, dtype=bool)
        self.message = np.full(n, "", dtype=object)

    def set(self, mask, outcome: int, *parts, warning: bool = False) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.outcome[mask] = outcome
        self.warning[mask] = warning
        text = ""
        for part in parts:
            if callable(part):
                part = np.asarray(part(mask), dtype=object)
            elif isinstance(part, np.ndarray):
                part = part[mask]
            text = text + part
        self.message[mask] = text


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
        from .geo import country_codes, match_register, org_keys

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
    from .geo import haversine_km, locate

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
    between = (" km between ", _blank(c.ho_city), " and ", _blank(c.vo_city))
    r.set(far, PASS, _fmt("{:,.1f}", shown), *between)
    registered = (c.from_register("ho", "city"), c.from_register("vo", "city"))
    if shortfall == "halve":
        r.set(near, PASS, "warning: ", _fmt("{:,.1f}", shown), *between,
              f", under {min_km:,} km: the lump sum is halved", *registered, warning=True)
    else:
        r.set(near, FAIL, _fmt("{:,.1f}", shown), *between, f", under the minimum of {min_km:,} km", *registered)
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
    r.set(np.isnat(end), CANNOT, "no end date")
    r.set(np.isnat(start), CANNOT, "no start date")
    r.set(np.isnat(start) & np.isnat(end), CANNOT, "no start or end date")
    return r


def _single_visit(c: _Context) -> _Result:
    r = _Result(c.n)
    identity = np.where(c.vo_pos >= 0, "\x00register " + c.vo_pos.astype(str).astype(object),
                        _blank(c.vo_key)).astype(object)
    present = ~_missing(c.vo_name) & (identity != "")
    order = pd.DataFrame({"who": identity, "start": c.start, "row": c.row, "pos": np.arange(c.n)})[present]
    order = order.sort_values(["who", "start", "row"], na_position="last", kind="stable")
    groups = order.groupby("who", sort=False)["pos"]
    placed = order["pos"].to_numpy()
    first = np.zeros(c.n, dtype=np.int64)
    first[placed] = groups.transform("first").to_numpy()
    visits = np.zeros(c.n, dtype=np.int64)
    visits[placed] = groups.transform("size").to_numpy()
    rank = np.zeros(c.n, dtype=np.int64)
    rank[placed] = groups.cumcount().to_numpy()
    allowed = c.rule_set.value("single_visit", "visits_per_generation")
    later = present & (rank >= allowed)
    name = _blank(c.vo_name)
    r.set(present & (visits == 1), PASS, name, " visits once")
    r.set(present & (visits > 1) & ~later, PASS, "visit ", _fmt("{}", rank + 1), " of ", _fmt("{}", visits),
          " by ", name)
    limit = "only once" if allowed == 1 else f"at most {allowed} times"
    r.set(later, FAIL, name, " already visits on row ", _fmt("{}", c.row[first]),
          f" (an organisation visits {limit})", c.from_register("vo", "identity"))
    r.set(~present, CANNOT, "VO is empty")
    return r


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
    r.set(known & (values <= most), PASS, paid, f" paid, within the €{most:,} maximum")
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

    With a ``register`` (``geo.read_register``) missing countries and cities are filled from it
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
    rule_set = rule_set or read_rule_set()
    eligible = frozenset(programme_countries) if programme_countries is not None else frozenset(rule_set.countries)
    c = _Context(table, register, rule_set, eligible)
    results = [_cross_border(c), _eligible_country(c), _distance(c), _duration(c), _single_visit(c),
               _vo_type(c), _sme_category(c), _max_support(c)]
    outcome = np.stack([r.outcome for r in results], axis=1).ravel()
    warning = np.stack([r.warning for r in results], axis=1).ravel()
    message = np.stack([r.message for r in results], axis=1).ravel()
    return pd.DataFrame({
        "row": np.repeat(c.row, len(RULES)),
        "rule": pd.Categorical.from_codes(np.tile(np.arange(len(RULES), dtype=np.int8), c.n),
                                          categories=list(RULES)),
        "outcome": pd.Categorical.from_codes(outcome, categories=list(OUTCOMES)),
        "severity": pd.Series(np.where(warning, WARNING, None), dtype="str"),
        "message": pd.Series(message, dtype="str"),
    })


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
