import csv
import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REGISTER, outcomes, rule, run_cli, table

from cxc_analysis.core.config import DEFAULT_REGISTER
from cxc_analysis.core.errors import InputError
from cxc_analysis.reference import places, rulesets
from cxc_analysis.reference.register import fill_locations, read_register
from cxc_analysis.reference.rulesets import RULES, read_rule_set
from cxc_analysis.rules import checks as rules
from cxc_analysis.rules.checks import check_rules, failures, rule_summary

EU27 = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
        "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
COSME_OTHERS = {"AL", "AM", "BA", "IS", "XK", "MD", "ME", "MK", "RS", "TR", "UA"}


def rule_set_with(tmp_path, **values) -> rulesets.RuleSet:
    """The bundled rule set with some limits changed: ``distance__shortfall="fail"``."""
    data = yaml.safe_load(rulesets.DEFAULT_RULES.read_text(encoding="utf-8"))
    for key, value in values.items():
        rule, limit = key.split("__")
        data["rules"][rule][limit]["value"] = value
    path = tmp_path / f"rules_{len(list(tmp_path.glob('rules_*')))}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return read_rule_set(path)


THREE_TYPES = ["cluster_organisation", "sme", "scaling_up_support_organisation"]


# --- the shape of the results -------------------------------------------------------------

def test_one_result_per_exchange_and_rule_in_order():
    t = table({}, {}, {})
    results = check_rules(t)
    assert list(results.columns) == ["row", "rule", "outcome", "severity", "message"]
    assert len(results) == 3 * 8
    assert results["row"].tolist() == [2] * 8 + [3] * 8 + [4] * 8
    assert results["rule"].astype(str).tolist()[:8] == list(RULES) == [
        "cross_border", "eligible_country", "distance", "duration", "single_visit", "vo_type", "sme_category",
        "max_support"]
    assert set(results["outcome"].astype(str)) <= {"pass", "fail", "cannot_check"}
    assert results["message"].str.len().gt(0).all()


def test_input_is_not_changed_and_excluded_rows_are_checked():
    t = table({"excluded": True, "vo_country": "FR"}, {})
    before = t.copy()
    results = check_rules(t, REGISTER)
    pd.testing.assert_frame_equal(t, before)
    assert outcomes(results, "cross_border") == ["fail", "pass"]


def test_empty_table():
    results = check_rules(table({}).iloc[0:0])
    assert len(results) == 0
    assert rule_summary(results)[["pass", "fail", "cannot_check"]].to_numpy().sum() == 0


# --- cross_border and eligible_country ----------------------------------------------------

def test_cross_border():
    t = table({"ho_country": "NL", "vo_country": "Netherlands"},  # the same country, written two ways
              {"ho_country": "FR", "vo_country": "BE"},
              {"vo_country": None},
              {"vo_country": "Atlantis"})
    r = rule(check_rules(t), "cross_border")
    assert r["outcome"].astype(str).tolist() == ["fail", "pass", "cannot_check", "cannot_check"]
    assert "NL" in r.loc[0, "message"] and "'Atlantis' is not a known country" in r.loc[3, "message"]


def test_eligible_country_uses_the_cosme_list():
    t = table({"vo_country": "Norway"}, {"vo_country": "Türkiye"}, {"vo_country": "Ukraine"},
              {"ho_country": "NO", "vo_country": None}, {"ho_country": None, "vo_country": "NL"},
              {"ho_country": "US", "vo_country": "CH"})
    r = rule(check_rules(t), "eligible_country")
    assert r["outcome"].astype(str).tolist() == ["fail", "pass", "pass", "fail", "cannot_check", "fail"]
    assert "NO" in r.loc[0, "message"] and "US" in r.loc[5, "message"] and "CH" in r.loc[5, "message"]


def test_programme_country_list_is_data():
    codes = rulesets.read_programme_countries()
    assert codes == EU27 | COSME_OTHERS and len(codes) == 27 + 11
    t = table({"vo_country": "NO"})
    assert outcomes(check_rules(t, programme_countries={"FR", "NO"}), "eligible_country") == ["pass"]
    assert outcomes(check_rules(t, programme_countries={"FR"}), "eligible_country") == ["fail"]


# --- distance -----------------------------------------------------------------------------

