"""Rule sets: the limits of one programme generation (distance, duration, visits, visitor types, SME
size, maximum support, programme countries), each with its source, read from ``data/raw/rulesets/``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from cxc_analysis.core.config import DATA_RAW
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.yamlfile import FILE_KEYS, check_keys, read_yaml
from cxc_analysis.read.countries import country_code

RULES = ("cross_border", "eligible_country", "distance", "duration", "single_visit", "vo_type",
         "sme_category", "max_support")



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
        "vo_type": f"The visitor is {words_or([TYPE_WORDS[t] for t in visitors])}",
        "sme_category": "An SME visitor is within the SME limits of the rule set "
                        "(Recommendation 2003/361/EC in the bundled one)",
        "max_support": f"Financial support per visitor is at most €{v('max_support', 'max_eur'):,} "
                       f"({euros(v('max_support', 'max_eur') / 2)} where the lump sum is halved)",
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
                         f"{money(v['turnover_max_eur'])} or balance sheet at most "
                         f"{money(v['balance_sheet_max_eur'])}" for name, v in value.items())
    return f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)



def words_or(words: list[str]) -> str:
    """Words joined as a sentence lists them: "a, b or c"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def money(value: float) -> str:
    return f"€{value / 1e6:,.1f}M" if value >= 1e6 else f"€{value:,.0f}"



def euros(value: float) -> str:
    """An amount of a limit: whole euros without decimals."""
    return f"€{value:,.0f}" if float(value).is_integer() else f"€{value:,.2f}"
