"""Deliverables from an executed notebook: self-contained HTML (our nbconvert template, no
code), A4 PDF (WeasyPrint, paged-media CSS) and an Excel workbook of the tables."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from cxc_analysis.core.config import TEMPLATES
from cxc_analysis.core.output import write_atomic
from cxc_analysis.core.schema import LABELS, SINGULAR, column_labels
from cxc_analysis.core.text import excel_text, replace_where
from cxc_analysis.read.frame import column_letters
from cxc_analysis.reference.rulesets import RULE_NAMES
from cxc_analysis.report.settings import PATH_PARAMETERS
from cxc_analysis.table.findings import problem_words

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
        if "report-skip" in cell.metadata.get("tags", []):
            continue
        out.extend(dict(h) for h in cell.metadata.get("cxc_headings", []))  # a deliverable's own section
        if cell.cell_type != "markdown":
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
                            ".json": ("Source", "Provenance: files read with their SHA-256, parameters, versions"),
                            **{f"promotion_activities{suffix}": ("Source", "The partnership's promotion and "
                                                                           "dissemination log, as given")
                               for suffix in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods")}}


def html_to_pdf(html: str, path: str | Path, attachments: tuple[Path, ...] = ()) -> Path:
    """Print the report HTML to an A4 PDF/A-3a with WeasyPrint (tagged; page numbers, contents
    with pages; title, author, subject, keywords and language from the HTML head), with
    ``attachments`` embedded as files, so the one PDF carries its data."""
    import logging

    from weasyprint import HTML, Attachment

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    def kind(f) -> tuple[str, str | None]:  # by file name first (the promotion log), else by suffix
        return ATTACHMENT_RELATIONSHIPS.get(Path(f).name, ATTACHMENT_RELATIONSHIPS.get(Path(f).suffix, ("Supplement", None)))

    files = [Attachment(filename=str(f), name=Path(f).name, relationship=kind(f)[0], description=kind(f)[1])
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

    Every text cell is stored as text (an inline string), so a name like ``=HYPERLINK(...)``
    never runs as a formula. The sheets' XML is built column by column with Arrow kernels and
    streamed into the zip in blocks of rows, so 100,000 exchanges (and their 800,000 rule
    results) take seconds and the workbook is never held whole in memory.
    """
    import zipfile

    titles = [_sheet_title(title, index) for index, title in enumerate(sheets)]

    def build(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
            book.writestr("[Content_Types].xml", _content_types(len(sheets)))
            book.writestr("_rels/.rels", _ROOT_RELS)
            book.writestr("docProps/core.xml", _core_xml(properties or {}))
            book.writestr("xl/workbook.xml", _workbook_xml(titles, list(sheets.values())))
            book.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
            book.writestr("xl/styles.xml", _STYLES)
            for index, frame in enumerate(sheets.values(), start=1):
                with book.open(f"xl/worksheets/sheet{index}.xml", "w", force_zip64=True) as sheet:
                    _write_sheet(sheet, frame)

    return write_atomic(path, build)


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_ROOT_RELS = (f'{_XML}<Relationships xmlns="{_RELS}"><Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" '
              'Target="xl/workbook.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/'
              '2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>')
_CORE = {"title": "dc:title", "subject": "dc:subject", "creator": "dc:creator", "keywords": "cp:keywords",
         "description": "dc:description", "lastModifiedBy": "cp:lastModifiedBy"}


def _core_xml(properties: dict[str, str]) -> str:
    """docProps/core.xml: the document properties given (title, subject, creator...)."""
    fields = "".join(f"<{_CORE[k]}>{_xml_text(str(v))}</{_CORE[k]}>" for k, v in properties.items() if k in _CORE and v)
    return (f'{_XML}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
            'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{fields}</cp:coreProperties>')
# Styles: 0 plain, 1 a date (yyyy-mm-dd), 2 the header (bold white on EU blue, centred, wrapped), 3 a date and time.
_STYLES = (f'{_XML}<styleSheet xmlns="{_MAIN}"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
           '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/>'
           '<color rgb="FFFFFFFF"/><name val="Calibri"/></font></fonts><fills count="3"><fill><patternFill '
           'patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill><fill><patternFill '
           'patternType="solid"><fgColor rgb="FF003399"/><bgColor indexed="64"/></patternFill></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
           '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" '
           'applyAlignment="1"><alignment vertical="center" wrapText="1"/></xf>'
           '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
           '<cellStyles count="1">'
           '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
_BLOCK_ROWS = 50_000


def _sheet_title(title: str, index: int) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", str(title))[:31].strip() or f"Sheet{index + 1}"


def _column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (the reader's own, ``read.frame.column_letters``)."""

    return column_letters(index)


def _content_types(count: int) -> str:
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                     'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, count + 1))
    return (f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            f'spreadsheetml.styles+xml"/><Override PartName="/docProps/core.xml" '
            f'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>{sheets}</Types>')


def _workbook_rels(count: int) -> str:
    sheets = "".join(f'<Relationship Id="rId{i}" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                     for i in range(1, count + 1))
    return (f'{_XML}<Relationships xmlns="{_RELS}">{sheets}<Relationship Id="rId{count + 1}" '
            f'Type="{_DOC_RELS}/styles" Target="styles.xml"/></Relationships>')


def _workbook_xml(titles: list[str], frames: list[pd.DataFrame]) -> str:
    sheets = "".join(f'<sheet name="{htmllib.escape(t)}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, t in enumerate(titles, start=1))
    filters = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{htmllib.escape(chr(39) + t.replace(chr(39), chr(39) * 2) + chr(39))}!$A$1:"
        f"${_column_letter(f.shape[1] - 1)}${max(len(f), 1) + 1}</definedName>"
        for i, (t, f) in enumerate(zip(titles, frames)) if f.shape[1])
    return (f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><sheets>{sheets}</sheets>'
            + (f"<definedNames>{filters}</definedNames>" if filters else "") + "</workbook>")


def _write_sheet(out, frame: pd.DataFrame) -> None:
    """The worksheet XML of one table: frozen header row, column widths, header, rows, filter."""
    letters = [_column_letter(i) for i in range(frame.shape[1])]
    widths = []
    for column in frame.columns:
        sample = [str(column)] + [str(v) for v in frame[column].head(500).tolist()]
        widths.append(min(max(len(s) for s in sample) + 2, 60))
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, start=1))
    head = (f'{_XML}<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" '
            'topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView>'
            f'</sheetViews><sheetFormatPr defaultRowHeight="15"/>{f"<cols>{cols}</cols>" if cols else ""}<sheetData>'
            '<row r="1">' + "".join(f'<c r="{letter}1" s="2" t="inlineStr"><is><t xml:space="preserve">'
                                    f"{_xml_text(str(c))}</t></is></c>" for letter, c in zip(letters, frame.columns))
            + "</row>")
    out.write(head.encode("utf-8"))
    for start in range(0, len(frame), _BLOCK_ROWS):
        block = frame.iloc[start:start + _BLOCK_ROWS]
        out.write(_rows_xml(block, letters, first_row=start + 2))
    tail = "</sheetData>"
    if frame.shape[1]:
        tail += f'<autoFilter ref="A1:{letters[-1]}{max(len(frame), 1) + 1}"/>'
    out.write((tail + "</worksheet>").encode("utf-8"))


def _rows_xml(block: pd.DataFrame, letters: list[str], first_row: int) -> bytes:
    """``<row>`` elements of a block of rows, built column by column in Arrow (missing cells omitted)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = pa.array(np.arange(first_row, first_row + len(block)).astype(str), type=pa.string())
    parts = [pc.binary_join_element_wise('<row r="', numbers, '">', "")]
    for letter, column in zip(letters, block.columns):
        parts.append(_cells(block[column], letter, numbers))
    parts.append(pa.array(["</row>"] * len(block), type=pa.string()))
    rows = pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")
    return "".join(rows.to_pylist()).encode("utf-8")


def _cells(values: pd.Series, letter: str, numbers):
    """One column's ``<c>`` elements (null where the value is missing)."""
    import pyarrow.compute as pc

    kind, text = _cell_values(values)
    attributes = {"str": '" t="inlineStr"><is><t xml:space="preserve">', "num": '"><v>',
                  "date": '" s="1"><v>', "datetime": '" s="3"><v>', "bool": '" t="b"><v>'}[kind]
    close = "</t></is></c>" if kind == "str" else "</v></c>"
    return pc.binary_join_element_wise(f'<c r="{letter}', numbers, attributes, text, close, "")


def _cell_values(values: pd.Series):
    """(kind, Arrow text of each cell, null where missing) for a column: str, num, date or bool."""
    import pyarrow as pa

    missing = values.isna().to_numpy()
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        flags = values.astype("boolean").fillna(False).to_numpy(dtype=bool)
        return "bool", pa.array(np.where(flags, "1", "0"), type=pa.string(), mask=missing)
    if pd.api.types.is_numeric_dtype(dtype):
        number = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
        bad = missing | ~np.isfinite(number)
        whole = np.isfinite(number) & (number == np.round(number)) & (np.abs(number) < 2 ** 53)
        text = np.where(whole, np.nan_to_num(number).astype(np.int64).astype(str), number.astype(str))
        return "num", pa.array(text, type=pa.string(), mask=bad)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        days = (values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values) - pd.Timestamp("1899-12-30")
        serial = days.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan) / 86400
        timed = bool((np.nan_to_num(serial) % 1 != 0).any())
        return "datetime" if timed else "date", pa.array(np.char.mod("%.10g", np.nan_to_num(serial)), type=pa.string(), mask=missing)
    objects = values.astype("object").to_numpy()
    if all(isinstance(v, str) for v in objects[~missing]):
        return "str", _xml_texts(pa.array(np.where(missing, None, objects), type=pa.string()))
    return "str", _xml_texts(pa.array([None if m else str(_excel_value(v)) for v, m in zip(objects, missing)],
                                      type=pa.string()))


def _xml_texts(array):
    """Texts escaped for XML (&, <, >); control characters shown as their control pictures
    (``excel_text``), the two non-characters XML 1.0 cannot hold dropped."""
    import pyarrow.compute as pc


    array = replace_where(array, "&", "&amp;")
    array = replace_where(array, "<", "&lt;")
    array = replace_where(array, ">", "&gt;")
    if pc.any(pc.fill_null(pc.match_substring_regex(array, "[\\x{0}-\\x{8}\\x{b}\\x{c}\\x{e}-\\x{1f}]"), False)).as_py():
        for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]:
            array = pc.replace_substring(array, chr(code), chr(0x2400 + code))
    return replace_where(array, "[\\x{fffe}\\x{ffff}]", "")


