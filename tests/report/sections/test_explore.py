"""explore: the analyst's questions (notebook 03) on small frames and on the bundled D5.1 data."""

import doctest
import subprocess
import sys

import nbformat
import pandas as pd
import pytest

from cxc_analysis.core.config import DEFAULT_REGISTER, NOTEBOOKS
from cxc_analysis.core.errors import InputError
from cxc_analysis.reference.register import fill_locations, read_register
from cxc_analysis.report.sections import explore
from cxc_analysis.rules.checks import check_rules


@pytest.fixture(scope="module")
def located(bundled):
    """The bundled table with countries from the register, its findings and its rule results."""
    register = read_register(DEFAULT_REGISTER)
    table = fill_locations(bundled.table, register)
    return table, bundled.findings, check_rules(table, register)


def test_doctests_pass():
    assert doctest.testmod(explore).failed == 0


def test_organisation_as_host_and_as_visitor(located):
    table, _, _ = located
    mine = explore.for_organisation(table, "nextmove")
    assert mine["role"].value_counts().to_dict() == {"host": 33, "visitor": 1}
    assert mine.loc[mine["role"] == "visitor", "source_row"].tolist() == [45]
    assert explore.for_organisation(table, "Sorama BV")["source_row"].tolist() == [28]


def test_organisation_in_both_roles_of_one_exchange():
    t = pd.DataFrame({"source_row": [4], "host_org": ["Self"], "visiting_org": ["SELF"]})
    assert explore.for_organisation(t, "self")["role"].tolist() == ["host and visitor"]


def test_find_organisations_lists_candidates_with_counts(located):
    table, _, _ = located
    found = explore.find_organisations(table, "next")
    assert found.values.tolist() == [["NextMove", 33, 1], ["Nextérité", 0, 1]]
    assert explore.find_organisations(table, "no such org").empty


def test_event_whatever_the_case(located):
    table, _, _ = located
    assert len(explore.for_event(table, "jec PARIS")) == 14
    assert explore.for_event(table, "Nowhere").empty
    counts = explore.events(table).set_index("event")
    assert counts.loc["Smart City Expo Barcelona"].tolist() == [5, 0, 5, 0]  # exchanges, completed, pending, cancelled
    assert counts["exchanges"].sum() == len(table)


def test_country_pair_either_way_round(located):
    table, _, _ = located
    pair = explore.for_country_pair(table, "France", "Netherlands")
    assert len(pair) == 18
    assert set(zip(pair["ho_country"], pair["vo_country"])) == {("FR", "NL")}
    spain_france = explore.for_country_pair(table, "ES", "FR")
    assert set(zip(spain_france["ho_country"], spain_france["vo_country"])) == {("ES", "FR"), ("FR", "ES")}
    assert spain_france["source_row"].tolist() == [7, 45, 48, 50]  # AVIA Valencia visits FR; 3 visit ES


def test_country_pairs_count_unknown_countries_openly(located):
    table, _, _ = located
    counts = explore.country_pairs(table)
    assert counts.to_numpy().sum() == len(table)
    assert counts["unknown"].sum() == 19  # visitors the tracker and register place nowhere (README)
    assert "FR" not in counts.columns or counts.loc["FR", "FR"] == 0  # Trescal's French group seat is not its country


def test_unknown_country_is_an_input_error():
    t = pd.DataFrame({"source_row": [4], "ho_country": ["FR"], "vo_country": ["NL"]})
    with pytest.raises(InputError, match="unknown country 'Atlantis'"):
        explore.for_country_pair(t, "Atlantis")
    with pytest.raises(InputError, match="parameter other_country"):
        explore.for_country_pair(t, "FR", "Nowhere")


def test_pending_on_the_bundled_data_has_no_dates(located):
    table, _, _ = located
    waiting = explore.pending(table)
    assert waiting["source_row"].tolist() == [46, 47, 48, 49, 50]
    assert waiting["days_since"].isna().all()


