"""Benchmarks of issues 5 and 9: every command against a plain pandas read, on both shapes of
synthetic tracker (realistic: every visitor a different organisation; low-cardinality: a few
thousand names repeating), the report on a 100,000-row tracker, calamine against openpyxl.

    python benchmarks/run.py                 # 1,000,000-row CSVs of both shapes, 100,000-row xlsx, 3 repeats
    python benchmarks/run.py --rows 100000 --xlsx-rows 10000 --repeat 1 --report-rows 0   # a quick try
    python benchmarks/run.py --report        # also time `cxc-analysis report` on the bundled data
    python benchmarks/run.py --workdir /tmp/bench --keep   # keep the trackers; a later run reuses them
    python benchmarks/run.py --report-scaling --repeat 1   # only the report at 1k, 5k, 20k, 50k, 100k rows

Every case runs as its own process with this interpreter; wall time is measured around the
process, peak memory is the process's maximum resident set, measured by GNU ``/usr/bin/time``
(else by ``os.wait4``, which also counts what the child inherited from this small parent
before it started the interpreter; the parent imports no pandas for that reason). Plain-read and
kpis runs alternate so they share the machine's conditions; the table shows the median of
the repeats (and the fastest). The kpis counts are compared with the truth the synthetic
tracker was generated from. Prints a plain table; docs/benchmarks.md records a run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_READ = "import sys, pandas as pd; pd.read_csv(sys.argv[1], dtype=str)"
CALAMINE_READ = """import sys, time
from python_calamine import CalamineWorkbook
t = time.perf_counter()
rows = CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_name("Exchanges").to_python()
print(time.perf_counter() - t, len(rows) - 1)"""
OPENPYXL_READ = """import sys, time
from openpyxl import load_workbook
t = time.perf_counter()
book = load_workbook(sys.argv[1], read_only=True, data_only=True)
rows = list(book["Exchanges"].iter_rows(values_only=True))
print(time.perf_counter() - t, len(rows) - 1)"""


def _gnu_time() -> str | None:
    try:
        ok = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", os.devnull, "true"], capture_output=True).returncode
    except OSError:
        return None
    return "/usr/bin/time" if ok == 0 else None


GNU_TIME = _gnu_time()
CPU: list[float] = []  # user + system seconds of each child, in order


def run(args: list[str], cwd: Path | None = None, quiet: bool = False,
        stdout: Path | None = None) -> tuple[float, float, str, int]:
    """Run one child process: (wall seconds, peak RSS in MB, stdout, exit code); CPU seconds in CPU[-1].
    ``stdout``: a file for the child's output, which is then not read back ("" is returned)."""
    with (open(stdout, "wb") if stdout else tempfile.TemporaryFile()) as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        command = [GNU_TIME, "-f", "%M %U %S", "-o", rss.name, *args] if GNU_TIME else args
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode()
        captured = ""
        if not stdout:
            out.seek(0)
            captured = out.read().decode()
        peak_kb, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        if GNU_TIME:
            text = Path(rss.name).read_text().split()
            if len(text) >= 3 and text[-3].isdigit():  # the last line: "%M %U %S"
                peak_kb, cpu = int(text[-3]), float(text[-2]) + float(text[-1])
        CPU.append(cpu)
    if child.returncode != 0 and not quiet:
        print(f"warning: {' '.join(map(str, args[:4]))} exited {child.returncode}: {stderr.strip()[-500:]}",
              file=sys.stderr)
    return wall, peak_kb / 1024, captured, child.returncode


KERNEL_START = """import time
from jupyter_client.manager import start_new_kernel
started = time.perf_counter()
km, kc = start_new_kernel(kernel_name="python3")
print(time.perf_counter() - started)
kc.stop_channels()
km.shutdown_kernel(now=True)
"""


