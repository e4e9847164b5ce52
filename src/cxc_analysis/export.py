"""Deliverables from an executed notebook: self-contained HTML (our nbconvert template, no
code), A4 PDF (WeasyPrint, paged-media CSS) and an Excel workbook of the tables."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from pathlib import Path

import pandas as pd

from .config import TEMPLATES
from .output import write_atomic
from .schema import LABELS

TEMPLATE_NAME = "cxc_report"


# --- HTML ---------------------------------------------------------------------------------

def slug(text: str, default: str = "section") -> str:
    """An anchor id (or file-name part) from text; ``default`` when nothing is left.

    >>> slug("Appendix: all exchanges"), slug("M12 (January 2023)"), slug("<>", "report")
    ('appendix-all-exchanges', 'm12-january-2023', 'report')
    """
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or default


def _heading_text(markdown_line: str) -> str:
    return re.sub(r"[*_`]", "", markdown_line.lstrip("#")).strip()


def report_headings(nb) -> list[dict]:
    """The level-2 and level-3 headings of the cells that go into the report, for the contents."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "report-skip" in cell.metadata.get("tags", []):
            continue
        for line in cell.source.splitlines():
            match = re.match(r"^(#{2,3})\s+\S", line)
            if match:
                text = _heading_text(line)
                out.append({"level": len(match.group(1)), "text": text, "id": slug(text)})
    return out


def report_markdown(source: str) -> str:
    """Markdown to HTML with raw HTML escaped and headings given the ids the contents link to."""
    import mistune

    renderer = mistune.HTMLRenderer(escape=True)
    text = mistune.create_markdown(renderer=renderer, plugins=["table"])(source)

    def add_id(match: re.Match) -> str:
        plain = re.sub(r"<[^>]+>", "", match.group(3))
        return f'<h{match.group(1)} id="{slug(htmllib.unescape(plain))}"{match.group(2)}>{match.group(3)}</h{match.group(1)}>'

    return re.sub(r"<h([1-6])([^>]*)>(.*?)</h\1>", add_id, text, flags=re.S)


def svg_data_uri(svg: str) -> str:
    """An SVG document as a data: URI for an <img>: self-contained, and sized by CSS alike in
    browsers and WeasyPrint (nbconvert's final HTML pass lower-cases inline SVG's ``viewBox``)."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def eu_emblem_svg(height: float = 60) -> str:
    """The EU emblem drawn from its published geometry (nothing fetched): a 3:2 rectangle of
    Reflex Blue, twelve upright five-pointed gold stars on a circle whose radius is a third of
    the height, each star's points on a circle of a eighteenth of the height.

    >>> svg = eu_emblem_svg(); svg.count("<polygon"), 'fill="#003399"' in svg
    (12, True)
    """
    import math

    width, centre_x, centre_y = height * 1.5, height * 0.75, height / 2
    outer = height / 18
    inner = outer * math.sin(math.radians(18)) / math.sin(math.radians(126))  # the pentagram's inner points

    def star(x: float, y: float) -> str:
        points = []
        for k in range(10):
            radius, angle = (outer if k % 2 == 0 else inner), math.radians(-90 + 36 * k)
            points.append(f"{x + radius * math.cos(angle):.3f},{y + radius * math.sin(angle):.3f}")
        return f'<polygon fill="#FFCC00" points="{" ".join(points)}"/>'

    stars = "".join(star(centre_x + height / 3 * math.cos(math.radians(30 * i)),
                         centre_y + height / 3 * math.sin(math.radians(30 * i))) for i in range(12))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
            f'viewBox="0 0 {width:g} {height:g}"><title>Emblem of the European Union</title>'
            f'<rect width="{width:g}" height="{height:g}" fill="#003399"/>{stars}</svg>')


def about_rows(provenance: dict) -> list[tuple[str, str]]:
    """What the "About this report" page shows: each file read by name with its SHA-256, and the
    parameters that were given a value. Never a folder: local paths stay in provenance.json.

    >>> about_rows({"files": {"input": {"file": "/home/ana/secret/tracker.xlsx", "sha256": "ab"}},
    ...             "parameters": {"input_path": "/home/ana/secret/tracker.xlsx", "sheet": "", "period": "M6"}})
    [('Input file', 'tracker.xlsx (SHA-256 ab)'), ('Parameter period', 'M6')]
    """
    from .report import PATH_PARAMETERS

    rows = [(f"{role.capitalize()} file", f"{Path(str(f.get('file', ''))).name} (SHA-256 {f.get('sha256', '')})")
            for role, f in provenance.get("files", {}).items()]
    for name, value in provenance.get("parameters", {}).items():
        if name in PATH_PARAMETERS or value in ("", None):
            continue
        text = str(value)
        rows.append((f"Parameter {name}", Path(text).name if Path(text).is_absolute() else text))
    return rows


def notebook_to_html(nb) -> str:
    """The executed notebook (with ``metadata.cxc`` front matter) as one self-contained HTML page."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATES)], template_name=TEMPLATE_NAME,
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    for name, function in (("report_headings", report_headings), ("report_markdown", report_markdown),
                           ("svg_data_uri", svg_data_uri), ("about_rows", about_rows)):
        exporter.register_filter(name, function)
    exporter.environment.globals["eu_emblem"] = svg_data_uri(eu_emblem_svg())
    body, _ = exporter.from_notebook_node(nb)
    return body


