"""The deliverable file's own text and logs: Markdown sections, the promotion log, the partners.

The deliverable file (``--deliverable FILE``) holds the front matter (``report.runner.front_matter``)
and what the partnership writes itself::

    sections:                          # Markdown files, relative to this file, in the deliverable's order
      - sections/01-abstract.md        # a plain path: before the figures (as in D5.1)
      - file: sections/09-lessons.md   # a mapping may place a file ...
        after: Programme rules         # ... at the end of a named report section instead
      - show: promotion activities     # where the generated sections go (default: promotion activities
      - show: partners                 #   after the sections before the figures, partners at the end)
    activities: activities.csv         # promotion and dissemination log (CSV or xlsx)
    activity_targets: {activities: 10, participants: 100}
    partners:
      - {name: NextMove, country: France, description: ...}

Every key is checked: an unknown one is exit 2 naming it, with the nearest known key.
"""

from __future__ import annotations

import difflib
import html
from pathlib import Path
from typing import NamedTuple

from cxc_analysis.core.config import DEFAULT_DELIVERABLE
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.yamlfile import FILE_KEYS, read_yaml
from cxc_analysis.read.activities import read_activities
from cxc_analysis.report.export import slug
from cxc_analysis.report.sections.narrative import read_section, unique_id

DELIVERABLE_KEYS = FILE_KEYS["deliverable"][""]  # declared once, with every settings file's keys
SECTION_KEYS = FILE_KEYS["deliverable"]["section"]
PARTNER_KEYS = FILE_KEYS["deliverable"]["partner"]
GENERATED = {"promotion activities": "activities", "partners": "partners"}  # what `show:` may name
RESULTS_SECTION = "Significant results"  # the report section the activity figures join
NARRATIVE_KEYS = ("sections", "activities", "activity_targets", "partners")  # the partnership's own text and logs


class Placed(NamedTuple):
    """One part of the deliverable and where it goes: ``after`` None is before the figures,
    else the report section (its heading) it follows; ``what`` a Markdown path or a generated part."""

    what: str | Path
    after: str | None


class Narrative(NamedTuple):
    """What the deliverable file adds to the report."""

    parts: list[Placed]
    activities: Path | None
    activity_targets: dict[str, int]
    partners: list[dict[str, str]]
    file: Path | None


NO_NARRATIVE = Narrative([], None, {}, [], None)


def did_you_mean(name: str, known: tuple[str, ...] | list[str]) -> str:
    """' (did you mean 'x'?)' for the nearest known name, or ''.

    >>> did_you_mean("section", DELIVERABLE_KEYS), did_you_mean("zzz", DELIVERABLE_KEYS)
    (" (did you mean 'sections'?)", '')
    """
    near = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f" (did you mean '{near[0]}'?)" if near else ""


def check_keys(values: dict, known: tuple[str, ...], path: Path, where: str = "") -> None:
    """InputError naming the first key not in ``known``, with the nearest known one."""
    for name in values:
        if name not in known:
            raise InputError(f"unknown key '{where}{name}'{did_you_mean(name, known)}; known keys: "
                             f"{', '.join(known)}", file=path)


def report_sections(notebook: Path) -> list[str]:
    """The report's own section headings (level 2, in order) in the report notebook."""
    import nbformat

    from cxc_analysis.report.export import report_headings

    return [h["text"] for h in report_headings(nbformat.read(notebook, as_version=4)) if h["level"] == 2]


def read_narrative(data: dict, path: Path, sections: list[str]) -> Narrative:
    """The sections, log, targets and partners a deliverable file names, every path checked;
    ``sections`` are the report's section headings an ``after:`` may name."""
    check_keys(data, DELIVERABLE_KEYS, path)
    base = path.parent
    parts = [_placed(item, number, base, path, sections) for number, item in enumerate(_list(data, "sections", path), 1)]
    shown = [p.what for p in parts if isinstance(p.what, str)]
    for twice in {w for w in shown if shown.count(w) > 1}:
        raise InputError(f"sections: '{twice}' is shown twice", file=path)
    activities = None
    if data.get("activities") is not None:
        if not isinstance(data["activities"], str):
            raise InputError("'activities' must be the path of the log (CSV or xlsx)", file=path)
        activities = (base / data["activities"]).resolve()
        if not activities.is_file():
            raise InputError("activities log not found (named by 'activities:' in the deliverable file)",
                             file=activities)
    targets = _targets(data.get("activity_targets"), path)
    partners = [_partner(item, number, path) for number, item in enumerate(_list(data, "partners", path), 1)]
    return Narrative(parts, activities, targets, partners, path)


def _list(data: dict, name: str, path: Path) -> list:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"'{name}' must be a list", file=path)
    return value