def _fake_locate(points: dict[str, tuple[float, float]]):
    def locate(cities, countries=None):
        return pd.DataFrame([points.get(c, (np.nan, np.nan)) for c in cities], index=cities.index,
                            columns=["lat", "lon"])
    return locate


def test_distance_exactly_200_km_passes(monkeypatch):
    degrees_for = lambda km: km / (6371.0088 * math.pi / 180)  # along a meridian, IUGG mean radius  # noqa: E731
    monkeypatch.setattr(places, "locate", _fake_locate({
        "A": (45.0, 10.0), "B200": (45.0 + degrees_for(200), 10.0), "B199": (45.0 + degrees_for(199.9), 10.0),
        "B201": (45.0 + degrees_for(200.1), 10.0)}))
    t = table({"ho_city": "A", "vo_city": "B200"}, {"ho_city": "A", "vo_city": "B199"},
              {"ho_city": "A", "vo_city": "B201"})
    r = rule(check_rules(t), "distance")  # the bundled rule set: closer halves the lump sum
    assert r["outcome"].astype(str).tolist() == ["pass", "pass", "pass"]
    assert r["severity"].eq("warning").tolist() == [False, True, False]
    assert "200.0 km" in r.loc[0, "message"] and "199.9 km" in r.loc[1, "message"]
    assert "halved" in r.loc[1, "message"]


def test_distance_shortfall_and_minimum_come_from_the_rule_set(tmp_path, monkeypatch):
    monkeypatch.setattr(places, "locate", _fake_locate({"A": (45.0, 10.0), "B": (46.0, 10.0)}))  # about 111 km
    t = table({"ho_city": "A", "vo_city": "B"})
    as_requisite = rule(check_rules(t, rule_set=rule_set_with(tmp_path, distance__shortfall="fail")), "distance")
    assert as_requisite["outcome"].tolist() == ["fail"] and "minimum of 200 km" in as_requisite.loc[0, "message"]
    shorter = rule(check_rules(t, rule_set=rule_set_with(tmp_path, distance__min_km=100)), "distance")
    assert shorter["outcome"].tolist() == ["pass"] and pd.isna(shorter.loc[0, "severity"])


def test_distance_between_real_cities():
    # Eindhoven (51.44 N, 5.48 E) - Helmond (51.48 N, 5.66 E): about 13 km. Eindhoven - Paris (48.86 N,
    # 2.35 E): 2.58 degrees of latitude (287 km) and 3.13 of longitude at 50 N (224 km), about 364 km.
    # Regensburg (49.01 N, 12.10 E) - Venray (51.53 N, 5.98 E): about 520 km.
    t = table({"ho_country": "NL", "ho_city": "Eindhoven", "vo_country": "NL", "vo_city": "Helmond"},
              {"ho_country": "NL", "ho_city": "Eindhoven", "vo_country": "FR", "vo_city": "Paris"},
              {"ho_country": "Germany", "ho_city": "regensburg", "vo_country": "NL", "vo_city": "VENRAY"})
    r = rule(check_rules(t), "distance")
    assert r["outcome"].astype(str).tolist() == ["pass", "pass", "pass"]
    assert r["severity"].eq("warning").tolist() == [True, False, False]  # under 200 km: the lump sum is halved
    km = r["message"].str.extract(r"^(?:warning: )?([\d,.]+) km")[0].str.replace(",", "").astype(float).tolist()
    assert km[0] == pytest.approx(13, abs=4) and km[1] == pytest.approx(364, abs=15)
    assert km[2] == pytest.approx(520, abs=30)


def test_unknown_city_cannot_be_checked():
    t = table({"ho_country": "NL", "ho_city": "Eindhoven", "vo_country": "FR", "vo_city": "Qwxzville-sur-Rien"},
              {"ho_country": "NL", "ho_city": "Eindhoven", "vo_country": "FR", "vo_city": None},
              {"ho_country": "NL", "ho_city": None, "vo_country": "FR", "vo_city": "Paris"})
    r = rule(check_rules(t), "distance")
    assert r["outcome"].astype(str).tolist() == ["cannot_check"] * 3
    assert "Qwxzville-sur-Rien" in r.loc[0, "message"] and "not found" in r.loc[0, "message"]
    assert "visitor city unknown" in r.loc[1, "message"] and "host city unknown" in r.loc[2, "message"]


# --- duration -----------------------------------------------------------------------------

