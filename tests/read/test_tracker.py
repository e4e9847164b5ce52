import pandas as pd
import pytest
from conftest import HEADERS, exchange, write_xlsx

from cxc_analysis.core.config import DEFAULT_INPUT, DEFAULT_TARGETS
from cxc_analysis.core.errors import InputError
from cxc_analysis.read.tracker import read_tracker
from cxc_analysis.reference.targets import read_targets


def test_bundled_workbook_has_47_exchanges_with_excel_rows():
    df = read_tracker(DEFAULT_INPUT)
    assert len(df) == 47
    assert df.attrs["sheet"] == "Exchanges"  # the first sheet ("About") is skipped
    assert df["source_row"].iloc[0] == 4  # title row, blank row, header row above
    assert df.loc[df.visiting_org == "Polyworx", "exchange_id"].item() == "EG50WA1"
    assert "Nextérité" in set(df.visiting_org)


def test_header_below_title_rows_and_blank_rows_skipped(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [["My tracker"], [], ["updated 2023"], HEADERS,
                                           exchange("A"), [], [None] * 8, exchange("B")])
    df = read_tracker(path)
    assert df["visiting_org"].tolist() == ["A", "B"]
    assert df["source_row"].tolist() == [5, 8]


@pytest.mark.parametrize("headers", [
    ["Exchange ID", "Host organisation (HO)", "Visiting organisation", "Type of entity", "Partnership",
     "Event", "status", "Comments"],
    ["exchange_no", "HOST ORGANIZATION", "visiting  organization", "Entity-Type", "inside / outside",
     "Group Exchange", " STATUS ", "notes"],
])
def test_header_aliases(tmp_path, headers):
    df = read_tracker(write_xlsx(tmp_path / "t.xlsx", [headers, exchange("A", eid="EG927FA8", remarks="r")]))
    row = df.iloc[0]
    assert (row.exchange_id, row.host_org, row.visiting_org, row.event, row.remarks) == \
        ("EG927FA8", "NextMove", "A", "Equip Auto", "r")


def test_optional_columns_may_be_missing(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [["HO", "VO", "VO Type of entity", "Partnership", "Status"],
                                           ["H", "V", "SME", "inside", "Completed"]])
    df = read_tracker(path)
    assert df["exchange_id"].isna().all() and df["event"].isna().all()


def test_csv_semicolon_cp1252_with_title_and_blank_lines(tmp_path):
    path = tmp_path / "t.csv"
    lines = ["Tracker export;;;;;;;", "", ";".join(HEADERS),
             ";NextMove;Nextérité;SME;Inside;Smart City Expo;Completed;", "", ";;;;;;;",
             ";NextMove;Zoë Ltd;SME;Outside;Smart City Expo;Completed;"]
    path.write_bytes("\r\n".join(lines).encode("cp1252"))
    df = read_tracker(path)
    assert df["visiting_org"].tolist() == ["Nextérité", "Zoë Ltd"]
    assert df["source_row"].tolist() == [4, 7]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("sep", [",", ";"])
def test_csv_encodings_and_delimiters(tmp_path, encoding, sep):
    path = tmp_path / "t.csv"
    frame = pd.DataFrame([exchange("Café Société", eid="EG927FA8")], columns=HEADERS)
    frame.to_csv(path, sep=sep, index=False, encoding=encoding)
    df = read_tracker(path)
    assert df["visiting_org"].tolist() == ["Café Société"] and df["source_row"].tolist() == [2]


def test_csv_with_quoted_newline_falls_back_and_keeps_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(",".join(HEADERS) + '\n,H,"two\nlines",SME,inside,E,Completed,\n,H,B,SME,inside,E,Completed,,extra\n',
                    encoding="utf-8")
    df = read_tracker(path)
    assert df["visiting_org"].tolist() == ["two\nlines", "B"]
    assert df["source_row"].tolist() == [2, 3]  # Excel rows: the quoted newline stays inside row 2


def test_sheet_by_name_and_unknown_sheet(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [HEADERS, exchange("A")], sheet="Data", extra_sheets=("Cover",))
    assert read_tracker(path, sheet="Data")["visiting_org"].tolist() == ["A"]
    with pytest.raises(InputError, match="no sheet named 'Nope'.*Cover, Data"):
        read_tracker(path, sheet="Nope")


