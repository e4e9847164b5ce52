"""Countries by meaning (issue 19): names as partners write them, in their languages and in each
country's own, read as ISO codes everywhere (clean, rules, flows, explore). Expected codes and
counts are typed by hand from the names' public meaning, not taken from the package's tables."""

import pandas as pd
import pytest

from cxc_analysis.core.errors import InputError
from cxc_analysis.read.countries import country_code, country_codes, country_codes_of, country_problems

# Names in the vocabulary's languages and the countries' own (endonyms), ISO alpha-3 codes and
# common variants, with the country each names (ISO 3166 alpha-2), written from general knowledge.
NAMES = {
    "Italia": "IT", "Italie": "IT", "Italien": "IT", "ITA": "IT",
    "España": "ES", "Espana": "ES", "Spagna": "ES", "Espagne": "ES", "Spanien": "ES", "Spanje": "ES", "ESP": "ES",
    "Polonia": "PL", "Pologne": "PL", "Polen": "PL", "Polska": "PL", "POL": "PL",
    "Lituania": "LT", "Lietuva": "LT", "Litauen": "LT", "Lituanie": "LT",
    "Grecia": "GR", "Grèce": "GR", "Griechenland": "GR", "Ελλάδα": "GR", "ΕΛΛΆΔΑ": "GR", "EL": "GR", "GRC": "GR",
    "България": "BG", "Bulgarie": "BG", "Bulgarien": "BG",
    "Deutschland": "DE", "Allemagne": "DE", "Germania": "DE", "Alemanha": "DE", "Duitsland": "DE", "DEU": "DE",
    "Nederland": "NL", "Pays-Bas": "NL", "Paesi Bassi": "NL", "Países Bajos": "NL", "Holland": "NL",
    "the Netherlands": "NL", "Olanda": "NL",
    "Österreich": "AT", "Autriche": "AT", "Magyarország": "HU", "Ungheria": "HU", "Sverige": "SE", "Suomi": "FI",
    "Hrvatska": "HR", "Croazia": "HR", "Česko": "CZ", "Czechia": "CZ", "Czech Republic": "CZ",
    "Repubblica Ceca": "CZ", "Tschechien": "CZ", "Slovensko": "SK", "Slovenija": "SI", "România": "RO",
    "Eesti": "EE", "Latvija": "LV", "Danmark": "DK", "Norge": "NO", "Belgique": "BE", "België": "BE",
    "Schweiz": "CH", "Suisse": "CH", "Svizzera": "CH", "Türkiye": "TR", "Turkey": "TR", "Türkei": "TR",
    "North Macedonia": "MK", "Северна Македонија": "MK", "UK": "GB", "Great Britain": "GB", "Regno Unito": "GB",
    "Royaume-Uni": "GB", "Großbritannien": "GB", "Éire": "IE", "Κύπρος": "CY", "Україна": "UA",
    "Shqipëria": "AL", "Србија": "RS", "Bosna i Hercegovina": "BA", "Ísland": "IS", "Lëtzebuerg": "LU",
    "  ITALIA ": "IT", "polska": "PL",
}


@pytest.mark.parametrize("text, code", sorted(NAMES.items()))
def test_country_names_in_partners_languages(text, code):
    assert country_code(text) == code


def test_one_pass_reads_like_one_by_one_and_unknowns_are_none():
    texts = [*NAMES, None, "", "Atlantis", "Ελλάδα Italia", "Italia / Spagna"]
    expected = [*NAMES.values(), None, None, None, None, None]
    assert country_codes_of(texts) == expected
    column = pd.Series(["Spagna", "España", "ES", "Spain", None, "Atlantide"])
    assert country_codes(column).tolist()[:4] == ["ES"] * 4 and country_codes(column).isna().tolist()[4:] == [True] * 2
    assert country_problems(["Atlantide", "Spagna", None, "  "]) == ["unknown", None, None, None]


def test_a_vocabulary_file_adds_names_and_refuses_contradictions(tmp_path):
    from cxc_analysis.read.vocabulary import load_vocabulary

    good = tmp_path / "words.yaml"
    good.write_text("countries:\n  IT:\n    it: [Repubblica Italiana, Itaria]\n  XK: [Kosovo Republic]\n",
                    encoding="utf-8")
    words = load_vocabulary(str(good))
    assert country_codes_of(["Itaria", "repubblica italiana", "Kosovo Republic", "Itaria"], words.countries) == [
        "IT", "IT", "XK", "IT"]
    assert country_code("Itaria") is None  # the bundled vocabulary does not know it
    for text, message in (("countries:\n  BE: [Holland]\n", "'Holland' already means NL"),
                          ("countries:\n  XX: [Atlantis]\n", "'XX' is not an ISO 3166 alpha-2 code"),
                          ("countries:\n  FR: [Spagna]\n", "'Spagna' already means ES")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text, encoding="utf-8")
        load_vocabulary.cache_clear()
        with pytest.raises(InputError, match=message) as error:
            load_vocabulary(str(bad))
        assert "bad.yaml" in str(error.value)


