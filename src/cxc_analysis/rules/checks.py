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
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from cxc_analysis.core.config import DATA_RAW
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.text import Coded
from cxc_analysis.reference.register import column, objects, recode
from cxc_analysis.core.yamlfile import FILE_KEYS
from cxc_analysis.core.yamlfile import check_keys


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
              "training_provider": "a training provider",
              "large_company": "a large company", "public_authority": "a public authority"}
PLURALS = {"cluster_organisation": "cluster organisations", "sme": "SMEs",
           "scaling_up_support_organisation": "scaling-up support organisations",
           "training_provider": "training providers",
           "large_company": "large companies", "public_authority": "public authorities"}
# Each rule in plain words, as a reviewer reads it.
RULE_NAMES = {"cross_border": "Cross-border", "eligible_country": "Programme countries", "distance": "Distance",
              "duration": "Duration", "single_visit": "One visit per organisation", "vo_type": "Visitor type",
              "sme_category": "SME size", "max_support": "Maximum support"}
# What the lump sum of an exchange is, as ``RuleResults.lump_sums`` and the cost section say it.
FULL, HALVED, NOT_KNOWN = 0, 1, 2
LUMP_SUMS = ("full", "halved", "cannot tell")


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
    period: tuple[int, int] | None = None  # the first and last year of the generation's exchanges
    period_sources: tuple[str, ...] = ()

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
    from cxc_analysis.core.yamlfile import read_yaml
    from cxc_analysis.core.yamlfile import FILE_KEYS, check_keys

    data = check_keys(read_yaml(path), FILE_KEYS["rule set"][""], file=path)
    sources = data.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise _bad(path, "sources", "expected a mapping of keys to where each fact comes from")
    rules = data.get("rules")
    if not isinstance(rules, dict):
        raise _bad(path, "rules", f"expected a mapping of {', '.join(RULES)} to their limits")
    check_keys(rules, LIMITS, file=path, where="rules", what="rule")
    for rule, limits in LIMITS.items():
        if isinstance(rules.get(rule), dict):
            check_keys(rules[rule], limits, file=path, where=f"rules.{rule}", what="limit")
        for limit, (kind, valid) in limits.items():
            key = f"rules.{rule}.{limit}"
            entry = (rules.get(rule) or {}).get(limit) if isinstance(rules.get(rule) or {}, dict) else None
            if not isinstance(entry, dict) or "value" not in entry:
                raise _bad(path, key, "missing (expected a mapping with value and source)")
            if not valid(entry["value"]):
                raise _bad(path, key, f"{entry['value']!r} is not {kind}")
            check_keys(entry, FILE_KEYS["rule set"]["limit"], file=path, where=key)
            _check_sources(entry, sources, path, key)
            for position, other in enumerate(entry.get("other") or []):
                if isinstance(other, dict):
                    check_keys(other, FILE_KEYS["rule set"]["limit"], file=path, where=f"{key}.other[{position + 1}]")
                _check_sources(other, sources, path, f"{key}.other[{position + 1}]")
    countries, country_sources = _countries(data.get("countries"), sources, path)
    period, period_sources = _period(data.get("period"), sources, path)
    return RuleSet(name=str(data.get("name") or path.stem), path=path, rules=rules, sources=sources,
                   countries=countries, country_sources=country_sources, period=period,
                   period_sources=period_sources)


def _period(entry, sources: dict, path: Path) -> tuple[tuple[int, int] | None, tuple[str, ...]]:
    """The optional ``period: {first_year, last_year, source}`` of a rule set: the years its
    generation's exchanges take place in."""
    if entry is None:
        return None, ()
    years = (entry.get("first_year"), entry.get("last_year")) if isinstance(entry, dict) else (None, None)
    if not all(isinstance(y, int) and not isinstance(y, bool) and 1900 < y < 2200 for y in years) \
            or years[0] > years[1]:
        raise _bad(path, "period", f"{entry!r} is not {{first_year, last_year, source}} with two years, first <= last")
    check_keys(entry, FILE_KEYS["rule set"]["period"], file=path, where="period")
    _check_sources(entry, sources, path, "period")
    return (years[0], years[1]), tuple(_keys(entry))


