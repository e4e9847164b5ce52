"""Report runs: check parameters against the notebooks, run them with papermill, export the
deliverables (HTML, PDF, Excel) with their provenance into one folder per run, atomically.

A run builds everything in a hidden temporary folder and renames it into place only when all
of it succeeded; a failed notebook leaves ``<run>_FAILED/`` with the executed notebooks for
debugging and no HTML or PDF that could pass for a finished report.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .config import DEFAULT_DELIVERABLE, DEFAULT_INPUT, DEFAULT_TARGETS, NOTEBOOKS, PROJECT_ROOT, REPORTS
from .errors import InputError
from .output import current_umask, sha256

CLEAN_NOTEBOOK, REPORT_NOTEBOOK = "01_clean_and_validate.ipynb", "02_kpi_report.ipynb"
RUN_NOTEBOOKS = (CLEAN_NOTEBOOK, REPORT_NOTEBOOK)
INTERNAL = ("processed_dir",)  # set by the run itself, not by users
TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool}


class RunFailed(Exception):
    """A notebook failed; the message names the notebook and the cell."""


# --- parameters ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def notebook_parameters() -> dict[str, dict]:
    """Every parameter of the report notebooks: type, default, help and the notebooks using it
    (read once per process; do not modify the result).

    >>> notebook_parameters()["partnership"]["type"]
    'str'
    """
    import papermill

    params: dict[str, dict] = {}
    for name in RUN_NOTEBOOKS:
        for key, info in papermill.inspect_notebook(str(NOTEBOOKS / name)).items():
            entry = params.setdefault(key, {"type": info["inferred_type_name"], "default": info["default"],
                                            "help": info["help"], "notebooks": []})
            entry["notebooks"].append(name)
    return params


def check_parameters(given: dict, *, source: str = "report parameters") -> dict:
    """Refuse unknown names and values of the wrong type before anything runs.

    >>> check_parameters({"partnership": "X"})
    {'partnership': 'X'}
    """
    known = {k: v for k, v in notebook_parameters().items() if k not in INTERNAL}
    for name, value in given.items():
        if name not in known:
            raise InputError(f"unknown parameter '{name}' (known: {', '.join(sorted(known))})", file=source)
        expected = TYPES.get(known[name]["type"])
        if expected and (not isinstance(value, expected) or (expected is not bool and isinstance(value, bool))):
            raise InputError(f"parameter '{name}' must be {known[name]['type']}, not {type(value).__name__} "
                             f"{value!r}", file=source)
    return dict(given)


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

PATH_PARAMETERS = ("input_path", "targets_path", "register_path", "rules_path", "previous_path")
# Short names that settings and run files may use for the file parameters.
PARAMETER_ALIASES = {"input": "input_path", "targets": "targets_path", "register": "register_path",
                     "rules": "rules_path", "previous": "previous_path"}


def run_report(params: dict, *, out: str | Path | None = None, deliverable: str | Path | None = None,
               log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
               progress: bool = False) -> Path:
    """Run the notebooks on ``params`` and write the deliverables; return the run folder.

    Relative paths are taken from the current directory. Everything the run reads is checked
    before a notebook starts. Raises InputError (bad input: exit 2) or RunFailed (a notebook
    failed: exit 1).
    """
    params = resolve_paths(effective_parameters(check_parameters(params)))
    partnership, period = params["partnership"], params["period"]
    files = check_inputs(params, deliverable, log)
    front = front_matter(partnership, period, deliverable, log)
    started = dt.datetime.now(dt.timezone.utc)
    from .export import slug

    final = prepare_out(Path(out) if out else REPORTS / f"{slug(partnership, 'report')}_{slug(period, 'report')}_"
                                                        f"{started:%Y%m%d-%H%M%S}")
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    timings: dict[str, float] = {}
    try:
        run_params = {**params, "processed_dir": str(work / "data")}
        for name in RUN_NOTEBOOKS:
            _execute(name, run_params, work, timings, log, progress)
        _export(work, params, files, started, front, timings)
    except (RunFailed, InputError):
        _keep_failed(work, final, log)
        raise
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    os.chmod(work, 0o777 & ~current_umask())
    _move_into_place(work, final)
    log(f"report ready: {final} ({sum(timings.values()):.1f} s: "
        + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()) + ")")
    return final


def resolve_paths(params: dict) -> dict:
    """File parameters as absolute paths, so the notebooks find them wherever their kernel runs."""
    return {k: (str(Path(v).expanduser().resolve()) if k in PATH_PARAMETERS and v else v) for k, v in params.items()}


def check_inputs(params: dict, deliverable: str | Path | None, log) -> dict[str, Path]:
    """Read every file the run will use, before anything runs; return them by role."""
    from .config import DEFAULT_REGISTER
    from .geo import read_register
    from .load import targets_for

    files = {"input": Path(params.get("input_path") or DEFAULT_INPUT)}
    if not files["input"].is_file():
        raise InputError("file not found" if not files["input"].exists() else "not a file", file=files["input"])
    if not targets_for(params["partnership"], params.get("targets_path")):
        log(f"note: no targets file for {params['partnership']} (--targets): the report shows no targets")
    else:
        files["targets"] = Path(params.get("targets_path") or DEFAULT_TARGETS)
    files["register"] = Path(params.get("register_path") or DEFAULT_REGISTER)
    read_register(files["register"])
    from .rules import read_rule_set

    files["rules"] = read_rule_set(params.get("rules_path") or None).path
    if params.get("previous_path"):  # an earlier tracker or run folder to compare with
        from .compare import read_previous

        files["previous"] = read_previous(params["previous_path"])[2]
    files["deliverable"] = Path(deliverable) if deliverable else DEFAULT_DELIVERABLE
    return files


def prepare_out(final: Path) -> Path:
    """The run folder to create or replace: never data/raw or a folder above it, never a file,
    never a folder that holds anything but an earlier report run."""
    from .config import DATA_RAW
    from .output import check_writable

    final = check_writable(final)
    if final in DATA_RAW.resolve().parents:
        raise InputError("refusing to replace a folder that holds data/raw/; choose a new --out folder", file=final)
    if final.exists() and not final.is_dir():
        raise InputError("exists and is not a folder; choose a new --out folder", file=final)
    if final.is_dir() and any(final.iterdir()) and not (final / "provenance.json").is_file():
        raise InputError("folder exists and is not a cxc-analysis report run (no provenance.json); refusing to "
                         "replace it: choose an empty or new --out folder", file=final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return final


def _execute(name: str, params: dict, work: Path, timings: dict, log, progress: bool) -> None:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    known = notebook_parameters()
    wanted = {k: v for k, v in params.items() if name in known[k]["notebooks"]}
    log(f"running {name} ...")
    started = time.perf_counter()
    _prefer_this_python()
    socket_dir = tempfile.mkdtemp(prefix="cxc-kernel-")
    try:
        papermill.execute_notebook(str(NOTEBOOKS / name), str(work / name), parameters=wanted,
                                   kernel_name="python3", progress_bar=progress, cwd=str(PROJECT_ROOT),
                                   kernel_manager_class=_ipc_kernel_manager(socket_dir))
    except PapermillExecutionError as exc:
        if exc.ename == "InputError":
            raise InputError(exc.evalue) from None
        raise RunFailed(f"notebook {name} failed at cell In [{exc.exec_count}] ({_failing_line(work / name)}): "
                        f"{exc.ename}: {exc.evalue}") from None
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)
    timings[name.split("_")[0] + " notebook"] = time.perf_counter() - started


def _failing_line(path: Path) -> str:
    """The first line of code of the executed notebook's failing cell, to recognise it by."""
    import nbformat

    try:
        cells = nbformat.read(path, as_version=4).cells
    except (OSError, ValueError):
        return "executed notebook unreadable"
    for cell in cells:
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            lines = cell.source.strip().splitlines()
            return f"`{lines[0][:80]}`" if lines else "empty cell"
    return "failing cell not found"