def _placed(item, number: int, base: Path, path: Path, sections: list[str]) -> Placed:
    where = f"sections: item {number}: "
    if isinstance(item, str):
        item = {"file": item}
    if not isinstance(item, dict):
        raise InputError(f"{where}must be a file name or a mapping with 'file' or 'show'", file=path)
    check_keys(item, SECTION_KEYS, path, where)
    if ("file" in item) == ("show" in item):
        raise InputError(f"{where}give either 'file' (a Markdown file) or 'show' "
                         f"({' or '.join(GENERATED)})", file=path)
    after = item.get("after")
    if after is not None and slug(str(after)) == "end":
        after = ""  # after every report section
    elif after is not None:
        matches = [s for s in sections if slug(s) == slug(str(after))]
        if not matches:
            raise InputError(f"{where}after: no report section '{after}'{did_you_mean(str(after), sections)}; "
                             f"report sections: {', '.join(sections)}", file=path)
        after = matches[0]
    if "show" in item:
        what = GENERATED.get(str(item["show"]).strip().casefold())
        if what is None:
            raise InputError(f"{where}show: '{item['show']}' is not a generated section"
                             f"{did_you_mean(str(item['show']).casefold(), list(GENERATED))}; "
                             f"one of: {', '.join(GENERATED)}", file=path)
        return Placed(what, after)
    if not isinstance(item["file"], str):
        raise InputError(f"{where}file must be a path", file=path)
    markdown = (base / item["file"]).resolve()
    if not markdown.is_file():
        raise InputError(f"section file not found ({where}named in {path.name})", file=markdown)
    return Placed(markdown, after)


def _targets(value, path: Path) -> dict[str, int]:
    from cxc_analysis.report.sections.activities import ACTIVITY_TARGET_KEYS

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError("'activity_targets' must be a mapping such as {activities: 10, participants: 100}", file=path)
    check_keys(value, ACTIVITY_TARGET_KEYS, path, "activity_targets: ")
    for name, target in value.items():
        if isinstance(target, bool) or not isinstance(target, int) or target <= 0:
            raise InputError(f"activity_targets: '{name}' must be a whole number above 0, not {target!r}", file=path)
    return dict(value)


def _partner(item, number: int, path: Path) -> dict[str, str]:
    where = f"partners: item {number}: "
    if not isinstance(item, dict):
        raise InputError(f"{where}must be a mapping with name, country, description", file=path)
    check_keys(item, PARTNER_KEYS, path, where)
    if not item.get("name"):
        raise InputError(f"{where}has no name", file=path)
    for name, value in item.items():
        if value is not None and not isinstance(value, (str, int, float)):
            raise InputError(f"{where}'{name}' must be text", file=path)
    return {k: str(item[k]).strip() for k in PARTNER_KEYS if item.get(k) is not None}


def partners_html(partners: list[dict[str, str]], heading: str, anchor: str) -> str:
    """The partners as D5.1 shows them: the name and country in bold, then the description."""
    items = []
    for partner in partners:
        name = html.escape(partner["name"]) + (f" ({html.escape(partner['country'])})" if partner.get("country") else "")
        text = html.escape(partner.get("description", ""))
        items.append(f'<p class="partner"><strong>{name}</strong>{": " + text if text else ""}</p>')
    return f'<h2 id="{anchor}">{html.escape(heading)}</h2>\n' + "\n".join(items)


class Assembled(NamedTuple):
    """The notebook with the deliverable's parts in place, and the promotion log read (or None)."""

    notebook: object
    activities: object
    findings: object


def _cell(html_text: str, headings: list[dict], part: str, new_page: bool = False):
    """A notebook cell showing ``html_text`` (no code), whose headings go into the contents."""
    import nbformat

    cell = nbformat.v4.new_code_cell(source="", metadata={"cxc_headings": headings, "cxc_part": part,
                                                          "tags": ["new-page"] if new_page else []})
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html_text})]
    return cell


def _section_start(cell) -> str | None:
    """The report section a markdown cell starts (its level-2 heading), or None."""
    if cell.cell_type != "markdown" or "report-skip" in cell.metadata.get("tags", []):
        return None
    import nbformat

    from cxc_analysis.report.export import report_headings

    found = [h["text"] for h in report_headings(nbformat.v4.new_notebook(cells=[cell])) if h["level"] == 2]
    return found[0] if found else None