def _day(text: str, weekday: int) -> str:
    assert dt.date.fromisoformat(text).weekday() == weekday, f"{text} is not weekday {weekday}"
    return text


MON, TUE, WED, THU, FRI = range(5)


def test_duration_working_days_and_weekends():
    t = table({"start_date": _day("2023-03-06", MON), "end_date": _day("2023-03-08", WED)},  # exactly 3
              {"start_date": _day("2023-03-10", FRI), "end_date": _day("2023-03-13", MON)},  # weekend inside: 2
              {"start_date": _day("2023-03-09", THU), "end_date": _day("2023-03-13", MON)},  # weekend inside: 3
              {"start_date": _day("2023-03-07", TUE), "end_date": _day("2023-03-08", WED)},  # 2
              {"start_date": _day("2023-03-06", MON), "end_date": _day("2023-03-10", FRI)},  # 5: full lump sum
              {"start_date": _day("2023-03-08", WED), "end_date": _day("2023-03-14", TUE)})  # 5 over a weekend
    r = rule(check_rules(t), "duration")
    assert r["outcome"].astype(str).tolist() == ["pass", "fail", "pass", "fail", "pass", "pass"]
    assert r["severity"].eq("warning").tolist() == [True, False, True, False, False, False]
    assert r["message"].str.extract(r"(\d+) working days")[0].astype(int).tolist() == [3, 2, 3, 2, 5, 5]
    assert "halved" in r.loc[0, "message"]


def test_duration_at_most_a_month_and_in_order():
    t = table({"start_date": "2023-03-01", "end_date": "2023-04-01"},
              {"start_date": "2023-03-01", "end_date": "2023-04-02"},
              {"start_date": "2023-03-10", "end_date": "2023-03-06"},
              {"start_date": "2023-03-10"}, {})
    r = rule(check_rules(t), "duration")
    assert r["outcome"].astype(str).tolist() == ["pass", "fail", "fail", "cannot_check", "cannot_check"]
    assert "longer than 1 month" in r.loc[1, "message"] and "before the start date" in r.loc[2, "message"]
    assert r.loc[3, "message"] == "no end date"


# --- single_visit -------------------------------------------------------------------------

def test_an_organisation_visits_once_and_hosts_any_number_of_times():
    t = table({"visiting_org": "Axxor"}, {"host_org": "Axxor", "visiting_org": "B"},
              {"host_org": "Axxor", "visiting_org": "C"}, {"visiting_org": "AXXOR "}, {"visiting_org": None})
    r = rule(check_rules(t), "single_visit")
    assert r["outcome"].astype(str).tolist() == ["pass", "pass", "pass", "fail", "cannot_check"]
    assert "row 2" in r.loc[3, "message"]


def test_the_later_visit_by_date_fails():
    t = table({"visiting_org": "Axxor", "start_date": "2023-05-02", "end_date": "2023-05-05", "event": "Fair"},
              {"visiting_org": "Axxor", "start_date": "2023-02-01", "end_date": "2023-02-03", "event": "Visit"})
    assert outcomes(check_rules(t), "single_visit") == ["fail", "pass"]


def test_visits_per_generation_from_the_rule_set(tmp_path):
    t = table(*({"visiting_org": "Axxor", "event": f"Event {i}"} for i in range(3)))
    twice = rule_set_with(tmp_path, single_visit__visits_per_generation=2)
    r = rule(check_rules(t, rule_set=twice), "single_visit")
    assert r["outcome"].tolist() == ["pass", "pass", "fail"] and "at most 2 times" in r.loc[2, "message"]


def test_register_alias_makes_two_names_one_visitor():
    t = table({"visiting_org": "Inalfa", "vo_country": None}, {"visiting_org": "Inalfa Roof Systems", "vo_country": None})
    assert outcomes(check_rules(t), "single_visit") == ["pass", "pass"]
    with_register = check_rules(t, REGISTER)
    assert outcomes(with_register, "single_visit") == ["pass", "fail"]
    assert outcomes(with_register, "cross_border") == ["pass", "pass"]  # FR host, NL from the register


# --- vo_type ------------------------------------------------------------------------------

