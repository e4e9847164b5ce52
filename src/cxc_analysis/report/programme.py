"""The programme report: read every partnership of a run file (the one ``report --batch`` reads),
put them side by side with ``programme``, and write HTML, PDF and xlsx into one folder.

A partnership whose tracker cannot be read does not stop the others: it is listed as not read,
with the reason, on the first page, and the command's exit code says so.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import math
import platform
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cxc_analysis import __version__
from cxc_analysis.core.config import REPORTS
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.output import write_atomic
from cxc_analysis.core.schema import KPI_NAMES, LABELS
from cxc_analysis.programme import (
    Generation,
    Member,
    counted_once,
    generation,
    repeat_visitors,
    shared_exchanges,
    side_by_side,
    uncertain_pairs,
)
from cxc_analysis.reference.register import read_register
from cxc_analysis.report.processed import read_and_clean
from cxc_analysis.report.sections.costs import paid
from cxc_analysis.report.sections.flows import exchange_countries, flow_table
from cxc_analysis.report.sections.progress import completed_by_month, months_elapsed, project_for, read_period
from cxc_analysis.report.settings import read_runs
from cxc_analysis.rules.checks import check_rules

log = logging.getLogger("cxc_analysis")
PROGRAMME_NOTEBOOK = "04_programme.ipynb"


@dataclass(frozen=True)
class Partnership:
    """One partnership as the programme report shows it: its member record (for ``programme``),
    findings, rule fails, the project's months and the months its figures cover, amounts paid."""

    member: Member
    findings: pd.DataFrame
    rule_fails: int | None
    project_months: int | None
    months_elapsed: int | None
    paid_eur: float | None


def read_generation(run_file: str | Path) -> tuple[list[Partnership], dict[str, str]]:
    """Each run of the run file read, cleaned and checked; and ``{partnership: reason}`` for the
    runs whose tracker (or settings) cannot be used. An unusable run file is InputError."""

    runs, _ = read_runs(run_file)
    read, not_read, registers = [], {}, {}
    for settings in runs:
        name = settings.partnership or str(settings.get("name"))
        try:
            path = settings.register.resolve()
            if path not in registers:  # a generation shares one register: read it once
                registers[path] = read_register(path)
            read.append(_read_partnership(settings, registers[path]))
        except InputError as exc:
            not_read[name] = str(exc)
            log.warning(f"{name}: not read: {exc}")
    return read, not_read


def _read_partnership(settings, register: pd.DataFrame) -> Partnership:

    result = read_and_clean(settings.input, settings.sheet, settings.get("columns"), settings.get("vocabulary"))
    table = result.table
    member = Member(str(settings.get("name") or settings.partnership), settings.partnership, table,
                    settings.targets, settings.period or "")
    results = check_rules(table, register)
    fails = int((results["outcome"] == "fail").sum())
    project = project_for(settings.partnership, settings.get("targets"))
    dated = completed_by_month(table, project.start) if project else None
    elapsed = months_elapsed(read_period(settings.period), project, dated)
    amounts = paid(table)
    paid_eur = float(pd.to_numeric(amounts["amount_eur"]).sum()) if len(amounts) else None
    return Partnership(member, result.findings, fails, project.months if project else None, elapsed, paid_eur)


def overview(partnerships: list[Partnership]) -> pd.DataFrame:
    """One row per partnership: rows, rows with errors, completed, pending and target exchanges,
    % of target, the pace projected to the project's end, rule fails, amounts paid."""
    records = []
    for p in partnerships:
        table = p.member.table
        excluded = int(table["excluded"].fillna(False).sum())
        usable = table.loc[~table["excluded"].fillna(False).to_numpy(dtype=bool)]
        completed = int((usable["status"] == "completed").sum())
        pending = int((usable["status"] == "pending").sum())
        target = p.member.targets.get("exchanges")
        projected = None
        if p.months_elapsed and p.project_months:
            projected = round(completed / p.months_elapsed * max(p.project_months, p.months_elapsed))
        records.append({"Partnership": p.member.partnership, "Period": p.member.period, "Rows": len(table),
                        "Rows with errors": excluded, "Completed": completed, "Pending": pending,
                        "Target": target, "% of target": round(100 * completed / target, 1) if target else None,
                        "Projected at the end": projected, "Rule fails": p.rule_fails,
                        "Paid (EUR)": p.paid_eur})
    return pd.DataFrame(records)


