"""The ``cxc-analysis`` command: argument parsing, messages and exit codes, nothing else.

Exit codes: 0 success (warnings included), 1 a run failed (e.g. a notebook cell),
2 input that cannot be used (one line on stderr naming file, sheet, row or column).
Each command imports only what it needs, so ``kpis`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from cxc_analysis.cli.logs import configure_logging, visible
from cxc_analysis.core.errors import InputError
from cxc_analysis.kpis import count_kpis

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    from cxc_analysis import __version__

    parser = argparse.ArgumentParser(prog="cxc-analysis",
                                     description="ClusterXchange exchange trackers -> clean table, KPIs, reports.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    noise = common.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="log only notes, warnings and errors")
    noise.add_argument("-v", "--verbose", action="store_true", help="log every step, papermill's too")
    common.add_argument("--timestamps", action="store_true", help="start every log line with the date and time "
                                                                  "(for scheduled runs' logs)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    clean = commands.add_parser("clean", parents=[common],
                                help="clean a tracker: exchanges.parquet/.csv and findings.csv")
    _add_input(clean)
    clean.add_argument("--out", type=Path, help="output folder (default data/processed/)")
    _add_settings(clean, "clean")
    clean.add_argument("--annotate", action="store_true",
                       help="also write tracker_annotated.xlsx: the tracker with every finding on its cell")
    clean.set_defaults(run=run_clean)

    kpis = commands.add_parser("kpis", parents=[common], help="print completed / pending / target per KPI")
    _add_input(kpis)
    _add_settings(kpis, "kpis")
    kpis.add_argument("--json", action="store_true", help='one JSON object {"actual", "pending", "target", "cancelled"}')
    kpis.set_defaults(run=run_kpis)

    check = commands.add_parser("check", parents=[common], help="check every exchange against the programme rules")
    _add_input(check)
    _add_settings(check, "check")
    output = check.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help='a JSON list of {"row", "rule", "outcome", "message"}')
    output.add_argument("--jsonl", action="store_true", help="the same objects as NDJSON, one a line")
    check.set_defaults(run=run_check)

    synth = commands.add_parser("synth", parents=[common],
                                help="write a synthetic tracker (csv or xlsx) for scale tests and benchmarks")
    synth.add_argument("--rows", type=int, required=True, help="number of exchanges (rows)")
    synth.add_argument("--seed", type=int, default=0, help="random seed: same seed, same file (default 0)")
    synth.add_argument("--duplicates", type=int, default=0,
                       help="rows that copy an earlier exchange (duplicate_exchange errors; default 0)")
    synth.add_argument("--shape", choices=("realistic", "low-cardinality"), default="realistic",
                       help="realistic (default): every visitor a different organisation, hundreds of hosts, "
                            "thousands of events, places, dates, amounts; low-cardinality: a few thousand "
                            "names repeating, no places, dates or amounts")
    synth.add_argument("--partnerships", type=int,
                       help="write a generation of N partnerships into the --out folder (trackers, targets, "
                            "runs.yaml, truth.json) instead of one tracker; --rows per partnership")
    synth.add_argument("--shared", type=int, default=0,
                       help="with --partnerships: exchanges recorded in two partnerships' trackers (default 0)")
    synth.add_argument("--repeats", type=int, default=0,
                       help="with --partnerships: visitors that visit again in another partnership (default 0)")
    synth.add_argument("--out", type=Path, required=True, help="output file, .csv or .xlsx (a folder with "
                                                               "--partnerships)")
    synth.set_defaults(run=run_synth)

    report = commands.add_parser("report", parents=[common],
                                 help="run the notebooks and export HTML, PDF and Excel deliverables",
                                 description="Run the report notebooks with papermill and export the executed KPI "
                                             "report to HTML, PDF and Excel (no code) in one folder per run. "
                                             "With no arguments: the bundled REMOBILISE data.")
    _add_settings(report, "report")
    report.add_argument("--params", type=Path, metavar="FILE.yaml",
                        help="settings file of notebook parameters (command-line options override it)")
    report.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="set any notebook parameter (see --list-parameters)")
    report.add_argument("--list-parameters", action="store_true", help="list the notebooks' parameters and exit")
    report.add_argument("--progress", action="store_true", help="show a progress bar per notebook")
    report.add_argument("--batch", type=Path, metavar="RUNS.yaml",
                        help="run every partnership listed in a run file, in parallel, with an index page")
    report.add_argument("--jobs", type=int, help="parallel runs with --batch (default: number of cores)")
    report.set_defaults(run=run_report)

    programme = commands.add_parser("programme", parents=[common],
                                    help="every partnership of a run file side by side, each exchange counted once",
                                    description="Read every partnership of a run file (the one report --batch "
                                                "reads) and write the programme report (HTML, PDF, xlsx): each "
                                                "partnership's figures, the programme's with every exchange "
                                                "counted once, and the organisations that visit in more than "
                                                "one partnership.")
    programme.add_argument("runs", type=Path, metavar="RUNS.yaml", help="run file listing the partnerships")
    programme.add_argument("--out", type=Path, help="output folder (default reports/programme_<time>/)")
    programme.add_argument("--json", action="store_true",
                           help='print one JSON object {"partnerships", "programme", "shared_exchanges", '
                                '"repeat_visitors", ...} and write no report')
    programme.add_argument("--progress", action="store_true", help="show a progress bar while the notebook runs")
    programme.set_defaults(run=run_programme)

    starter = commands.add_parser("deliverable", parents=[common],
                                  help="write a starter deliverable file, Markdown sections and promotion log",
                                  description="Write a commented deliverable.yaml, sections/*.md with D5.1's "
                                              "headings and an empty activities.csv into DIR, for a partnership "
                                              "to fill and pass to report --deliverable.")
    starter.add_argument("folder", type=Path, metavar="DIR", help="folder to write into (created if missing)")
    starter.add_argument("--force", action="store_true", help="replace the starter's files already there")
    starter.set_defaults(run=run_deliverable)

    notebooks = commands.add_parser("notebooks", help="copy the report notebooks into a folder, to open in JupyterLab")
    notebooks.add_argument("folder", type=Path, metavar="DIR", help="folder to copy them into (created if missing)")
    notebooks.add_argument("--force", action="store_true", help="replace notebooks of the same name already there")
    notebooks.set_defaults(run=run_notebooks)
    return parser


def _add_settings(parser: argparse.ArgumentParser, command: str) -> None:
    """One ``--NAME`` option per setting this command offers (declared in settings.KEYS)."""
    from cxc_analysis.report.settings import KEYS

    for key in KEYS:
        if command in key.commands:
            parser.add_argument(f"--{key.name}", type=Path if key.kind == "path" else str, help=key.help,
                                metavar="FILE" if key.kind == "path" else None)


def _add_input(parser: argparse.ArgumentParser, positional: bool = True) -> None:
    if positional:
        parser.add_argument("input", nargs="?", type=Path, metavar="INPUT",
                            help="tracker .xlsx or .csv (default: the bundled D5.1 workbook)")
    parser.add_argument("--sheet", help="sheet holding the exchanges (default: found by its headers)")


def _settings(args: argparse.Namespace, command: str):
    """The command line's settings for ``command`` (relative paths from the current folder)."""
    from cxc_analysis.report.settings import KEYS, Settings, command_line_layer

    options = {key.name: getattr(args, key.name, None) for key in KEYS if command in key.commands}
    options.update({"input": getattr(args, "input", None), "sheet": getattr(args, "sheet", None)})
    return Settings.from_layers(command_line_layer(options, notebook=False))