def _prefer_this_python() -> None:
    """The kernel's ``python`` is this interpreter, whatever PATH says (a venv not activated, cron)."""
    here = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != here:
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")


def _ipc_kernel_manager(socket_dir: str):
    """A kernel manager talking over Unix sockets in a private folder: no TCP ports, so parallel
    runs cannot race for the same port (a known papermill failure)."""
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(socket_dir, "kernel"))
            super().__init__(**kwargs)

    return IpcKernelManager


def _export(work: Path, params: dict, files: dict[str, Path], started, front: dict, timings: dict) -> None:
    """Workbook and provenance first, then the HTML, then the PDF/A-3 that embeds the workbook,
    the exchange table and provenance.json (so provenance cannot hold the PDF's own hash, nor
    the seconds the PDF took: those go to the log)."""
    import nbformat

    from .export import about_sheet, exchanges_sheet, findings_sheet, html_to_pdf, kpi_sheet, notebook_to_html, \
        rules_sheet, workbook_properties, write_workbook
    from .kpis import kpi_table
    from .load import targets_for
    from .output import write_atomic
    from .processed import read_processed, read_rules

    if "deliverable" not in front:  # the metadata file was not used: do not list it as read
        files = {role: path for role, path in files.items() if role != "deliverable"}
    read = {role: {"file": _shown(path), "sha256": sha256(path)} for role, path in files.items()}
    provenance = {
        "input_file": files["input"].name,
        "input_sha256": read["input"]["sha256"],
        "files": read,
        "parameters": {k: _shown(v) for k, v in sorted(params.items())},
        "generated_at": started.isoformat(timespec="seconds"),
        "package_version": __version__,
        "python_version": platform.python_version(),
        "pandas_version": __import__("pandas").__version__,
    }
    step = time.perf_counter()
    table, findings = read_processed(work / "data")
    kpis = kpi_table(table, targets_for(params["partnership"], params.get("targets_path")))
    rules = read_rules(work / "data")  # notebook 02 always keeps them
    write_workbook(work / "report.xlsx", {"KPIs": kpi_sheet(kpis), "Exchanges": exchanges_sheet(table),
                                          "Findings": findings_sheet(findings), "Programme rules": rules_sheet(rules),
                                          "About": about_sheet(provenance, params["partnership"], params["period"])},
                   properties=workbook_properties(front.get("title", ""), params["partnership"], params["period"],
                                                  __version__))
    timings["xlsx"] = time.perf_counter() - step

    step = time.perf_counter()
    nb = nbformat.read(work / REPORT_NOTEBOOK, as_version=4)
    nb.metadata["cxc"] = {**front, "provenance": provenance, "partnership": params["partnership"],
                          "period": params["period"], "generated_date": f"{started:%d %B %Y}"}
    html = notebook_to_html(nb)
    write_atomic(work / "report.html", lambda tmp: tmp.write_text(html, encoding="utf-8"))
    timings["html"] = time.perf_counter() - step
    provenance["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    write_atomic(work / "provenance.json",
                 lambda tmp: tmp.write_text(json.dumps(provenance, indent=2, ensure_ascii=False), encoding="utf-8"))

    step = time.perf_counter()
    html_to_pdf(html, work / "report.pdf", attachments=tuple(work / f for f in PDF_ATTACHMENTS))
    timings["pdf"] = time.perf_counter() - step


