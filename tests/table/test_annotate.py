"""The annotated tracker (``clean --annotate``, the report's tracker_annotated.xlsx) on the trackers
partners write: Windows-1252 CSVs from Excel, LibreOffice .ods, merged cells, sheets wider than
Excel's, workbooks with other sheets (contacts) that must not travel with the feedback file."""

import zipfile
from pathlib import Path

import pytest
from conftest import HEADERS, exchange, run_cli, write_xlsx
from openpyxl import load_workbook

from cxc_analysis.cli.main import main


def annotated(tmp_path: Path, source: Path):
    """Run ``clean --annotate`` on ``source``; the annotated workbook it wrote."""
    assert main(["clean", str(source), "--out", str(tmp_path / "out"), "--annotate"]) == 0
    return load_workbook(tmp_path / "out" / "tracker_annotated.xlsx")


def listing(book) -> list[list]:
    """The Findings sheet's rows: row, column, severity, code (the message left out)."""
    return [list(r[:4]) for r in book["Findings"].iter_rows(min_row=2, values_only=True) if r[0] is not None]


def cp1252_csv(path: Path) -> Path:
    """A tracker as Excel saves "CSV" on a Western-European Windows: Windows-1252, semicolons."""
    rows = [HEADERS, exchange("Zoë GmbH", kind="Robot"), exchange("Café Ltd"), exchange("Müller & Söhne")]
    path.write_bytes("\r\n".join(";".join(c or "" for c in r) for r in rows).encode("cp1252"))
    return path


def test_cp1252_csv_is_annotated_with_its_accents(tmp_path):
    book = annotated(tmp_path, cp1252_csv(tmp_path / "t.csv"))
    sheet = book["Tracker"]
    assert [sheet.cell(row=r, column=3).value for r in (2, 3, 4)] == ["Zoë GmbH", "Café Ltd", "Müller & Söhne"]
    assert listing(book) == [[2, "VO Type of entity", "error", "unknown_label"]]
    assert "'Robot'" in sheet["D2"].comment.text and sheet["D2"].fill.start_color.rgb.endswith("FFC7CE")


def ods(path: Path, tables: dict[str, list[list[str]]]) -> Path:
    """An OpenDocument spreadsheet written by hand (text cells), one table per entry, in order."""
    def table(name, rows):
        body = "".join("<table:table-row>" + "".join(
            '<table:table-cell office:value-type="string"><text:p>' + c + "</text:p></table:table-cell>"
            if c else "<table:table-cell/>" for c in row) + "</table:table-row>" for row in rows)
        return f'<table:table table:name="{name}">{body}</table:table>'

    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
               'opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               "<office:spreadsheet>" + "".join(table(n, r) for n, r in tables.items())
               + "</office:spreadsheet></office:body></office:document-content>")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:'
                         'manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                         '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.'
                         'opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" '
                         'manifest:media-type="text/xml"/></manifest:manifest>')
    return path


def test_ods_tracker_is_annotated_without_its_contacts_sheet(tmp_path):
    source = ods(tmp_path / "t.ods", {
        "Contacts": [["Name", "E-mail"], ["Jana Nováková", "jana.novakova@example.org"]],
        "Exchanges": [["Exchanges 2024"], HEADERS, exchange("Axxor", kind="Robot"), exchange("Zoë GmbH")]})
    book = annotated(tmp_path, source)
    assert book.sheetnames == ["Findings", "Exchanges"]
    sheet = book["Exchanges"]
    assert sheet["A1"].value == "Exchanges 2024" and sheet["C4"].value == "Zoë GmbH"
    assert listing(book) == [[3, "VO Type of entity", "error", "unknown_label"]]
    assert sheet["D3"].value == "Robot" and "'Robot'" in sheet["D3"].comment.text
    assert book["Findings"]["F2"].hyperlink.location == "Exchanges!D3" or \
        book["Findings"]["F2"].hyperlink.target.endswith("D3")


def test_xlsx_copy_holds_only_the_exchange_sheet(tmp_path):
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    source = write_xlsx(tmp_path / "t.xlsx", [HEADERS, exchange("Axxor", kind="Robot")])
    book = load_workbook(source)
    contacts = book.create_sheet("Contacts", 0)
    contacts.append(["Name", "E-mail", "Phone"])
    contacts.append(["Jana Nováková", "jana.novakova@example.org", "+420 123 456 789"])
    book.defined_names["partner_mail"] = DefinedName("partner_mail", attr_text="Contacts!$B$2")
    book.defined_names["table"] = DefinedName("table", attr_text="Exchanges!$A$1:$H$2")
    book.defined_names["people"] = DefinedName("people", attr_text="Contacts!$A$2:$A$9")
    lists = [DataValidation(type="list", formula1="Contacts!$A$2:$A$9"), DataValidation(type="list", formula1="people"),
             DataValidation(type="list", formula1='"Inside,Outside"')]
    for validation, cells in zip(lists, ("B2:B9", "C2:C9", "E2:E9")):
        validation.add(cells)
        book["Exchanges"].add_data_validation(validation)
    book.save(source)
    out = annotated(tmp_path, source)
    assert out.sheetnames == ["Findings", "Exchanges"]
    assert list(out.defined_names) == ["table"]
    assert out["Exchanges"]["D2"].comment is not None
    assert [v.formula1 for v in out["Exchanges"].data_validations.dataValidation] == ['"Inside,Outside"']
    with zipfile.ZipFile(tmp_path / "out" / "tracker_annotated.xlsx") as archive:
        text = b"".join(archive.read(n) for n in archive.namelist())
    assert b"novakova" not in text and b"Contacts" not in text and b"456 789" not in text


