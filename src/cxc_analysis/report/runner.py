"""Report runs: check parameters against the notebooks, run them with papermill, export the
deliverables (HTML, PDF, Excel) with their provenance into one folder per run, atomically.

A run builds everything in a hidden temporary folder and renames it into place only when all
of it succeeded; a failed notebook leaves ``<run>_FAILED/`` with the executed notebooks for
debugging and no HTML or PDF that could pass for a finished report.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cxc_analysis import __version__
from cxc_analysis.core.config import DATA_RAW, DEFAULT_DELIVERABLE, DEFAULT_INPUT, NOTEBOOKS, PROJECT_ROOT, REPORTS
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.output import check_writable, current_umask, sha256, write_atomic
from cxc_analysis.core.yamlfile import FILE_KEYS, check_keys, read_yaml, shown
from cxc_analysis.kpis import kpi_table
from cxc_analysis.read.header import read_column_map
from cxc_analysis.read.tracker import read_tracker
from cxc_analysis.read.vocabulary import load_vocabulary
from cxc_analysis.read.workbook import sheets_read
from cxc_analysis.reference.register import read_register
from cxc_analysis.reference.rulesets import read_rule_set
from cxc_analysis.report.processed import read_processed, read_rules, record_facts
from cxc_analysis.report.settings import (
    INTERNAL,
    RUN_NOTEBOOKS,
    Settings,
    layer,
    notebook_parameters,
)

CLEAN_NOTEBOOK, REPORT_NOTEBOOK = RUN_NOTEBOOKS
KERNEL_LOG = "kernel-stderr.log"
RUN_MARK = ".cxc-analysis-run"  # in every folder this tool made: a run, or a failed run's notebooks
log = logging.getLogger("cxc_analysis")


class RunFailed(Exception):
    """A notebook failed; the message names the notebook and the cell."""


def effective_parameters(given: dict) -> dict:
    """The notebooks' defaults overlaid with the given values (internal parameters left out)."""
    import ast

    defaults = {}
    for name, info in notebook_parameters().items():
        if name not in INTERNAL:
            try:
                defaults[name] = ast.literal_eval(info["default"])
            except (ValueError, SyntaxError):
                defaults[name] = info["default"]
    return {**defaults, **given}


# --- runs ---------------------------------------------------------------------------------

def run_report(settings: Settings | dict, *, out: str | Path | None = None, deliverable: str | Path | None = None,
               progress: bool = False) -> Path:
    """Run the notebooks with ``settings`` and write the deliverables; return the run folder.

    ``settings`` comes from ``cxc_analysis.report.settings`` (a dict of settings is taken as given on the
    command line: relative paths from the current directory). Everything the run reads is
    checked before a notebook starts. Raises InputError (bad input: exit 2) or RunFailed (a
    notebook failed: exit 1).
    """
    if not isinstance(settings, Settings):
        settings = Settings.from_layers(layer(settings, base=Path.cwd(), origin="report parameters", notebook=True))
    extra = layer({k: str(v) for k, v in (("out", out), ("deliverable", deliverable)) if v},
                  base=Path.cwd(), origin="report parameters")
    settings = Settings.from_layers(settings.values, extra)
    _check_input(settings.input)
    # REMOBILISE and M12 are the bundled data's names; another tracker's report must say whose it is,
    # so it is never titled, or measured against targets, as REMOBILISE's by default
    bundled = settings.input.resolve() == Path(DEFAULT_INPUT).resolve()
    settings = settings.with_report_names() if bundled else settings.require_names()
    params = effective_parameters(settings.notebook_values())
    partnership, period = settings.partnership, settings.period
    files = check_inputs(settings)
    front = front_matter(partnership, period, settings.deliverable)
    from cxc_analysis.report.deliverable import narrative_files, narrative_for

    narrative = narrative_for(settings.deliverable, partnership, period, NOTEBOOKS / REPORT_NOTEBOOK)
    files.update(narrative_files(narrative))
    started = dt.datetime.now(dt.timezone.utc)
    from cxc_analysis.report.export import slug

    final = prepare_out(settings.out or REPORTS / f"{slug(partnership, 'report')}_{slug(period, 'report')}_"
                                                  f"{started:%Y%m%d-%H%M%S}")
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    mark(work)
    timings: dict[str, float] = {}

    try:
        run_params = {**params, "processed_dir": str(work / "data"), "annotate": True}
        for name in RUN_NOTEBOOKS:
            _execute(name, run_params, work, timings, progress)
            if name == CLEAN_NOTEBOOK:
                record_facts(work / "data", settings.source_facts())
                if (work / "data" / "tracker_annotated.xlsx").is_file():  # the partner's feedback file
                    os.replace(work / "data" / "tracker_annotated.xlsx", work / "tracker_annotated.xlsx")
        _scrub_notebooks(work, params)
        _export(work, params, settings, files, started, front, timings, narrative)
    except (RunFailed, InputError):
        _keep_failed(work, final)
        raise
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    os.chmod(work, 0o777 & ~current_umask())
    move_into_place(work, final)
    log.info(f"report ready: {final} ({sum(timings.values()):.1f} s: "
             + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()) + ")")
    return final