def test_pending_counts_days_from_end_else_start_date():
    t = pd.DataFrame({"source_row": [4, 5, 6], "status": pd.Categorical(["pending", "pending", "completed"]),
                      "start_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2023-01-01"]),
                      "end_date": pd.to_datetime([None, "2024-02-05", None])})
    before = t.copy()
    out = explore.pending(t, today="2024-03-01")
    assert out[["source_row", "days_since"]].values.tolist() == [[4, 60], [5, 25]]
    pd.testing.assert_frame_equal(t, before)


def test_issues_of_one_organisation(located):
    table, findings, results = located
    issues = explore.organisation_issues(table, findings, results, "NextMove")
    rows = issues.groupby("what")["row"].apply(list).to_dict()
    # Trescal (row 21) is cannot_check now that the register keeps no French group seat for it
    assert "cross_border" not in rows and rows["eligible_country"] == [12] and rows["malformed_id"] == [43]
    assert issues.loc[issues["what"] == "eligible_country", "severity"].tolist() == ["fail"]
    assert "vo_type" not in rows  # the COSME rule set applies REMOBILISE's call: all five visitor types
    assert not issues["message"].str.startswith("warning:").any()
    assert set(issues["role"]) == {"host"}
    assert explore.organisation_issues(table, findings, results, "Axxor").empty


def test_readable_and_styled_is_a_styler_with_escaped_names(located):
    table, _, _ = located
    view = explore.readable(table)
    assert len(view) == len(table) and {"Row", "HO", "VO", "VO type", "Status", "Counted"} <= set(view.columns)
    smes = view[view["VO type"] == "SME"].sort_values(["Event", "VO"])
    styler = explore.styled(smes, caption="SMEs")
    assert isinstance(styler, pd.io.formats.style.Styler)
    assert styler.to_html().count("<tr>") == len(smes) + 1
    hostile = explore.readable(pd.DataFrame({"source_row": [4], "visiting_org": ["<script>x</script>"],
                                             "status": ["pending"], "excluded": [True]}))
    html = explore.styled(hostile).to_html()
    assert "<script>x" not in html and "&lt;script&gt;" in html
    assert "line-through" in html and "#fff4d6" not in html  # not counted wins over pending


@pytest.mark.e2e
def test_explore_notebook_runs_headless_with_papermill(tmp_path):
    out = tmp_path / "03.ipynb"
    proc = subprocess.run([sys.executable, "-m", "papermill", str(NOTEBOOKS / "03_explore.ipynb"), str(out),
                           "-p", "organisation", "ARIA Hauts-de-France", "-p", "other_country", ""],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "Exchanges of ARIA Hauts-de-France" in html and "FR and any country: 44 exchanges" in html
    assert "5 exchanges not yet completed" in html and "22 visiting SMEs" in html  # 18 completed, 4 pending


def test_cancelled_exchanges_are_shown_apart_and_countries_read_in_any_language():
    t = pd.DataFrame({"source_row": [4, 5, 6, 7], "event": ["A", "A", "B", "A"],
                      "status": ["completed", "cancelled", "pending", "cancelled"],
                      "excluded": [False, False, False, True],
                      "ho_country": ["IT", "Italia", "Polska", "IT"], "vo_country": ["PL", "Polonia", "Italia", None]})
    assert explore.events(t).values.tolist() == [["A", 3, 1, 0, 2], ["B", 1, 0, 1, 0]]
    assert explore.readable(t)["Counted"].tolist() == ["yes", "no (cancelled)", "yes", "no (error)"]
    assert explore.for_country_pair(t, "Italia", "Polonia")["source_row"].tolist() == [4, 5, 6]
    assert explore.for_country_pair(t, "Italie")["source_row"].tolist() == [4, 5, 6, 7]
    with pytest.raises(InputError, match="unknown country 'Włochy'"):  # Italy in Polish: not a language read
        explore.for_country_pair(t, "Włochy")
    assert explore.country_pairs(t).loc["IT"].to_dict() == {"IT": 0, "PL": 2, "unknown": 1}
