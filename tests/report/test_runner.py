"""End to end: the notebooks run with papermill and export HTML, PDF and Excel."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import HEADERS, pdf_text, run_cli
from openpyxl import load_workbook
from pypdf import PdfReader

from cxc_analysis.core.config import DEFAULT_INPUT, NOTEBOOKS, PROJECT_ROOT


@pytest.fixture(scope="module")
def bundled_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "remobilise"
    proc = run_cli("report", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    tracker = folder / "tracker.csv"
    rows = [";".join(HEADERS),
            ';NextMove;<script>alert("x")</script>;SME;Outside;<b>Fair</b>;Completed;',
            ';NextMove;=HYPERLINK("http://evil.example","click");SME;Inside;<b>Fair</b>;Completed;',
            ";NextMove;Plain Org;large company;Inside;Expo;Waiting for Final Activity Report;"]
    tracker.write_text("\n".join(rows), encoding="utf-8")
    out = folder / "run"
    proc = run_cli("report", "--input", str(tracker), "--partnership", "TESTNET <i>", "--period", "M6 (June 2026)",
                   "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.e2e
def test_bundled_run_writes_every_deliverable(bundled_run):
    out, proc = bundled_run
    assert {p.name for p in out.iterdir()} >= {"01_clean_and_validate.ipynb", "02_kpi_report.ipynb", "report.html",
                                                "report.pdf", "report.xlsx", "provenance.json"}
    assert "report ready" in proc.stderr and not any(p.name.startswith(".") for p in out.parent.iterdir())


@pytest.mark.e2e
def test_html_has_kpis_charts_front_matter_and_no_code(bundled_run):
    html = (bundled_run[0] / "report.html").read_text(encoding="utf-8")
    table = re.search(r'<table class="data kpi">.*?</table>', html, re.S).group(0)
    cells = re.findall(r'<td class="num">([\d.]+)</td>', table)
    assert cells[:4] == ["42", "5", "80", "52.5"]  # exchanges: completed, pending, target, %
    assert [cells[i] for i in range(0, 28, 4)] == ["42", "19", "13", "18", "2", "5", "4"]
    # 7 charts (with projection and flows), the promotion activities by month (issue 22) + EU emblem
    assert html.count('src="data:image/svg+xml;base64,') == 9
    assert "Document information" in html and "101037876" in html and "COSME" in html
    assert "Contents" in html and 'href="#appendix-all-exchanges"' in html and 'id="appendix-all-exchanges"' in html
    # no code, no scripts, nothing loaded from outside
    assert "read_processed" not in html and "import " not in html and "<script" not in html
    assert not re.search(r'src="(https?:)?//', html) and "<link" not in html and "@import" not in html
    # the only outside links are the partnership's own (D5.1's web pages), never in the generated sections
    assert all(h.startswith(("#", "https://", "mailto:")) for h in re.findall(r'href="([^"]*)"', html))


@pytest.mark.e2e
def test_pdf_holds_the_kpi_table_and_appendix(bundled_run):
    path = bundled_run[0] / "report.pdf"
    reader = PdfReader(path)
    assert reader.pages[0].mediabox.width == pytest.approx(595, abs=2)  # A4 portrait
    text = pdf_text(path)
    assert re.search(r"Exchanges\s+42\s+5\s+80\s+52\.5", text)
    assert re.search(r"Outside partnership\s+19\s+0\s+20\s+95\.0", text)
    assert "Appendix: all exchanges" in text and "Polyworx" in text and "EG50WA1" in text and "Nextérité" in text
    assert f"Page 2 of {len(reader.pages)}" in text
    assert "import " not in text


@pytest.mark.e2e
def test_excel_workbook(bundled_run):
    wb = load_workbook(bundled_run[0] / "report.xlsx")
    assert wb.sheetnames[:3] == ["KPIs", "Exchanges", "Findings"]
    kpis = wb["KPIs"]
    assert [c.value for c in kpis[1]][:4] == ["KPI", "Indicator", "Completed", "Pending"]
    assert [kpis.cell(row=r, column=3).value for r in range(2, 9)] == [42, 19, 13, 18, 2, 5, 4]
    assert kpis.freeze_panes == "A2" and kpis["A1"].font.bold
    assert wb["Exchanges"].max_row == 48


@pytest.mark.e2e
def test_flows_section_counts_the_register_countries(bundled_run):
    """D5.1: NextMove and ARIA Hauts-de-France (France) host 41 exchanges; the Basque cluster and
    the Barcelona group exchange ("one HO from Spain") 6. No host is Unknown."""
    html = (bundled_run[0] / "report.html").read_text(encoding="utf-8")
    table = html[html.index('class="data counts flows"'):]
    table = table[:table.index("</table>")]
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in table.split("<tr>")]
    assert {row[0]: row[-1] for row in cells if row} == {"France": "41", "Spain": "6"}


@pytest.mark.e2e
def test_provenance(bundled_run):
    provenance = json.loads((bundled_run[0] / "provenance.json").read_text())
    assert provenance["input_file"] == DEFAULT_INPUT.name
    assert provenance["input_sha256"] == hashlib.sha256(DEFAULT_INPUT.read_bytes()).hexdigest()
    assert provenance["parameters"]["partnership"] == "REMOBILISE"
    html = (bundled_run[0] / "report.html").read_text(encoding="utf-8")
    assert provenance["input_sha256"] in html and provenance["package_version"] in html


@pytest.mark.e2e
def test_parameters_reach_the_notebooks_and_names_stay_text(hostile_run):
    wb = load_workbook(hostile_run / "report.xlsx")
    kpis = wb["KPIs"]
    assert [kpis.cell(row=r, column=3).value for r in range(2, 4)] == [2, 1]  # other input, other numbers
    assert kpis.cell(row=2, column=4).value == 1  # one pending
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    assert "TESTNET &lt;i&gt;" in html and "M6 (June 2026)" in html
    assert "Data: tracker.csv, 3 rows" in html  # the report says which file its numbers come from
    assert "&lt;script&gt;alert(" in html and "<script" not in html and "<b>Fair" not in html
    assert "Document information" not in html  # REMOBILISE's grant details are not put on another partnership
    vo = [c for c in wb["Exchanges"]["D"] if c.value and "HYPERLINK" in str(c.value)][0]
    assert vo.data_type == "s" and vo.value.startswith("=HYPERLINK")
    text = pdf_text(hostile_run / "report.pdf")
    assert '<script>alert("x")</script>' in text


@pytest.mark.e2e
def test_unknown_parameter_and_wrong_type_are_refused(tmp_path):
    proc = run_cli("report", "-p", "colour", "blue", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "unknown setting 'colour'" in proc.stderr
    settings = tmp_path / "run.yaml"
    settings.write_text("partnership: X\nperiod: 12\n")
    proc = run_cli("report", "--params", str(settings), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "'period' must be text (str), not 12" in proc.stderr and "run.yaml" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r").exists()


@pytest.mark.e2e
def test_bad_input_is_exit_2(tmp_path):
    proc = run_cli("report", "--input", str(tmp_path / "none.xlsx"), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "none.xlsx: file not found" in proc.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(HEADERS) + "\n")
    proc = run_cli("report", "--input", str(empty), "--partnership", "X", "--period", "M1", "--out", str(tmp_path / "e"))
    assert proc.returncode == 2 and "empty.csv: no exchanges to report" in proc.stderr and not (tmp_path / "e").exists()
    bad = tmp_path / "t.csv"
    bad.write_text("a,b\n1,2\n")
    proc = run_cli("report", "--input", str(bad), "--partnership", "X", "--period", "M1", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "t.csv" in proc.stderr and "Traceback" not in proc.stderr
    # the tracker is read before any notebook runs: nothing is started, nothing is left behind
    assert not (tmp_path / "r").exists() and not (tmp_path / "r_FAILED").exists()


@pytest.mark.e2e
def test_failing_notebook_leaves_no_report(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "data" / "raw", root / "data" / "raw")
    shutil.copytree(NOTEBOOKS, root / "notebooks")
    nb = nbformat.read(root / "notebooks" / "02_kpi_report.ipynb", as_version=4)
    nb.cells[6].source = 'raise RuntimeError("chart broke")'
    nbformat.write(nb, root / "notebooks" / "02_kpi_report.ipynb")
    out = root / "reports" / "run"
    proc = subprocess.run([sys.executable, "-m", "cxc_analysis", "report", "--out", str(out)], capture_output=True,
                          text=True, env={**os.environ, "CXC_ROOT": str(root)}, timeout=600)
    assert proc.returncode == 1
    assert "02_kpi_report.ipynb failed at cell In [" in proc.stderr
    assert '`raise RuntimeError("chart broke")`' in proc.stderr and proc.stderr.count("Traceback") == 0
    assert not out.exists()
    failed = out.with_name("run_FAILED")
    assert sorted(p.name for p in failed.glob("*.ipynb")) == ["01_clean_and_validate.ipynb", "02_kpi_report.ipynb"]
    assert not list(failed.glob("report.*"))


@pytest.mark.e2e
def test_notebooks_run_with_plain_papermill_from_anywhere(tmp_path):
    out = tmp_path / "out.ipynb"
    proc = subprocess.run([sys.executable, "-m", "papermill", str(NOTEBOOKS / "02_kpi_report.ipynb"), str(out),
                           "-p", "partnership", "PLAIN", "-p", "processed_dir", str(tmp_path / "p")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "42" in out.read_text() and (tmp_path / "p" / "exchanges.parquet").exists()


def test_every_parameter_has_a_type_and_help():
    import papermill

    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))  # the report's two and the exploration notebook
    assert notebooks, f"no notebook in {NOTEBOOKS}"
    for nb_path in notebooks:
        params = {k: {"type": v["inferred_type_name"], "help": v["help"]}
                  for k, v in papermill.inspect_notebook(str(nb_path)).items()}
        nb = nbformat.read(nb_path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        names = re.findall(r"^(\w+)\s*:", cell.source, re.M)
        for name in names:
            assert params[name]["type"] != "None" and params[name]["help"], (nb_path.name, name)


@pytest.mark.e2e
def test_programme_rules_section_and_sheet(bundled_run):
    html = (bundled_run[0] / "report.html").read_text(encoding="utf-8")
    section = html.split('id="programme-rules"')[1].split('id="data-quality"')[0]
    def counts(rule):
        row = re.search(rf"<tr><td[^>]*>{rule}</td>.*?</tr>", section, re.S).group(0)
        return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row)]

    assert counts("Cross-border") == [28, 0, 0, 19]  # pass, fail, of which warnings, cannot check
    assert counts("Visitor type") == [47, 0, 0, 0]  # the bundled rule set applies the call: six types
    assert "19 visitor country unknown (not in the tracker or the register)" in section  # beside its count
    assert "cross_border" not in section and "cluster_organisation" not in section  # plain words only
    assert "SAMS Norway" in section and "register row 14 (source: https://www.sams-norway.no/" in section
    # The rule set used, and every limit with its source.
    assert "clusterxchange_cosme.yaml" in section and "https://clustercollaboration.eu/clusterxchange/about" in section
    assert "applied: halve" in section and "2003/361/EC" in section
    sheet = load_workbook(bundled_run[0] / "report.xlsx")["Programme rules"]
    assert sheet.max_row == 1 + 47 * 8


@pytest.mark.e2e
def test_out_never_replaces_a_folder_that_is_not_a_run(tmp_path):
    keep = tmp_path / "thesis"
    keep.mkdir()
    (keep / "thesis.docx").write_text("years of work")
    proc = run_cli("report", "--out", str(keep))
    assert proc.returncode == 2 and "is not a cxc-analysis report run" in proc.stderr
    assert (keep / "thesis.docx").read_text() == "years of work"
    proc = run_cli("report", "--out", str(PROJECT_ROOT / "data"))
    assert proc.returncode == 2 and "data/raw" in proc.stderr


@pytest.mark.e2e
def test_relative_paths_other_partnership_and_string_parameters(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv").write_text("HO,VO,VO Type of entity,Partnership,Status\n"
                                           "Host,A,SME,inside,Completed\nHost,B,SME,outside,Completed\n")
    proc = subprocess.run([sys.executable, "-m", "cxc_analysis", "report", "--input", "in/x.csv", "--partnership",
                           "OTHER", "-p", "period", "2024", "--out", "run"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "no targets file for OTHER" in proc.stderr
    kpis = load_workbook(tmp_path / "run" / "report.xlsx")["KPIs"]
    assert [kpis.cell(row=r, column=3).value for r in (2, 3)] == [2, 1]
    assert all(kpis.cell(row=r, column=5).value is None for r in range(2, 9))  # not REMOBILISE's targets
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "At 2024, OTHER has completed" in html and "grant agreement (" not in html


def test_front_matter_claims_the_deliverable_only_for_its_period():
    from cxc_analysis.report.runner import PROJECT_KEYS, front_matter

    notes = []
    d51 = front_matter("REMOBILISE", "M12 (January 2023)", None, notes.append)["deliverable"]
    assert d51["deliverable_number"] == "D5.1" and d51["grant_agreement"] == "101037876"
    later = front_matter("REMOBILISE", "M24 (January 2024)", None, notes.append)["deliverable"]
    assert set(later) == set(PROJECT_KEYS) and "deliverable_number" not in later
    assert "deliverable" not in front_matter("OTHER", "M6", None, notes.append) and notes


@pytest.mark.e2e
def test_report_on_a_20000_row_synthetic_tracker(tmp_path):
    """At scale the report stays a document: listings cut at their limits (saying how many are left
    out and where they are), the workbook and data folder hold every exchange, KPIs exact."""
    from python_calamine import CalamineWorkbook

    from cxc_analysis.report.sections.present import APPENDIX_LIMIT
    from cxc_analysis.synth import write_synth

    tracker = tmp_path / "big.csv"
    truth = write_synth(tracker, 20_000, seed=8, duplicates=20)
    proc = run_cli("report", "--input", str(tracker), "--partnership", "SCALE", "--period", "M36", "--out",
                   str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "run"
    html = (run / "report.html").read_text(encoding="utf-8")
    assert f"The first {APPENDIX_LIMIT} of 20,000 exchanges are listed here; the other {20_000 - APPENDIX_LIMIT:,} " \
           "are in report.xlsx (sheet Exchanges) and data/exchanges.csv" in html
    appendix = re.search(r'<table class="data appendix">.*?</table>', html, re.S).group(0)
    assert appendix.count("<tr>") == 1 + APPENDIX_LIMIT
    assert "fails and warnings are listed here" in html and "Other (" in html
    assert len(PdfReader(run / "report.pdf").pages) <= 60
    book = CalamineWorkbook.from_path(str(run / "report.xlsx"))
    exchanges = book.get_sheet_by_name("Exchanges").to_python()
    assert len(exchanges) == 1 + 20_000 and exchanges[0][0] == "Row"
    kpis = book.get_sheet_by_name("KPIs").to_python()
    assert [int(r[2]) for r in kpis[1:8]] == list(truth.actual.values())
    assert sum(1 for _ in open(run / "data" / "exchanges.csv", encoding="utf-8-sig")) == 1 + 20_000
