"""Issue 19: a tracker's date columns share one day/month order, proven by their cells together;
a date that reads both ways where nothing proves the order is a finding with its row."""

import pandas as pd

from cxc_analysis.read.tracker import read_tracker
from cxc_analysis.table.clean import clean

HEADER = "HO,VO,VO Type of entity,Inside/outside partnership,Status,Start date,End date"


def tracker(tmp_path, dates):
    lines = [HEADER] + [f"NextMove,Org {i},SME,Inside,Completed,{start},{end}" for i, (start, end) in enumerate(dates)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return clean(read_tracker(path))


def days(series):
    return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in series]


def test_start_and_end_share_the_order_the_end_column_proves(tmp_path):
    """The issue's US exchange: "03/10/2023" to "03/14/2023" is 10 to 14 March (the end's 14
    cannot be a month), not 3 October to 14 March."""
    table, findings = tracker(tmp_path, [("03/10/2023", "03/14/2023")])
    assert days(table["start_date"]) == ["2023-03-10"] and days(table["end_date"]) == ["2023-03-14"]
    assert not (findings["code"] == "ambiguous_value").any()


def test_day_first_proven_by_the_start_column_reads_the_end_column(tmp_path):
    table, findings = tracker(tmp_path, [("25/09/2023", "29/09/2023"), ("02/10/2023", "06/10/2023")])
    assert days(table["start_date"]) == ["2023-09-25", "2023-10-02"]
    assert days(table["end_date"]) == ["2023-09-29", "2023-10-06"]
    assert not (findings["code"] == "ambiguous_value").any()


def test_order_nothing_proves_is_an_ambiguous_finding_per_cell_with_its_row(tmp_path):
    """Every date reads both ways: each such cell is an ambiguous_value finding on its row,
    the date missing; a date that reads one way only (05/05/2023, ISO) is still read."""
    table, findings = tracker(tmp_path, [("03/06/2023", "03/10/2023"), ("05/05/2023", "2023-05-09")])
    assert days(table["start_date"]) == [None, "2023-05-05"] and days(table["end_date"]) == [None, "2023-05-09"]
    ambiguous = findings[findings["code"] == "ambiguous_value"]
    assert sorted(zip(ambiguous["row"].astype(int), ambiguous["column"])) == [(2, "End date"), (2, "Start date")]
    assert ambiguous["message"].str.contains("03/06/2023|03/10/2023").all()


def test_both_orders_proven_leaves_the_two_way_dates_ambiguous(tmp_path):
    table, findings = tracker(tmp_path, [("25/09/2023", "29/09/2023"), ("10/13/2023", "10/15/2023"),
                                         ("04/05/2023", "25/05/2023")])
    assert days(table["start_date"]) == ["2023-09-25", "2023-10-13", None]
    ambiguous = findings[findings["code"] == "ambiguous_value"]
    assert ambiguous["row"].astype(int).tolist() == [4]