def percent_of_target(gen: Generation) -> pd.DataFrame:
    """Partnerships down, KPIs across: completed as % of target (None where no target)."""
    sides = side_by_side(gen)
    if sides.empty:
        return pd.DataFrame(columns=[LABELS[k] for k in KPI_NAMES])
    table = sides.pivot(index="partnership", columns="kpi", values="pct_of_target")
    table = table.reindex(index=[m.partnership for m in gen.members], columns=list(KPI_NAMES))
    return table.rename(columns=LABELS).rename_axis(index="Partnership", columns=None)


def programme_table(gen: Generation) -> pd.DataFrame:
    """The programme's KPIs, counted once, beside the sum of the partnerships' own figures."""
    once = counted_once(gen)
    out = pd.DataFrame({"Completed (counted once)": once["actual"], "Pending (counted once)": once["pending"],
                        "Sum of the partnerships' completed": once["recorded"]})
    return out.rename(index=LABELS).rename_axis("Indicator")


# --- HTML for the notebook (names are data: every cell escaped) ------------------------------

def heat_html(percent: pd.DataFrame) -> str:
    """The % of target table with each cell shaded by how far the target is reached."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in percent.columns)
    rows = []
    for name, values in percent.iterrows():
        cells = []
        for value in values:
            if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
                cells.append('<td class="num heat-none">no target</td>')
                continue
            share = max(0.0, min(float(value), 100.0)) / 100
            colour = f"rgba(0, 114, 178, {0.08 + 0.6 * share:.2f})"  # Okabe-Ito blue, lighter below target
            cells.append(f'<td class="num" style="background: {colour}">{float(value):.0f}%</td>')
        rows.append(f"<tr><th>{html.escape(str(name))}</th>{''.join(cells)}</tr>")
    return (f'<table class="heat"><thead><tr><th>Partnership</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def not_read_html(not_read: dict[str, str]) -> str:
    """The runs that could not be read, with the reason, or nothing."""
    if not not_read:
        return ""
    items = "".join(f"<li><strong>{html.escape(name)}</strong>: {html.escape(reason)}</li>"
                    for name, reason in not_read.items())
    return (f'<div class="warning"><p><strong>Not read ({len(not_read)}):</strong> these partnerships are '
            f"missing from every figure below.</p><ul>{items}</ul></div>")


def headline_html(gen: Generation, not_read: dict[str, str]) -> str:
    """One paragraph: how many partnerships, exchanges counted once, shared ones and repeat visitors."""
    once = counted_once(gen)
    shared = shared_exchanges(gen)
    repeats = repeat_visitors(gen)
    n = len(gen.members)
    parts = [f"{n} partnership{'s' if n != 1 else ''} read"
             + (f", {len(not_read)} not read" if not_read else ""),
             f"{int(once.at['exchanges', 'actual'])} completed and {int(once.at['exchanges', 'pending'])} pending "
             "exchanges, each counted once"]
    if len(shared):
        went = int(once.at["exchanges", "recorded"] - once.at["exchanges", "actual"])
        parts.append(f"{len(shared)} exchange{'s are' if len(shared) != 1 else ' is'} in two or more trackers "
                     f"(the partnerships' own figures add up to {int(once.at['exchanges', 'recorded'])} completed; "
                     f"{went} fewer counted once)")
    parts.append(f"{len(repeats)} organisation{'s visit' if len(repeats) != 1 else ' visits'} in more than one "
                 "partnership (an organisation visits once per generation)")
    return "<p>" + html.escape("; ".join(parts) + ".") + "</p>"


def listing_html(frame: pd.DataFrame, empty: str) -> str:
    """A listing with lists joined by "; ", escaped; ``empty`` when there is nothing to list."""
    if frame.empty:
        return f"<p>{html.escape(empty)}</p>"
    shown = frame.apply(lambda col: col.map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v))
    shown = shown.rename(columns=lambda c: str(c).replace("_", " ").capitalize())
    return shown.to_html(index=False, escape=True, border=0, na_rep="", classes="listing")


def overview_html(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    for column in ("Target", "Projected at the end", "Rule fails"):
        shown[column] = shown[column].map(lambda v: "" if v is None or v != v else f"{int(v)}")
    shown["% of target"] = shown["% of target"].map(lambda v: "" if v is None or v != v else f"{v:.1f}%")
    shown["Paid (EUR)"] = shown["Paid (EUR)"].map(lambda v: "" if v is None or v != v else f"€{v:,.0f}")
    return shown.to_html(index=False, escape=True, border=0, classes="overview")


# --- charts ------------------------------------------------------------------------------------

def country_flows(gen: Generation, register: pd.DataFrame | None = None) -> pd.DataFrame:
    """Host country × visitor country across the programme, each exchange counted once."""

    counted = gen.rows.loc[gen.rows["counted"]]
    frames = []
    for number, member in enumerate(gen.members):
        rows = counted.loc[counted["member"] == number, "source_row"]
        table = member.table
        frames.append(table.loc[table["source_row"].isin(rows)])
    if not frames:
        return pd.DataFrame()
    return flow_table(exchange_countries(pd.concat(frames, ignore_index=True), register))


def sample_generation(folder: str | Path) -> Path:
    """A synthetic generation (four partnerships, CSV and xlsx, shared exchanges and repeat
    visitors planted) written into ``folder``; its run file. Notebook 04 opens it when no run
    file is given, so it runs top to bottom on its own."""
    from cxc_analysis.synth import write_generation

    write_generation(folder, partnerships=4, rows=60, seed=7, shared=4, repeats=2)
    return Path(folder) / "runs.yaml"


# --- the run -------------------------------------------------------------------------------------

def workbook_sheets(partnerships: list[Partnership], gen: Generation, not_read: dict[str, str]) -> dict:
    """The programme workbook's sheets."""
    sides = side_by_side(gen).assign(kpi=lambda f: f["kpi"].map(LABELS))
    joined = {name: (lambda f: f.apply(lambda c: c.map(lambda v: "; ".join(map(str, v))
                                                        if isinstance(v, list) else v)))(frame)
              for name, frame in (("Shared exchanges", shared_exchanges(gen)),
                                  ("Repeat visitors", repeat_visitors(gen)),
                                  ("Uncertain matches", uncertain_pairs(gen)))}
    sheets = {"Overview": overview(partnerships), "Programme KPIs": programme_table(gen).reset_index(),
              "Per partnership": sides.rename(columns={"partnership": "Partnership", "kpi": "Indicator",
                                                       "actual": "Completed", "pending": "Pending",
                                                       "target": "Target", "pct_of_target": "% of target"}),
              **joined}
    if not_read:
        sheets["Not read"] = pd.DataFrame({"Partnership": list(not_read), "Reason": list(not_read.values())})
    return sheets