def test_vo_type(tmp_path):
    t = table({"vo_entity_type": "cluster_organisation"}, {"vo_entity_type": "scaling_up_support_organisation"},
              {"vo_entity_type": "large_company"}, {"vo_entity_type": "public_authority"},
              {"vo_entity_type": None}, {"vo_entity_type": None, "visiting_org": "Inalfa"})
    # The bundled rule set applies REMOBILISE's call: large companies and public authorities may visit.
    assert outcomes(check_rules(t, REGISTER), "vo_type") == ["pass"] * 4 + ["cannot_check", "pass"]
    # The programme pages' three types: they fail, and a type taken from the register names its row.
    r = rule(check_rules(t, REGISTER, rule_set=rule_set_with(tmp_path, vo_type__visitor_types=THREE_TYPES)),
             "vo_type")
    assert r["outcome"].astype(str).tolist() == ["pass", "pass", "fail", "fail", "cannot_check", "fail"]
    assert r["severity"].isna().all()
    assert "large compan" in r.loc[2, "message"] and "may host" in r.loc[2, "message"]
    assert "type from register row 2" in r.loc[5, "message"]


def test_failures_lists_fails_and_warnings_by_row(tmp_path):
    t = table({"vo_entity_type": "large_company"},
              {"start_date": "2023-03-06", "end_date": "2023-03-08"},  # 3 working days: pass with a warning
              {"vo_country": "FR"})
    found = failures(check_rules(t, rule_set=rule_set_with(tmp_path, vo_type__visitor_types=THREE_TYPES)))
    assert found[["row", "rule"]].astype(str).values.tolist() == [
        ["2", "vo_type"], ["3", "duration"], ["4", "cross_border"]]


# --- sme_category -------------------------------------------------------------------------

@pytest.mark.parametrize("headcount, turnover, balance, outcome, words", [
    (5, 1e6, None, "pass", "micro"),
    (9, 2e6, None, "pass", "micro"),          # turnover exactly 2M
    (10, 2e6, None, "pass", "small"),         # headcount 10 is not micro
    (49, None, 10e6, "pass", "small"),
    (249, 50e6, None, "pass", "medium"),      # the upper limits, inclusive for money
    (100, 60e6, 43e6, "pass", "medium"),      # over on turnover, within on balance sheet
    (100, 60e6, 44e6, "fail", "over the SME limits"),
    (250, 1e6, 1e6, "fail", "over the SME limits"),
    (300, None, None, "fail", "over the SME limits"),  # headcount alone decides
    (30, None, None, "cannot_check", "incomplete"),
    (None, None, None, "cannot_check", "no headcount"),
])
def test_sme_category_thresholds(headcount, turnover, balance, outcome, words):
    register = pd.DataFrame({"name": ["Firm"], "entity_type": ["sme"], "register_row": [2],
                             "headcount": pd.array([headcount], dtype="Int64"),
                             "turnover_eur": pd.array([turnover], dtype="Float64"),
                             "balance_sheet_eur": pd.array([balance], dtype="Float64")})
    r = rule(check_rules(table({"visiting_org": "Firm"}), register), "sme_category")
    assert r.loc[0, "outcome"] == outcome and words in r.loc[0, "message"]


def test_sme_category_applies_to_smes_only():
    t = table({"visiting_org": "Big Maker"}, {"visiting_org": "Big Maker", "vo_entity_type": "cluster_organisation"},
              {"visiting_org": "Unknown SME"}, {"visiting_org": "Tiny Tools"})
    r = rule(check_rules(t, REGISTER), "sme_category")
    assert r["outcome"].astype(str).tolist() == ["fail", "pass", "cannot_check", "pass"]
    assert "not declared an SME" in r.loc[1, "message"] and "not in the register" in r.loc[2, "message"]


# --- max_support --------------------------------------------------------------------------

def test_max_support():
    t = table({"amount_eur": 1100.0}, {"amount_eur": 1100.01}, {"amount_eur": 550.0}, {})
    r = rule(check_rules(t), "max_support")
    # no dates or cities: whether the lump sum is halved cannot be told, so €1,100 cannot be checked;
    # over €1,100 fails and €550 (half of it) passes either way
    assert r["outcome"].astype(str).tolist() == ["cannot_check", "fail", "pass", "cannot_check"]
    assert "€1,100.01" in r.loc[1, "message"]
    assert "no start or end date" in r.loc[0, "message"] and "city unknown" in r.loc[0, "message"]
    assert r.loc[3, "message"] == "no amount"