def load_clean(path: Path | None, sheet: str | None, columns: Path | None = None, vocabulary: Path | None = None,
               fields: tuple[str, ...] | None = None):
    """Read and clean a tracker (the default input when ``path`` is None), with an optional
    column map and vocabulary file; only ``fields``' values if given."""
    from cxc_analysis.report.processed import read_and_clean

    result = read_and_clean(path, sheet, columns, vocabulary, fields)
    for level, line in sheets_read(result.table) if fields is None else ():  # `kpis --json`: the JSON alone
        log.log(logging.WARNING if level == "warning" else logging.INFO, line)
    return result


def sheets_read(table) -> list[tuple[str, str]]:
    """(level, line) saying which sheets of a workbook were read and which skipped (and why)
    (``read.workbook.sheets_read``), and how many rows are not exchanges."""
    from cxc_analysis.read.workbook import sheets_read as sheet_lines

    lines = sheet_lines(table)
    if table.attrs.get("not_exchanges"):
        count = table.attrs["not_exchanges"]
        lines.append(("warning", f"{count} row{' is not an exchange' if count == 1 else 's are not exchanges'} (totals, notes, "
                     "repeated header): not counted, listed in the findings"))
    return lines


def _reading_args(args: argparse.Namespace, settings) -> tuple:
    return settings.input, settings.sheet, settings.get("columns"), settings.get("vocabulary")


