import json
import re
import subprocess
import sys

import pandas as pd
import pytest
from conftest import HEADERS, exchange, run_cli, write_xlsx

from cxc_analysis.cli.main import main
from cxc_analysis.core.config import DEFAULT_INPUT


@pytest.mark.e2e
def test_kpis_json_golden():
    proc = run_cli("kpis", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [result["actual"][k] for k in result["actual"]] == [42, 19, 13, 18, 2, 5, 4]
    assert [result["target"][k] for k in result["target"]] == [80, 20, 5, 40, 10, 15, 10]


def test_kpis_readable_table(capsys):
    assert main(["kpis"]) == 0
    out = capsys.readouterr().out
    rows = {cells[0]: cells[1:] for cells in (re.split(r"\s{2,}", line.strip()) for line in out.splitlines())}
    # D5.1 "Significant results": completed, pending, target and % of target per indicator
    assert rows["Exchanges"] == ["42", "5", "80", "52.5"]
    assert rows["Outside partnership"] == ["19", "0", "20", "95.0"]
    assert rows["SMEs"] == ["18", "4", "40", "45.0"] and rows["Large companies"] == ["5", "1", "15", "33.3"]


def test_clean_writes_outputs(tmp_path, capsys):
    assert main(["clean", str(DEFAULT_INPUT), "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exchanges.csv", "exchanges.parquet", "findings.csv",
                                                           "findings.parquet", "source.json"]
    assert json.loads((tmp_path / "source.json").read_text())["file"] == DEFAULT_INPUT.name
    findings = pd.read_csv(tmp_path / "findings.csv", encoding="utf-8-sig")
    assert list(findings.columns) == ["row", "column", "severity", "code", "message"]
    assert findings["row"].tolist() == [43]
    assert len(pd.read_parquet(tmp_path / "exchanges.parquet")) == 47


def test_csv_output_neutralises_formulas(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [HEADERS, exchange("=HYPERLINK(\"http://evil\",\"x\")"),
                                           exchange("@SUM(A1)"), exchange("-2+3"), exchange("Plain")])
    assert main(["clean", str(path), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "exchanges.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM" in text and "'-2+3" in text
    assert ",=" not in text and ",@" not in text
    # the parquet keeps the true names
    assert "=HYPERLINK" in pd.read_parquet(tmp_path / "out" / "exchanges.parquet")["visiting_org"].iloc[0][:10]


@pytest.mark.e2e
@pytest.mark.parametrize("make, args, expect", [
    (None, ["kpis", "{tmp}/missing.xlsx"], "missing.xlsx: file not found"),
    ("corrupt", ["kpis", "{tmp}/bad.xlsx"], "bad.xlsx: cannot read workbook"),
    ("nostatus", ["clean", "{tmp}/t.xlsx", "--out", "{tmp}/o"], "t.xlsx: sheet 'Exchanges': column 'Status'"),
    (None, ["kpis", "--sheet", "Nope"], "no sheet named 'Nope'"),
    ("targets", ["kpis", "--targets", "{tmp}/t.yaml"], "t.yaml: unknown target"),
    (None, ["clean", "--out", "data/raw"], "refusing to write under data/raw"),
])
def test_bad_input_exit_2_one_line_no_traceback(tmp_path, make, args, expect):
    if make == "corrupt":
        (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04garbage")
    elif make == "nostatus":
        write_xlsx(tmp_path / "t.xlsx", [HEADERS[:6], exchange()[:6]])
    elif make == "targets":
        (tmp_path / "t.yaml").write_text("targets:\n  smes: 3\n")
    from cxc_analysis.core.config import PROJECT_ROOT
    proc = run_cli(*[a.format(tmp=tmp_path) for a in args], cwd=PROJECT_ROOT)
    assert proc.returncode == 2
    assert expect in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):

    def boom(self, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    assert main(["clean", "--out", str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
def test_unwritable_output_is_one_line_exit_2(tmp_path):
    (tmp_path / "afile").write_text("x")
    proc = run_cli("clean", "--out", str(tmp_path / "afile"))
    assert proc.returncode == 2 and "afile" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.e2e
def test_clean_annotate_writes_findings_into_a_copy_of_the_tracker(tmp_path):
    from conftest import HEADERS, exchange, write_xlsx
    from openpyxl import load_workbook

    source = write_xlsx(tmp_path / "t.xlsx", [["My tracker"], HEADERS, exchange("A", kind="Robot"),
                                              exchange("B", eid="EG12")])
    before = source.read_bytes()
    assert run_cli("clean", str(source), "--out", str(tmp_path / "out"), "--annotate").returncode == 0
    assert source.read_bytes() == before  # the original is never written
    book = load_workbook(tmp_path / "out" / "tracker_annotated.xlsx")
    assert book.sheetnames[0] == "Findings"
    listing = [[c.value for c in row] for row in book["Findings"].iter_rows(min_row=2)]
    assert [r[:4] for r in listing] == [[3, "VO Type of entity", "error", "unknown_label"],
                                        [4, "Exchange no.", "warning", "malformed_id"]]
    assert book["Findings"]["F2"].hyperlink.location == "'Exchanges'!D3" or \
        book["Findings"]["F2"].hyperlink.target.endswith("D3")
    sheet = book["Exchanges"]
    assert sheet["D3"].value == "Robot" and "unknown label 'Robot'" in sheet["D3"].comment.text
    assert sheet["D3"].fill.start_color.rgb.endswith("FFC7CE") and sheet["A4"].fill.start_color.rgb.endswith("FFEB9C")


@pytest.mark.e2e
def test_clean_annotate_a_csv_gives_an_xlsx_of_the_same_rows(tmp_path):
    from conftest import HEADERS, exchange
    from openpyxl import load_workbook

    source = tmp_path / "t.csv"
    rows = [HEADERS, exchange("=1+2", kind="Robot"), exchange("B"), exchange("Esc\x1b[2J", kind="Bot\x07")]
    source.write_text("\n".join(";".join(c or "" for c in r) for r in rows), encoding="cp1252")
    assert run_cli("clean", str(source), "--out", str(tmp_path / "out"), "--annotate").returncode == 0
    book = load_workbook(tmp_path / "out" / "tracker_annotated.xlsx")
    sheet = book["Tracker"]
    assert [c.value for c in sheet[2]][:4] == [None, "NextMove", "=1+2", "Robot"]
    assert sheet["C2"].data_type == "s" and sheet["D2"].comment is not None
    # control characters shown as their pictures, as in report.xlsx: in the cell, its comment and the listing
    assert [c.value for c in sheet[4]][2:4] == ["Esc\u241b[2J", "Bot\u2407"]
    assert "'Bot\u2407'" in sheet["D4"].comment.text
    assert any("'Bot\u2407'" in str(row[4]) for row in book["Findings"].iter_rows(values_only=True))


@pytest.mark.e2e
def test_kpis_imports_none_of_the_reports_heavy_packages():
    """`kpis` pays for no chart, notebook or PDF package: the command line imports each command's
    modules when it runs, and the modules below the report import none of them."""
    code = ("import sys; from cxc_analysis.cli.main import main; main(['kpis', '--json']); "
            "print(sorted(m for m in ('matplotlib', 'papermill', 'nbconvert', 'weasyprint', 'jupyter_client') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