def test_finding_in_a_merged_cell_goes_on_the_range(tmp_path):
    source = write_xlsx(tmp_path / "t.xlsx", [HEADERS, exchange("A", kind="Robot"), exchange("B")])
    book = load_workbook(source)
    sheet = book["Exchanges"]
    sheet["E2"] = None
    sheet.merge_cells("D2:E2")  # type and partnership merged: the partnership cell is empty
    sheet.merge_cells("B3:B4")  # a host written once for two rows
    sheet.append(exchange("C", ho=None))
    book.save(source)
    out = annotated(tmp_path, source)
    # a merged cell's value applies to every cell it covers: B3's host is row 4's too (no finding),
    # and D2's 'Robot' is E2's partnership as well (an unknown label there, on the range's first cell)
    assert sorted(r[:2] for r in listing(out)) == [[2, "Inside/outside partnership"], [2, "VO Type of entity"]]
    merged = out["Exchanges"]
    assert "INSIDE/OUTSIDE" not in merged["D2"].comment.text  # messages, not headers
    assert merged["D2"].comment.text.count("'Robot'") == 2
    assert merged["B3"].comment is None
    assert sorted(str(r) for r in merged.merged_cells.ranges) == ["B3:B4", "D2:E2"]


def wide_csv(path: Path, extra: int, first: bool):
    """A CSV with ``extra`` more columns after (``first``) or before the exchange columns, as the reader
    describes it (``table.attrs``), and its one finding (a 'Robot' VO type in row 2), written by hand:
    the reader's header matching takes minutes over 17,000 headers, and is not what is tested here."""
    import pandas as pd

    rows = [HEADERS, exchange("Axxor", kind="Robot"), exchange("Zoë")]
    padding = [[f"x{i}" for i in range(extra)]] + [["v"] * extra for _ in rows[1:]]
    joined = [(r + p) if first else (p + r) for r, p in zip(rows, padding)]
    path.write_text("\n".join(",".join(c or "" for c in r) for r in joined), encoding="utf-8")
    table = pd.DataFrame({"source_row": [2, 3]})
    offset = 0 if first else extra
    table.attrs.update(file=str(path), headers={"vo_entity_type": "VO Type of entity"},
                       positions={"vo_entity_type": offset + 3})
    findings = pd.DataFrame({"row": [2], "column": ["VO Type of entity"], "severity": ["error"],
                             "code": ["unknown_label"], "message": ["unknown label 'Robot'"]})
    return table, findings


def annotate_wide(tmp_path: Path, extra: int, first: bool):
    from cxc_analysis.table.annotate import annotate_tracker

    out = annotate_tracker(*wide_csv(tmp_path / "t.csv", extra, first), tmp_path / "annotated.xlsx")
    return load_workbook(out)


def test_csv_wider_than_a_sheet_is_cut_at_xfd_and_says_so(tmp_path):
    book = annotate_wide(tmp_path, 17_000, first=True)
    sheet = book["Tracker"]
    assert sheet.max_column == 16_384 and sheet["XFD1"].value == f"x{16_384 - len(HEADERS) - 1}"
    assert "'Robot'" in sheet["D2"].comment.text
    notes = [r[4] for r in book["Findings"].iter_rows(values_only=True) if r[0] is None]
    assert notes == [f"The tracker has {17_000 + len(HEADERS):,} columns; this copy holds the first 16,384 "
                     "(A to XFD, all a sheet can hold)."]


def test_findings_beyond_xfd_are_listed_all_the_same(tmp_path):
    book = annotate_wide(tmp_path, 17_000, first=False)
    assert listing(book) == [[2, "VO Type of entity", "error", "unknown_label"]]
    assert book["Findings"]["F2"].value == "A2"  # its row, as no cell of its column is in the copy


@pytest.mark.e2e
def test_report_on_a_cp1252_csv(tmp_path):
    source = cp1252_csv(tmp_path / "t.csv")
    proc = run_cli("report", "--input", str(source), "--partnership", "WINNET", "--period", "M6", "--out",
                   str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    book = load_workbook(tmp_path / "run" / "tracker_annotated.xlsx")
    assert book["Tracker"]["C3"].value == "Café Ltd" and book["Tracker"]["D2"].comment is not None
    assert "Müller &amp; Söhne" in (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
