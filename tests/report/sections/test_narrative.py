"""The deliverable beyond its figures (issue 22): the partnership's Markdown sections, the
promotion log counted, the partners, placed in the deliverable file's order; hostile Markdown inert."""

import base64
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import pdf_text, run_cli
from openpyxl import load_workbook
from pypdf import PdfReader

from cxc_analysis.core.config import NOTEBOOKS
from cxc_analysis.core.errors import InputError
from cxc_analysis.read.activities import read_activities
from cxc_analysis.report.deliverable import assemble, narrative_for
from cxc_analysis.report.export import report_headings
from cxc_analysis.report.sections.activities import kind_counts, reach, results_html
from cxc_analysis.report.sections.narrative import render_markdown
from cxc_analysis.table.activities import clean_activities

ROOT = Path(__file__).resolve().parents[3]
D51_LOG = ROOT / "data" / "raw" / "remobilise_d51" / "activities.csv"
REPORT_NOTEBOOK = NOTEBOOKS / "02_kpi_report.ipynb"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
HOSTILE = """# Hello <b>world</b>

<script>alert("pwned")</script>

<img src="https://evil.example/track.png" onerror="alert(1)">

[click](javascript:alert(1)) [also](JaVaScRiPt:alert(2)) [data](data:text/html;base64,PHNjcmlwdD4=)
[fine](https://remobilise.eu/) [mail](mailto:info@example.org) [file](file:///etc/passwd)

![tracker](https://evil.example/pixel.gif) ![local](logo.png)

| a | b |
|---|---|
| <iframe src="https://evil.example"></iframe> | 2 |
"""


def attributes(html: str) -> list[tuple[str, str, str]]:
    """Every (tag, attribute, value) of the markup: what a browser would act on, not text."""
    from html.parser import HTMLParser

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend((tag, name, value or "") for name, value in attrs)

    Collect().feed(html)
    return found


