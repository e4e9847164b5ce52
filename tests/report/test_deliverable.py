"""The deliverable as a reviewer and an archive read it: what it says it lacks, what it never
leaks, and the PDF/A-3 with its attachments, tags and text alternatives (issue 11)."""

import datetime as dt
import hashlib
import json
import re

import pytest
from conftest import pdf_text, run_cli
from openpyxl import load_workbook
from pypdf import PdfReader

NEWCOMER_HEADERS = ["HO", "VO", "VO Type of entity", "Inside/outside partnership", "(Group) exchange", "Status",
                    "HO country", "VO country", "Start date", "End date", "Amount (EUR)"]


def newcomer_rows() -> list[list[str]]:
    """15 exchanges of another partnership, 3 of them with errors (rows 3, 8 and 12 in the file)."""
    rows = []
    for i in range(15):
        kind = ["SME", "Cluster organisation", "large company"][i % 3]
        status = "Completed" if i % 5 else "Waiting for Final Activity Report"
        rows.append([f"Host {i % 4}", f"Visitor {i}", kind, "Inside" if i % 2 else "Outside", f"Event {i % 3}",
                     status, ["DE", "FR", "IT"][i % 3], ["FR", "DE", "ES", ""][i % 4],
                     f"2023-0{1 + i % 9}-02", f"2023-0{1 + i % 9}-06", "1100" if i % 4 else "550"])
    rows[1][2] = "Cluster organsation"  # a typo: unknown label, an error (file row 3)
    rows[6][3] = "Associated"  # unknown partnership (file row 8)
    rows[10][5] = ""  # missing status (file row 12)
    return rows