def run_clean(args: argparse.Namespace) -> int:
    from cxc_analysis.core.config import DATA_PROCESSED
    from cxc_analysis.core.output import check_writable
    from cxc_analysis.report.processed import write_processed

    settings = _settings(args, "clean")
    out = check_writable(args.out or DATA_PROCESSED)
    table, findings = result = load_clean(*_reading_args(args, settings))
    extra = {}
    if args.annotate:
        from cxc_analysis.table.annotate import annotate_tracker

        extra["tracker_annotated.xlsx"] = lambda path: annotate_tracker(table, findings, path)
    write_processed(result, out, settings.input, settings.source_facts(), extra=extra)
    errors = findings["severity"] == "error"
    rows = findings.loc[errors, "row"].nunique()  # rows, not findings: one row may have several errors
    ignored = table.attrs.get("ignored_columns") or []
    if ignored:
        log.warning("ignored columns: " + ", ".join(f"'{h}'" for h in ignored)
                    + " (map one with --columns FILE.yaml if it holds a field)")
    log.info(f"{len(table)} exchange{'s' * (len(table) != 1)}, {rows} with errors (excluded from KPIs), "
             f"{int((~errors).sum())} warning{'s' * (int((~errors).sum()) != 1)} -> {out}")
    from cxc_analysis.kpis import without_errors

    if len(table) and without_errors(table).empty:
        log.warning("note: no usable exchange: every row has an error, so kpis, check and report refuse this "
                    "tracker; findings.csv (and --annotate) say what to fix")
    return EXIT_OK


def run_kpis(args: argparse.Namespace) -> int:
    from cxc_analysis.kpis import KPI_FIELDS, kpi_display, kpi_json, kpi_table, require_usable

    settings = _settings(args, "kpis")
    targets = settings.targets  # read first: a bad targets file is refused before the tracker is read
    # The JSON holds the counts alone: only the columns they depend on are read. The table's
    # footer counts every finding, so it reads them all.
    table, findings = load_clean(*_reading_args(args, settings), fields=KPI_FIELDS if args.json else None)
    require_usable(table, file=settings.input)
    note = settings.targets_note()
    if note:
        log.warning(f"note: {note}")
    frame = kpi_table(table, targets)
    cancelled = count_kpis(table, "cancelled")
    if args.json:
        print(json.dumps({**kpi_json(frame), "cancelled": cancelled}))
    else:
        print(kpi_display(frame).astype("object").fillna("-").to_string())
        if cancelled["exchanges"]:
            print(f"\n{cancelled['exchanges']} cancelled exchange{'s' if cancelled['exchanges'] != 1 else ''} "
                  "(counted nowhere above)")
        errors = findings["severity"] == "error"
        rows = findings.loc[errors, "row"].nunique()  # rows, not findings: one row may have several errors
        if len(findings):
            print(f"\n{rows} row{'s' if rows != 1 else ''} with errors (excluded), "
                  f"{int((~errors).sum())} warning{'s' if (~errors).sum() != 1 else ''}: "
                  "see `cxc-analysis clean` findings.csv")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    from cxc_analysis.reference.register import read_register
    from cxc_analysis.reference.rulesets import read_rule_set
    from cxc_analysis.rules.checks import evaluate_rules
    from cxc_analysis.rules.output import write_results_json

    settings = _settings(args, "check")
    register = read_register(settings.register)
    rule_set = read_rule_set(settings.get("rules"))
    table, _ = load_clean(*_reading_args(args, settings))
    from cxc_analysis.kpis import require_usable

    require_usable(table, file=settings.input)
    results = evaluate_rules(table, register, rule_set=rule_set)
    del table
    if args.json or args.jsonl:  # written block by block: a million exchanges never held as one text
        write_results_json(results, sys.stdout, lines=args.jsonl)
        sys.stdout.flush()
        return EXIT_OK
    summary = results.summary()
    print(f"Programme rules ({rule_set.path.name}), {len(results)} exchanges\n\n{'rule':<17} {'pass':>6} {'fail':>6} {'cannot check':>13}  "
          "what it checks")
    for rule, line in summary.iterrows():
        print(f"{rule:<17} {line['pass']:>6} {line['fail']:>6} {line['cannot_check']:>13}  {line['description']}")
    position, rule = results.attention()
    fail = results.outcome[position, rule] == 1
    warning = results.warning[position, rule]
    shown = slice(0, 500)
    fails, warned, passed = int(fail.sum()), int((fail & warning).sum()), int((~fail & warning).sum())
    print(f"\n{fails} fail{'s' * (fails != 1)} ({warned} of them warning{'s' * (warned != 1)}), "
          f"{passed} pass{'es' * (passed != 1)} with a warning" + (":" if len(position) else "."))
    from cxc_analysis.reference.rulesets import RULES

    messages = results.messages(position[shown], rule[shown])
    for row, index, message in zip(results.row[position[shown]], rule[shown], messages):
        print(f"row {row:<6} {RULES[index]:<17} {visible(message)}")  # names are data: no escape sequence reaches the terminal
    if len(position) > 500:
        print(f"... and {len(position) - 500} more (all of them with --json)")
    return EXIT_OK