def log_table(text: str, tmp_path: Path, name: str = "log.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return clean_activities(read_activities(path))


# --- the promotion log --------------------------------------------------------------------

def test_d51_log_counts_the_head_counts_the_report_states():
    table, findings = clean_activities(read_activities(D51_LOG))
    # D5.1: five employees in Regensburg, 33 at the Bayerischer Innovationskongress, ten from Pilsen
    counts = dict(zip(table["activity"], table["participants"]))
    regensburg = [n for a, n in counts.items() if "Regensburg" in a]
    assert regensburg == [5]
    assert [n for a, n in counts.items() if "Bayerischer Innovationskongress" in a] == [33]
    assert [n for a, n in counts.items() if "Pilsen" in a] == [10]
    r = reach(table)
    assert r["participants"] == 5 + 33 + 10
    assert r["without_head_count"] == len(table) - 3
    assert findings.empty  # the bundled log is read with certainty
    by_kind = kind_counts(table).set_index("kind")
    assert by_kind.loc["digital_event", "participants"] == 5
    assert by_kind.loc["physical_event", "participants"] == 33 + 10
    assert by_kind.loc["video", "activities"] == 1
    # the Bayerischer Innovationskongress has no date in D5.1: listed as undated, not dropped
    bik = table[table["activity"].str.contains("Innovationskongress")].iloc[0]
    assert bik["date_shown"] == "undated" and pd.isna(bik["month"])
    assert table.loc[table["activity"].str.contains("Pilsen"), "date_shown"].tolist() == ["2022-07-25"]
    assert table.loc[table["kind"] == "video", "date_shown"].tolist() == ["2022-12"]  # "December 2022"


def test_uncertain_dates_and_head_counts_are_findings_never_guesses(tmp_path):
    table, findings = log_table(
        "Datum;Aktivität;Art;Ort;Teilnehmer\n"
        "04.04.2022;Präsentation;Digitale Veranstaltung;Regensburg;5\n"
        "25.07.2022;Delegation;Veranstaltung;;ca. 30\n"
        "Frühling 2022;Messe;Messe;;33 participants\n"
        ";Webseite;Online;;\n"
        "2022-05-01;Gala;Galadinner;;12\n", tmp_path)
    assert table["participants"].isna().tolist() == [False, True, True, True, False]
    assert int(table["participants"].sum()) == 5 + 12  # "ca. 30" and "33 participants" are not counted
    assert len(table) == 5  # nothing dropped: the undated and the unreadable are listed
    assert table["date_shown"].tolist()[2:4] == ["undated (Frühling 2022)", "undated"]
    got = set(zip(findings["row"], findings["code"]))
    assert got == {(3, "uncertain_participants"), (4, "uncertain_date"), (4, "uncertain_participants"),
                   (6, "unknown_kind")}
    assert findings.loc[findings["code"] == "uncertain_participants", "column"].unique().tolist() == ["Teilnehmer"]


@pytest.mark.parametrize("header, kinds", [
    ("Date,Activité,Type,Lieu,Participants", ["événement numérique", "Vidéo", "en ligne"]),
    ("Fecha,Actividad,Tipo,Lugar,Participantes", ["evento digital", "vídeo", "redes sociales"]),
    ("Data,Attività,Tipo,Luogo,Partecipanti", ["evento digitale", "video", "sito web"]),
    ("Datum,Activiteit,Soort,Plaats,Deelnemers", ["digitaal evenement", "video", "website"]),
    ("Data,Atividade,Tipo,Local,Participantes", ["evento digital", "vídeo", "redes sociais"]),
])
def test_log_headers_and_kinds_read_in_the_partners_languages(tmp_path, header, kinds):
    rows = [f"2022-0{i + 1}-10,Something {i},{kind},,{i}" for i, kind in enumerate(kinds)]
    table, findings = log_table("\n".join([header, *rows]) + "\n", tmp_path)
    assert table["kind"].tolist() == ["digital_event", "video", "online"]
    assert table["participants"].tolist() == [0, 1, 2] and findings.empty


def test_log_in_a_workbook_with_a_title_row(tmp_path):
    from conftest import write_xlsx

    path = write_xlsx(tmp_path / "log.xlsx", [["Promotion log 2022"], ["Date", "Activity", "Kind", "Participants"],
                                              ["2022-04-04", "Talk", "Digital event", 5.0]], sheet="Activities")
    table, findings = clean_activities(read_activities(path))
    assert table["participants"].tolist() == [5] and table["source_row"].tolist() == [3] and findings.empty


def test_log_workbook_cells_hold_dates_and_numbers(tmp_path):
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Aktivitäten"
    for row in (["Datum", "Aktivität", "Art", "Teilnehmer"], [dt.datetime(2022, 4, 4), "Vortrag", "Webinar", 5],
                [dt.date(2022, 7, 25), "Delegation", "Veranstaltung", 10.0], [None, "Kongress", "Kongress", 33.5]):
        sheet.append(row)
    book.save(tmp_path / "log.xlsx")
    table, findings = clean_activities(read_activities(tmp_path / "log.xlsx"))
    assert table["date_shown"].tolist() == ["2022-04-04", "2022-07-25", "undated"]
    assert table["participants"].tolist()[:2] == [5, 10] and pd.isna(table["participants"].iloc[2])
    assert findings[["row", "code"]].values.tolist() == [[4, "uncertain_participants"]]  # 33.5 people: not certain


def test_log_without_kind_column_is_exit_2_naming_it(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("Date,Activity,Place\n2022-01-01,x,y\n", encoding="utf-8")
    with pytest.raises(InputError, match="required column missing: kind"):
        read_activities(path)


def test_significant_results_against_activity_targets(tmp_path):
    table, _ = log_table("Date,Activity,Kind,Participants\n2022-01-02,a,video,\n2022-02-02,b,webinar,40\n", tmp_path)
    html = results_html(table, {"activities": 8, "participants": 50})
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">([^<]*)</td><td class=\"num\">([^<]*)</td>"
                      r"<td class=\"num\">([^<]*)</td></tr>", html)
    assert rows[0] == ("Promotion activities", "2", "8", "25%")
    assert rows[1] == ("Participants reached (known head counts)", "40", "50", "80%")


# --- Markdown ----------------------------------------------------------------------------

def test_hostile_markdown_comes_out_inert(tmp_path):
    (tmp_path / "logo.png").write_bytes(PNG)
    html = render_markdown(HOSTILE, tmp_path).html
    assert "<script" not in html and "<iframe" not in html and "<b>" not in html and "onerror=\"" not in html
    assert "&lt;script&gt;" in html  # shown as text, not dropped
    assert 'href="javascript' not in html.lower() and 'href="data:' not in html and 'href="file:' not in html
    assert ">click<" not in html and "click also data" in html  # unsafe links keep their words, lose the link
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == ["https://remobilise.eu/", "mailto:info@example.org"]
    srcs = re.findall(r'src="([^"]*)"', html)
    assert srcs == ["data:image/png;base64," + base64.b64encode(PNG).decode()]  # the local image only
    assert "[image not embedded: tracker]" in html and 'src="https://evil' not in html
    assert "<table>" in html and "<td>2</td>" in html


def test_markdown_headings_shift_one_level_and_keep_the_words(tmp_path):
    rendered = render_markdown("# Issues and problems\n\nWe re-entered *27* exchanges.\n\n## CXC survey\n", tmp_path,
                               taken={"issues-and-problems"})
    assert rendered.headings == [{"level": 2, "text": "Issues and problems", "id": "issues-and-problems-2"},
                                 {"level": 3, "text": "CXC survey", "id": "cxc-survey"}]
    assert "<p>We re-entered <em>27</em> exchanges.</p>" in rendered.html


def test_missing_local_image_names_its_path(tmp_path):
    with pytest.raises(InputError, match="missing.png"):
        render_markdown("![x](missing.png)", tmp_path)


# --- the deliverable file -----------------------------------------------------------------

def write_deliverable(tmp_path: Path, body: str) -> Path:
    (tmp_path / "a.md").write_text("# First\n\nOne.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Second\n\nTwo.\n", encoding="utf-8")
    (tmp_path / "c.md").write_text("# Third\n\n![a picture](gone.png)\n", encoding="utf-8")
    (tmp_path / "log.csv").write_text("Date,Activity,Kind,Participants\n2022-03-01,Talk,webinar,7\n", encoding="utf-8")
    path = tmp_path / "deliverable.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize("body, message", [
    ("section:\n  - a.md\n", "unknown key 'section' (did you mean 'sections'?)"),
    ("sections:\n  - nothere.md\n", "nothere.md: section file not found"),
    ("sections:\n  - file: a.md\n    afer: Programme rules\n", "unknown key 'sections: item 1: afer' (did you mean 'after'?)"),
    ("sections:\n  - file: a.md\n    after: Programme rule\n", "no report section 'Programme rule' (did you mean 'Programme rules'?)"),
    ("sections:\n  - show: partner\n", "did you mean 'partners'?"),
    ("activities: none.csv\n", "none.csv: activities log not found"),
    ("activity_targets: {activity: 3}\n", "unknown key 'activity_targets: activity' (did you mean 'activities'?)"),
    ("partners:\n  - {name: X, county: FR}\n", "unknown key 'partners: item 1: county' (did you mean 'country'?)"),
    ("sections:\n  - c.md\n", "gone.png: image not found"),
    ("activities: a.md\n", "unsupported file type '.md' for the activities log"),
])
def test_deliverable_file_is_strict(tmp_path, body, message):
    path = write_deliverable(tmp_path, body)
    with pytest.raises(InputError) as caught:
        narrative_for(path, "X", "M1", REPORT_NOTEBOOK)
    assert message in str(caught.value)