def check_inputs(settings: Settings) -> dict[str, Path]:
    """Read every file the run will use, before anything runs; return them by role."""

    files = {"input": _check_input(settings.input)}

    for role in ("columns", "vocabulary"):
        if settings.get(role):
            files[role] = Path(settings.get(role))
    # the tracker itself: one that cannot be used is exit 2 here, not a failed notebook cell
    words = load_vocabulary(str(files["vocabulary"]) if "vocabulary" in files else None)
    columns = read_column_map(files["columns"]) if "columns" in files else None
    raw = read_tracker(files["input"], sheet=settings.sheet or None, columns=columns, vocabulary=words)
    for level, line in sheets_read(raw):
        log.log(logging.WARNING if level == "warning" else logging.INFO, line)
    if raw.empty:
        raise InputError("no exchanges to report: the tracker has a header row but no exchange below it",
                         file=files["input"])
    note = settings.targets_note()
    if note:
        log.warning(f"note: {note}")
    else:
        files["targets"] = settings.targets_file
    files["register"] = settings.register
    read_register(files["register"])

    files["rules"] = read_rule_set(settings.get("rules") or None).path
    if settings.get("previous"):  # an earlier tracker or run folder to compare with
        from cxc_analysis.report.sections.compare import read_previous

        files["previous"] = read_previous(settings.get("previous"), settings.get("previous_sheet") or settings.sheet,
                                          settings.get("columns"), settings.get("vocabulary"))[2]
    files["deliverable"] = settings.deliverable or DEFAULT_DELIVERABLE
    return files


def _check_input(path: Path) -> Path:
    if not path.is_file():
        raise InputError("file not found" if not path.exists() else "not a file", file=path)
    return path