def run_synth(args: argparse.Namespace) -> int:
    from cxc_analysis.synth import write_generation, write_synth

    if args.partnerships is not None:
        truth = write_generation(args.out, args.partnerships, args.rows, seed=args.seed, shared=args.shared,
                                 repeats=args.repeats)
        log.info(f"{len(truth.partnerships)} partnerships, {truth.programme['actual']['exchanges']} completed "
                 f"exchanges counted once, {len(truth.shared)} shared, {len(truth.repeat_visitors)} repeat "
                 f"visitors -> {args.out / 'runs.yaml'}")
        return EXIT_OK
    truth = write_synth(args.out, args.rows, seed=args.seed, duplicates=args.duplicates, shape=args.shape)
    log.info(f"{truth.rows} exchanges ({truth.actual['exchanges']} completed, {truth.pending['exchanges']} pending, "
             f"{truth.duplicate_exchanges} duplicates) -> {args.out}")
    return EXIT_OK


def run_report(args: argparse.Namespace) -> int:
    from cxc_analysis.report.runner import RunFailed
    from cxc_analysis.report.runner import run_report as run
    from cxc_analysis.report.settings import KEYS, Settings, command_line_layer, describe, file_layer

    if args.batch:
        from cxc_analysis.cli.batch import run_batch

        folder, results = run_batch(args.batch, jobs=args.jobs, out=args.out)
        failed = [r["name"] for r in results if r["status"] != "ok"]
        log.info(f"{folder / 'index.html'}: {len(results) - len(failed)} of {len(results)} runs completed"
                 + (f"; failed: {', '.join(failed)}" if failed else ""))
        return EXIT_FAILED if failed else EXIT_OK
    if args.list_parameters:
        print("\n".join(describe()))
        return EXIT_OK
    options = {key.name: getattr(args, key.name) for key in KEYS if "report" in key.commands}
    settings = Settings.from_layers(file_layer(args.params) if args.params else {},
                                    command_line_layer({}, args.parameter), command_line_layer(options))
    try:
        run(settings, progress=args.progress)
    except RunFailed as exc:
        log.error(f"cxc-analysis: error: {exc}")
        return EXIT_FAILED
    return EXIT_OK


def run_programme(args: argparse.Namespace) -> int:
    from cxc_analysis.programme import generation, programme_json
    from cxc_analysis.report.programme import read_generation
    from cxc_analysis.report.programme import run_programme as run
    from cxc_analysis.report.runner import RunFailed

    if args.json:
        partnerships, not_read = read_generation(args.runs)
        print(json.dumps(programme_json(generation([p.member for p in partnerships]), not_read),
                         ensure_ascii=False, default=str))
    else:
        try:
            folder, not_read = run(args.runs, out=args.out, progress=args.progress)
        except RunFailed as exc:
            log.error(f"cxc-analysis: error: {exc}")
            return EXIT_FAILED
        log.info(f"{folder / 'report.html'}" + (f"; not read: {', '.join(not_read)}" if not_read else ""))
    if not_read:
        log.error(f"cxc-analysis: {len(not_read)} partnership{'s' if len(not_read) != 1 else ''} not read: "
                  + "; ".join(f"{name}: {reason}" for name, reason in not_read.items()))
        return EXIT_FAILED
    return EXIT_OK


def run_deliverable(args: argparse.Namespace) -> int:
    from cxc_analysis.report.starter import write_starter

    written = write_starter(args.folder, replace=args.force)
    log.info(f"{len(written)} files -> {args.folder}: fill the sections and the log, then run "
             f"cxc-analysis report --deliverable {args.folder / 'deliverable.yaml'}")
    return EXIT_OK


def run_notebooks(args: argparse.Namespace) -> int:
    from cxc_analysis.core.output import copy_notebooks

    copies = copy_notebooks(args.folder, replace=args.force)
    log.info(f"{len(copies)} notebooks -> {args.folder}: " + ", ".join(p.name for p in copies))
    return EXIT_OK


log = logging.getLogger("cxc_analysis")


def main(argv: list[str] | None = None) -> int:
    from cxc_analysis.core.output import Terminated, terminate_as_exception

    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(getattr(args, "quiet", False), getattr(args, "verbose", False),
                      getattr(args, "timestamps", False))
    try:
        with terminate_as_exception():
            return args.run(args)
    except InputError as exc:
        log.error(f"cxc-analysis: error: {exc}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        log.error("cxc-analysis: interrupted")
        return 130
    except Terminated:
        log.error("cxc-analysis: terminated")
        return 143
    except BrokenPipeError:  # output piped into `head` and closed: not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # cannot write an output: say where, in one line
        where = f"{exc.filename}: " if exc.filename else ""
        log.error(f"cxc-analysis: error: {where}{exc.strerror or exc}")
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
