"""Deliverables from an executed notebook: self-contained HTML (our nbconvert template, no
code), A4 PDF (WeasyPrint, paged-media CSS) and an Excel workbook of the tables."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import numpy as np
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
    Written by xlsxwriter in constant-memory mode, row by row: 100,000 exchanges take seconds
    and the workbook is never held whole in memory.
    """
    import xlsxwriter

    def build(tmp: Path) -> None:
        workbook = xlsxwriter.Workbook(str(tmp), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "default_date_format": "yyyy-mm-dd"})
        header = workbook.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#003399",
                                      "valign": "vcenter", "text_wrap": True})
        for title, frame in sheets.items():
            ws = workbook.add_worksheet(title[:31])
            ws.freeze_panes(1, 0)
            for index, column in enumerate(frame.columns):
                sample = [str(column)] + [str(v) for v in frame[column].head(500).tolist()]
                ws.set_column(index, index, min(max(len(s) for s in sample) + 2, 60))
            ws.write_row(0, 0, [str(c) for c in frame.columns], header)
            columns = [_excel_column(frame[c]) for c in frame.columns]
            for row, values in enumerate(zip(*columns), start=1):
                ws.write_row(row, 0, values)
            if frame.shape[1]:
                ws.autofilter(0, 0, max(len(frame), 1), frame.shape[1] - 1)
        workbook.close()

    return write_atomic(path, build)


def _excel_column(values: pd.Series) -> list:
    """A column's cells as Python values for the workbook: None where missing."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iub":
        return values.tolist()
    return [_excel_value(v) for v in values.astype("object").tolist()]


def _excel_value(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


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