def report_steps(folders: list[Path], python: str) -> list[tuple[str, str, str]]:
    """Where a report's time goes: the steps each run recorded in its provenance.json (a notebook
    step is kernel start + execution), and a kernel start measured on its own."""
    steps: dict[str, list[float]] = {}
    for folder in folders:
        provenance = folder / "provenance.json"
        if provenance.is_file():
            for step, seconds in json.loads(provenance.read_text())["timings_s"].items():
                steps.setdefault(step, []).append(seconds)
    rows = [(f"  report step: {step}", f"{statistics.median(values):.2f}", "s (median)")
            for step, values in steps.items()]
    _, _, out, code = run([python, "-c", KERNEL_START], quiet=True)
    if code == 0 and out.strip():
        rows.append(("  of which kernel start, per notebook", f"{float(out.split()[-1]):.2f}",
                     "s (a python3 kernel started and ready, measured alone)"))
    return rows


VERSIONS = """import json, platform
from importlib.metadata import version
print(json.dumps({"Python": platform.python_version(),
                  **{name: version(name) for name in ("pandas", "pyarrow", "numpy", "python-calamine", "openpyxl")}}))"""
SYNTH = """import json, sys
from cxc_analysis.synth import write_synth
shape = sys.argv[5] if len(sys.argv) > 5 else "realistic"
truth = write_synth(sys.argv[1], int(sys.argv[2]), seed=int(sys.argv[3]), duplicates=int(sys.argv[4]), shape=shape)
print(json.dumps({**truth.kpis(), "duplicates": truth.duplicate_exchanges, "malformed_ids": truth.malformed_ids,
                  "duplicate_ids": truth.duplicate_ids, "rules": truth.rules, "distinct": truth.distinct}))"""
PDF_PAGES = "import sys; from pypdf import PdfReader; print(len(PdfReader(sys.argv[1]).pages))"
# command -> (wall-time ratio target, peak-memory ratio target) against the plain read (issue 9)
TARGETS = {"kpis": (1.0, 1.3), "clean": (3.0, 1.5), "check": (4.0, 2.0), "check --json": (5.0, 2.0)}
REPORT_SECONDS, REPORT_PAGES = 60, 60
RULE_NAMES = ("cross_border", "eligible_country", "distance", "duration", "single_visit", "vo_type", "sme_category",
              "max_support")


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    try:
        kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
        memory = f"{kb / 1024 ** 2:.1f} GiB"
    except (OSError, StopIteration):
        memory = "unknown"
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "unknown"
    versions = json.loads(run([sys.executable, "-c", VERSIONS])[2])
    return {"cores (nproc)": str(os.cpu_count()), "CPU": cpu, "memory": memory,
            "OS": f"{platform.system()} {platform.release()}", **versions,
            "peak memory measured by": GNU_TIME or "os.wait4 (includes the parent's share before exec)",
            "load average before the run": load}


class Table:
    def __init__(self):
        self.rows: list[tuple] = []

    def add(self, case: str, rows: int | None, seconds: list[float], peak: list[float] | None = None,
            cpu: list[float] | None = None):
        median = statistics.median(seconds)
        self.rows.append((case, f"{rows:,}" if rows is not None else "-", f"{median:.2f}",
                          f"{min(seconds):.2f}" if len(seconds) > 1 else "-",
                          f"{statistics.median(cpu):.2f}" if cpu else "-",
                          f"{rows / median:,.0f}" if rows and median else "-",
                          f"{statistics.median(peak):,.0f}" if peak else "-"))

    def print(self):
        header = ("case", "rows", "seconds", "fastest", "cpu s", "rows/s", "peak MB")
        widths = [max(len(str(r[i])) for r in [header, *self.rows]) for i in range(len(header))]
        for index, row in enumerate([header, *self.rows]):
            print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
            if index == 0:
                print("  ".join("-" * w for w in widths))


def verdict(value: float, target: float) -> str:
    return f"met (target <= {target:g})" if value <= target else f"NOT met (target <= {target:g})"