def run_programme(run_file: str | Path, *, out: str | Path | None = None, progress: bool = False) -> tuple[Path, dict]:
    """Run notebook 04 on the run file and export report.html, report.pdf and report.xlsx into
    ``out`` (default ``reports/programme_<date>/``), atomically. Returns the folder and
    ``{partnership: reason}`` for the partnerships not read."""
    import nbformat

    from cxc_analysis.report.export import html_to_pdf, notebook_to_html, write_workbook
    from cxc_analysis.report.runner import execute_notebook, mark, move_into_place, prepare_out

    run_file = Path(run_file)
    partnerships, not_read = read_generation(run_file)  # refuses an unusable run file before any notebook
    started = dt.datetime.now(dt.timezone.utc)
    final = prepare_out(Path(out) if out else REPORTS / f"programme_{started:%Y%m%d-%H%M%S}")
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    mark(work)
    try:
        execute_notebook(PROGRAMME_NOTEBOOK, {"runs_path": str(run_file.resolve())}, work, progress)
        gen = generation([p.member for p in partnerships])
        write_workbook(work / "report.xlsx", workbook_sheets(partnerships, gen, not_read),
                       properties={"title": "ClusterXchange programme overview", "creator": "cxc-analysis"})
        nb = nbformat.read(work / PROGRAMME_NOTEBOOK, as_version=4)
        nb.metadata["cxc"] = {"title": "ClusterXchange programme: the generation side by side",
                              "partnership": ", ".join(p.member.partnership for p in partnerships) or "none read",
                              "period": "; ".join(sorted({p.member.period for p in partnerships if p.member.period})),
                              "generated_date": f"{started:%d %B %Y}",
                              "provenance": {"package_version": __version__, "run_file": run_file.name,
                                             "python_version": platform.python_version(),
                                             "pandas_version": pd.__version__,
                                             "generated_at": started.isoformat(timespec="seconds")}}
        page = notebook_to_html(nb)
        write_atomic(work / "report.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))
        html_to_pdf(page, work / "report.pdf", attachments=(work / "report.xlsx",))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    move_into_place(work, final)
    log.info(f"programme report ready: {final}")
    return final, not_read