def test_sections_come_in_the_files_order_and_where_placed(tmp_path):
    path = write_deliverable(tmp_path, "sections:\n  - b.md\n  - a.md\n  - file: a.md\n    after: Programme rules\n"
                                       "activities: log.csv\npartners:\n  - {name: NextMove, country: France}\n")
    narrative = narrative_for(path, "X", "M1", REPORT_NOTEBOOK)
    nb = assemble(nbformat.read(REPORT_NOTEBOOK, as_version=4), narrative, "X").notebook
    texts = [h["text"] for h in report_headings(nb) if h["level"] == 2]
    assert texts[:4] == ["Second", "First", "Promotion activities", "Significant results"]
    assert texts[texts.index("Programme rules") + 1] == "First" and texts[-1] == "X partners"
    ids = [h["id"] for h in report_headings(nb)]
    assert len(ids) == len(set(ids))  # the same file twice gets two anchors


def test_bundled_deliverable_only_for_the_report_it_was_written_for():
    assert narrative_for(None, "OTHER", "M12 (January 2023)", REPORT_NOTEBOOK).parts == []
    assert narrative_for(None, "REMOBILISE", "M24", REPORT_NOTEBOOK).parts == []
    assert len(narrative_for(None, "REMOBILISE", "M12 (January 2023)", REPORT_NOTEBOOK).partners) == 5


@pytest.mark.e2e
def test_starter_is_a_deliverable_the_report_reads(tmp_path):
    proc = run_cli("deliverable", str(tmp_path / "ours"))
    assert proc.returncode == 0, proc.stderr
    narrative = narrative_for(tmp_path / "ours" / "deliverable.yaml", "OURS", "M6", REPORT_NOTEBOOK)
    assert [Path(p.what).name for p in narrative.parts if isinstance(p.what, Path)] == [
        "01-abstract.md", "02-executive-summary.md", "03-issues-and-problems.md", "04-digital-promotion.md",
        "05-next-steps.md"]
    assert read_activities(narrative.activities).empty
    again = run_cli("deliverable", str(tmp_path / "ours"))
    assert again.returncode == 2 and "already exists" in again.stderr


