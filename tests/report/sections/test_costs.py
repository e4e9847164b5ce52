"""The cost section and the maximum-support rule decide full and halved lump sums the same way,
row by row (issue 18), on exchanges whose lump sum is known by hand."""
import pandas as pd

from cxc_analysis.report.sections import costs
from cxc_analysis.rules import checks as rules


def exchanges() -> pd.DataFrame:
    """Paris-Amsterdam is about 430 km, Aachen-Maastricht about 30 km; 6-10 March 2023 is Monday
    to Friday. The programme's page: under five working days or under 200 km the lump sum is halved."""
    far = {"ho_city": "Paris", "ho_country": "FR", "vo_city": "Amsterdam", "vo_country": "NL"}
    near = {"ho_city": "Aachen", "ho_country": "DE", "vo_city": "Maastricht", "vo_country": "NL"}
    rows = [{**far, "start_date": "2023-03-06", "end_date": "2023-03-10", "amount_eur": 1100.0},   # full
            {**far, "start_date": "2023-03-06", "end_date": "2023-03-09", "amount_eur": 1100.0},   # halved, over
            {**near, "start_date": "2023-03-06", "end_date": "2023-03-10", "amount_eur": 550.0},   # halved
            {**far, "start_date": "2023-03-06", "end_date": "2023-03-07", "amount_eur": 550.0},   # 2 days: a fail
            {**far, "start_date": "2023-03-06", "end_date": "2023-04-28", "amount_eur": 1100.0},  # too long: full
            {**far, "amount_eur": 1000.0},                                                        # no dates
            {"start_date": "2023-03-06", "end_date": "2023-03-10", "amount_eur": 700.0}]          # no cities
    frame = pd.DataFrame([{"host_org": f"Host {i}", "visiting_org": f"Visitor {i}", "event": "E",
                           "vo_entity_type": "sme", "excluded": False, **row} for i, row in enumerate(rows)])
    frame.insert(0, "source_row", range(2, 2 + len(frame)))
    for column in ("start_date", "end_date"):
        frame[column] = pd.to_datetime(frame.get(column))
    return frame


def test_cost_section_and_rules_agree_row_by_row():
    table = exchanges()
    evaluated = rules.evaluate_rules(table)
    lump = evaluated.lump_sums()
    assert lump["lump_sum"].tolist() == ["full", "halved", "halved", "halved", "full", "cannot tell", "cannot tell"]
    support = evaluated.frame().query("rule == 'max_support'")["outcome"].astype(str).tolist()
    # €1,100 on a halved exchange fails; €1,000 with no dates and €700 with no cities cannot be told
    assert support == ["pass", "fail", "pass", "pass", "pass", "cannot_check", "cannot_check"]
    spent = costs.spending(table, lump)["by_lump_sum"]["eur"].to_dict()
    assert spent == {"full": 2200.0, "halved": 2200.0, "cannot tell: no start or end date": 1000.0,
                     "cannot tell: host city unknown (not in the tracker)": 700.0}


def test_a_failed_duration_is_not_filed_as_no_dates():
    table = exchanges()
    spent = costs.spending(table, rules.evaluate_rules(table).lump_sums())["by_lump_sum"]
    # rows 5 (2 working days, a duration fail) and 6 (too long) have dates and cities: decided
    assert spent.loc["halved", "exchanges"] == 3 and spent.loc["full", "exchanges"] == 2
    assert not any("no dates" in label for label in spent.index)


def test_without_the_rules_decision_every_amount_is_cannot_tell():
    table = exchanges()
    spent = costs.spending(table)["by_lump_sum"]
    assert spent.index.tolist() == ["cannot tell: not checked against the rules"]
    assert spent.loc["cannot tell: not checked against the rules", "exchanges"] == 7