PDF_ATTACHMENTS = ("report.xlsx", "data/exchanges.csv", "provenance.json")  # embedded in report.pdf


PROJECT_KEYS = ("grant_agreement", "acronym", "full_title", "project_url", "work_package")


def front_matter(partnership: str, period: str, deliverable: str | Path | None, log) -> dict:
    """Title, document information and funding text from a deliverable-metadata YAML file.

    The bundled file describes REMOBILISE's D5.1 (M12). Without ``--deliverable`` it is used only
    for REMOBILISE, and its deliverable-specific lines (number, title, dates, status, authors)
    only for the period it was written for: another period keeps just the project's facts, so a
    report never claims to be a deliverable it is not.
    """
    from .load import read_yaml

    path = Path(deliverable) if deliverable else DEFAULT_DELIVERABLE
    data = read_yaml(path)
    meta = data.get("deliverable", {})
    if not isinstance(meta, dict):
        raise InputError("'deliverable' must be a mapping", file=path)
    if deliverable is None and str(meta.get("acronym", "")).casefold() != partnership.casefold():
        log(f"note: no --deliverable file for {partnership}: the report has no document-information block")
        return {"title": f"{partnership}: ClusterXchange KPI report"}
    if deliverable is None and str(meta.get("period", "")).casefold() != period.casefold():
        meta = {k: v for k, v in meta.items() if k in PROJECT_KEYS}
    meta = {k: str(v) for k, v in meta.items() if v is not None and k != "period"}
    title = data.get("title") or f"{meta.get('acronym', partnership)}: ClusterXchange KPI report"
    return {"title": str(title), "deliverable": meta,
            "funding": str(data.get("funding", "")).strip(), "disclaimer": str(data.get("disclaimer", "")).strip()}


def _shown(value) -> str:
    """A parameter as provenance shows it: paths inside the project relative to it."""
    text = str(value)
    try:
        path = Path(text)
        if path.is_absolute() and PROJECT_ROOT in path.resolve().parents:
            return str(path.resolve().relative_to(PROJECT_ROOT))
    except (OSError, ValueError):
        pass
    return text


def _move_into_place(work: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(work, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _keep_failed(work: Path, final: Path, log) -> None:
    failed = final.with_name(final.name + "_FAILED")
    for leftover in ("report.html", "report.pdf", "report.xlsx", "provenance.json"):
        (work / leftover).unlink(missing_ok=True)
    shutil.rmtree(failed, ignore_errors=True)
    os.replace(work, failed)
    log(f"executed notebooks kept for debugging in {failed}")