FAR = {"ho_city": "Paris", "ho_country": "FR", "vo_city": "Amsterdam", "vo_country": "NL"}  # about 430 km
NEAR = {"ho_city": "Aachen", "ho_country": "DE", "vo_city": "Maastricht", "vo_country": "NL"}  # about 30 km
FIVE_DAYS = {"start_date": "2023-03-06", "end_date": "2023-03-10"}  # Monday to Friday
FOUR_DAYS = {"start_date": "2023-03-06", "end_date": "2023-03-09"}
TWO_DAYS = {"start_date": "2023-03-06", "end_date": "2023-03-07"}


def halving_table() -> pd.DataFrame:
    """Exchanges whose lump sum is full, halved or not known, by hand (the programme's page: under
    five working days or under 200 km the lump sum is halved; €1,100 full, so €550 halved)."""
    return table({**FAR, **FIVE_DAYS, "amount_eur": 1100.0},          # full: pass
                 {**FAR, **FOUR_DAYS, "amount_eur": 1100.0},          # halved by the stay: over €550
                 {**FAR, **FOUR_DAYS, "amount_eur": 550.0},           # halved, within €550
                 {**NEAR, **FIVE_DAYS, "amount_eur": 1100.0},         # halved by the distance
                 {**FAR, "amount_eur": 800.0},                        # no dates: cannot tell
                 {**NEAR, "amount_eur": 800.0},                       # no dates, but near: halved anyway
                 {**FAR, **TWO_DAYS, "amount_eur": 1100.0},           # too short (a fail), and halved
                 {**FAR, "start_date": "2023-03-10", "end_date": "2023-03-06", "amount_eur": 1000.0})


def test_max_support_checks_the_halved_maximum():
    r = rule(check_rules(halving_table()), "max_support")
    assert r["outcome"].astype(str).tolist() == ["pass", "fail", "pass", "fail", "cannot_check", "fail", "fail",
                                                 "cannot_check"]
    assert "over the €550 maximum of a halved lump sum (4 working days, under 5)" in r.loc[1, "message"]
    assert "km apart, under 200 km" in r.loc[3, "message"]
    assert r.loc[4, "message"].endswith("cannot be told: no start or end date")
    assert r.loc[7, "message"].endswith("the end date is before the start date")


def test_lump_sums_are_the_rules_decision_row_by_row():
    results = rules.evaluate_rules(halving_table())
    lump = results.lump_sums()
    assert lump["lump_sum"].tolist() == ["full", "halved", "halved", "halved", "cannot tell", "halved", "halved",
                                         "cannot tell"]
    assert lump.loc[8, "why"] == "2 working days, under 5"
    assert lump.loc[6, "why"] == "no start or end date"
    reasons = results.reasons().set_index(["rule", "reason"])["exchanges"]
    assert reasons[("max_support", "cannot tell whether the lump sum is halved")] == 2
    assert reasons[("duration", "no start or end date")] == 2


def test_limits_come_from_the_rule_set(tmp_path):
    strict = rule_set_with(tmp_path, max_support__max_eur=500, duration__min_working_days=5,
                           duration__max_months=2)
    t = table({"amount_eur": 550.0, "start_date": "2023-03-06", "end_date": "2023-03-08"},
              {"start_date": "2023-03-01", "end_date": "2023-04-20"})
    results = check_rules(t, rule_set=strict)
    assert outcomes(results, "max_support") == ["fail", "cannot_check"]
    assert outcomes(results, "duration") == ["fail", "pass"]
    assert "€500" in rule_summary(results, strict).loc["max_support", "description"]


def test_a_country_counts_from_the_date_it_joined():
    # Kosovo joined COSME on 19 December 2017 (the bundled rule set): an exchange before fails.
    t = table({"vo_country": "XK", "start_date": "2017-06-01", "end_date": "2017-06-05"},
              {"vo_country": "XK", "start_date": "2018-06-01", "end_date": "2018-06-05"},
              {"vo_country": "XK"})
    r = rule(check_rules(t), "eligible_country")
    assert r["outcome"].astype(str).tolist() == ["fail", "pass", "pass"]
    assert "joined the programme on 2017-12-19" in r.loc[0, "message"]


# --- the rule set -------------------------------------------------------------------------