def test_missing_required_column_is_named(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [["HO", "VO", "VO Type of entity", "Partnership"], ["H", "V", "SME", "in"]])
    with pytest.raises(InputError) as info:
        read_tracker(path)
    assert info.value.column == "Status" and "t.xlsx: sheet 'Exchanges'" in str(info.value)
    assert "required column missing: Status" in str(info.value)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_tracker(tmp_path / "none.xlsx")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="bad.xlsx: cannot read workbook"):
        read_tracker(bad)
    with pytest.raises(InputError, match="unsupported file type"):
        (tmp_path / "x.pdf").write_text("x")
        read_tracker(tmp_path / "x.pdf")


def test_headers_match_whatever_case_space_punctuation_spelling(tmp_path):
    headers = ["EXCHANGE NO", "host  organization", "Visiting_Organisation", "Type of entity (VO)",
               "inside / outside partnerships", "Group Exchange", "status", "comments"]
    df = read_tracker(write_xlsx(tmp_path / "t.xlsx", [headers, exchange("A", eid="EG927FA8", remarks="r")]))
    assert df.loc[0, ["exchange_id", "host_org", "visiting_org", "vo_entity_type", "partnership", "event",
                      "status", "remarks"]].tolist() == ["EG927FA8", "NextMove", "A", "SME", "Inside", "Equip Auto",
                                                         "Completed", "r"]
    assert df.attrs["headers"]["vo_entity_type"] == "Type of entity (VO)"
    assert df.attrs["ignored_columns"] == []


def test_unmapped_columns_are_listed_not_dropped_unnoticed(tmp_path):
    headers = ["Ref.", *HEADERS[1:], "Budget line"]
    df = read_tracker(write_xlsx(tmp_path / "t.xlsx", [headers, [*exchange("A", eid="EG927FA8"), "x"]]))
    assert df.loc[0, "exchange_id"] == "EG927FA8"  # "Ref." is read as the exchange number
    assert df.attrs["ignored_columns"] == ["Budget line"]


def test_two_columns_naming_one_field_are_refused_naming_both(tmp_path):
    headers = [*HEADERS, "Host organisation"]
    with pytest.raises(InputError, match="two columns name HO.*'HO', 'Host organisation'"):
        read_tracker(write_xlsx(tmp_path / "t.xlsx", [headers, [*exchange("A"), "B"]]))


def test_missing_required_column_names_unmatched_headers_and_closest(tmp_path):
    headers = [h if h != "VO Type of entity" else "Kategorei" for h in HEADERS]
    with pytest.raises(InputError) as info:
        read_tracker(write_xlsx(tmp_path / "t.xlsx", [headers, exchange("A")]))
    message = str(info.value)
    assert "required column missing: VO Type of entity (vo_entity_type)" in message
    assert "did you mean 'Kategorei'?" in message and "--columns" in message


def test_column_map_overrides_detection_and_checks_headers(tmp_path):
    headers = ["Nr", "Spalte B", "Spalte C", "Spalte D", "Spalte E", "Spalte F", "Spalte G", "Spalte H"]
    path = write_xlsx(tmp_path / "t.xlsx", [headers, exchange("A", eid="EG927FA8")])
    columns = {"host_org": "Spalte B", "visiting_org": "Spalte C", "vo_entity_type": "Spalte D",
               "partnership": "Spalte E", "event": "Spalte F", "status": "Spalte G", "remarks": "Spalte H"}
    df = read_tracker(path, columns=columns)
    assert df.loc[0, ["exchange_id", "visiting_org", "vo_entity_type"]].tolist() == ["EG927FA8", "A", "SME"]
    with pytest.raises(InputError, match="maps status to 'Zustand', but the header row has no such column"):
        read_tracker(path, columns={**columns, "status": "Zustand"})


