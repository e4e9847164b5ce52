"""Batch report runs: many partnerships from one run file, in parallel worker processes,
with an index page linking every report and its headline KPIs.

Run file (YAML); relative paths are relative to the run file's folder::

    out: reports/generation-2023          # optional; default reports/batch_<time>/
    runs:
      - name: remobilise                  # folder name of this run (default: partnership)
        input: data/raw/remobilise_d51_exchanges.xlsx
        targets: data/raw/remobilise_targets.yaml
        partnership: REMOBILISE
        period: M12 (January 2023)
        deliverable: data/raw/remobilise_deliverable.yaml   # optional

One failing run does not stop the others; the index marks it, and the exit code says so.
Each run's notebook kernels talk over private Unix sockets, so parallel runs never race for
TCP ports.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from cxc_analysis.core.config import REPORTS
from cxc_analysis.core.errors import InputError
from cxc_analysis.report.settings import BY_NAME, Settings, read_runs

log = logging.getLogger("cxc_analysis")


def run_batch(run_file: str | Path, *, jobs: int | None = None,
              out: str | Path | None = None) -> tuple[Path, list[dict]]:
    """Run every report of the run file; return the batch folder and one result per run."""
    from cxc_analysis.core.output import check_writable

    runs, file_out = read_runs(run_file)
    folder = check_writable(Path(out) if out else file_out or REPORTS / f"batch_{dt.datetime.now():%Y%m%d-%H%M%S}")
    folder.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(runs)))
    log.info(f"batch: {len(runs)} runs, {jobs} at a time -> {folder}")
    results: dict[str, dict] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        fmt = next((h.formatter._fmt for h in log.handlers if h.formatter), "%(message)s").replace(
            "%(message)s", "{name}: %(message)s")
        futures = {pool.submit(run_one, run, str(folder / run.get("name")), log.getEffectiveLevel(),
                               fmt.format(name=run.get("name"))): run.get("name") for run in runs}
        try:
            for future in as_completed(futures):
                name = futures[future]
                try:
                    results[name] = future.result()
                except Exception as exc:  # a worker that died: still report it, keep the others
                    results[name] = {"name": name, "status": "failed", "message": f"{type(exc).__name__}: {exc}"}
                result = results[name]
                log.info(f"batch: {name}: {result['status']}" + (f" ({result['message']})" if result.get("message")
                                                                  else ""))
        except BaseException:  # interrupted or terminated: stop the workers, each removes its temporary run
            _stop_workers(pool)
            raise
    ordered = [results[run.get("name")] for run in runs]
    write_index(folder, ordered)
    return folder, ordered


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Send SIGTERM to the pool's worker processes (ProcessPoolExecutor has no public way before 3.14)."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


def run_one(run: Settings, out: str, level: int = logging.INFO, fmt: str = "%(message)s") -> dict:
    """One report run in a worker process; never raises for a failed run, returns its status.
    The headline KPIs use the targets the report used (none where it has none)."""
    from cxc_analysis.core.output import terminate_as_exception
    from cxc_analysis.report.runner import RunFailed, run_report, without_local_paths

    _worker_logging(run.get("name"), level, fmt)
    run = Settings.from_layers(run.values, {"out": out})
    result = {"name": run.get("name"), "partnership": run.partnership or "", "period": run.period or ""}
    try:
        with terminate_as_exception():
            folder = run_report(run)
    except (InputError, RunFailed) as exc:  # the message as the index shows it: no absolute local path
        paths = [value for name, value in run.values.items() if name in BY_NAME and BY_NAME[name].kind == "path"]
        return {**result, "status": "failed", "message": without_local_paths(str(exc), paths, run=Path(out))}
    return {**result, "status": "ok", "folder": folder.name, "kpis": _headline(folder, run)}


def _worker_logging(name: str, level: int, fmt: str = "%(message)s") -> None:
    """A worker's log lines, timestamped and prefixed with its run's name, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    from cxc_analysis.cli.logs import TIME_FORMAT, VisibleFormatter

    handler.setFormatter(VisibleFormatter(fmt, TIME_FORMAT))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(level)


def _headline(folder: Path, run: Settings) -> dict:
    from cxc_analysis.kpis import kpi_json, kpi_table
    from cxc_analysis.report.processed import read_processed

    table, _ = read_processed(folder / "data")
    return kpi_json(kpi_table(table, run.targets))


INDEX_KPIS = (("exchanges", "Exchanges"), ("outside_partnership", "Outside"), ("sme", "SMEs"),
              ("cluster_organisation", "Clusters"))


def write_index(folder: Path, results: list[dict]) -> Path:
    """index.html: one row per run, with its status, headline KPIs and links to its deliverables;
    no absolute local path (a message's paths relative to the batch folder or the project)."""
    from cxc_analysis.core.output import write_atomic
    from cxc_analysis.report.runner import without_local_paths

    rows = []
    for result in results:
        name = html.escape(result["name"])
        if result["status"] == "ok":
            kpis = result["kpis"]
            cells = "".join(
                f"<td class=num>{kpis['actual'][k]}" + (f" / {kpis['target'][k]}" if kpis['target'][k] is not None
                                                          else "") + "</td>" for k, _ in INDEX_KPIS)
            links = " · ".join(f'<a href="{html.escape(result["folder"])}/report.{ext}">{ext.upper()}</a>'
                               for ext in ("html", "pdf", "xlsx"))
            rows.append(f"<tr><td>{name}</td><td>{html.escape(result['partnership'])}</td>"
                        f"<td>{html.escape(result['period'])}</td><td class=ok>completed</td>{cells}<td>{links}</td></tr>")
        else:
            rows.append(f"<tr class=failed><td>{name}</td><td>{html.escape(result.get('partnership', ''))}</td>"
                        f"<td>{html.escape(result.get('period', ''))}</td><td class=bad>FAILED</td>"
                        f"<td colspan={len(INDEX_KPIS) + 1}>"
                        f"{html.escape(without_local_paths(result.get('message', ''), run=folder))}</td></tr>")
    head = "".join(f"<th>{label}<br><small>completed / target</small></th>" for _, label in INDEX_KPIS)
    failed = sum(r["status"] != "ok" for r in results)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ClusterXchange reports</title>
<style>
body {{ font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #1a1a1a; }}
h1 {{ color: #003399; }} table {{ border-collapse: collapse; width: 100%; font-size: 10pt; }}
th {{ background: #003399; color: white; text-align: left; padding: 0.4em; }}
td {{ border-bottom: 1px solid #c8cfdc; padding: 0.4em; vertical-align: top; }}
td.num {{ text-align: right; }} .ok {{ color: #006d43; }} .bad {{ color: #b00020; font-weight: bold; }}
tr.failed {{ background: #fdecee; }} a {{ color: #003399; }}
</style></head><body>
<h1>ClusterXchange reports</h1>
<p>{len(results)} runs, {len(results) - failed} completed, {failed} failed.
Generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC by cxc-analysis.</p>
<table><thead><tr><th>Run</th><th>Partnership</th><th>Period</th><th>Status</th>{head}<th>Report</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
</body></html>
"""
    return write_atomic(folder / "index.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))


