"""Issue 19: names in Greek or Cyrillic are keyed by transliteration (``anyascii``), so repeat
visits and GeoNames cities are found; reports keep the spelling the tracker has.

Coordinates are GeoNames' (public): Athens 37.98N 23.73E, Thessaloniki 40.64N 22.93E, Sofia
42.70N 23.32E, Plovdiv 42.15N 24.75E, Varna 43.22N 27.91E."""

import numpy as np
import pandas as pd
import pytest
from conftest import outcomes, rule, table

from cxc_analysis.core import text
from cxc_analysis.core.text import fold, key, key_codes
from cxc_analysis.reference import places
from cxc_analysis.rules.checks import check_rules


@pytest.mark.parametrize("written, folded", [
    ("ΟΔΥΣΣΕΑΣ", "odysseas"), ("Οδυσσέας", "odysseas"), ("Αθήνα", "athina"), ("Θεσσαλονίκη", "thessaloniki"),
    ("София", "sofiya"), ("СОФИЯ", "sofiya"), ("Пловдив", "plovdiv"), ("Търговище", "targovishche"),
    ("Łódź", "lodz"), ("Clúster  ORGANIZATIONS", "cluster organizations"), ("€ 1.500", "1 500"),
])
def test_fold_transliterates_other_scripts_and_keeps_latin_folding(written, folded):
    """Greek and Bulgarian Cyrillic in their usual romanisation (anyascii's table; Bulgarian "ъ" as
    "a", the official Bulgarian system); Latin names fold as before; symbols still drop."""
    assert fold(written) == folded


def test_keys_in_arrow_equal_one_text_at_a_time():
    """``key_codes`` (per distinct word, in Arrow) keys Greek and Cyrillic names as ``key`` does
    (a final "s" dropped as a plural, as for any name)."""
    names = ["ΟΔΥΣΣΕΑΣ Α.Ε.", "Οδυσσέας Α.Ε.", "Клъстер Мехатроника и автоматизация", "Αθήνα", None,
             "Ассоциация кластеров", "Łódź sp. z o.o.", "Société Générale"] * 300
    codes, distinct = key_codes(names)
    by_arrow = [distinct[c].as_py() if c >= 0 else None for c in codes]
    assert by_arrow == [key(n) if n is not None else None for n in names]
    assert by_arrow[0] == by_arrow[1] == "odyssea a e" and by_arrow[2] == "klaster mekhatronika i avtomatizatsiya"


def test_repeat_visit_by_a_greek_name_is_found_and_shown_as_written():
    t = table({"visiting_org": "ΟΔΥΣΣΕΑΣ Α.Ε.", "start_date": "2023-02-01"},
              {"visiting_org": "Οδυσσέας Α.Ε.", "start_date": "2023-05-02"},
              {"visiting_org": "София Тех", "start_date": "2023-05-02"})
    r = rule(check_rules(t), "single_visit")
    assert r["outcome"].astype(str).tolist() == ["pass", "fail", "pass"]
    assert r.loc[1, "message"].startswith("Οδυσσέας Α.Ε. already visits on row 2")
    assert r.loc[2, "message"] == "София Тех visits once"


def test_greek_and_bulgarian_cities_found_in_geonames():
    cities = pd.Series(["Αθήνα", "Θεσσαλονίκη", "София", "Пловдив", "Варна"])
    countries = pd.Series(["GR", "GR", "BG", "BG", "BG"])
    found = places.locate(cities, countries).to_numpy()
    expected = np.array([[37.98, 23.73], [40.64, 22.93], [42.70, 23.32], [42.15, 24.75], [43.22, 27.91]])
    assert np.abs(found - expected).max() < 0.05


def test_geonames_cache_depends_on_the_transliteration(monkeypatch):
    """The cached folded GeoNames names are rebuilt when the transliteration changes."""
    before = places._fold_code()
    monkeypatch.setitem(text.TRANSLITERATION, "щ", "sht")
    assert places._fold_code() != before


def test_register_alias_in_greek_matches_the_name_in_capitals():
    """A register entry written "Οδυσσέας Α.Ε." with the alias "Odysseas SA" matches the
    tracker's "ΟΔΥΣΣΕΑΣ Α.Ε." and "ODYSSEAS S.A.": one visitor, its country from the register."""
    from conftest import REGISTER

    register = pd.concat([REGISTER, pd.DataFrame({
        "name": ["Οδυσσέας Α.Ε."], "aliases": ["Odysseas SA"], "country": ["GR"], "city": ["Αθήνα"],
        "entity_type": ["sme"], "headcount": pd.array([20], dtype="Int64"),
        "turnover_eur": pd.array([None], dtype="Float64"), "balance_sheet_eur": pd.array([None], dtype="Float64"),
        "register_row": [6]})], ignore_index=True)
    t = table({"visiting_org": "ΟΔΥΣΣΕΑΣ Α.Ε.", "vo_country": None, "start_date": "2023-02-01"},
              {"visiting_org": "Odysseas S.A.", "vo_country": None, "start_date": "2023-05-02"})
    results = check_rules(t, register)
    assert outcomes(results, "single_visit") == ["pass", "fail"]
    assert outcomes(results, "cross_border") == ["pass", "pass"]  # FR host, GR from the register
