"""Since the last report (compare), will the targets be met (progress), where (flows), at what
cost (costs): small cases with known answers, and two trackers made from the bundled data."""

import datetime as dt
import math

import pandas as pd
import pytest
from conftest import HEADERS, run_cli

from cxc_analysis.core.config import DEFAULT_INPUT, DEFAULT_TARGETS
from cxc_analysis.kpis import kpi_table
from cxc_analysis.read.tracker import read_tracker
from cxc_analysis.report.sections import compare, costs, flows, progress
from cxc_analysis.table.clean import clean

RAW_COLUMNS = ["exchange_id", "host_org", "visiting_org", "vo_entity_type", "partnership", "event", "status", "remarks"]


@pytest.fixture(scope="module")
def m12_raw():
    return read_tracker(DEFAULT_INPUT)[RAW_COLUMNS + ["source_row"]]


def make_m24(m12_raw: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """An "M24" tracker from the M12 one: two pending exchanges completed, one row removed, two
    added (one with an IT-tool ID); returns it with what was done, for the expected deltas."""
    m24 = m12_raw.drop(columns="source_row").copy()
    pending = m24.index[m24["status"].str.startswith("Waiting")][:2]
    m24.loc[pending, "status"] = "Completed"
    removed = m24.index[3]
    m24 = m24.drop(index=removed)
    extra = pd.DataFrame([["EG123AB1", "NextMove", "New Visitor A", "SME", "Outside", "Equip Auto 2023", "Completed",
                           None],
                          [None, "RAI Automotive Industry NL", "New Visitor B", "SME", "Inside", "Mobility Days",
                           "Waiting for Final Activity Report", None]], columns=RAW_COLUMNS)
    m24 = pd.concat([m24, extra], ignore_index=True)
    done = {"completed_rows": [int(m12_raw.loc[i, "source_row"]) for i in pending],
            "removed_row": int(m12_raw.loc[removed, "source_row"]), "removed": m12_raw.loc[removed]}
    return m24, done


def as_tracker(frame: pd.DataFrame, folder) -> pd.DataFrame:
    """A raw frame written as a CSV tracker with the D5.1 headers and read back."""
    path = folder / "m24.csv"
    frame[RAW_COLUMNS].set_axis(HEADERS, axis=1).to_csv(path, index=False)
    return read_tracker(path)


def test_comparison_of_m12_and_m24_trackers(m12_raw, tmp_path):
    m24_raw, done = make_m24(m12_raw)
    before, after = clean(read_tracker(DEFAULT_INPUT)).table, clean(as_tracker(m24_raw, tmp_path)).table
    matches = compare.match_exchanges(before, after)
    # independently: completed counted from the status words of the raw rows
    completed_then = int(m12_raw["status"].str.startswith("Completed").sum())
    completed_now = int(m24_raw["status"].str.startswith("Completed").sum())
    changes = compare.kpi_changes(kpi_table(before, {}), kpi_table(after, {}))
    assert changes.loc["exchanges"].tolist() == [completed_then, completed_now, completed_now - completed_then]
    assert changes.loc["exchanges", "change"] == 2 + 1 - (done["removed"]["status"].startswith("Completed"))
    added = compare.added(after, matches)
    assert sorted(added["visiting_org"]) == ["New Visitor A", "New Visitor B"]
    gone = compare.gone(before, matches)
    assert gone["source_row"].tolist() == [done["removed_row"]]
    assert gone["visiting_org"].tolist() == [done["removed"]["visiting_org"]]
    changed = compare.status_changes(before, after, matches)
    assert sorted(changed["previous_row"]) == done["completed_rows"]
    assert set(changed["was"]) == {"pending"} and set(changed["now"]) == {"completed"}
    assert compare.uncertain(matches).empty  # every pair matched by ID or by HO + VO + event
    assert len(matches) == len(before) - 1


def test_matching_by_id_first_and_uncertain_pairs_listed():
    prev = pd.DataFrame({"source_row": [2, 3, 4, 5], "exchange_id": ["EG111AA1", None, None, None],
                         "host_org": ["H", "H", "H", "H"], "visiting_org": ["A", "B", "C", "C"],
                         "event": ["E", "E", "F", "F"]})
    now = pd.DataFrame({"source_row": [7, 8, 9, 10, 11], "exchange_id": [None, "EG111AA1", None, None, None],
                        "host_org": ["h", "H", "H", "H", "H"], "visiting_org": ["b", "A", "C", "C", "D"],
                        "event": ["Other event", "E", "F", "F", "E"]})
    matches = compare.match_exchanges(prev, now).set_index("previous_row")
    assert matches.loc[2, "row"] == 8 and matches.loc[2, "match"] == compare.ID
    assert matches.loc[3, "row"] == 7 and matches.loc[3, "match"] == compare.UNCERTAIN  # event differs
    assert "another event" in matches.loc[3, "note"]
    assert set(matches.loc[[4, 5], "match"]) == {compare.UNCERTAIN}  # C/F twice on both sides
    assert compare.added(now, matches.reset_index())["source_row"].tolist() == [11]


def test_same_id_on_other_organisations_is_uncertain():
    prev = pd.DataFrame({"source_row": [2], "exchange_id": ["EG111AA1"], "host_org": ["H"], "visiting_org": ["A"],
                         "event": ["E"]})
    now = prev.assign(source_row=[5], visiting_org=["Z"])
    match = compare.match_exchanges(prev, now).iloc[0]
    assert match["match"] == compare.UNCERTAIN and "another HO or VO" in match["note"]


def test_read_previous_refuses_what_is_neither(tmp_path):
    from cxc_analysis.core.errors import InputError

    with pytest.raises(InputError, match="not found"):
        compare.read_previous(tmp_path / "none.xlsx")
    with pytest.raises(InputError, match="neither a tracker nor a report run folder"):
        compare.read_previous(tmp_path)


# --- periods and projection ---------------------------------------------------------------

@pytest.mark.parametrize("label, month, date", [
    ("M12 (January 2023)", 12, dt.date(2023, 1, 1)), ("M24 (Jan 2024)", 24, dt.date(2024, 1, 1)),
    ("2023-06", None, dt.date(2023, 6, 1)), ("Year two", None, None), ("M6", 6, None)])
def test_period_labels(label, month, date):
    period = progress.read_period(label)
    assert (period.month, period.date) == (month, date)


def test_project_dates_of_remobilise_come_from_the_targets_file():
    project = progress.read_project(DEFAULT_TARGETS)
    assert (project.start, project.end, project.months) == (dt.date(2022, 2, 1), dt.date(2024, 1, 1), 24)
    assert "D5.1" in project.source
    assert progress.month_number(dt.date(2023, 1, 15), project.start) == 12  # D5.1: M12 is January 2023


def test_projection_arithmetic_on_known_cases():
    kpis = pd.DataFrame({"actual": [10, 3, 0, 6], "target": pd.array([20, 12, 5, None], dtype="Int64")},
                        index=["exchanges", "sme", "public_authority", "large_company"])
    out = progress.project_kpis(kpis, elapsed=5, total=10)
    # 10 in 5 months: 2 a month, 20 at M10; the target of 20 is reached in month 5 + 5 = 10
    assert out.loc["exchanges", ["pace", "projected", "reached_month"]].tolist() == [2.0, 20.0, 10.0]
    # 3 in 5 months: 0.6 a month, 6 at M10 < 12: 9 more needed in 5 months, 1.8 a month
    assert out.loc["sme", "projected"] == pytest.approx(6.0)
    assert math.isnan(out.loc["sme", "reached_month"]) and out.loc["sme", "needed_per_month"] == pytest.approx(1.8)
    # none yet: no month, 1 a month needed
    assert out.loc["public_authority", "needed_per_month"] == pytest.approx(1.0)
    assert progress.verdict(out.loc["large_company"], 10).startswith("no target")
    remobilise = progress.project_kpis(pd.DataFrame({"actual": [42], "target": pd.array([80], dtype="Int64")},
                                                    index=["exchanges"]), 12, 24)
    text = progress.verdict(remobilise.loc["exchanges"], 24, dt.date(2022, 2, 1))
    assert text == "on course: target reached about M23 (December 2023), about 84 by M24"


def test_too_little_to_project_is_said():
    assert progress.months_elapsed(progress.read_period("Year two"), None) is None
    assert "no month" in progress.too_little_reason(progress.Project(dt.date(2022, 2, 1), dt.date(2024, 1, 1)), None)


def test_dated_exchanges_counted_per_project_month():
    table = pd.DataFrame({"status": ["completed", "completed", "pending", "completed"], "excluded": [False] * 4,
                          "start_date": pd.to_datetime(["2022-02-10", "2022-04-01", "2022-04-01", None]),
                          "end_date": pd.to_datetime(["2022-02-14", "2022-04-05", "2022-04-05", None])})
    by_month = progress.completed_by_month(table, dt.date(2022, 2, 1))
    assert by_month.to_dict() == {1: 1, 3: 1}  # the pending and the undated ones are not in it
    assert progress.months_elapsed(progress.read_period("Year one"), None, by_month) == 3


# --- flows and costs ----------------------------------------------------------------------

def test_flows_on_known_countries_with_unknown_counted():
    table = pd.DataFrame({"host_org": ["H1", "H1", "H2", "H2", "H3"], "visiting_org": list("ABCDE"),
                          "ho_country": ["France", "FR", "DE", None, "FR"], "vo_country": ["DE", "Germany", "FR", "IT", None],
                          "excluded": [False, False, False, False, True]})
    countries = flows.exchange_countries(table)
    table_ = flows.flow_table(countries)
    assert table_.loc["FR", "DE"] == 2 and table_.loc["DE", "FR"] == 1 and table_.loc["Unknown", "IT"] == 1
    assert int(table_.to_numpy().sum()) == 4  # the excluded row is not counted; the unknown host is
    per = flows.per_country(countries)
    assert per.loc["FR"].tolist() == [2, 1, 3] and per.index[-1] == "Unknown"


def test_amounts_with_known_totals():
    table = pd.DataFrame({"source_row": [2, 3, 4, 5], "vo_entity_type": ["sme", "sme", "cluster_organisation", "sme"],
                          "event": ["E", "F", "E", "E"], "amount_eur": [1100.0, 550.0, 1100.0, None],
                          "excluded": [False, False, False, False]})
    lump_sums = pd.DataFrame({"lump_sum": ["full", "halved", "cannot tell"], "why": ["", "4 working days", ""]},
                             index=[2, 3, 4])
    spent = costs.spending(table, lump_sums)
    assert spent["total"].loc[0].tolist() == [3, 2750.0]
    assert spent["by_type"]["eur"].to_dict() == {"SME": 1650.0, "Cluster organisation": 1100.0}
    assert spent["by_event"]["eur"].to_dict() == {"E": 2200.0, "F": 550.0}
    assert spent["by_lump_sum"]["eur"].to_dict() == {"full": 1100.0, "cannot tell": 1100.0, "halved": 550.0}
    assert costs.spending(table.assign(amount_eur=None))["total"].loc[0, "exchanges"] == 0


# --- end to end: --previous -----------------------------------------------------------------

@pytest.mark.e2e
def test_report_with_previous_shows_changes_and_the_gone_row(tmp_path, m12_raw):
    m24_raw, done = make_m24(m12_raw)
    tracker = tmp_path / "m24.csv"
    frame = m24_raw[["exchange_id", "host_org", "visiting_org", "vo_entity_type", "partnership", "event", "status",
                     "remarks"]]
    frame.set_axis(HEADERS, axis=1).to_csv(tracker, index=False)
    out = tmp_path / "run"
    proc = run_cli("report", "--input", str(tracker), "--partnership", "REMOBILISE", "--period", "M24 (January 2024)",
                   "--previous",
                   str(DEFAULT_INPUT), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    section = html.split('id="since-the-last-report"')[1].split('id="will-the-targets-be-met"')[0]
    assert "Added since the earlier report: 2" in section and "Status changed: 2" in section
    assert "Gone from the tracker: 1" in section and done["removed"]["visiting_org"] in section
    assert "Now (M24, January 2024)" in section
    quality = html.split('id="data-quality"')[1]
    assert f"1 exchange of the earlier tracker is gone from this one (earlier rows {done['removed_row']})" in quality
    projection = html.split('id="will-the-targets-be-met"')[1].split('id="where-the-exchanges-happened"')[0]
    assert "Projected at M24" in projection
    import json

    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["files"]["previous"]["file"].endswith(DEFAULT_INPUT.name)


def test_big_trackers_keep_section_tables_short_and_lose_nothing():
    from cxc_analysis.report.sections import present

    now = pd.DataFrame({"source_row": range(2, 152), "exchange_id": [None] * 150, "host_org": ["H"] * 150,
                        "visiting_org": [f"V{i}" for i in range(150)], "event": ["E"] * 150,
                        "status": ["completed"] * 150, "status_text": ["Completed"] * 150})
    before = now.iloc[:0]
    html = present.comparison_html(before, now, compare.match_exchanges(before, now))
    assert "Added since the earlier report: 150" in html and "... and 50 more exchanges" in html
    assert html.count("<tr>") == 1 + present.SECTION_ROWS
    countries = pd.DataFrame({"host": [f"C{i:02d}" for i in range(20)] + ["Unknown"],
                              "visitor": ["FR"] * 21})
    folded = flows.top_countries(flows.flow_table(countries), 12)
    assert len(folded) == 13 and folded.index[-2:].tolist() == ["Other countries", "Unknown"]
    assert int(folded.to_numpy().sum()) == 21