def test_bundled_rule_set_cites_a_source_for_every_limit_and_records_disagreements():
    rule_set = read_rule_set()
    table_ = rulesets.limits_table(rule_set)
    assert set(zip(table_["rule"], table_["limit"])) >= {(r, lim) for r, lims in rulesets.LIMITS.items() for lim in lims}
    assert table_["source"].str.len().gt(10).all()
    assert not table_["source"].str.contains("programme_countries.csv").any()
    # Distance: D5.1's slide says requisite, the programme's page says halve; halve is applied.
    distance = table_.set_index(["rule", "limit"]).loc[("distance", "shortfall")]
    assert distance["value"] == "halve" and "d51_slides says fail" in distance["note"]
    assert "applied: halve" in distance["note"]
    # Visitors: the call names six kinds (training providers too); the programme's pages three.
    visitors = table_.set_index(["rule", "limit"]).loc[("vo_type", "visitor_types")]
    assert visitors["value"] == ("cluster organisations, SMEs, scaling-up support organisations, training providers, "
                                 "large companies, public authorities")
    assert "says cluster organisations, SMEs, scaling-up support organisations" in visitors["note"]
    assert "training providers" in rule_set.sources["cosme_call"] and "REMOBILISE" not in visitors["note"]
    # The maximum: cited to a partnership's published page, and once per generation beside once.
    support = table_.set_index(["rule", "limit"]).loc[("max_support", "max_eur")]
    assert "https://clamtex.eu/clusterxchange" in support["source"] and "EUR 1 100" in support["source"]
    single = table_.set_index(["rule", "limit"]).loc[("single_visit", "visits_per_generation")]
    assert "per generation" in single["note"] and "in the scheme once" in single["note"]
    assert rule_set.period == (2022, 2024)
    assert rule_set.countries["XK"] == dt.date(2017, 12, 19) and "NO" not in rule_set.countries