def synth_file(path: Path, rows: int, seed: int, shape: str, python: str, table: "Table") -> dict:
    """Write a synthetic tracker (or reuse one written before with the same parameters) and
    return its truth."""
    truth_path = path.with_suffix(".truth.json")
    if path.is_file() and truth_path.is_file():
        print(f"{path.name}: reused (written by an earlier run)", flush=True)
        return json.loads(truth_path.read_text())
    wall, peak, out, code = run([python, "-c", SYNTH, str(path), str(rows), str(seed), str(rows // 1000), shape])
    if code != 0:
        raise SystemExit(f"synth failed for {path}")
    table.add(f"synth .csv, {shape} (process)", rows, [wall], [peak], [CPU[-1]])
    truth_path.write_text(out)
    return json.loads(out)


def command_line(command: str, csv_path: Path, out_dir: Path, python: str) -> list[str]:
    base = [python, "-m", "cxc_analysis"]
    return {"kpis": [*base, "kpis", str(csv_path), "--json"],
            "clean": [*base, "clean", str(csv_path), "--out", str(out_dir)],
            "check": [*base, "check", str(csv_path)],
            "check --json": [*base, "check", str(csv_path), "--json"]}[command]


def rule_counts(summary: str) -> dict[str, dict[str, int]]:
    """The pass / fail / cannot-check counts of `cxc-analysis check`'s summary lines."""
    counts = {}
    for line in summary.splitlines():
        parts = line.split()
        if len(parts) >= 4 and all(p.isdigit() for p in parts[1:4]):
            counts[parts[0]] = dict(zip(("pass", "fail", "cannot_check"), map(int, parts[1:4])))
    return counts


def json_records(path: Path) -> tuple[bool, int]:
    """Whether a `check --json` file is one JSON list, and how many records it holds (read in blocks)."""
    record = b'{"row":'
    count, first, tail = 0, b"", b""
    with open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            first = first or block[:1]
            joined = tail + block  # a record start split between two blocks is counted once
            count += joined.count(record)
            tail = joined[-(len(record) - 1):]
    last = tail[-2:]
    return first == b"[" and last.rstrip() == b"]", count


def exact(command: str, out: str, truth: dict, json_file: Path | None) -> str:
    """Whether a command's result equals the generator's truth: "yes", "NO ...", or "" (not checked)."""
    if command == "kpis":
        got = json.loads(out) if out.strip() else {}
        return "yes" if all(got.get(k) == truth[k] for k in ("actual", "pending")) else "NO"
    if command == "clean":
        return ""  # checked from its stderr line in shape_cases
    if command == "check" and truth.get("rules"):
        got = rule_counts(out)
        wrong = [rule for rule, counts in truth["rules"].items() if rule in RULE_NAMES and got.get(rule) != counts]
        return "yes" if not wrong else f"NO ({', '.join(wrong)})"
    if command == "check --json" and json_file is not None:
        rows = truth["actual"]["exchanges"] + truth["pending"]["exchanges"] + truth["duplicates"]
        whole, records = json_records(json_file)
        return "yes" if whole and records == 8 * rows else f"NO ({records} records, list {whole})"
    return ""


def shape_cases(shape: str, args, workdir: Path, python: str, table: "Table", ratios: list, problems: list) -> None:
    """Time each command and the plain read, alternating, on one shape of tracker; ratios of medians."""
    csv_path = workdir / f"synth_{shape}_{args.rows}.csv"
    truth = synth_file(csv_path, args.rows, args.seed, shape, python, table)
    distinct = truth.get("distinct", {})
    print(f"{csv_path.name}: {csv_path.stat().st_size / 1e6:.0f} MB, {truth['duplicates']} planted duplicates, "
          f"{truth['malformed_ids']} malformed IDs, {truth['pending']['exchanges']} pending"
          + (f", {distinct.get('VO', 0):,} distinct VO names, {distinct.get('HO', 0):,} hosts, "
             f"{distinct.get('(Group) exchange', 0):,} events" if distinct else "") + "\n", flush=True)
    run([python, "-c", PLAIN_READ, str(csv_path)])  # warm the page cache once, untimed
    plain = ([], [], [])
    measured = {command: ([], [], []) for command in args.commands}
    verdicts: dict[str, str] = {}
    json_file = workdir / "check.json"
    for _ in range(args.repeat):
        wall, peak, _, _ = run([python, "-c", PLAIN_READ, str(csv_path)])
        for store, value in zip(plain, (wall, peak, CPU[-1])):
            store.append(value)
        for command in args.commands:
            out_dir = workdir / "clean_out"
            wall, peak, out, code = run(command_line(command, csv_path, out_dir, python),
                                        stdout=json_file if command == "check --json" else None)
            for store, value in zip(measured[command], (wall, peak, CPU[-1])):
                store.append(value)
            result = exact(command, out, truth, json_file) if code == 0 else f"NO (exit {code})"
            verdicts[command] = result if verdicts.get(command, "yes") in ("yes", "") else verdicts[command]
            json_file.unlink(missing_ok=True)
            shutil.rmtree(out_dir, ignore_errors=True)
    table.add(f"plain pd.read_csv(dtype=str), {shape}", args.rows, *plain)
    scale = "" if args.rows >= 1_000_000 else " (targets are for 1,000,000 rows)"
    for command, (walls, peaks, cpus) in measured.items():
        table.add(f"cxc-analysis {command}, {shape}", args.rows, walls, peaks, cpus)
        time_target, memory_target = TARGETS[command]
        time_ratio = statistics.median(walls) / statistics.median(plain[0])
        memory_ratio = statistics.median(peaks) / statistics.median(plain[1])
        ratios.append((f"{shape}: {command} / plain read, wall time", f"{time_ratio:.2f}",
                       verdict(time_ratio, time_target) + scale))
        ratios.append((f"{shape}: {command} / plain read, peak memory", f"{memory_ratio:.2f}",
                       verdict(memory_ratio, memory_target) + scale))
        if verdicts.get(command):
            ratios.append((f"{shape}: {command} equals the synthetic truth", verdicts[command].split()[0],
                           " ".join(verdicts[command].split()[1:])))
            if not verdicts[command].startswith("yes"):
                problems.append(f"{shape}: {command} differs from the truth: {verdicts[command]}")


def report_at_scale(args, workdir: Path, python: str, table: "Table", ratios: list, problems: list) -> None:
    """`cxc-analysis report` on a realistic tracker of --report-rows rows: seconds and PDF pages."""
    from cxc_analysis.core.config import PROJECT_ROOT

    csv_path = workdir / f"synth_realistic_{args.report_rows}.csv"
    synth_file(csv_path, args.report_rows, args.seed, "realistic", python, table)
    walls, peaks, cpus, pages = [], [], [], []
    for index in range(args.repeat):
        out = workdir / f"report_scale_{index}"
        shutil.rmtree(out, ignore_errors=True)
        wall, peak, _, code = run([python, "-m", "cxc_analysis", "report", "--input", str(csv_path),
                                   "--partnership", "SCALE", "--period", "benchmark", "--out", str(out)],
                                  cwd=PROJECT_ROOT)
        if code != 0:
            problems.append(f"cxc-analysis report on {csv_path.name} exited {code}")
            continue
        walls.append(wall)
        peaks.append(peak)
        cpus.append(CPU[-1])
        pages.append(int(run([python, "-c", PDF_PAGES, str(out / "report.pdf")])[2].strip() or 0))
    if not walls:
        return
    table.add("cxc-analysis report, realistic", args.report_rows, walls, peaks, cpus)
    median = statistics.median(walls)
    ratios.append((f"report on {args.report_rows:,} rows, wall seconds", f"{median:.1f}",
                   verdict(median, REPORT_SECONDS)))
    ratios.append((f"report on {args.report_rows:,} rows, PDF pages", f"{max(pages)}",
                   verdict(max(pages), REPORT_PAGES)))
    ratios.extend(report_steps([workdir / f"report_scale_{i}" for i in range(args.repeat)], python))


SCALING_ROWS = (1_000, 5_000, 20_000, 50_000, 100_000)


def report_scaling(sizes: list[int], args, workdir: Path, python: str, table: "Table", ratios: list,
                   problems: list) -> None:
    """`cxc-analysis report` on realistic trackers of each size: seconds and seconds per 1,000 rows
    (the median of --repeat runs); a cost that grows linearly keeps the last column flat."""
    from cxc_analysis.core.config import PROJECT_ROOT

    per_thousand = {}
    for rows in sizes:
        csv_path = workdir / f"synth_realistic_{rows}.csv"
        synth_file(csv_path, rows, args.seed, "realistic", python, table)
        walls, peaks, cpus = [], [], []
        for index in range(args.repeat):
            out = workdir / f"report_scaling_{rows}_{index}"
            shutil.rmtree(out, ignore_errors=True)
            wall, peak, _, code = run([python, "-m", "cxc_analysis", "report", "--input", str(csv_path),
                                       "--partnership", "SCALE", "--period", "benchmark", "--out", str(out)],
                                      cwd=PROJECT_ROOT)
            if code == 0 and index == 0:  # where the time went: the steps the run recorded
                steps = json.loads((out / "provenance.json").read_text())["timings_s"]
                print(f"report on {rows:,} rows, steps (s): " + ", ".join(f"{k} {v}" for k, v in steps.items()),
                      flush=True)
            shutil.rmtree(out, ignore_errors=True)
            if code != 0:
                problems.append(f"cxc-analysis report on {csv_path.name} exited {code}")
                continue
            walls.append(wall)
            peaks.append(peak)
            cpus.append(CPU[-1])
        if not walls:
            continue
        table.add("cxc-analysis report, realistic", rows, walls, peaks, cpus)
        per_thousand[rows] = statistics.median(walls) / rows * 1000
        ratios.append((f"report on {rows:,} rows, seconds per 1,000 rows", f"{per_thousand[rows]:.3f}",
                       f"({statistics.median(walls):.1f} s)"))
        print(f"report on {rows:,} rows: {statistics.median(walls):.1f} s, "
              f"{per_thousand[rows]:.3f} s per 1,000 rows", flush=True)
    if len(per_thousand) >= 2:
        small, large = min(per_thousand), max(per_thousand)
        ratios.append((f"report: s per 1,000 rows at {large:,} / at {small:,}",
                       f"{per_thousand[large] / per_thousand[small]:.2f}",
                       "(below 1: the fixed cost (kernels, PDF) spread over more rows; above 1: worse than linear)"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV (default 1,000,000)")
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="rows of the xlsx (default 100,000; 0 skips)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed case (default 3)")
    parser.add_argument("--seed", type=int, default=2023, help="seed of the synthetic trackers")
    parser.add_argument("--report", action="store_true",
                        help="also time `cxc-analysis report` on the bundled data (skipped if there is no such command)")
    parser.add_argument("--shapes", nargs="*", choices=("realistic", "low-cardinality"),
                        default=["realistic", "low-cardinality"], help="shapes of tracker to measure (default both; none: skip)")
    parser.add_argument("--commands", nargs="*", choices=list(TARGETS), default=list(TARGETS),
                        help="commands to time against the plain read (default all)")
    parser.add_argument("--report-rows", type=int, default=100_000,
                        help="rows of the realistic tracker `cxc-analysis report` runs on (default 100,000; 0 skips)")
    parser.add_argument("--report-scaling", nargs="*", type=int, metavar="ROWS",
                        help="time only `cxc-analysis report` on realistic trackers of these sizes and print seconds "
                             "per 1,000 rows for each (no sizes: " + ", ".join(f"{n:,}" for n in SCALING_ROWS) + ")")
    parser.add_argument("--workdir", type=Path, help="where to write the synthetic files (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic files")
    args = parser.parse_args()

    python = sys.executable
    info = machine()
    for key, value in info.items():
        print(f"{key}: {value}")
    print()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cxc-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    table, ratios, problems = Table(), [], []
    try:
        # --- 0. --report-scaling: the report at several sizes, and nothing else ---------------
        if args.report_scaling is not None:
            report_scaling(args.report_scaling or list(SCALING_ROWS), args, workdir, python, table, ratios,
                           problems)
            args.shapes, args.report_rows, args.xlsx_rows, args.report = [], 0, 0, False
        # --- 1. every command on big CSVs of each shape, against a plain pandas read ----------
        for shape in args.shapes:
            shape_cases(shape, args, workdir, python, table, ratios, problems)

        # --- 1b. the report on a realistic tracker of --report-rows rows ----------------------
        if args.report_rows:
            report_at_scale(args, workdir, python, table, ratios, problems)

        # --- 2. xlsx: calamine against openpyxl ---------------------------------------------
        if args.xlsx_rows:
            xlsx_path = workdir / f"synth_{args.xlsx_rows}.xlsx"
            wall, peak, out, _ = run([python, "-c", SYNTH, str(xlsx_path), str(args.xlsx_rows), str(args.seed), "0"])
            xlsx_truth = json.loads(out)
            table.add("synth .xlsx (process, openpyxl writes)", args.xlsx_rows, [wall], [peak], [CPU[-1]])
            reads = {"calamine": ([], [], []), "openpyxl": ([], [], [])}
            for _ in range(args.repeat):
                for name, code in (("calamine", CALAMINE_READ), ("openpyxl", OPENPYXL_READ)):
                    _, peak, out, _ = run([python, "-c", code, str(xlsx_path)])
                    seconds, count = out.split()
                    if int(count) != args.xlsx_rows:
                        problems.append(f"{name} read {count} rows, not {args.xlsx_rows}")
                    reads[name][0].append(float(seconds))
                    reads[name][1].append(peak)
                    reads[name][2].append(CPU[-1])
            table.add("python-calamine read (timed in the child)", args.xlsx_rows, *reads["calamine"])
            table.add("openpyxl read-only read (timed in the child)", args.xlsx_rows, *reads["openpyxl"])
            xlsx_kpis = ([], [], [])
            for _ in range(args.repeat):
                wall, peak, out, code = run([python, "-m", "cxc_analysis", "kpis", str(xlsx_path), "--json"])
                xlsx_kpis[0].append(wall)
                xlsx_kpis[1].append(peak)
                xlsx_kpis[2].append(CPU[-1])
                got = json.loads(out) if code == 0 else {}
                if any(got.get(k) != xlsx_truth[k] for k in ("actual", "pending")):
                    problems.append("kpis counts on the xlsx differ from the truth")
            table.add("cxc-analysis kpis --json on the xlsx", args.xlsx_rows, *xlsx_kpis)
            speed = statistics.median(reads["openpyxl"][0]) / statistics.median(reads["calamine"][0])
            ratios.append((f"openpyxl / calamine read time at {args.xlsx_rows:,} rows", f"{speed:.1f}",
                           "(calamine this many times faster)"))

        # --- 3. the report command, if there is one ------------------------------------------
        if args.report:
            from cxc_analysis.core.config import PROJECT_ROOT

            if run([python, "-m", "cxc_analysis", "report", "--help"], quiet=True)[3] != 0:
                ratios.append(("cxc-analysis report", "skipped", "(no report command)"))
            else:
                walls, peaks, cpus = [], [], []
                for index in range(args.repeat):
                    out = workdir / f"report_{index}"
                    wall, peak, _, code = run([python, "-m", "cxc_analysis", "report", "--out", str(out)],
                                              cwd=PROJECT_ROOT)
                    if code != 0:
                        problems.append(f"cxc-analysis report exited {code}")
                    walls.append(wall)
                    peaks.append(peak)
                    cpus.append(CPU[-1])
                table.add("cxc-analysis report (bundled data)", None, walls, peaks, cpus)
                median = statistics.median(walls)
                ratios.append(("cxc-analysis report wall seconds (median)", f"{median:.1f}", verdict(median, 15)))
                ratios.extend(report_steps([workdir / f"report_{i}" for i in range(args.repeat)], python))
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    table.print()
    print()
    width = max(len(r[0]) for r in ratios) if ratios else 0
    for name, value, note in ratios:
        print(f"{name.ljust(width)}  {value:>6}  {note}")
    print(f"\nseconds: wall time of the process (xlsx reads: timed inside it, imports excluded), median of "
          f"{args.repeat} run(s); fastest: the quickest; cpu s: user + system time of the whole process "
          f"(several cores add up); peak MB: the process's maximum resident set.")
    if args.keep or args.workdir:
        print(f"synthetic files kept in {workdir}")
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