def prepare_out(final: Path) -> Path:
    """The run folder to create or replace: never data/raw or a folder above it, never a file,
    never a folder that holds anything but an earlier report run."""

    final = check_writable(final)
    if final in DATA_RAW.resolve().parents:
        raise InputError("refusing to replace a folder that holds data/raw/; choose a new --out folder", file=final)
    if final.exists() and not final.is_dir():
        raise InputError("exists and is not a folder; choose a new --out folder", file=final)
    if final.is_dir() and any(final.iterdir()) and not made_here(final):
        raise InputError("folder exists and is not a cxc-analysis report run (not marked as one); refusing to "
                         "replace it: choose an empty or new --out folder", file=final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return final


def mark(folder: Path) -> None:
    """Mark a folder as made by this tool, so it may later be replaced or removed."""
    (folder / RUN_MARK).write_text(json.dumps({"made_by": "cxc-analysis", "version": __version__}), encoding="utf-8")


def made_here(folder: Path) -> bool:
    """True for a folder this tool made: it holds the mark (or, from versions before the mark,
    a provenance.json this tool wrote)."""
    if (folder / RUN_MARK).is_file():
        return True
    try:
        provenance = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(provenance, dict) and {"package_version", "generated_at", "input_sha256"} <= set(provenance)


def _execute(name: str, params: dict, work: Path, timings: dict, progress: bool) -> None:
    """Run one of the report's notebooks with the parameters it declares, timed."""
    known = notebook_parameters()
    started = time.perf_counter()
    execute_notebook(name, {k: v for k, v in params.items() if name in known[k]["notebooks"]}, work, progress)
    timings[name.split("_")[0] + " notebook"] = time.perf_counter() - started


def execute_notebook(name: str, params: dict, work: Path, progress: bool = False) -> None:
    """Run one notebook of notebooks/ with papermill into ``work``, its kernel on private sockets:
    RunFailed naming the cell and the line that failed (or why the kernel stopped), InputError when
    the notebook stopped on input a user must fix."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    log.info(f"running {name} ...")
    socket_dir = tempfile.mkdtemp(prefix="cxc-kernel-")
    try:
        papermill.execute_notebook(str(NOTEBOOKS / name), str(work / name), parameters=params,
                                   kernel_name="python3", progress_bar=progress, cwd=str(PROJECT_ROOT),
                                   kernel_manager_class=ipc_kernel_manager(socket_dir))
    except PapermillExecutionError as exc:
        if exc.ename == "InputError":
            raise InputError(exc.evalue) from None
        raise RunFailed(f"notebook {name} failed at cell In [{exc.exec_count}]"
                        f"{failing_lines(exc.source, exc.traceback)}: {exc.ename}: {exc.evalue}") from None
    except (DeadKernelError, CellTimeoutError) as exc:
        last = _kernel_log(socket_dir).strip().splitlines()[-1:] or ["no message from the kernel"]
        raise RunFailed(f"notebook {name}: the kernel stopped ({type(exc).__name__}): {last[0][:200]}") from None
    finally:
        for line in _kernel_log(socket_dir).splitlines():
            log.debug(f"kernel: {line}")
        shutil.rmtree(socket_dir, ignore_errors=True)


def _kernel_log(socket_dir: str) -> str:
    """What the kernel wrote on stderr (kept out of the run's own log; shown with --verbose)."""
    try:
        return (Path(socket_dir) / KERNEL_LOG).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")
CELL_FRAME = re.compile(r"^Cell In\[\d+\], line (\d+)")  # IPython's traceback: the cell's frame
FILE_FRAME = re.compile(r"^File (.+?):(\d+)")  # a module's frame
FAILED_LINE = re.compile(r"^\s*-*> ?\d+ ?(.*)$")  # the arrow at a frame's failing line


def failing_lines(source: str, traceback: list[str]) -> str:
    """Where a notebook cell failed, from IPython's traceback: the cell's line that failed, and the
    innermost line of this package's code below it (else of any module), e.g.
    ``, line 4 `json.loads('{')` (in json/decoder.py:353 `obj, end = ...`)``; the cell's first
    line when the traceback names no line.

    >>> failing_lines("import json\\njson.loads('{')", ["Cell In[1], line 2\\n----> 2 json.loads('{')"])
    ", line 2 `json.loads('{')`"
    """
    cell_line, inner = None, None
    for entry in traceback or []:
        lines = ANSI_CODES.sub("", entry).splitlines()
        if not lines:
            continue
        at_cell, at_file = CELL_FRAME.match(lines[0]), FILE_FRAME.match(lines[0])
        code = next((m.group(1).strip() for m in map(FAILED_LINE.match, lines[1:]) if m), "")
        if at_cell:
            cell_line, inner = int(at_cell.group(1)), None
        elif at_file and cell_line is not None:
            place = _module_place(at_file.group(1), at_file.group(2))
            if inner is None or "cxc_analysis/" in place or "cxc_analysis/" not in inner[0]:
                inner = (place, code)
    texts = (source or "").splitlines()
    if cell_line is None or not 0 < cell_line <= len(texts):
        first = next((t.strip() for t in texts if t.strip()), "")
        return f" (first line `{first[:80]}`)" if first else " (empty cell)"
    shown = f", line {cell_line} `{texts[cell_line - 1].strip()[:100]}`"
    if inner is not None:
        shown += f" (in {inner[0]}" + (f" `{inner[1][:100]}`)" if inner[1] else ")")
    return shown


def _module_place(path: str, line: str) -> str:
    """A module's file as a traceback names it, short: from the package folder, else its last two parts."""
    parts = Path(path).parts
    if "cxc_analysis" in parts:
        parts = parts[parts.index("cxc_analysis"):]
    return "/".join(parts[-2:] if parts[0] != "cxc_analysis" else parts) + f":{line}"


def kernel_environment() -> dict[str, str]:
    """The kernel's environment: this one, with this interpreter's folder first on PATH (a venv not
    activated, cron), without changing this process's own PATH."""
    here = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    return {**os.environ, "PATH": path if path.split(os.pathsep)[0] == here else here + os.pathsep + path}


def ipc_kernel_manager(socket_dir: str):
    """A kernel manager talking over Unix sockets in a private folder: no TCP ports, so parallel
    runs cannot race for the same port (a known papermill failure). The kernel runs on this
    interpreter, writes its stderr to a file beside its sockets (not into cron logs), and is shut down without the SIGINT jupyter_client sends first (which makes an
    idle kernel log "KeyboardInterrupt caught in kernel" after a successful run)."""
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(socket_dir, "kernel"))
            super().__init__(**kwargs)

        async def start_kernel(self, **kw):
            kw.setdefault("env", kernel_environment())
            with open(os.path.join(socket_dir, KERNEL_LOG), "ab") as stderr:  # the kernel keeps its own copy
                kw.setdefault("stderr", stderr)
                return await super().start_kernel(**kw)

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            if "ipykernel_launcher" in cmd:
                cmd[0] = sys.executable
            return cmd

        async def _async_interrupt_kernel(self):
            if self.shutting_down:  # the notebook is done: ask the kernel to stop, do not interrupt it
                return
            await super()._async_interrupt_kernel()

        interrupt_kernel = _async_interrupt_kernel

    return IpcKernelManager


def _export(work: Path, params: dict, settings: Settings, files: dict[str, Path], started, front: dict,
            timings: dict, narrative=None) -> None:
    """Workbook and provenance first, then the HTML, then the PDF/A-3 that embeds the workbook,
    the exchange table and provenance.json (so provenance cannot hold the PDF's own hash, nor
    the seconds the PDF took: those go to the log)."""
    import nbformat

    from cxc_analysis.report.export import (
        about_sheet,
        exchanges_sheet,
        findings_sheet,
        html_to_pdf,
        kpi_sheet,
        notebook_to_html,
        rules_sheet,
        workbook_properties,
        write_workbook,
    )

    if "deliverable" not in front:  # the metadata file was not used: do not list it as read
        files = {role: path for role, path in files.items() if role != "deliverable"}
    read = {role: {"file": shown_path(path), "sha256": sha256(path)} for role, path in files.items()}
    provenance = {
        "input_file": files["input"].name,
        "input_sha256": read["input"]["sha256"],
        "files": read,
        "parameters": {k: shown_path(v) for k, v in sorted(params.items())},
        "generated_at": started.isoformat(timespec="seconds"),
        "package_version": __version__,
        "python_version": platform.python_version(),
        "pandas_version": __import__("pandas").__version__,
    }
    step = time.perf_counter()
    table, findings = read_processed(work / "data")
    kpis = kpi_table(table, settings.targets)
    rules = read_rules(work / "data")  # notebook 02 always keeps them
    from cxc_analysis.report.deliverable import NO_NARRATIVE, assemble, workbook_sheets

    assembled = assemble(nbformat.read(work / REPORT_NOTEBOOK, as_version=4), narrative or NO_NARRATIVE,
                         params["partnership"])
    write_workbook(work / "report.xlsx", {"KPIs": kpi_sheet(kpis), "Exchanges": exchanges_sheet(table),
                                          "Findings": findings_sheet(findings), "Programme rules": rules_sheet(rules),
                                          **workbook_sheets(assembled),
                                          "About": about_sheet(provenance, params["partnership"], params["period"])},
                   properties=workbook_properties(front.get("title", ""), params["partnership"], params["period"],
                                                  __version__))
    timings["xlsx"] = time.perf_counter() - step

    step = time.perf_counter()
    nb = assembled.notebook
    nb.metadata["cxc"] = {**front, "provenance": provenance, "partnership": params["partnership"],
                          "period": params["period"], "generated_date": f"{started:%d %B %Y}"}
    html = notebook_to_html(nb)
    write_atomic(work / "report.html", lambda tmp: tmp.write_text(html, encoding="utf-8"))
    timings["html"] = time.perf_counter() - step
    provenance["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    write_atomic(work / "provenance.json",
                 lambda tmp: tmp.write_text(json.dumps(provenance, indent=2, ensure_ascii=False), encoding="utf-8"))

    step = time.perf_counter()
    attached = tuple(work / f for f in PDF_ATTACHMENTS)
    if narrative is not None and narrative.activities is not None:  # the promotion log travels with the PDF
        log_copy = work / f"promotion_activities{narrative.activities.suffix.lower()}"
        shutil.copyfile(narrative.activities, log_copy)
        attached += (log_copy,)
    html_to_pdf(html, work / "report.pdf", attachments=attached)
    timings["pdf"] = time.perf_counter() - step


PDF_ATTACHMENTS = ("report.xlsx", "data/exchanges.csv", "provenance.json")  # embedded in report.pdf


PROJECT_KEYS = ("grant_agreement", "acronym", "full_title", "project_url", "work_package")


def front_matter(partnership: str, period: str, deliverable: str | Path | None,
                 log: Callable[[str], None] = log.warning) -> dict:
    """Title, document information and funding text from a deliverable-metadata YAML file.

    The bundled file describes REMOBILISE's D5.1 (M12). Without ``--deliverable`` it is used only
    for REMOBILISE, and its deliverable-specific lines (number, title, dates, status, authors)
    only for the period it was written for: another period keeps just the project's facts, so a
    report never claims to be a deliverable it is not.
    """

    path = Path(deliverable) if deliverable else DEFAULT_DELIVERABLE
    data = check_keys(read_yaml(path), FILE_KEYS["deliverable"][""], file=path)
    meta = data.get("deliverable", {})
    if not isinstance(meta, dict):
        raise InputError("'deliverable' must be a mapping", file=path)
    check_keys(meta, FILE_KEYS["deliverable"]["deliverable"], file=path, where="deliverable")
    _check_scalars({k: data.get(k) for k in ("title", "funding", "disclaimer")}, path)
    _check_scalars(meta, path, "deliverable: ")
    if deliverable is None and str(meta.get("acronym", "")).casefold() != partnership.casefold():
        log(f"note: no --deliverable file for {partnership}: the report has no document-information block")
        return {"title": f"{partnership}: ClusterXchange KPI report"}
    if deliverable is None and str(meta.get("period", "")).casefold() != period.casefold():
        meta = {k: v for k, v in meta.items() if k in PROJECT_KEYS}
    meta = {k: str(v) for k, v in meta.items() if v is not None and k != "period"}
    title = data.get("title") or f"{meta.get('acronym', partnership)}: ClusterXchange KPI report"
    return {"title": str(title), "deliverable": meta,
            "funding": str(data.get("funding") or "").strip(), "disclaimer": str(data.get("disclaimer") or "").strip()}


def _check_scalars(values: dict, path: Path, where: str = "") -> None:
    """Refuse metadata values that are not plain text, numbers or dates, before formatting any."""

    for key, value in values.items():
        if not isinstance(key, str):
            raise InputError(f"{where}names must be text, not {shown(key)}", file=path)
        if not (value is None or isinstance(value, (str, int, float, dt.date))):
            raise InputError(f"{where}'{key[:60]}' must be text, not {shown(value)}", file=path)


def shown_path(value: object, *, run: Path | None = None) -> str:
    """A parameter as an output (provenance, the batch index) shows it: an absolute path inside
    the run folder ``run`` or the project relative to it, any other by its file name only, so no
    local folder name leaves the machine in a report; other text as it is.

    >>> shown_path(PROJECT_ROOT / "data" / "raw" / "t.xlsx"), shown_path("/home/ana/Desktop/t.xlsx"), shown_path("M6")
    ('data/raw/t.xlsx', 't.xlsx', 'M6')
    """
    text = str(value)
    try:
        path = Path(text)
        if not path.is_absolute():
            return text
        resolved = path.resolve()
        for base in (run, PROJECT_ROOT):
            if base is not None and len(Path(base).resolve().parts) > 1 and (
                    resolved == Path(base).resolve() or Path(base).resolve() in resolved.parents):
                return resolved.relative_to(Path(base).resolve()).as_posix()
        return path.name
    except (OSError, ValueError):
        return text


def without_local_paths(text: str, paths=(), *, run: Path | None = None) -> str:
    """``text`` (a message, an executed notebook) with the absolute ``paths``, then the run
    folder, the project and the home folder written as ``shown_path`` shows them (the home folder
    as ``~``), longest first.

    >>> without_local_paths("/home/ana/x.xlsx: sheet 'S': bad", ["/home/ana/x.xlsx"])
    "x.xlsx: sheet 'S': bad"
    """
    import re

    table = {str(p): shown_path(p, run=run) for p in paths if p and Path(str(p)).is_absolute()}
    for base, written in ((run, "."), (PROJECT_ROOT, "."), (Path.home(), "~")):
        if base is not None and len(Path(base).parts) > 1:
            for form in {str(base), str(Path(base).resolve())}:
                table.setdefault(form, written)
    for old in sorted(table, key=len, reverse=True):
        text = re.sub(re.escape(old) + r"(?![^/\\\s'\",:;()\[\]{}])", lambda _: table[old], text)
    return text


def _scrub_notebooks(work: Path, params: dict) -> None:
    """The executed notebooks in the run folder without absolute local paths (their parameters
    cell and papermill's record name the tracker, the processed folder, the notebooks' source)."""
    for name in RUN_NOTEBOOKS:
        path = work / name
        if path.is_file():
            paths = [*params.values(), NOTEBOOKS / name]
            text = without_local_paths(path.read_text(encoding="utf-8"), paths, run=work)
            path.write_text(text, encoding="utf-8")


def move_into_place(work: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(work, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _keep_failed(work: Path, final: Path) -> Path:
    """Keep a failed run's notebooks in ``<out>_FAILED/``, replacing only a folder this tool made
    there; a folder a person made is left alone (``<out>_FAILED-2/`` and so on instead)."""
    for leftover in ("report.html", "report.pdf", "report.xlsx", "provenance.json"):
        (work / leftover).unlink(missing_ok=True)
    failed = failed_folder(final)
    if failed.is_dir():
        shutil.rmtree(failed)
    os.replace(work, failed)
    log.warning(f"executed notebooks kept for debugging in {failed}")
    return failed


def failed_folder(final: Path) -> Path:
    """The first of ``<out>_FAILED``, ``<out>_FAILED-2``, ... that is free or was made by this tool."""
    number = 1
    while True:
        failed = final.with_name(final.name + "_FAILED" + (f"-{number}" if number > 1 else ""))
        if not (failed.exists() or failed.is_symlink()) or (failed.is_dir() and not failed.is_symlink()
                                                             and (failed / RUN_MARK).is_file()):
            return failed
        number += 1