@pytest.fixture(scope="module")
def newcomer_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("private-folder-of-ana")
    tracker = folder / "newcomer.csv"
    tracker.write_text("\n".join(",".join(r) for r in [NEWCOMER_HEADERS, *newcomer_rows()]), encoding="utf-8")
    out = folder / "run"
    proc = run_cli("report", "--input", str(tracker), "--partnership", "NEWCOMER", "--period", "M6 (June 2023)",
                   "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.e2e
def test_report_says_it_has_no_targets_and_draws_none(newcomer_run):
    html = (newcomer_run / "report.html").read_text(encoding="utf-8")
    assert "No targets supplied" in html
    assert "Progress against the grant-agreement targets" not in html  # the chart's title (and alt) without targets
    assert 'alt="Bar chart, completed and pending exchanges: Exchanges: ' in html
    section = html.split('id="progress-against-the-targets"')[1].split("<h2")[0]
    assert "target" not in re.search(r'alt="([^"]*)"', section).group(1).lower()


@pytest.mark.e2e
def test_headline_says_rows_were_left_out_with_agreement(newcomer_run):
    html = (newcomer_run / "report.html").read_text(encoding="utf-8")
    headline = re.search(r'<p class="headline">(.*?)</p>', html, re.S).group(1)
    # 12 usable rows; rows with i % 5 == 0 are pending: i = 0, 5 (i = 10 has no status: an error)
    assert "<strong>10</strong> exchanges (no targets supplied), and 2 more are under way" in headline
    assert "3 of 15 rows have errors and are not counted (see Data quality)." in headline


@pytest.mark.e2e
def test_error_rows_show_the_label_as_written_marked(newcomer_run):
    html = (newcomer_run / "report.html").read_text(encoding="utf-8")
    appendix = html.split('id="appendix-all-exchanges"')[1]
    assert '<span class="as-written">Cluster organsation</span> <em>(as written)</em>' in appendix
    assert '<span class="as-written">Associated</span> <em>(as written)</em>' in appendix


@pytest.mark.e2e
def test_no_local_paths_and_no_unused_files_in_the_deliverable(newcomer_run):
    html = (newcomer_run / "report.html").read_text(encoding="utf-8")
    text = pdf_text(newcomer_run / "report.pdf")
    for shown in (html, text):
        assert "private-folder-of-ana" not in shown and "/tmp" not in shown and str(newcomer_run.parent) not in shown
    about = html.split('id="about-this-report"')[1]
    assert "newcomer.csv (SHA-256 " in about
    assert "remobilise_deliverable.yaml" not in about and "Deliverable file" not in about
    assert not re.search(r"<td>\s*</td>", about)  # no parameter printed as an empty row
    assert "Parameter sheet" not in about and "Parameter period" in about
    provenance = json.loads((newcomer_run / "provenance.json").read_text())
    assert "deliverable" not in provenance["files"]  # not used for another partnership
    assert provenance["files"]["input"]["file"].endswith("newcomer.csv")  # paths stay in provenance.json


def test_identical_findings_share_one_line(tmp_path):
    import pandas as pd

    from cxc_analysis.report.sections.present import findings_html

    findings = pd.DataFrame({"row": [9, 4, 5], "column": ["HO"] * 3, "severity": ["warning"] * 3,
                             "code": ["formula_like_text"] * 3, "message": ["HO starts like a formula"] * 3})
    html = findings_html(findings)
    assert html.count("<tr>") == 2 and "<td class=\"\">4, 5, 9</td>" in html


def test_identical_rule_results_share_one_line():
    import pandas as pd

    from cxc_analysis.report.sections.present import rule_failures_html

    message = "warning: VO is a large company: visitors are ..."
    fails = pd.DataFrame({"row": [9, 3, 5, 7], "rule": ["vo_type"] * 3 + ["cross_border"],
                          "outcome": ["fail"] * 4, "severity": ["warning"] * 3 + [None],
                          "message": [message] * 3 + ["host and visitor both in FR"]})
    table = pd.DataFrame({"source_row": [3, 5, 7, 9], "host_org": ["H1", "H2", "H1", "H1"],
                          "visiting_org": ["A", "B", "C", "A"]})
    html = rule_failures_html(fails, table)
    assert html.count("VO is a large company") == 1 and html.count("<tr>") == 3  # header + two lines
    assert '<td class="">3, 5, 9</td><td class="">H1; H2</td><td class="">A; B</td>' in html


@pytest.mark.e2e
def test_excel_dates_about_sheet_and_properties(newcomer_run):
    wb = load_workbook(newcomer_run / "report.xlsx")
    assert wb.properties.creator.startswith("cxc-analysis") and "NEWCOMER" in wb.properties.subject
    about = {r[0].value: r[1].value for r in wb["About"].iter_rows(min_row=2)}
    assert about["Partnership"] == "NEWCOMER" and about["Reporting period"] == "M6 (June 2023)"
    tracker = newcomer_run.parent / "newcomer.csv"
    assert about["Input SHA-256"] == hashlib.sha256(tracker.read_bytes()).hexdigest()
    assert about["Input file"] == "newcomer.csv"
    sheet = wb["Exchanges"]
    header = [c.value for c in sheet[1]]
    start = sheet.cell(row=2, column=header.index("Start date") + 1)
    assert isinstance(start.value, dt.datetime) and start.number_format == "yyyy-mm-dd"


@pytest.mark.e2e
def test_pdf_is_pdf_a3_tagged_with_its_three_attachments(newcomer_run):
    reader = PdfReader(newcomer_run / "report.pdf")
    xmp = reader.xmp_metadata.stream.get_data().decode("utf-8")
    assert 'pdfaid:part="3"' in xmp and re.search(r'pdfaid:conformance="[AU]"', xmp)
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root and root["/Lang"] == "en"
    attached = {name: content[0] for name, content in reader.attachments.items()}
    assert set(attached) == {"report.xlsx", "exchanges.csv", "provenance.json"}
    assert len(root["/AF"]) == 3  # each associated file once
    for name, where in (("report.xlsx", "report.xlsx"), ("exchanges.csv", "data/exchanges.csv"),
                        ("provenance.json", "provenance.json")):
        assert hashlib.sha256(attached[name]).hexdigest() == hashlib.sha256((newcomer_run / where).read_bytes()).hexdigest()
    info = reader.metadata
    assert info.title and info.author == "NEWCOMER" and "ClusterXchange" in info.subject
    assert "ClusterXchange" in info.get("/Keywords", "")


def figures_alt_texts(reader: PdfReader) -> list[str | None]:
    """The /Alt of every /Figure structure element of a tagged PDF."""
    found = []

    def walk(node):
        node = node.get_object()
        if isinstance(node, list):
            for kid in node:
                walk(kid)
            return
        if not hasattr(node, "get"):
            return
        if node.get("/S") == "/Figure":
            found.append(node.get("/Alt"))
        if "/K" in node:
            walk(node["/K"])

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found


@pytest.mark.e2e
def test_every_chart_has_a_text_alternative_in_pdf_and_html(bundled_report):
    alts = figures_alt_texts(PdfReader(bundled_report / "report.pdf"))
    assert len(alts) >= 5 and all(alts)
    assert any("Exchanges: 42 completed, 5 pending, target 80" in a for a in alts)
    html = (bundled_report / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'<figure class="chart"><img [^>]*>', html)
    assert images and all(re.search(r'alt="[^"]{30,}"', img) for img in images)
    assert '<html lang="en">' in html and 'scope="col"' in html
    import base64

    for uri in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html):
        assert "<title>" in base64.b64decode(uri).decode("utf-8")


@pytest.fixture(scope="module")
def bundled_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundled") / "run"
    proc = run_cli("report", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.e2e
def test_cover_carries_the_eu_emblem_with_the_funding_statement(bundled_report):
    html = (bundled_report / "report.html").read_text(encoding="utf-8")
    cover = html.split('class="cover"')[1].split("</section>")[0]
    assert 'alt="Emblem of the European Union"' in cover and "COSME Programme under grant agreement" in cover
    alts = figures_alt_texts(PdfReader(bundled_report / "report.pdf"))
    assert "Emblem of the European Union" in alts


def test_previous_is_a_run_file_key_resolved_like_the_others(tmp_path):
    from cxc_analysis.report.settings import read_runs

    (tmp_path / "runs.yaml").write_text("runs:\n  - {partnership: X, input: a.csv, previous: old/a.csv}\n")
    runs, _ = read_runs(tmp_path / "runs.yaml")
    assert runs[0]["previous"] == str((tmp_path / "old" / "a.csv").resolve())