PDF_VARIANT = "pdf/a-3a"  # archival (ISO 19005-3), tagged for accessibility, files may be embedded
ATTACHMENT_RELATIONSHIPS = {".xlsx": ("Data", "The report's tables as an Excel workbook"),
                            ".csv": ("Data", "The cleaned exchange table"),
                            ".json": ("Source", "Provenance: files read with their SHA-256, parameters, versions")}


def html_to_pdf(html: str, path: str | Path, attachments: tuple[Path, ...] = ()) -> Path:
    """Print the report HTML to an A4 PDF/A-3a with WeasyPrint (tagged; page numbers, contents
    with pages; title, author, subject, keywords and language from the HTML head), with
    ``attachments`` embedded as files, so the one PDF carries its data."""
    import logging

    from weasyprint import HTML, Attachment

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    files = [Attachment(filename=str(f), name=Path(f).name, relationship=ATTACHMENT_RELATIONSHIPS.get(
        Path(f).suffix, ("Supplement", None))[0], description=ATTACHMENT_RELATIONSHIPS.get(Path(f).suffix, ("", None))[1])
        for f in attachments]
    return write_atomic(path, lambda tmp: HTML(string=html, base_url=None).write_pdf(
        tmp, pdf_variant=PDF_VARIANT, attachments=files, finisher=_each_attachment_once))


def _each_attachment_once(document, pdf) -> None:
    """WeasyPrint 70 lists each PDF/A-3 attachment twice in the catalog's /AF array: keep one."""
    import pydyf

    if "AF" in pdf.catalog:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(pdf.catalog["AF"]))


# --- Excel --------------------------------------------------------------------------------