def assemble(nb, narrative: Narrative, partnership: str, kpis=None) -> Assembled:
    """The executed report notebook with the deliverable's sections, the promotion activities,
    their figures in "Significant results" and the partners placed as the file says."""
    from cxc_analysis.report.export import report_headings

    if narrative is NO_NARRATIVE or (not narrative.parts and narrative.activities is None and not narrative.partners):
        return Assembled(nb, None, None)
    taken = {h["id"] for h in report_headings(nb)} | {"about-this-report"}
    parts = list(narrative.parts)
    shown = {p.what for p in parts if isinstance(p.what, str)}
    if narrative.activities is not None and "activities" not in shown:
        last_before = max((i for i, p in enumerate(parts) if p.after is None), default=-1)
        parts.insert(last_before + 1, Placed("activities", None))
    if narrative.partners and "partners" not in shown:
        parts.append(Placed("partners", ""))  # "": after every report section
    table = findings = None
    cells = []
    for part in parts:
        if part.what == "activities":
            if narrative.activities is None:
                raise InputError("sections: 'show: promotion activities' but no 'activities:' log is given",
                                 file=narrative.file)
            from cxc_analysis.read.activities import read_activities
            from cxc_analysis.report.sections.activities import activities_html
            from cxc_analysis.table.activities import clean_activities

            table, findings = clean_activities(read_activities(narrative.activities))
            anchor = unique_id("promotion-activities", taken)
            cells.append((part.after, _cell(activities_html(table, findings, anchor),
                                            [{"level": 2, "text": "Promotion activities", "id": anchor}], "activities")))
        elif part.what == "partners":
            if not narrative.partners:
                raise InputError("sections: 'show: partners' but no 'partners:' are given", file=narrative.file)
            heading = f"{partnership} partners"
            anchor = unique_id(slug(heading), taken)
            cells.append((part.after, _cell(partners_html(narrative.partners, heading, anchor),
                                            [{"level": 2, "text": heading, "id": anchor}], "partners",
                                            new_page=part.after == "")))
        else:
            rendered = read_section(Path(part.what), taken)
            cells.append((part.after, _cell(rendered.html, rendered.headings, "section")))
    if table is not None:
        from cxc_analysis.report.sections.activities import results_html

        anchor = unique_id("promotion-in-numbers", taken)
        cells.append((RESULTS_SECTION, _cell(results_html(table, narrative.activity_targets, anchor), [
            {"level": 3, "text": "Promotion and dissemination", "id": anchor}], "activity-results")))
    nb = _placed_cells(nb, cells)
    return Assembled(nb, table, findings)


def _placed_cells(nb, cells: list[tuple[str | None, object]]):
    """A copy of ``nb`` with each cell before the first report section (after None), at the end of
    the named section, or at the very end (after "")."""
    import copy

    nb = copy.deepcopy(nb)
    starts = [(i, _section_start(c)) for i, c in enumerate(nb.cells)]
    starts = [(i, name) for i, name in starts if name]
    first = starts[0][0] if starts else len(nb.cells)
    ends = {name: (starts[k + 1][0] if k + 1 < len(starts) else len(nb.cells)) for k, (_, name) in enumerate(starts)}
    inserts: dict[int, list] = {}
    for after, cell in cells:
        position = first if after is None else len(nb.cells) if after == "" else ends.get(after)
        if position is None:  # a section this notebook does not have (checked before the run): at the end
            position = len(nb.cells)
        inserts.setdefault(position, []).append(cell)
    out = []
    for i in range(len(nb.cells) + 1):
        out.extend(inserts.get(i, []))
        if i < len(nb.cells):
            out.append(nb.cells[i])
    nb.cells = out
    return nb


def narrative_for(deliverable: str | Path | None, partnership: str, period: str, notebook: Path) -> Narrative:
    """What the deliverable file adds. The bundled file (``deliverable`` None) adds its text only
    to the report it was written for (its acronym and period), as ``front_matter`` does."""

    path = Path(deliverable) if deliverable else DEFAULT_DELIVERABLE
    data = read_yaml(path)
    check_keys(data, DELIVERABLE_KEYS, path)
    if deliverable is None:
        meta = data.get("deliverable") if isinstance(data.get("deliverable"), dict) else {}
        if (str(meta.get("acronym", "")).casefold() != partnership.casefold()
                or str(meta.get("period", "")).casefold() != period.casefold()):
            return NO_NARRATIVE
    narrative = read_narrative(data, path.resolve(), report_sections(notebook))
    check_readable(narrative)
    return narrative


def check_readable(narrative: Narrative) -> None:
    """Read every section (its images too) and the log's header now, so that a file that cannot be
    used is exit 2 before any notebook runs, not a failed run."""

    for part in narrative.parts:
        if isinstance(part.what, Path):
            read_section(part.what)
    if narrative.activities is not None:
        read_activities(narrative.activities)


def narrative_files(narrative: Narrative) -> dict[str, Path]:
    """The files the deliverable's text and log were read from, by role (for provenance)."""
    files = {f"section {number}": Path(part.what) for number, part in
             enumerate([p for p in narrative.parts if isinstance(p.what, Path)], 1)}
    if narrative.activities is not None:
        files["activities"] = narrative.activities
    return files


def workbook_sheets(assembled: Assembled) -> dict:
    """The workbook sheets the deliverable adds: the promotion log and its findings, when given."""
    if assembled.activities is None:
        return {}
    from cxc_analysis.report.export import findings_sheet
    from cxc_analysis.report.sections.activities import activities_sheet

    sheets = {"Promotion activities": activities_sheet(assembled.activities)}
    if len(assembled.findings):
        sheets["Promotion log findings"] = findings_sheet(assembled.findings)
    return sheets