def test_column_map_file_refuses_unknown_fields(tmp_path):
    from cxc_analysis.read.header import read_column_map

    path = tmp_path / "map.yaml"
    path.write_text("vo_type: Kategorie\n")
    with pytest.raises(InputError, match="unknown field 'vo_type'"):
        read_column_map(path)
    path.write_text("vo_entity_type: Kategorie\n")
    assert read_column_map(path) == {"vo_entity_type": "Kategorie"}


def test_targets_file():
    assert read_targets(DEFAULT_TARGETS) == {"exchanges": 80, "outside_partnership": 20, "cluster_organisation": 5,
                                             "sme": 40, "scaling_up_support_organisation": 10,
                                             "large_company": 15, "public_authority": 10}


@pytest.mark.parametrize("text, message", [("targets: {smes: 3}", "unknown target 'smes'"),
                                           ("targets: {sme: -1}", "whole number"),
                                           ("targets: [1, 2", "not valid YAML")])
def test_bad_targets(tmp_path, text, message):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_targets(path)


def test_csv_and_xlsx_agree_that_only_empty_cells_are_missing(tmp_path):
    row = exchange("NA", remarks="N/A")
    csv_path = tmp_path / "t.csv"
    pd.DataFrame([row], columns=HEADERS).to_csv(csv_path, index=False)
    from_csv = read_tracker(csv_path)
    from_xlsx = read_tracker(write_xlsx(tmp_path / "t.xlsx", [HEADERS, row]))
    for df in (from_csv, from_xlsx):
        assert df[["visiting_org", "remarks"]].iloc[0].tolist() == ["NA", "N/A"]


# --- issue 13: rows counted as records, encodings decided per file ------------------------------

def write_csv(path, rows, encoding="utf-8", delimiter=","):
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize("title", ["My\x0btracker", "My\x0ctracker", "My\u2028tracker", "My\x1ctracker",
                                   "My\x85tracker", "two\nlines", "two\r\nlines", "three\n\nlines"])
def test_csv_title_row_keeps_the_first_exchange_and_excel_rows(tmp_path, title):
    path = write_csv(tmp_path / "t.csv", [[title, "x"], HEADERS, exchange("First"), exchange("Second")])
    df = read_tracker(path)
    assert df["visiting_org"].tolist() == ["First", "Second"]
    assert df["source_row"].tolist() == [3, 4]  # the title is one row, as Excel shows it


def test_csv_header_found_behind_a_70_kb_title_row(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["title " * 3000] * 4, HEADERS, exchange("A")])
    assert path.stat().st_size > 70_000
    assert read_tracker(path)["source_row"].tolist() == [3]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-le"])
def test_csv_unicode_text_as_excel_writes_it(tmp_path, encoding):
    path = write_csv(tmp_path / "t.txt", [HEADERS, exchange("Zoë Ltd"), exchange("Łódź sp. z o.o.")], encoding, "\t")
    df = read_tracker(path)
    assert df["visiting_org"].tolist() == ["Zoë Ltd", "Łódź sp. z o.o."] and df["source_row"].tolist() == [2, 3]


def test_csv_windows_1252_decided_for_the_whole_file(tmp_path):
    """Plain ASCII for the first 64 KiB, then Windows-1252 names: read as Windows-1252, nothing garbled."""
    rows = [HEADERS] + [exchange(f"Org {i}") for i in range(2000)] + [exchange("Société Générale")]
    path = write_csv(tmp_path / "t.csv", rows, "cp1252", ";")
    assert path.read_bytes()[:1 << 16].isascii()
    assert read_tracker(path)["visiting_org"].iloc[-1] == "Société Générale"


def test_csv_cut_utf16_is_refused_with_its_row(tmp_path):
    path = write_csv(tmp_path / "t.csv", [HEADERS, exchange("A"), exchange("B")], "utf-16", "\t")
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(InputError, match=r"row 4: cannot decode as UTF-16"):
        read_tracker(path)


def test_csv_quoted_newline_in_a_data_cell_and_a_title_cell(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["title\nover two lines"], HEADERS, exchange("two\nlines"), exchange("B")])
    df = read_tracker(path)
    assert df["visiting_org"].tolist() == ["two\nlines", "B"] and df["source_row"].tolist() == [3, 4]


