"""Deliverables from an executed notebook: self-contained HTML (our nbconvert template, no
code), A4 PDF (WeasyPrint, paged-media CSS) and an Excel workbook of the tables."""

from __future__ import annotations

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


def notebook_to_html(nb) -> str:
    """The executed notebook (with ``metadata.cxc`` front matter) as one self-contained HTML page."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATES)], template_name=TEMPLATE_NAME,
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    for name, function in (("report_headings", report_headings), ("report_markdown", report_markdown),
                           ("svg_data_uri", svg_data_uri)):
        exporter.register_filter(name, function)
    body, _ = exporter.from_notebook_node(nb)
    return body


def html_to_pdf(html: str, path: str | Path) -> Path:
    """Print the report HTML to an A4 PDF with WeasyPrint (page numbers, contents with pages)."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return write_atomic(path, lambda tmp: HTML(string=html, base_url=None).write_pdf(tmp))


# --- Excel --------------------------------------------------------------------------------

def write_workbook(path: str | Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """One sheet per table: bold white-on-blue header, frozen header row, columns sized, filters on.

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


def rules_sheet(results: pd.DataFrame) -> pd.DataFrame:
    """Every rule result (one row per exchange and rule) as the workbook shows it."""
    return pd.DataFrame({"Row": results["row"], "Rule": results["rule"].astype(str),
                         "Outcome": results["outcome"].astype(str), "Severity": results["severity"],
                         "Details": results["message"]})