def _xml_text(text: str) -> str:
    return re.sub("[\ufffe\uffff]", "", excel_text(htmllib.escape(text, quote=False)))


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


EXCHANGE_SHEET_COLUMNS = column_labels(
    "source_row", "exchange_id", "host_org", "visiting_org", "vo_entity_type", "partnership", "event", "status_text",
    "status", "it_tool", "lump_sum_used", "remarks", "ho_country", "ho_city", "vo_country", "vo_city", "start_date",
    "end_date", "amount_eur", "excluded")


def exchanges_sheet(table: pd.DataFrame) -> pd.DataFrame:
    """The cleaned exchanges with the tracker's own headers and labels in words."""

    out = table.copy()
    for column in ("vo_entity_type", "partnership", "status"):
        out[column] = out[column].astype("object").map(SINGULAR.get, na_action="ignore")
    for column in ("it_tool", "lump_sum_used", "excluded"):
        out[column] = out[column].astype("object").map({True: "yes", False: "no"}, na_action="ignore")
    return out[list(EXCHANGE_SHEET_COLUMNS)].rename(columns=EXCHANGE_SHEET_COLUMNS)


def findings_sheet(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings with plain headers, the problem in plain words."""

    return findings.assign(code=findings["code"].map(problem_words)).rename(
        columns={"row": "Row", "column": "Column", "severity": "Severity", "code": "Problem", "message": "Details"})


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
    """Every rule result (one row per exchange and rule) as the workbook shows it, rules in plain words."""

    return pd.DataFrame({"Row": results["row"], "Rule": results["rule"].astype(str).map(RULE_NAMES),
                         "Outcome": results["outcome"].astype(str), "Severity": results["severity"],
                         "Details": results["message"]})