def test_workbook_header_found_from_the_first_rows_only(tmp_path, monkeypatch):
    """A sheet without the header is looked at in its first rows, never converted whole."""
    import python_calamine

    asked = []
    original = python_calamine.CalamineSheet.to_python

    class Spy:
        def __init__(self, sheet):
            self.sheet = sheet

        def to_python(self, skip_empty_area=True, nrows=None):
            asked.append((self.sheet.name, nrows))
            return original(self.sheet, skip_empty_area=skip_empty_area, nrows=nrows)

    real = python_calamine.CalamineWorkbook

    class Workbook:
        @classmethod
        def from_path(cls, path):
            self = cls()
            self.book = real.from_path(path)
            self.sheet_names = self.book.sheet_names
            return self

        def get_sheet_by_name(self, name):
            return Spy(self.book.get_sheet_by_name(name))

    path = write_xlsx(tmp_path / "t.xlsx", [HEADERS, exchange("A")], extra_sheets=("Notes",))
    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Workbook)
    assert read_tracker(path)["visiting_org"].tolist() == ["A"]
    assert asked == [("Notes", 30), ("Exchanges", 30), ("Exchanges", None)]


def test_formula_cells_without_cached_values_keep_their_text(tmp_path):
    """pandas' to_excel writes a name starting with "=" as a formula with no cached value."""
    path = tmp_path / "t.xlsx"
    pd.DataFrame([exchange("=1+2"), exchange('=HYPERLINK("http://x", "A & B")')], columns=HEADERS).to_excel(
        path, index=False)
    from cxc_analysis.table.clean import clean

    table, findings = clean(read_tracker(path))
    assert table["visiting_org"].tolist() == ["=1+2", '=HYPERLINK("http://x", "A & B")']
    assert findings["code"].tolist() == ["formula_like_text"] * 2 and not (findings["severity"] == "error").any()


def test_text_cells_trimmed_in_arrow_as_one_by_one():
    """A sheet's text-only column is trimmed in Arrow (``_texts``), a mixed one cell by cell
    (``_cell_text``): both trim exactly Python's white space, and blank is missing."""
    import sys

    from cxc_analysis.read.frame import _cell_text, _texts

    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    near = ["\u200b", "\ufeff", "\u180e", "x", "é", "=", "·"]  # not white space in Python
    cells = [None, "", "  ", "SME", *(f"{s}a{s}" for s in spaces + near), *(s * 2 for s in spaces + near),
             f"a{spaces[0]}b", " ".join(spaces) + "Z"]
    assert _texts(cells).astype(object).where(lambda s: s.notna(), None).tolist() == [_cell_text(c) for c in cells]


@pytest.mark.parametrize("utf8_text", ["Οδυσσέας ΑΕ", "Mu\u0308nchen", "Café"])
def test_utf8_text_beside_a_stray_windows_1252_byte_is_refused_not_garbled(tmp_path, utf8_text):
    """Greek, decomposed accents (as macOS writes them) or Latin letters in UTF-8, and one byte
    that is not: the file is refused with the row, never read as Windows-1252 ("ÎŸÎ´Ï…..."), which
    would garble names and hide a repeated exchange. Windows-1252 bytes that happen to form a UTF-8
    pair ("STÍŽKOV") are refused alike: the bytes cannot tell the two apart."""
    from cxc_analysis.core.errors import InputError
    from cxc_analysis.read.tracker import read_tracker

    header = "HO,VO,VO Type of entity,Inside/outside partnership,Status,Remarks\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes((header + f"Host A,{utf8_text},SME,inside,completed,\nHost B,Other,SME,inside,completed,Caf").encode()
                     + b"\xe9\n")
    with pytest.raises(InputError, match="row 3: cannot decode: byte 0xE9 is not UTF-8"):
        read_tracker(path)
    czech = tmp_path / "cz.csv"
    czech.write_bytes((header + "STÍŽKOV E-MOTION,Café,SME,Inside,Completed,\n").encode("cp1252"))
    with pytest.raises(InputError, match="cannot decode"):
        read_tracker(czech)



# --- header finding: cost, hints --------------------------------------------------------------

