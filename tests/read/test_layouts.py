"""Trackers as partners lay them out: one sheet per partner, merged cells, totals rows and notes
under the table, a repeated header, an Excel Table's totals row, a two-row header (issue 19).
Expected values are counted by hand from the rows written here."""

import datetime as dt

import pandas as pd
import pytest
from conftest import HEADERS, exchange, run_cli
from openpyxl import Workbook
from openpyxl.worksheet.table import Table, TableColumn

from cxc_analysis.read.tracker import read_tracker
from cxc_analysis.table.clean import clean

GERMAN = ["Status", "Gastorganisation", "Besuchende Organisation", "Art der Einrichtung (VO)", "Partnerschaft",
          "Veranstaltung"]


def german(vo, ho="ARIA", kind="KMU", side="innerhalb", event="Hannover Messe", status="abgeschlossen"):
    return [status, ho, vo, kind, side, event]


def save(wb: Workbook, path):
    wb.save(path)
    return path


def sheet(wb: Workbook, title: str, rows: list[list], first: bool = False):
    ws = wb.active if first else wb.create_sheet(title)
    ws.title = title
    for row in rows:
        ws.append(row)
    return ws


@pytest.fixture
def partners(tmp_path):
    """Partner A: 3 exchanges (English headers, row 2-4); Partner B: title, blank, German headers in
    another order, 5 exchanges (rows 4-8), one without a status; a sheet of drop-down lists."""
    wb = Workbook()
    sheet(wb, "Partner A", [HEADERS, exchange("A1", eid="EG100AA1"), exchange("A2"), exchange("A3")], first=True)
    sheet(wb, "Lists", [["Entity types"], ["SME"], ["Cluster organisation"]])
    sheet(wb, "Partner B", [["Exchanges of partner B"], [], GERMAN, german("B1"), german("B2"), german("B3"),
                            german("B4", status=None), german("A1", ho="NextMove", kind="SME", side="Inside",
                                                             event="Equip Auto", status="Completed")])
    return save(wb, tmp_path / "partners.xlsx")


def test_every_sheet_with_an_exchange_table_is_read(partners):
    raw = read_tracker(partners)
    assert len(raw) == 8  # 3 + 5; the list sheet holds no exchange header
    assert [s["name"] for s in raw.attrs["sheets"]] == ["Partner A", "Partner B"]
    assert [s["rows"] for s in raw.attrs["sheets"]] == [3, 5]
    assert [(name, partial) for name, _, partial in raw.attrs["skipped_sheets"]] == [("Lists", False)]
    assert raw["sheet"].tolist() == ["Partner A"] * 3 + ["Partner B"] * 5
    b = raw[raw["sheet"] == "Partner B"]
    assert b["visiting_org"].tolist() == ["B1", "B2", "B3", "B4", "A1"]
    assert b["host_org"].tolist()[:4] == ["ARIA"] * 4  # German headers in another order, mapped by meaning
    assert raw["source_row"].is_unique


def test_findings_name_the_sheet_and_its_excel_row(partners):
    result = clean(read_tracker(partners))
    missing = result.findings[result.findings["code"] == "missing_value"]
    assert len(missing) == 1
    assert missing["message"].item().startswith("sheet 'Partner B', row 7: ")  # B4: title, blank, header, B1-B3
    # A1 on Partner B repeats Partner A's row 3 exchange (same HO, VO, event)
    duplicate = result.findings[result.findings["code"] == "duplicate_exchange"]
    assert duplicate["message"].item() == ("sheet 'Partner B', row 8: same HO, VO and event as "
                                           "sheet 'Partner A', row 2 (row excluded from the KPIs)")
    usable = result.table[~result.table["excluded"].astype(bool)]
    assert len(usable) == 6  # 8 rows, B4 (no status) and the copy of A1 excluded


def test_named_sheet_is_the_only_one_read(partners):
    raw = read_tracker(partners, sheet="Partner B")
    assert raw["visiting_org"].tolist() == ["B1", "B2", "B3", "B4", "A1"]
    assert raw["source_row"].tolist() == [4, 5, 6, 7, 8]  # rows as Excel shows them