def _check_sources(entry, sources: dict, path: Path, key: str) -> None:
    cited = entry.get("source") if isinstance(entry, dict) else None
    cited = [cited] if isinstance(cited, str) else cited
    if not cited or not isinstance(cited, list):
        raise _bad(path, key, "no source (every limit names where it comes from)")
    unknown = [c for c in cited if c not in sources]
    if unknown:
        raise _bad(path, key, f"source '{unknown[0]}' is not in 'sources'")


def _countries(entries, sources: dict, path: Path) -> tuple[dict, dict]:
    from cxc_analysis.read.countries import country_code
    from cxc_analysis.core.yamlfile import FILE_KEYS, check_keys

    if not isinstance(entries, list) or not entries:
        raise _bad(path, "countries", "expected a list of {code, name, joined, source}")
    countries, cited = {}, {}
    for position, entry in enumerate(entries, start=1):
        key = f"countries[{position}]"
        code = country_code(entry.get("code")) if isinstance(entry, dict) and entry.get("code") else None
        if code is None:
            raise _bad(path, key, f"unknown country code {entry!r}")
        check_keys(entry, FILE_KEYS["rule set"]["country"], file=path, where=key)
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
        "max_support": f"Financial support per visitor is at most €{v('max_support', 'max_eur'):,} "
                       f"({_euros(v('max_support', 'max_eur') / 2)} where the lump sum is halved)",
    }


def limits_table(rule_set: RuleSet) -> pd.DataFrame:
    """Every limit of a rule set with where it comes from, one row each, in ``RULES`` order:
    ``rule``, ``limit``, ``value`` (as text, types in words), ``source`` (the cited sources' texts),
    ``note`` (the file's note, what disagreeing sources say, named by their keys in ``sources``, and
    which one is applied; else empty) and ``source_keys``.

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
                notes.append(f"{', '.join(_keys(other))} says {_value_text(other.get('value'))}"
                             + (f" ({str(other['note']).strip()})" if other.get("note") else ""))
            if entry.get("applied"):
                notes.append(f"applied: {_value_text(entry['value'])}, {str(entry['applied']).strip()}")
            rows.append({"rule": rule, "limit": limit, "value": _value_text(entry["value"]),
                         "source": _cited(rule_set, entry), "note": "; ".join(notes),
                         "source_keys": _keys(entry) + [k for o in entry.get("other") or [] for k in _keys(o)]})
            if (rule, limit) == ("eligible_country", "countries"):
                rows.append(_country_row(rule_set))
    return pd.DataFrame(rows, columns=["rule", "limit", "value", "source", "note", "source_keys"])


def _keys(entry: dict) -> list[str]:
    cited = entry.get("source") or []
    return [cited] if isinstance(cited, str) else list(cited)


def _country_row(rule_set: RuleSet) -> dict:
    """The country list as one row of ``limits_table``: codes, with the date where one is given."""
    codes = [f"{code} ({day:%Y-%m-%d})" if day else code for code, day in rule_set.countries.items()]
    cited = list(dict.fromkeys(k for v in rule_set.country_sources.values() for k in _keys({"source": v})))
    return {"rule": "eligible_country", "limit": "country list", "value": ", ".join(codes),
            "source": _cited(rule_set, {"source": cited}),
            "note": "date: joined the programme (without one: before this generation's exchanges began)",
            "source_keys": cited}


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
        return ", ".join(PLURALS.get(v, str(v)) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{name}: headcount under {v['headcount_under']}, turnover at most "
                         f"{_money(v['turnover_max_eur'])} or balance sheet at most "
                         f"{_money(v['balance_sheet_max_eur'])}" for name, v in value.items())
    return f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _words_or(words: list[str]) -> str:
    """Words joined as a sentence lists them: "a, b or c"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


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
        from cxc_analysis.core.text import key_codes
        from cxc_analysis.read.countries import country_codes_of
        from cxc_analysis.reference.register import at, coded, located, mapped, match_keys, union

        self.n = len(table)
        self.rule_set, self.eligible = rule_set, eligible
        self.register = register
        self.row = table["source_row"].to_numpy(dtype=np.int64)
        from cxc_analysis.table.clean import copy_of

        self.copy_of = copy_of(table)  # a later copy of the same exchange: the first row's position
        self.vo_name = coded(column(table, "visiting_org"))  # a million names: codes, texts in Arrow
        self.vo_key = key_codes(self.vo_name)  # each distinct name's key once, shared by all rules
        positions = None
        if register is not None:
            host = key_codes(coded(column(table, "host_org")))
            positions = {"ho": match_keys(*host, register), "vo": match_keys(*self.vo_key, register)}
        self.vo_pos = positions["vo"] if positions else np.full(self.n, -1, dtype=np.int64)
        self.filled: dict[str, np.ndarray] = {}
        located = located(table, register, positions, self.filled)
        self.ref = {side: _register_refs(register, positions[side]) if positions else _mark(np.zeros(self.n, bool), "")
                    for side in ("ho", "vo")}
        self.ho_country, self.vo_country = located["ho_country"], located["vo_country"]
        self.ho_city, self.vo_city = located["ho_city"], located["vo_city"]
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
    allowed = _words_or([PLURALS[t] for t in visitors])
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