def _wide_csv(path, extra: int, *, headers=("HO", "VO", "VO Type of entity", "Inside/outside partnership",
                                                   "Status")):
    """A CSV with a title row, the given headers and ``extra`` more columns no vocabulary knows,
    each header distinct (as a tracker exported with one column per month or per partner)."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Exchange tracker"])
        writer.writerow([*headers, *(f"Spalte {i} Notiz{i % 97}" for i in range(extra))])
        for row in range(3):
            writer.writerow(["Host A", f"Visitor {row}", "SME", "Inside", "Completed"][:len(headers)]
                            + [f"v{row}_{i}" for i in range(extra)])
    return path


def test_header_finding_keys_the_header_row_in_a_few_vectorised_calls_not_one_per_cell(tmp_path, monkeypatch):
    import cxc_analysis.read.vocabulary as vocabulary

    calls = {"one": 0, "many": 0}
    one, many = vocabulary._text_key, vocabulary.keys

    def count_one(text):
        calls["one"] += 1
        return one(text)

    def count_many(texts):
        calls["many"] += 1
        return many(texts)

    monkeypatch.setattr(vocabulary, "_text_key", count_one)
    monkeypatch.setattr(vocabulary, "keys", count_many)
    df = read_tracker(_wide_csv(tmp_path / "wide.csv", 3000))
    assert df["visiting_org"].tolist() == ["Visitor 0", "Visitor 1", "Visitor 2"]
    assert len(df.attrs["ignored_columns"]) == 3000
    assert calls["one"] < 20 and calls["many"] < 20, calls  # was one Arrow call per header cell


@pytest.mark.parametrize("headers, expect", [
    (("HO", "VO", "VO Type of entity", "Inside/outside partnership", "Status"), None),
    (("HO", "VO", "VO Type of entity", "Inside/outside partnership", "Stauts"),
     "required column missing: Status.*did you mean .Stauts."),
])
def test_a_header_row_of_20000_columns_is_read_in_seconds(tmp_path, headers, expect):
    import time

    path = _wide_csv(tmp_path / "wide.csv", 20_000, headers=headers)
    started = time.process_time()
    if expect is None:
        assert len(read_tracker(path)) == 3
    else:
        with pytest.raises(InputError, match=expect):
            read_tracker(path)
    assert time.process_time() - started < 15  # about 0.3 s here; it was 30 s and more (3 ms per header)


@pytest.mark.parametrize("first_counter", [True, False])
def test_two_exchange_numbers_the_hint_names_the_id_column_not_the_row_counter(tmp_path, first_counter):
    headers = ["N°", *HEADERS] if first_counter else [*HEADERS, "N°"]
    rows = [[n, *exchange(vo, eid=f"EX-0{n}")] if first_counter else [*exchange(vo, eid=f"EX-0{n}"), n]
            for n, vo in ((1, "A"), (2, "B"), (3, "C"))]
    path = write_xlsx(tmp_path / "t.xlsx", [headers, *rows])
    with pytest.raises(InputError) as info:
        read_tracker(path)
    message = str(info.value)
    assert "two columns name" in message and "'N°'" in message and "'Exchange no.'" in message
    assert "e.g. 'exchange_id: Exchange no.'" in message and "'N°' only counts the rows" in message
    assert "--columns" in message
    # the hint works as written
    assert read_tracker(path, columns={"exchange_id": "Exchange no."})["exchange_id"].tolist() == [
        "EX-01", "EX-02", "EX-03"]


def test_two_id_columns_neither_a_row_counter_keep_the_first_as_the_example(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [["Ref.", *HEADERS], ["R7", *exchange("A", eid="EX-01")]])
    with pytest.raises(InputError) as info:
        read_tracker(path)
    assert "e.g. 'exchange_id: Ref.'" in str(info.value) and "only counts" not in str(info.value)


def test_a_workbook_with_no_header_the_tool_knows_points_to_columns(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [["Gastfirma", "Besuchsfirma", "Art"], ["A", "B", "KMU"]],
                      extra_sheets=("Notes",))
    with pytest.raises(InputError) as info:
        read_tracker(path)
    assert "no sheet holds an exchange table" in str(info.value) and "--columns" in str(info.value)
