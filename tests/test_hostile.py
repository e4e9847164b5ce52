"""Odd and hostile trackers (issue 13): every run ends with exit 0 or 2 and one line on stderr,
never a traceback; nothing is lost behind title rows or in other encodings; memory stays bounded."""

import csv
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import HEADERS, exchange, write_xlsx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxc_analysis.cli.main import main
from cxc_analysis.core.config import DEFAULT_INPUT, MAX_SHEET_CELLS

GOLDEN = [42, 19, 13, 18, 2, 5, 4]
GIGABYTE_KB = 1 << 20  # ru_maxrss is in KiB on Linux

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                 'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
                 'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"'
                 '/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
                 'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
                 '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
             'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
             'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
            'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
            'name="Exchanges" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
                 '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
                 '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://'
                 'schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"'
                 '/></Relationships>')


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row() -> str:
    return '<row r="1">' + "".join(inline(f"{chr(65 + i)}1", h) for i, h in enumerate(HEADERS)) + "</row>"


def raw_xlsx(path: Path, rows, shared: tuple[str, ...] = ()) -> Path:
    """A workbook written by hand: one sheet 'Exchanges' whose XML is the given row strings (an iterable,
    written as it comes, so a large sheet never sits in memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS),
                           ("xl/workbook.xml", WORKBOOK), ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)):
            archive.writestr(name, text)
        archive.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.'
                         'openxmlformats.org/spreadsheetml/2006/main">' + "".join(f"<si><t>{s}</t></si>" for s in shared)
                         + "</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                        b'spreadsheetml/2006/main"><sheetData>')
            for row in rows:
                sheet.write(row.encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


def raw_ods(path: Path, rows: list[list[str]], repeat_last: int = 1, columns_repeated: int = 1) -> Path:
    """An OpenDocument spreadsheet written by hand; the last row is repeated ``repeat_last`` times and its
    cells ``columns_repeated`` times (as LibreOffice writes blank rows, or as a hostile file asks for a
    billion cells); a LibreOffice-style blank tail (1,048,000 empty rows of 1,024 empty cells) ends it."""
    def cell(text, repeat=1):
        return (f'<table:table-cell table:number-columns-repeated="{repeat}" office:value-type="string">'
                f"<text:p>{text}</text:p></table:table-cell>")

    body = "".join("<table:table-row>" + "".join(cell(c) for c in row) + "</table:table-row>" for row in rows[:-1])
    body += (f'<table:table-row table:number-rows-repeated="{repeat_last}">'
             + "".join(cell(c, columns_repeated) for c in rows[-1]) + "</table:table-row>")
    body += ('<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
             'table:number-columns-repeated="1024"/></table:table-row>')
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
               'opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               f'<office:spreadsheet><table:table table:name="Exchanges">{body}</table:table></office:spreadsheet>'
               "</office:body></office:document-content>")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:'
                         'manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                         '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.'
                         'opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" '
                         'manifest:media-type="text/xml"/></manifest:manifest>')
    return path


def exit_and_stderr(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def one_line(stderr: str) -> bool:
    return "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


# --- workbooks ------------------------------------------------------------------------------

@pytest.mark.parametrize("far", ["XFD20000", "XFD1048576", "A6000000"])
def test_far_cell_is_refused_before_loading(tmp_path, capsys, far):
    rows = [header_row(), '<row r="2">' + "".join(inline(f"{chr(65 + i)}2", v) for i, v in enumerate(exchange())
                                                   if v) + "</row>",
            f'<row r="{far.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}">{inline(far, "x")}</row>']
    path = raw_xlsx(tmp_path / "far.xlsx", rows)
    assert path.stat().st_size < 4000
    code, err = exit_and_stderr(capsys, "kpis", path)
    assert code == 2 and one_line(err)
    assert "sheet 'Exchanges': sheet too large to read" in err and f"at most {MAX_SHEET_CELLS:,}" in err


def test_far_cell_within_the_limit_is_read(tmp_path):
    from cxc_analysis.read.tracker import read_tracker

    rows = [header_row(), '<row r="2">' + "".join(inline(f"{chr(65 + i)}2", v) for i, v in enumerate(exchange())
                                                   if v) + inline("XFD2", "stray") + "</row>"]
    assert read_tracker(raw_xlsx(tmp_path / "wide.xlsx", rows))["visiting_org"].tolist() == ["Axxor"]


def test_repeated_long_shared_string_is_refused(tmp_path, capsys):
    """A 2,000-character shared string shown in 300,000 cells would be 600 MB of text once read."""
    long = "x" * 2000
    rows = (f'<row r="{r}">' + f'<c r="H{r}" t="s"><v>0</v></c>' + "</row>" for r in range(2, 300_002))
    path = raw_xlsx(tmp_path / "amplified.xlsx", [header_row(), *rows], shared=(long,))
    code, err = exit_and_stderr(capsys, "kpis", path)
    assert code == 2 and one_line(err) and "MB of text" in err


def test_ods_read_with_its_blank_tail_and_refused_when_repeats_ask_for_millions_of_cells(tmp_path, capsys):
    from cxc_analysis.read.tracker import read_tracker

    rows = [HEADERS, [c or "" for c in exchange("Zoë")], [c or "" for c in exchange("B")]]
    frame = read_tracker(raw_ods(tmp_path / "ok.ods", rows))
    assert frame["visiting_org"].tolist() == ["Zoë", "B"] and frame["source_row"].tolist() == [2, 3]
    path = raw_ods(tmp_path / "repeated.ods", [HEADERS, ["x"]], repeat_last=20_000, columns_repeated=1000)
    assert path.stat().st_size < 3000
    code, err = exit_and_stderr(capsys, "kpis", path)
    assert code == 2 and one_line(err) and "20,001 rows x 1,000 columns" in err


def test_ole_container_named_xlsx_is_encrypted_or_not_a_workbook(tmp_path, capsys):
    path = tmp_path / "locked.xlsx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(4096))
    code, err = exit_and_stderr(capsys, "check", path)
    assert code == 2 and one_line(err) and "locked.xlsx: cannot read workbook (encrypted or not a workbook" in err


def test_reader_panic_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    """A Rust panic reaches Python as pyo3's PanicException, a BaseException that ``except Exception`` misses."""
    import python_calamine

    class PanicException(BaseException):
        pass

    class Exploding:
        @classmethod
        def from_path(cls, path):
            raise PanicException("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Exploding)
    path = write_xlsx(tmp_path / "t.xlsx", [HEADERS, exchange()])
    code, err = exit_and_stderr(capsys, "kpis", path)
    assert code == 2 and one_line(err) and "encrypted or not a workbook" in err


# --- csv ------------------------------------------------------------------------------------

def csv_text(rows, delimiter=",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize("byte", [0x81, 0x8D, 0x8F, 0x90, 0x9D])
def test_byte_undefined_in_windows_1252_is_refused_with_its_row(tmp_path, capsys, byte):
    path = tmp_path / "dos.csv"
    data = csv_text([HEADERS, exchange("Plain"), exchange("M_ller")]).encode("ascii").replace(b"_", bytes([byte]))
    path.write_bytes(data)
    code, err = exit_and_stderr(capsys, "kpis", path)
    assert code == 2 and one_line(err)
    assert f"dos.csv: row 3: cannot decode: byte 0x{byte:02X} is no character in UTF-8 or Windows-1252" in err


def test_utf8_file_with_a_late_windows_1252_byte_is_refused_not_garbled(tmp_path, capsys):
    rows = [HEADERS, exchange("Zoë Ltd")] + [exchange(f"Org {i}") for i in range(3000)]
    path = tmp_path / "mixed.csv"
    path.write_bytes(csv_text(rows).encode("utf-8") + csv_text([exchange("Café")]).encode("cp1252"))
    assert path.stat().st_size > 1 << 16  # the stray byte is beyond the first 64 KiB
    code, err = exit_and_stderr(capsys, "kpis", path)
    assert code == 2 and one_line(err) and "mixed.csv: row 3003: cannot decode: byte 0xE9 is not UTF-8" in err


@pytest.mark.parametrize("cell", ["workbook", "csv"])
def test_one_cell_size_limit_for_csv_and_xlsx(tmp_path, capsys, cell):
    row = exchange("V" * 40_000)
    if cell == "csv":
        path = tmp_path / "t.csv"
        path.write_text(csv_text([HEADERS, exchange("A"), row]), encoding="utf-8")
    else:  # written by hand: openpyxl cuts a cell at Excel's limit
        rows = [header_row(), *(f'<row r="{r}">' + "".join(inline(f"{chr(65 + i)}{r}", v) for i, v in enumerate(values)
                                                           if v) + "</row>"
                                for r, values in ((2, exchange("A")), (3, row)))]
        path = raw_xlsx(tmp_path / "t.xlsx", rows)
    code, err = exit_and_stderr(capsys, "kpis", path)
    assert code == 2 and one_line(err)
    assert "row 3: column 'VO': cell too long: 40,000 characters, a cell may hold at most 32,767" in err


def test_register_cell_over_the_limit_is_refused(tmp_path, capsys):
    register = tmp_path / "register.csv"
    register.write_text("name,country\nAxxor," + "N" * 200_000 + "\n", encoding="utf-8")
    code, err = exit_and_stderr(capsys, "check", "--register", register)
    assert code == 2 and one_line(err) and "register.csv: row 2: cell too long" in err


def test_duplicate_headers_and_sheet_on_csv_are_refused(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text(csv_text([HEADERS + ["Status"], exchange() + ["Pending"]]), encoding="utf-8")
    code, err = exit_and_stderr(capsys, "kpis", path)
    assert code == 2 and one_line(err)
    assert "two columns name Status (status): 'Status', 'Status'" in err
    path.write_text(csv_text([HEADERS, exchange()]), encoding="utf-8")
    code, err = exit_and_stderr(capsys, "kpis", path, "--sheet", "Exchanges")
    assert code == 2 and one_line(err) and "a CSV file has no sheets" in err


# --- messages -------------------------------------------------------------------------------

def test_clean_counts_rows_with_errors_not_errors(tmp_path, capsys):
    path = write_xlsx(tmp_path / "t.xlsx", [HEADERS, [None, None, "V", "alien", "nowhere", "E", "unsure", None]])
    code, err = exit_and_stderr(capsys, "clean", path, "--out", tmp_path / "out")
    assert code == 0
    assert err.startswith("1 exchange, 1 with errors (excluded from KPIs), 0 warnings")


def test_check_escapes_control_characters(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text(csv_text([HEADERS, exchange("Evil\x1b]0;owned\x07 Corp", kind="Large company"),
                              exchange("Clear\x1b[2J Ltd", kind="Public authority")]), encoding="utf-8")
    code = main(["check", str(path)])
    out = capsys.readouterr().out
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    header = [h if h != "Remarks" else "\x07Status\x1b" for h in HEADERS]  # a second Status column
    path.write_text(csv_text([header, exchange()]), encoding="utf-8")
    code, err = exit_and_stderr(capsys, "check", path)
    assert code == 2 and one_line(err) and "\x1b" not in err and "'\\x07Status\\x1b'" in err


# --- the bundled tracker, behind title rows and in other encodings ---------------------------

def bundled_rows() -> list[list[str]]:
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(DEFAULT_INPUT)).get_sheet_by_name("Exchanges").to_python(skip_empty_area=False)
    return [["" if c is None else str(int(c)) if isinstance(c, float) and c.is_integer() else str(c) for c in row]
            for row in rows]


@pytest.mark.parametrize("encoding, delimiter", [("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", ";"),
                                                 ("utf-16", "\t")])
@pytest.mark.parametrize("title", ["Tracker\x0bexport", "Tracker\x0cexport", "Tracker\u2028export",
                                   "Tracker\nexport (quoted)"])
def test_bundled_kpis_equal_behind_title_rows_in_any_encoding(tmp_path, capsys, encoding, delimiter, title):
    if encoding == "cp1252":
        title = title.replace("\u2028", " ")  # not a Windows-1252 character
    path = tmp_path / "bundled.csv"
    path.write_bytes(csv_text([[title], ["updated", "2023"], *bundled_rows()], delimiter).encode(encoding))
    assert main(["kpis", "--json", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result["actual"].values()) == GOLDEN
    from cxc_analysis.read.tracker import read_tracker

    frame = read_tracker(path)
    assert len(frame) == 47 and "Nextérité" in set(frame["visiting_org"])
    assert frame["source_row"].iloc[0] == 6  # two title rows, the D5.1 title, a blank row and the header above


# --- fuzz -----------------------------------------------------------------------------------

WORDS = st.sampled_from([*HEADERS, "Host", "Visitor", "Type of entity", "Partnership", "Event", "SME", "Inside",
                         "Outside", "Completed", "Pending", "Cluster organisation", "", "=1+1", "Zoë", "Müller"])
FUZZ_CHECKS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]  # capsys is read (so emptied) each time
CELLS = st.one_of(WORDS, st.text(max_size=20), st.text(st.characters(max_codepoint=0x3000), max_size=5))


@settings(max_examples=40, deadline=None, suppress_health_check=FUZZ_CHECKS)
@given(titles=st.lists(st.lists(CELLS, max_size=3), max_size=3),
       header=st.one_of(st.just(HEADERS), st.permutations(HEADERS), st.lists(WORDS, max_size=9)),
       body=st.lists(st.lists(CELLS, min_size=0, max_size=9), max_size=6),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1", "cp850"]),
       delimiter=st.sampled_from([",", ";", "\t"]),
       noise=st.binary(max_size=40), noise_at=st.floats(0, 1))
def test_fuzz_tracker_ends_in_exit_0_or_2_with_one_line(capsys, titles, header, body, encoding, delimiter, noise,
                                                        noise_at):
    data = csv_text([*titles, list(header), *body], delimiter).encode(encoding, errors="replace")
    cut = int(len(data) * noise_at)
    data = data[:cut] + noise + data[cut:]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes(data)
        code = main(["kpis", "--json", str(path)])
        err = capsys.readouterr().err
        assert code in (0, 2), err
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 1
        if code == 2:
            assert err.startswith("cxc-analysis: error: ") and str(path) in err


@settings(max_examples=15, deadline=None, suppress_health_check=FUZZ_CHECKS)
@given(titles=st.lists(st.lists(CELLS, max_size=3), max_size=3), body=st.lists(st.lists(CELLS, max_size=9), max_size=4))
def test_fuzz_workbook_ends_in_exit_0_or_2_with_one_line(capsys, titles, body):
    with tempfile.TemporaryDirectory() as folder:
        rows = [[c if c.isprintable() else c.encode("unicode_escape").decode() for c in row]
                for row in [*titles, HEADERS, *body]]  # openpyxl refuses control characters
        path = write_xlsx(Path(folder) / "t.xlsx", rows)
        code = main(["kpis", "--json", str(path)])
        err = capsys.readouterr().err
        assert code in (0, 2), err
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 1


# --- memory ceiling -------------------------------------------------------------------------

PEAK = """
import resource, sys
from cxc_analysis.core.errors import InputError
from cxc_analysis.read.tracker import read_tracker
try:
    outcome = f"read {len(read_tracker(sys.argv[1]))}"
except InputError as exc:
    outcome = f"refused {exc}"
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, outcome)
"""


def peak_kb_and_outcome(path: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak, outcome = proc.stdout.split(" ", 1)
    return int(peak), outcome


def test_memory_ceiling_far_cell(tmp_path):
    rows = [header_row(), f'<row r="20000">{inline("XFD20000", "x")}</row>']
    peak, outcome = peak_kb_and_outcome(raw_xlsx(tmp_path / "far.xlsx", rows))
    assert outcome.startswith("refused") and peak < GIGABYTE_KB


def test_memory_ceiling_200_mb_sheet_xml_in_a_small_file(tmp_path):
    """1.2 million identical rows without references: about 200 MB of sheet XML in a file of a few MB."""
    row = "<row>" + "".join('<c t="s"><v>0</v></c>' for _ in range(8)) + "</row>"
    rows = (row * 1000 for _ in range(1200))
    path = raw_xlsx(tmp_path / "deep.xlsx", [header_row(), *rows], shared=("Completed",))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size > 200_000_000
    assert path.stat().st_size < 2_000_000
    peak, outcome = peak_kb_and_outcome(path)
    assert outcome.startswith("refused") and "sheet too large" in outcome and peak < GIGABYTE_KB


def test_memory_ceiling_sheet_at_the_limit_is_read(tmp_path):
    """A large sheet within the limit (8 columns of 125,000 rows) is read, and stays under 1 GB (one at the
    limit itself, 8 columns of 500,000 rows, was measured too; it takes 40 s, too long for the suite)."""
    values = exchange()
    row = "<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' if v else "<c/>" for v in values) + "</row>"
    rows = (row * 1000 for _ in range(MAX_SHEET_CELLS // 8 // 4000))
    peak, outcome = peak_kb_and_outcome(raw_xlsx(tmp_path / "big.xlsx", [header_row(), *rows]))
    assert outcome.startswith("read") and peak < GIGABYTE_KB