@pytest.mark.e2e
def test_cli_says_which_sheets_were_read_and_skipped(partners, tmp_path):
    done = run_cli("clean", str(partners), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "'Partner A' (3 rows), 'Partner B' (5 rows)" in done.stderr
    assert "sheet skipped: 'Lists'" in done.stderr
    assert "8 exchanges" in done.stderr


def test_merged_data_cell_applies_to_every_row_it_covers(tmp_path):
    wb = Workbook()
    ws = sheet(wb, "Exchanges", [HEADERS, exchange("A"), exchange("B", kind=None), exchange("C", kind=None),
                                 exchange("D", kind="Large company")], first=True)
    ws.merge_cells("D2:D4")  # "SME" merged down three rows
    result = clean(read_tracker(save(wb, tmp_path / "merged.xlsx")))
    assert result.table["vo_entity_type"].astype(str).tolist() == ["sme", "sme", "sme", "large_company"]
    assert result.findings.empty


def test_merged_cell_in_a_csv_like_reader_is_left_alone(tmp_path):
    """An empty cell that is not merged stays missing (an error), whatever the cell above holds."""
    wb = Workbook()
    sheet(wb, "Exchanges", [HEADERS, exchange("A"), exchange("B", kind=None)], first=True)
    result = clean(read_tracker(save(wb, tmp_path / "plain.xlsx")))
    assert result.findings["code"].tolist() == ["missing_value"]
    assert result.findings["row"].tolist() == [3]


def test_totals_notes_and_repeated_header_are_listed_not_counted(tmp_path):
    wb = Workbook()
    sheet(wb, "Exchanges", [
        HEADERS,
        exchange("A"), exchange("B", kind="Cluster organisation"),   # rows 2, 3
        HEADERS,                                                      # row 4: header again (printed pages)
        exchange("C", ho="Total"),                                    # row 5: an organisation named Total
        exchange("D"),                                                # row 6
        [None, "Total", 4, None, None, None, 4],                      # row 7: totals
        [],
        ["Note: exchanges of March still to be confirmed"],           # row 9: note
    ], first=True)
    result = clean(read_tracker(save(wb, tmp_path / "totals.xlsx")))
    assert result.table["visiting_org"].tolist() == ["A", "B", "C", "D"]
    found = result.findings
    assert found["code"].tolist() == ["not_an_exchange"] * 3
    assert found["severity"].tolist() == ["warning"] * 3
    assert found["row"].tolist() == [4, 7, 9]
    assert "header again" in found["message"][0]
    assert "totals row ('Total')" in found["message"][1]
    assert "note under the table" in found["message"][2]
    assert result.table.attrs["not_exchanges"] == 3


def test_excel_table_totals_row(tmp_path):
    wb = Workbook()
    ws = sheet(wb, "Exchanges", [HEADERS, exchange("A"), exchange("B"), exchange("C")], first=True)
    ws.append([None, None, None, None, None, None, "=SUBTOTAL(103,G2:G4)", None])  # row 5, Excel's own "Count"
    ws["G5"].value = 3  # the cached value a reader sees (openpyxl writes no cache for formulas)
    table = Table(displayName="Exchanges", ref="A1:H5", totalsRowCount=1)
    table._initialise_columns()
    for column, name in zip(table.tableColumns, HEADERS):
        column.name = name
    table.tableColumns[-2] = TableColumn(id=7, name=HEADERS[6], totalsRowFunction="count")
    ws.add_table(table)
    raw = read_tracker(save(wb, tmp_path / "table.xlsx"))
    assert raw.attrs["totals_rows"] == [5]
    result = clean(raw)
    assert result.table["visiting_org"].tolist() == ["A", "B", "C"]
    assert result.findings[["row", "code"]].values.tolist() == [[5, "not_an_exchange"]]
    assert "Excel table's totals row" in result.findings["message"][0]


def test_two_row_merged_header(tmp_path):
    wb = Workbook()
    top = ["Exchange no.", "HO", "VO", "VO Type of entity", "Inside/outside partnership", "Status", "Dates", None]
    low = [None, None, None, None, None, None, "Start", "End"]
    ws = sheet(wb, "Exchanges", [top, low, [None, "NextMove", "Axxor", "SME", "Inside", "Completed",
                                            dt.datetime(2023, 3, 6), dt.datetime(2023, 3, 10)]], first=True)
    for column in "ABCDEF":
        ws.merge_cells(f"{column}1:{column}2")
    ws.merge_cells("G1:H1")
    raw = read_tracker(save(wb, tmp_path / "two-row.xlsx"))
    assert raw.attrs["headers"]["start_date"] == "Dates Start"
    assert raw.attrs["headers"]["end_date"] == "Dates End"
    assert raw["source_row"].tolist() == [3]
    result = clean(raw)
    assert result.table["start_date"].tolist() == [pd.Timestamp(2023, 3, 6)]
    assert result.table["end_date"].tolist() == [pd.Timestamp(2023, 3, 10)]
    assert result.findings.empty


def test_two_row_header_in_a_csv(tmp_path):
    path = tmp_path / "two-row.csv"
    path.write_text("HO,VO,VO Type of entity,Inside/outside partnership,Status,Dates,\n"
                    ",,,,,Start,End\nNextMove,Axxor,SME,Inside,Completed,06/03/2023,10/03/2023\n", encoding="utf-8")
    raw = read_tracker(path)
    assert raw["visiting_org"].tolist() == ["Axxor"]
    assert raw["source_row"].tolist() == [3]
    assert (raw.attrs["headers"]["start_date"], raw.attrs["headers"]["end_date"]) == ("Dates Start", "End")


def test_the_table_keeps_each_rows_sheet(partners):
    table = clean(read_tracker(partners)).table
    assert list(table.columns[:2]) == ["source_row", "sheet"]
    assert table.groupby("sheet").size().to_dict() == {"Partner A": 3, "Partner B": 5}


def test_one_sheet_read_has_no_sheet_column(partners):
    assert "sheet" not in clean(read_tracker(partners, sheet="Partner A")).table.columns


def test_a_sheet_missing_a_required_column_is_skipped_with_why(tmp_path):
    wb = Workbook()
    sheet(wb, "Partner A", [HEADERS, exchange("A1"), exchange("A2")], first=True)
    sheet(wb, "Partner B", [HEADERS[:6], exchange("B1")[:6]])  # no Status column
    raw = read_tracker(save(wb, tmp_path / "b.xlsx"))
    assert raw["visiting_org"].tolist() == ["A1", "A2"]
    (name, why, partial), = raw.attrs["skipped_sheets"]
    assert name == "Partner B" and "Status" in why and partial  # a header without Status: said as a warning


def test_rows_below_the_table_that_may_be_exchanges_stay_exchanges(tmp_path):
    """A German totals row is not counted; a last row with HO and VO but no labels is an
    incomplete exchange (errors), and an organisation called "Total SA" with its labels is one."""
    wb = Workbook()
    sheet(wb, "Exchanges", [HEADERS, exchange("A"), exchange("B"), ["Gesamt: 2", None, None, None, None, None, 2],
                            exchange("C", ho="Total SA"), [None, "LastHO", "LastVO"]], first=True)
    result = clean(read_tracker(save(wb, tmp_path / "de.xlsx")))
    assert result.table["visiting_org"].tolist() == ["A", "B", "C", "LastVO"]
    assert result.findings.loc[result.findings["code"] == "not_an_exchange", "row"].tolist() == [4]
    assert result.findings.loc[result.findings["code"] == "missing_value", "row"].tolist() == [6, 6, 6]


@pytest.mark.e2e
def test_annotated_copy_marks_each_finding_on_its_own_sheet(partners, tmp_path):
    from openpyxl import load_workbook

    done = run_cli("clean", str(partners), "--out", str(tmp_path / "out"), "--annotate")
    assert done.returncode == 0, done.stderr
    book = load_workbook(tmp_path / "out" / "tracker_annotated.xlsx")
    # the copy holds one sheet (the first read: Partner A); Partner B's findings are listed with their
    # sheet and row below the others, never written far below Partner A's own rows
    assert "Partner B" not in book.sheetnames and book["Partner A"].max_row == 4
    listed = [r[4] for r in book["Findings"].iter_rows(min_row=2, values_only=True) if r[4]]
    assert any(m.startswith("sheet 'Partner B', row 7") and "Status" in m for m in listed)
    assert any(m.startswith("sheet 'Partner B', row 8") for m in listed)


def test_an_exchange_whose_host_starts_with_total_is_no_totals_row(tmp_path):
    """Labels the vocabulary does not know make a row a candidate; with a host and a visitor
    named it stays an exchange with its unknown-label errors."""
    wb = Workbook()
    sheet(wb, "Exchanges", [HEADERS, exchange("A"), exchange("B", ho="Total Energies", kind="??", side="??", status="??")],
          first=True)
    result = clean(read_tracker(save(wb, tmp_path / "t.xlsx")))
    assert result.table["visiting_org"].tolist() == ["A", "B"]
    assert result.findings["code"].tolist() == ["unknown_label"] * 3
