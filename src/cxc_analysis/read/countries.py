"""Countries by meaning, like headers and labels: an ISO 3166 code, or a name in any language the
vocabulary knows (CLDR names in country_names.csv, each country's own languages, common variants, and a
user's ``countries:``) read as one ISO alpha-2 code; a text that is no country is never guessed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxc_analysis.read.country_names import country_name_keys, country_rows, standard_countries
from cxc_analysis.read.vocabulary import load_vocabulary


def _variants(variants: dict[str, str] | None) -> dict[str, str]:
    """The vocabulary's country variants (key -> code): the bundled vocabulary's when not given."""
    if variants is not None:
        return variants

    return load_vocabulary().countries


def country_code(text: object, variants: dict[str, str] | None = None) -> str | None:
    """ISO 3166 alpha-2 code for a code or a name (``country_codes_of``); ``None`` when unknown,
    ambiguous or empty.

    >>> [country_code(t) for t in ("NL", "netherlands", "Türkiye", "Czech Republic", "UK", "Spagna", "Atlantis")]
    ['NL', 'NL', 'TR', 'CZ', 'GB', 'ES', None]
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    return country_codes_of([str(text)], variants)[0]


def country_codes_of(texts: list, variants: dict[str, str] | None = None) -> list[str | None]:
    """``country_code`` of each text of a list (distinct texts, say), folded in one Arrow pass.
    ``variants``: a vocabulary's ``countries`` (default: the bundled vocabulary's).

    >>> country_codes_of(["The Netherlands", "fr", None, "", "Atlantis", "Ελλάδα", "Polska"])
    ['NL', 'FR', None, None, None, 'GR', 'PL']
    """
    return _read_countries(texts, variants)[0]


def _read_countries(texts: list, variants: dict[str, str] | None) -> tuple[list[str | None], list[str]]:
    """(ISO code or None, the key it was looked up by or "") of each text."""
    present = [i for i, t in enumerate(texts) if isinstance(t, str)]
    codes: list[str | None] = [None] * len(texts)
    looked_up = [""] * len(texts)
    if not present:  # nothing to read (a column not read, say): no table to build
        return codes, looked_up
    lookup, variants = standard_countries()[0], _variants(variants)
    for i, keys in zip(present, country_name_keys([texts[i] for i in present])):
        key = keys[-1] if keys else ""  # a name in another script by its own letters, not by what fold leaves
        codes[i], looked_up[i] = ((variants.get(key) or lookup.get(key)) if key else None), key
    return codes, looked_up


def country_problems(texts: list, variants: dict[str, str] | None = None) -> list[str | None]:
    """Why each text is no country: "ambiguous: could be AT or AU", "unknown", or None (a country,
    or empty).

    >>> country_problems(["Italia", "Atlantis", None, " "])
    [None, 'unknown', None, None]
    """
    ambiguous = standard_countries()[1]
    codes, keys = _read_countries(texts, variants)
    out: list[str | None] = [None] * len(texts)
    for i, (code, key) in enumerate(zip(codes, keys)):
        if code is None and key:
            could = ambiguous.get(key)
            out[i] = f"ambiguous: could be {' or '.join(could)}" if could else "unknown"
    return out


def country_codes(values: pd.Series, variants: dict[str, str] | None = None) -> pd.Series:
    """``country_code`` over a column, each distinct text looked up once; unknown -> missing.

    >>> country_codes(pd.Series(["Netherlands", "fr", None, "Atlantis", "Italia"])).tolist()
    ['NL', 'FR', nan, nan, 'IT']
    """
    codes, uniques = pd.factorize(values.astype("object"))
    mapped = np.array(country_codes_of([str(u) for u in uniques], variants) + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype="str")


def country_name(code: str) -> str:
    """English name of an ISO alpha-2 code, as GeoNames writes it (the code itself if unknown).

    >>> country_name("TR")
    'Turkey'
    """
    names = {iso: name for iso, name, locales in country_rows() if "geonames" in locales}
    return names.get(code, code)