# --- end to end ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deliv")
    (folder / "sections").mkdir()
    (folder / "sections" / "logo.png").write_bytes(PNG)
    (folder / "sections" / "intro.md").write_text("# Our introduction\n\nWe promoted ClusterXchange.\n",
                                                  encoding="utf-8")
    (folder / "sections" / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    (folder / "sections" / "after.md").write_text("# Lessons learnt\n\nAfter the rules.\n", encoding="utf-8")
    (folder / "log.csv").write_text(D51_LOG.read_text(encoding="utf-8") + ",Stand,Messe,,ca. 30,,\n",
                                    encoding="utf-8")
    (folder / "deliverable.yaml").write_text(
        "title: 'TESTPARTNERSHIP: deliverable'\ndeliverable: {acronym: TP, deliverable_number: D5.1}\n"
        "sections:\n  - sections/intro.md\n  - sections/hostile.md\n  - file: sections/after.md\n"
        "    after: Programme rules\nactivities: log.csv\nactivity_targets: {activities: 24, participants: 96}\n"
        "partners:\n  - {name: NextMove, country: France, description: Mobility cluster.}\n", encoding="utf-8")
    out = folder / "run"
    proc = run_cli("report", "--input", str(ROOT / "data" / "raw" / "remobilise_d51_exchanges.xlsx"),
                   "--partnership", "TP", "--period", "M12", "--deliverable", str(folder / "deliverable.yaml"),
                   "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.e2e
def test_report_carries_sections_activities_and_partners_in_order(hostile_run):
    html = (hostile_run / "report.html").read_text(encoding="utf-8")
    toc = re.search(r'<nav class="toc">.*?</nav>', html, re.S).group(0)
    entries = re.findall(r'<li class="toc-2"><a href="#([^"]+)">', toc)
    assert entries[:4] == ["our-introduction", "hello-b-world-b", "promotion-activities", "significant-results"]
    assert "Hello &lt;b&gt;world&lt;/b&gt;</a>" in toc  # raw HTML in a heading is shown as text, in the contents too
    assert entries[entries.index("programme-rules") + 1] == "lessons-learnt"
    assert entries[-2:] == ["tp-partners", "about-this-report"]
    for anchor in entries:
        assert f'id="{anchor}"' in html
    assert "13 promotion activities reached 48 participants" in html  # D5.1's 12 and a 13th without a usable count
    assert "<strong>NextMove (France)</strong>: Mobility cluster." in html
    found = attributes(html)
    assert not {tag for tag, _, _ in found} & {"script", "iframe", "object", "embed", "link", "b"}
    assert not [a for _, a, _ in found if a.startswith("on")]  # no event handlers
    assert all(v.startswith("data:") for _, a, v in found if a == "src")  # nothing loaded from outside
    assert all(v.startswith(("#", "https://", "http://", "mailto:")) for _, a, v in found if a == "href")
    assert ("a", "href", "https://remobilise.eu/") in found
    text = pdf_text(hostile_run / "report.pdf")
    assert "Our introduction" in text and "Lessons learnt" in text and "TP partners" in text
    assert re.search(r"Promotion activities\s+13\s+24\s+54%", text)
    assert re.search(r"Participants reached \(known head counts\)\s+48\s+96\s+50%", text)


@pytest.mark.e2e
def test_pdf_bookmarks_attachment_and_workbook_sheet(hostile_run):
    reader = PdfReader(hostile_run / "report.pdf")

    def titles(outline):
        for item in outline:
            yield from (titles(item) if isinstance(item, list) else [item.title])

    marks = list(titles(reader.outline))
    assert marks.index("Our introduction") < marks.index("Promotion activities") < marks.index("Significant results")
    assert "Lessons learnt" in marks and "TP partners" in marks
    assert "promotion_activities.csv" in reader.attachments
    assert reader.attachments["promotion_activities.csv"][0].decode("utf-8").count("\n") == 14  # header + 13
    files = reader.trailer["/Root"]["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = {files[i]: files[i + 1].get_object() for i in range(0, len(files), 2)}["promotion_activities.csv"]
    assert "promotion and dissemination log" in spec["/Desc"] and spec["/AFRelationship"] == "/Source"
    sheet = load_workbook(hostile_run / "report.xlsx", read_only=True)["Promotion activities"]
    rows = list(sheet.values)
    assert rows[0][:3] == ("Row", "Date", "Activity") and len(rows) == 1 + 13
    findings = list(load_workbook(hostile_run / "report.xlsx", read_only=True)["Promotion log findings"].values)
    assert findings[1][0] == 14 and findings[1][3] == "Head count that cannot be read with certainty"


@pytest.mark.e2e
def test_report_refuses_an_unknown_deliverable_key_before_running(tmp_path):
    path = write_deliverable(tmp_path, "sections:\n  - a.md\nactivites: log.csv\n")
    proc = run_cli("report", "--deliverable", str(path), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    assert "unknown key 'activites'; did you mean 'activities'?" in proc.stderr
    assert "running" not in proc.stderr and not (tmp_path / "run").exists()