def _money(value: float) -> str:
    return f"€{value / 1e6:,.1f}M" if value >= 1e6 else f"€{value:,.0f}"


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
                                 f"turnover {_money(turnover[i])}" if known[1] else "turnover unknown",
                                 f"balance sheet {_money(balance[i])}" if known[2] else "balance sheet unknown"])
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
                                f"under {staff_max} and turnover at most {_money(turnover_max)} or balance sheet "
                                f"at most {_money(balance_max)})")
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


def _euros(value: float) -> str:
    """An amount of a limit: whole euros without decimals."""
    return f"€{value:,.0f}" if float(value).is_integer() else f"€{value:,.2f}"


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
          f" paid, within the {_euros(half)} maximum of a halved lump sum", why)
    r.set(known & halved & (values > half), FAIL, paid,
          f" paid, over the {_euros(half)} maximum of a halved lump sum", why)
    r.set(known & unsure & (values <= half), PASS, paid,
          f" paid, within {_euros(half)}, the maximum even of a halved lump sum")
    r.set(known & unsure & (values > half) & (values <= most), CANNOT, paid,
          f" paid: within the €{most:,} maximum of a full lump sum but over the {_euros(half)} of a halved one, "
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


def write_results_json(results: RuleResults, out, *, lines: bool = False, block: int = 20_000) -> None:
    """Write the results as ``cxc-analysis check --json`` prints them, a list of ``{"row", "rule",
    "outcome", "message"}``, to the text stream ``out`` block by block (never the
    whole list in memory), each record built with Arrow kernels; ``lines``: one JSON object a
    line (NDJSON) instead of one list.

    >>> import io; t = pd.DataFrame({"source_row": [4], "host_org": ["A"], "visiting_org": ["B"]})
    >>> buffer = io.StringIO(); write_results_json(evaluate_rules(t), buffer, lines=True)
    >>> buffer.getvalue().splitlines()[4]
    '{"row":4,"rule":"single_visit","outcome":"pass","message":"B visits once"}'
    """
    separator = "\n" if lines else ","
    with _Background(_utf8_writer(out)) as write:  # a block is written while the next one is built
        if not lines:
            write(b"[")
        for start in range(0, len(results), block):
            positions = np.arange(start, min(start + block, len(results)))
            if start and not lines:
                write(b",")
            write(_json_block(results, positions, separator))
        if not lines:
            write(b"]\n")


class _Background:
    """``write`` on a thread of its own, in order, at most ``depth`` pieces waiting: writing a
    gigabyte waits on the disk, not on Python, so the next block is built meanwhile. An error of
    ``write`` (a closed pipe) is raised in the caller, at its next piece or at the end; an error
    of the caller (an interrupt) stops the writing without waiting for it.

    >>> pieces = []
    >>> with _Background(pieces.append) as write:
    ...     write(b"a"); write(b"b")
    >>> pieces
    [b'a', b'b']
    """

    def __init__(self, write, depth: int = 2):
        import queue
        import threading

        self._write, self._error, self._stopped = write, None, False
        self._queue = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="cxc-json-writer", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self._put

    def _run(self) -> None:
        while (piece := self._queue.get()) is not None:
            if self._error is None and not self._stopped:  # else pieces are only taken (no one waits)
                try:
                    self._write(piece)
                except BaseException as exc:  # noqa: BLE001 (raised again in the caller)
                    self._error = exc

    def _put(self, piece) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(piece)

    def __exit__(self, kind, value, traceback) -> None:
        import queue

        if kind is not None:  # the caller failed: what is left is dropped, a blocked write not awaited
            self._stopped = True
            try:
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._queue.put_nowait(None)
            return
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and kind is None:
            raise self._error


def _utf8_writer(out):
    """A function writing UTF-8 bytes to the text stream ``out``: straight to its byte buffer when
    it writes UTF-8 (megabytes of JSON are not decoded and encoded again), else decoded first."""
    buffer = getattr(out, "buffer", None)
    encoding = str(getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if buffer is not None and encoding == "utf8":
        out.flush()
        return buffer.write
    return lambda data: out.write(bytes(data).decode("utf-8"))


_RULE_JSON = [json.dumps(rule) for rule in RULES]
_OUTCOME_JSON = [json.dumps(outcome) for outcome in OUTCOMES]


def _json_block(results: RuleResults, positions: np.ndarray, separator: str):
    """The JSON objects of the exchanges at ``positions`` (all rules each), joined by ``separator``
    (after the last one too when it is a new line), as UTF-8 bytes (a memoryview): built in Arrow kernels (each message part
    escaped once, ``_JsonEscape``) and read back as one buffer, no Python string per record."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(positions) * len(RULES)
    if not n:
        return b""
    if results._escape is None:
        results._escape = _JsonEscape()
    row = pa.array(np.repeat(results.row[positions], len(RULES))).cast(pa.string())
    rule = pa.array(_RULE_JSON).take(pa.array(np.tile(np.arange(len(RULES)), len(positions))))
    outcome = pa.array(_OUTCOME_JSON).take(pa.array(results.outcome[positions].ravel().astype(np.int64)))
    by_rule = pa.concat_arrays([r.texts(positions, results._escape) for r in results.results])
    interleaved = (np.arange(len(positions))[:, None] + np.arange(len(RULES))[None, :] * len(positions)).ravel()
    message = by_rule.take(pa.array(interleaved))
    records = pc.binary_join_element_wise('{"row":', row, ',"rule":', rule, ',"outcome":', outcome,
                                          ',"message":"', message, '"}' + separator, "")
    data = _array_bytes(records)
    return data if separator == "\n" else data[:len(data) - len(separator.encode())]


def _array_bytes(array):
    """All the texts of an Arrow string array, concatenated, as UTF-8 bytes (a memoryview of its
    data buffer: nothing copied).

    >>> import pyarrow as pa
    >>> bytes(_array_bytes(pa.array(["a", "bé", None, "c"]).slice(1)))
    b'b\\xc3\\xa9c'
    """
    import pyarrow as pa

    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(array.buffers()[1], dtype=width)[array.offset:array.offset + len(array) + 1]
    data = array.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]):int(offsets[-1])]


class _JsonEscape:
    """Escapes message parts for a JSON string literal, as ``json.dumps`` does (quotes,
    backslashes and control characters; other characters kept): ``text`` for a fixed part,
    ``__call__`` for an Arrow array, ``cached`` for the distinct texts of a column (escaped once
    for all the blocks written).

    >>> print(_JsonEscape().text('say "hi" in C:/x'))
    say \\"hi\\" in C:/x
    """

    def __init__(self):
        self._done: dict[int, tuple] = {}

    def text(self, text: str) -> str:
        return json.dumps(text, ensure_ascii=False)[1:-1]

    def __call__(self, array):
        import pyarrow as pa
        import pyarrow.compute as pc

        from cxc_analysis.core.text import replace_where

        control = pc.fill_null(pc.match_substring_regex(array, "[\\x{0}-\\x{1f}]"), False)
        escaped = replace_where(array, r"\\", r"\\\\")
        escaped = replace_where(escaped, '"', r'\\"')
        if pc.any(control).as_py():  # rare: Python's json escapes those
            fixed = [self.text(text) for text in pc.filter(array, control).to_pylist()]
            escaped = pc.replace_with_mask(escaped, control, pa.array(fixed, type=escaped.type))
        return escaped

    def cached(self, dictionary):
        done = self._done.get(id(dictionary))
        if done is None or done[0] is not dictionary:
            done = self._done[id(dictionary)] = (dictionary, self(dictionary))
        return done[1]