@pytest.mark.parametrize("change, words", [
    (lambda d: d["rules"]["distance"].pop("min_km"), "rules.distance.min_km: missing"),
    (lambda d: d["rules"]["distance"]["shortfall"].update(value="quarter"), "'quarter' is not halve or fail"),
    (lambda d: d["rules"]["max_support"]["max_eur"].update(source=["nowhere"]), "source 'nowhere' is not in"),
    (lambda d: d["rules"]["vo_type"]["visitor_types"].update(value=["robot"]), "is not a list of"),
    (lambda d: d["countries"].append({"code": "ZZ", "source": "cosme_call"}), "countries[39]: unknown country code"),
    (lambda d: d["countries"][0].update(joined="soon"), "not a date"),
    (lambda d: d["countries"][0].pop("source"), "no source"),
])
def test_a_bad_rule_set_is_refused_naming_file_and_key(tmp_path, change, words):
    data = yaml.safe_load(rulesets.DEFAULT_RULES.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_rule_set(path)
    assert "bad.yaml" in str(caught.value) and words in str(caught.value)


def test_read_programme_countries_reads_the_rule_set():
    assert rulesets.read_programme_countries() == frozenset(read_rule_set().countries)


def test_report_names_the_rule_set_and_every_source():
    from cxc_analysis.report.sections.present import rule_set_html

    page = rule_set_html(read_rule_set())
    assert "clusterxchange_cosme.yaml" in page and "ClusterXchange under COSME" in page
    assert "https://clustercollaboration.eu/clusterxchange/about" in page and "2003/361/EC" in page
    assert page.count("<tr>") == 1 + len(rulesets.limits_table(read_rule_set()))


# --- facts from the register ----------------------------------------------------------------

def test_a_fail_resting_on_the_register_names_its_row_and_source():
    register = REGISTER.assign(source=["https://example.org/inalfa", None, None, None])
    t = table({"visiting_org": "Inalfa", "ho_country": "NL", "vo_country": None},   # NL from the register
              {"visiting_org": "Other", "ho_country": "NL", "vo_country": "NL"})    # the tracker's own
    r = rule(check_rules(t, register), "cross_border")
    assert r["outcome"].tolist() == ["fail", "fail"]
    assert "visitor country from register row 2 (source: https://example.org/inalfa)" in r.loc[0, "message"]
    assert "register" not in r.loc[1, "message"]


# --- fill_locations -----------------------------------------------------------------------

def test_fill_locations_from_the_register():
    t = table({"visiting_org": "inalfa roof systems", "vo_country": None},                 # alias, all filled
              {"visiting_org": "Inalfa", "vo_country": "Belgium", "vo_city": None},         # tracker wins
              {"visiting_org": "Inalfa", "vo_country": "Netherlands", "vo_city": None},     # same country: city
              {"visiting_org": "Inalfa", "vo_country": None, "vo_city": "Venlo"},           # tracker city kept
              {"visiting_org": "Somebody", "vo_country": None})
    before = t.copy()
    out = fill_locations(t, REGISTER)
    pd.testing.assert_frame_equal(t, before)
    assert out["vo_country"].tolist()[:4] == ["NL", "BE", "NL", "NL"] and pd.isna(out.loc[4, "vo_country"])
    assert [None if pd.isna(v) else v for v in out["vo_city"]] == ["Venray", None, "Venray", "Venlo", None]
    assert out["ho_country"].tolist() == ["FR"] * 5


# --- scale --------------------------------------------------------------------------------

def test_large_table_is_checked_with_few_lookups(monkeypatch):
    n = 200_000
    rng = np.random.default_rng(1)
    cities = np.array(["Eindhoven", "Helmond", "Paris"], dtype=object)
    countries = np.array(["NL", "NL", "FR"], dtype=object)
    pick = rng.integers(0, 3, n)
    t = table({}).loc[np.zeros(n, dtype=int)].reset_index(drop=True).assign(
        source_row=np.arange(2, n + 2), visiting_org=[f"Org {i % 5000}" for i in range(n)],
        ho_country="NL", ho_city="Eindhoven", vo_city=cities[pick], vo_country=countries[pick],
        event=[f"Event {i}" for i in range(n)])
    calls = []
    real = places._resolve
    monkeypatch.setattr(places, "_resolve", lambda pairs: (calls.append(len(pairs)), real(pairs))[1])
    results = check_rules(t)
    assert len(results) == 8 * n
    assert len(calls) <= 2 and max(calls) <= 3  # host cities, visitor cities: each distinct city once
    summary = rule_summary(results)
    assert summary.loc["single_visit", "pass"] == 5000 and summary.loc["single_visit", "fail"] == n - 5000
    near = (pick < 2).sum()  # Eindhoven or Helmond: under 200 km from Eindhoven
    assert summary.loc["distance", "pass"] == n and (rule(results, "distance")["severity"] == "warning").sum() == near


# --- rule_summary -------------------------------------------------------------------------

def test_rule_summary_counts_every_outcome():
    t = table({"vo_country": "FR"}, {}, {"vo_country": None})
    summary = rule_summary(check_rules(t))
    assert summary.index.tolist() == list(RULES)
    assert list(summary.columns) == ["pass", "fail", "cannot_check", "description"]
    assert (summary[["pass", "fail", "cannot_check"]].sum(axis=1) == 3).all()
    assert summary.loc["cross_border", ["pass", "fail", "cannot_check"]].tolist() == [1, 1, 1]
    assert summary["description"].str.len().gt(10).all()
    assert str(summary["pass"].dtype) == "int64"


# --- the bundled data, end to end ---------------------------------------------------------

def _register_countries() -> dict[str, str]:
    """Organisation name -> country as written in the bundled register (read here with csv)."""
    with DEFAULT_REGISTER.open(encoding="utf-8") as handle:
        return {row["name"]: row["country"] for row in csv.DictReader(handle)}


@pytest.mark.e2e
def test_bundled_check_json_end_to_end(bundled):
    proc = run_cli("check", "--json")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert len(results) == 47 * 8
    assert all(set(r) == {"row", "rule", "outcome", "message"} for r in results)
    by = {(r["row"], r["rule"]): r for r in results}
    assert {row for row, _ in by} == set(bundled.table["source_row"])
    # NextMove (host) is in France per the register; Inalfa (row 18) in the Netherlands.
    assert by[(18, "cross_border")]["outcome"] == "pass"
    assert "FR" in by[(18, "cross_border")]["message"] and "NL" in by[(18, "cross_border")]["message"]
    # Trescal (row 21): the register holds only its French group's country, not the visitor's (it came
    # with the Dutch delegation), so it is not filled and cannot be checked.
    assert by[(21, "cross_border")]["outcome"] == "cannot_check"
    # SAMS Norway (row 12): Norway is no COSME country; the fail names the register row it rests on.
    assert by[(12, "eligible_country")]["outcome"] == "fail"
    assert "register row 14 (source: https://www.sams-norway.no/" in by[(12, "eligible_country")]["message"]
    # Every visitor the register gives no country cannot be checked; the others are all abroad.
    country = _register_countries()
    table = bundled.table
    for row, host, visitor in zip(table["source_row"], table["host_org"], table["visiting_org"]):
        expected = ("cannot_check" if not country[visitor]
                    else "fail" if country[visitor] == country[host] else "pass")
        assert by[(row, "cross_border")]["outcome"] == expected, (row, visitor)
    # No dates and no amounts in the D5.1 appendix.
    assert {by[(row, "duration")]["outcome"] for row in table["source_row"]} == {"cannot_check"}
    assert {by[(row, "max_support")]["outcome"] for row in table["source_row"]} == {"cannot_check"}
    # The bundled rule set applies REMOBILISE's call: its 10 visiting large companies and public authorities pass.
    assert table["vo_entity_type"].isin(["large_company", "public_authority"]).sum() == 10
    assert {r["outcome"] for r in results if r["rule"] == "vo_type"} == {"pass"}


def test_bundled_distances_only_where_both_cities_are_known(bundled):
    register = read_register(DEFAULT_REGISTER)
    results = check_rules(bundled.table, register)
    cities = register.set_index("name")["city"]
    both = (bundled.table["host_org"].map(cities).notna() & bundled.table["visiting_org"].map(cities).notna())
    distance = rule(results, "distance")
    assert (distance["outcome"] != "cannot_check").tolist() == both.tolist()
    # All measured pairs are Saint-Étienne-du-Rouvray (near Rouen) to Finland, the Netherlands or Bavaria: far.
    assert set(distance.loc[both.to_numpy(), "outcome"]) == {"pass"}
    assert distance.loc[both.to_numpy(), "severity"].isna().all()  # a full lump sum: none is halved


@pytest.mark.e2e
def test_check_readable_output_and_bad_register(tmp_path):
    proc = run_cli("check")
    assert proc.returncode == 0, proc.stderr
    assert "cross_border" in proc.stdout and "cannot check" in proc.stdout
    assert "clusterxchange_cosme.yaml" in proc.stdout
    assert "row 12" in proc.stdout and "NO is not a programme country" in proc.stdout
    bad = tmp_path / "reg.csv"
    bad.write_text("name,country\nX,Atlantis\n")
    proc = run_cli("check", "--register", str(bad))
    assert proc.returncode == 2
    assert "reg.csv: row 2: column 'country'" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.e2e
def test_check_and_report_take_another_rule_set(tmp_path):
    data = yaml.safe_load(rulesets.DEFAULT_RULES.read_text(encoding="utf-8"))
    data["rules"]["vo_type"]["visitor_types"]["value"] = THREE_TYPES
    three = tmp_path / "three_types.yaml"
    three.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    proc = run_cli("check", "--rules", str(three), "--json")
    assert proc.returncode == 0, proc.stderr
    fails = [r for r in json.loads(proc.stdout) if r["rule"] == "vo_type" and r["outcome"] == "fail"]
    assert len(fails) == 10  # the bundled data's visiting large companies and public authorities
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources: {a: b}\nrules: {}\n", encoding="utf-8")
    for command in (("check",), ("report", "--out", str(tmp_path / "run"))):
        proc = run_cli(*command, "--rules", str(bad))
        assert proc.returncode == 2, proc.stderr
        assert "bad.yaml: rules.cross_border.countries: missing" in proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_copied_row_is_one_duplicate_not_also_a_repeat_visit():
    from cxc_analysis.table.clean import find_duplicate_exchanges

    t = table({"visiting_org": "Axxor", "event": "JEC Paris"}, {"visiting_org": "AXXOR", "event": "jec paris"},
              {"visiting_org": "Axxor", "event": "Equip Auto"})
    found = find_duplicate_exchanges(t)
    assert found["row"].tolist() == [3] and found["code"].tolist() == ["duplicate_exchange"]
    r = rule(check_rules(t), "single_visit")
    # row 3 is row 2 written again: one visit, reported once (as a duplicate); row 4 is a second visit
    assert r["outcome"].astype(str).tolist() == ["pass", "pass", "fail"]
    assert r.loc[1, "message"].startswith("copy of row 2") and "already visits on row 2" in r.loc[2, "message"]
    attention = failures(check_rules(t))
    assert attention[attention["row"] == 3].empty  # nothing about the copy in the rules: the finding says it