def write_workbook(path: str | Path, sheets: dict[str, pd.DataFrame], properties: dict[str, str] | None = None) -> Path:
    """One sheet per table: bold white-on-blue header, frozen header row, columns sized, filters on;
    dates shown as dates; ``properties`` (title, subject, creator, keywords, description) set as
    the workbook's document properties.

    Every text cell is stored as text, so a name like ``=HYPERLINK(...)`` never runs as a formula.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    def build(tmp: Path) -> None:
        wb = Workbook()
        wb.remove(wb.active)
        for title, frame in sheets.items():
            ws = wb.create_sheet(title[:31])
            ws.append([excel_text(str(c)) for c in frame.columns])
            for values in frame.itertuples(index=False):
                ws.append([_excel_value(v) for v in values])
                for cell in ws[ws.max_row]:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"  # text, never a formula
                    elif isinstance(cell.value, dt.datetime):
                        cell.number_format = "yyyy-mm-dd" if cell.value.time() == dt.time() else "yyyy-mm-dd hh:mm"
            for cell in ws[1]:
                cell.font = Font(bold=True, color="FFFFFF")
                cell.fill = PatternFill("solid", fgColor="003399")
                cell.alignment = Alignment(vertical="center", wrap_text=True)
            ws.freeze_panes = "A2"
            if frame.shape[1]:
                ws.auto_filter.ref = f"A1:{get_column_letter(frame.shape[1])}{max(ws.max_row, 1)}"
            for index, column in enumerate(frame.columns, start=1):
                sample = [str(column)] + [str(v) for v in frame[column].head(500).tolist()]
                ws.column_dimensions[get_column_letter(index)].width = min(max(len(s) for s in sample) + 2, 60)
        for key, value in (properties or {}).items():
            setattr(wb.properties, key, value)
        wb.save(tmp)

    return write_atomic(path, build)


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what an xlsx cannot hold


def excel_text(text: str) -> str:
    r"""Text an xlsx can hold: control characters (NUL, ESC, vertical tab, ...) shown as their
    Unicode control pictures, so nothing is lost and nothing fails; tab and newlines stay.

    >>> excel_text("A\x1b[2JB\x00")
    'A␛[2JB␀'
    """
    return CONTROL_CHARACTERS.sub(lambda m: chr(0x2400 + ord(m.group())), text)


def _excel_value(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        value = value.item()
    return excel_text(value) if isinstance(value, str) else value


EXCHANGE_SHEET_COLUMNS = {
    "source_row": "Row", "exchange_id": "Exchange no.", "host_org": "HO", "visiting_org": "VO",
    "vo_entity_type": "VO type of entity", "partnership": "Inside/outside partnership", "event": "(Group) exchange",
    "status_text": "Status", "status": "Completed or pending", "it_tool": "IT tool used",
    "lump_sum_used": "Lump sum used", "remarks": "Remarks", "ho_country": "HO country", "ho_city": "HO city",
    "vo_country": "VO country", "vo_city": "VO city", "start_date": "Start date", "end_date": "End date",
    "amount_eur": "Amount (EUR)", "excluded": "Excluded from KPIs"}


def exchanges_sheet(table: pd.DataFrame) -> pd.DataFrame:
    """The cleaned exchanges with the tracker's own headers and labels in words."""
    from .schema import SINGULAR

    out = table.copy()
    for column in ("vo_entity_type", "partnership", "status"):
        out[column] = out[column].astype("object").map(SINGULAR.get, na_action="ignore")
    for column in ("it_tool", "lump_sum_used", "excluded"):
        out[column] = out[column].astype("object").map({True: "yes", False: "no"}, na_action="ignore")
    return out[list(EXCHANGE_SHEET_COLUMNS)].rename(columns=EXCHANGE_SHEET_COLUMNS)


def findings_sheet(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings with plain headers."""
    return findings.rename(columns={"row": "Row", "column": "Column", "severity": "Severity", "code": "Problem",
                                    "message": "Details"})


def kpi_sheet(kpis: pd.DataFrame) -> pd.DataFrame:
    """The KPI table as the workbook shows it."""
    frame = kpis.reset_index()
    frame.insert(1, "Indicator", frame["kpi"].map(LABELS))
    return frame.rename(columns={"kpi": "KPI", "actual": "Completed", "pending": "Pending", "target": "Target",
                                 "pct_of_target": "% of target"})


def about_sheet(provenance: dict, partnership: str, period: str) -> pd.DataFrame:
    """The workbook's "About" sheet: partnership, period, when and by which version it was made,
    and each file read (name and SHA-256; never a local folder)."""
    rows = [("Partnership", partnership), ("Reporting period", period),
            ("Generated", provenance.get("generated_at", "")),
            ("cxc-analysis version", provenance.get("package_version", ""))]
    rows += [(f"{role.capitalize()} file", Path(str(f.get("file", ""))).name)
             for role, f in provenance.get("files", {}).items()]
    rows += [(f"{role.capitalize()} SHA-256", f.get("sha256", "")) for role, f in provenance.get("files", {}).items()]
    return pd.DataFrame(rows, columns=["Item", "Value"])


def workbook_properties(title: str, partnership: str, period: str, version: str) -> dict[str, str]:
    """Document properties of the workbook (instead of openpyxl's defaults)."""
    return {"title": title, "subject": f"ClusterXchange exchanges and KPIs, {partnership}, {period}",
            "creator": f"cxc-analysis {version}", "lastModifiedBy": f"cxc-analysis {version}",
            "keywords": f"ClusterXchange; {partnership}; KPI; exchanges",
            "description": "Generated by cxc-analysis from the partnership's exchange tracker."}


def rules_sheet(results: pd.DataFrame) -> pd.DataFrame:
    """Every rule result (one row per exchange and rule) as the workbook shows it."""
    return pd.DataFrame({"Row": results["row"], "Rule": results["rule"].astype(str),
                         "Outcome": results["outcome"].astype(str), "Severity": results["severity"],
                         "Details": results["message"]})
