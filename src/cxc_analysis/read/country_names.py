"""The names of countries, from CLDR (country_names.csv, every language) and GeoNames: ISO codes, each
name's key, and the standard country a key names. ``read.countries`` reads a tracker's text with them."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from cxc_analysis.core.text import LETTERS, fold, fold_many


def country_key(text: object) -> str:
    """Compare country names whatever their case, accents, punctuation or a leading "the".

    >>> country_key(" The Netherlands ")
    'netherlands'
    """
    return _without_the(fold(text))



def _without_the(key: str) -> str:
    """A folded country name without a leading "the" (the one rule ``country_key`` adds to ``fold``)."""
    return key[4:] if key.startswith("the ") else key



_LATIN = str.maketrans(LETTERS)



def script_key(text: str) -> str | None:
    """The key of a name written in letters ``fold`` cannot spell in ASCII (Greek, Cyrillic ...):
    accents off, case folded, words joined by one space, without a leading "the"; None for a
    name in Latin letters (``country_key`` reads those).

    >>> script_key("Ελλάδα"), script_key("  БЪЛГАРИЯ "), script_key("Türkiye")
    ('ελλαδα', 'българия', None)
    """
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", str(text).translate(_LATIN))
                    if not unicodedata.combining(ch))
    if plain.isascii():
        return None
    words = "".join(ch if ch.isalnum() else " " for ch in plain.casefold()).split()
    return _without_the(" ".join(words)) or None



def country_name_keys(names: list[str]) -> list[list[str]]:
    """The keys a country name is looked up by: its ``country_key`` and, for a name in another
    script, its ``script_key`` (each name folded in one Arrow pass)."""
    folded = fold_many(names).to_pylist() if names else []
    out = []
    for name, key in zip(names, folded):
        keys = [_without_the(key or "")]
        if not name.isascii():
            keys.append(script_key(name))
        out.append(list(dict.fromkeys(k for k in keys if k)))
    return out



@lru_cache(maxsize=1)
def country_rows() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(ISO alpha-2 code, name, locales) of country_names.csv: CLDR's names per locale, the ISO
    codes (locale ``iso``) and GeoNames' English name (locale ``geonames``)."""
    import csv
    from importlib import resources

    text = resources.files("cxc_analysis").joinpath("country_names.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(line for line in text.splitlines() if line and not line.startswith("#")))[1:]
    return tuple((code, name, tuple(locales.split())) for code, name, locales in rows)



@lru_cache(maxsize=1)
def standard_countries() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """(key -> ISO alpha-2, key -> the codes an ambiguous key could mean) from the ISO codes
    (alpha-2, alpha-3), GeoNames' English names and CLDR's names (country_names.csv). A code
    always means its country; a name that means two countries means none."""
    rows = country_rows()
    names = [(name, code) for code, name, locales in rows if "iso" not in locales]
    meanings: dict[str, set[str]] = {}
    for keys, (_, iso) in zip(country_name_keys([name for name, _ in names]), names):
        for key in keys:
            meanings.setdefault(key, set()).add(iso)
    lookup = {key: next(iter(codes)) for key, codes in meanings.items() if len(codes) == 1}
    ambiguous = {key: tuple(sorted(codes)) for key, codes in meanings.items() if len(codes) > 1}
    codes = [(text, iso) for iso, text, locales in rows if "iso" in locales]
    for key, (_, iso) in zip(fold_many([t for t, _ in codes]).to_pylist(), codes):
        lookup[key] = iso
        ambiguous.pop(key, None)
    return lookup, ambiguous



@lru_cache(maxsize=1)
def iso_codes() -> frozenset[str]:
    """The ISO 3166 alpha-2 codes countries are read as (GeoNames' list, with XK for Kosovo)."""
    return frozenset(code for code, _, _ in country_rows())



def standard_country(key: str) -> str | None:
    """The ISO alpha-2 code a country key (``country_name_keys``) means by the ISO codes, GeoNames
    and CLDR alone (without the vocabulary's variants); None if none or two."""
    return standard_countries()[0].get(key)