# An Italian partner's tracker, countries written as people write them. Truth by hand, row by row:
#   row  host country  host city  visitor country  visitor city  status                   codes
#   2    Italia        Prato      Italia           Vaiano        Completato               IT-IT (same country)
#   3    Italia        Milano     Polonia          Kraków        In attesa report finale  IT-PL pending
#   4    Polska        Warszawa   Italy            Roma          Completed                PL-IT
#   5    España        Madrid     Italia           Torino        Annullato                ES-IT cancelled
#   6    Spagna        Barcelona  Grecia           Athens        Completed                ES-GR
#   7    Ελλάδα        Thessaloniki Lietuva        Vilnius       Completed                GR-LT
#   8    Spagnia       Valencia   Italia           Prato         Completed                ?-IT (a typo: unknown)
#   9    DEU           Berlin     Deutschland      München       Completed                DE-DE (same country)
#   10   България      Sofia      PL               Poznań        Completed                BG-PL
ROWS = [
    ("Italia", "Prato", "Italia", "Vaiano", "Completato"),
    ("Italia", "Milano", "Polonia", "Kraków", "In attesa report finale"),
    ("Polska", "Warszawa", "Italy", "Roma", "Completed"),
    ("España", "Madrid", "Italia", "Torino", "Annullato"),
    ("Spagna", "Barcelona", "Grecia", "Athens", "Completed"),
    ("Ελλάδα", "Thessaloniki", "Lietuva", "Vilnius", "Completed"),
    ("Spagnia", "Valencia", "Italia", "Prato", "Completed"),
    ("DEU", "Berlin", "Deutschland", "München", "Completed"),
    ("България", "Sofia", "PL", "Poznań", "Completed"),
]


@pytest.fixture(scope="module")
def italian(tmp_path_factory):
    from cxc_analysis.report.processed import read_and_clean

    lines = ["HO,VO,VO Type of entity,Inside/outside partnership,(Group) exchange,Status,HO country,HO city,"
             "VO country,VO city"]
    for i, (hc, hcity, vc, vcity, status) in enumerate(ROWS):
        lines.append(f"Host {i},Visitor {i},SME,Inside,Mission,{status},{hc},{hcity},{vc},{vcity}")
    path = tmp_path_factory.mktemp("italian") / "tracker.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return read_and_clean(path)


def test_clean_reads_countries_as_codes_and_flags_the_one_it_cannot(italian):
    table, findings = italian
    assert table["ho_country"].tolist() == ["IT", "IT", "PL", "ES", "ES", "GR", "Spagnia", "DE", "BG"]
    assert table["vo_country"].tolist() == ["IT", "PL", "IT", "IT", "GR", "LT", "IT", "DE", "PL"]
    unknown = findings[findings["code"] == "unknown_country"]
    assert unknown[["row", "column", "severity"]].values.tolist() == [[8, "HO country", "warning"]]
    assert "'Spagnia'" in unknown["message"].iloc[0]
    assert table["status"].astype(str).tolist() == ["completed", "pending", "completed", "cancelled"] + [
        "completed"] * 5
    assert not table["excluded"].any()


def test_rules_read_the_countries_and_blame_the_country_not_geonames(italian):
    from cxc_analysis.rules.checks import check_rules

    results = check_rules(italian.table).set_index(["row", "rule"])
    cross = results.xs("cross_border", level="rule")
    assert cross.index[cross["outcome"] == "fail"].tolist() == [2, 9]  # Prato-Vaiano and Berlin-München
    assert cross.index[cross["outcome"] == "pass"].tolist() == [3, 4, 6, 7, 10]
    assert cross.loc[5, "message"] == "exchange cancelled: not checked"
    assert "'Spagnia' is not a known country" in cross.loc[8, "message"]
    eligible = results.xs("eligible_country", level="rule")
    assert eligible.index[eligible["outcome"] == "cannot_check"].tolist() == [5, 8]
    distance = results.loc[(8, "distance"), "message"]
    assert "host country 'Spagnia' is not a known country" in distance and "GeoNames" not in distance


def test_flows_and_explore_use_one_code_per_country(italian):
    from cxc_analysis.report.sections import explore
    from cxc_analysis.report.sections.flows import exchange_countries, per_country

    counts = per_country(exchange_countries(italian.table))  # the cancelled row 5 counts nowhere
    assert counts.loc["IT"].to_dict() == {"host": 2, "visitor": 3, "total": 5}
    assert counts.loc["PL"].to_dict() == {"host": 1, "visitor": 2, "total": 3}
    assert set(counts.index) == {"IT", "PL", "ES", "GR", "LT", "DE", "BG", "Spagnia"}  # the typo as written
    assert counts.loc["ES"].to_dict() == {"host": 1, "visitor": 0, "total": 1}
    pair = explore.for_country_pair(italian.table, "Italia", "Polska")
    assert pair["source_row"].tolist() == [3, 4]
    assert explore.for_country_pair(italian.table, "IT", "PL")["source_row"].tolist() == [3, 4]


def test_the_bundled_variants_contradict_no_code_or_cldr_name():
    """The bundled vocabulary is read without the check a user's file gets: it is checked here."""
    from cxc_analysis.read.country_names import standard_country
    from cxc_analysis.read.vocabulary import load_vocabulary

    variants = load_vocabulary().countries
    assert len(variants) > 50
    assert {key: code for key, code in variants.items() if standard_country(key) not in (None, code)} == {}
    assert variants["holland"] == "NL" and variants["el"] == "GR" and variants["czech republic"] == "CZ"


def test_country_names_file_is_what_the_tool_writes_from_cldr():
    """country_names.csv is generated (tools/make_country_names.py), never edited by hand."""
    pytest.importorskip("babel")
    import csv
    import importlib.util
    from pathlib import Path

    tool = Path(__file__).resolve().parents[2] / "tools" / "make_country_names.py"
    spec = importlib.util.spec_from_file_location("make_country_names", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = [line for line in module.TARGET.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert [tuple(row) for row in csv.reader(lines)][1:] == module.rows()
