"""The settings layer: one path from defaults, settings file, batch run and command line to a
run's parameters, targets and files; hostile settings files end in one line and exit 2."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest
from conftest import HEADERS, exchange, run_cli, write_xlsx

from cxc_analysis.cli.main import main
from cxc_analysis.core.config import DEFAULT_TARGETS
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.yamlfile import read_yaml
from cxc_analysis.reference.targets import read_targets, targets_for
from cxc_analysis.report.processed import processed_settings
from cxc_analysis.report.settings import Settings, command_line_layer, file_layer, layer

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def other_tracker(folder: Path) -> Path:
    return write_xlsx(folder / "mine.xlsx", [HEADERS, exchange("A"), exchange("B", side="Outside")])


# --- layers, paths and names --------------------------------------------------------------

def test_paths_are_rebased_on_the_settings_file_folder_and_the_command_line_on_cwd(tmp_path, monkeypatch):
    (tmp_path / "settings").mkdir()
    params = tmp_path / "settings" / "run.yaml"
    params.write_text("input: ../data/t.xlsx\ntargets: t.yaml\nout: ../reports/x\npartnership: P\n")
    monkeypatch.chdir(tmp_path)
    from_file = file_layer(Path("settings/run.yaml"), notebook=False)
    assert from_file["input"] == str(tmp_path / "data" / "t.xlsx")
    assert from_file["targets"] == str(tmp_path / "settings" / "t.yaml")
    assert from_file["out"] == str(tmp_path / "reports" / "x")
    assert command_line_layer({"targets": "t.yaml"}, notebook=False)["targets"] == str(tmp_path / "t.yaml")
    merged = Settings.from_layers(from_file, command_line_layer({"partnership": "Q"}, notebook=False))
    assert merged.partnership == "Q" and merged.out == tmp_path / "reports" / "x"


def test_errors_speak_the_users_keys_not_the_notebooks(tmp_path):
    params = tmp_path / "run.yaml"
    params.write_text("target: t.yaml\n")
    with pytest.raises(InputError) as error:
        file_layer(params, notebook=False)
    message = str(error.value)
    assert "unknown setting 'target'" in message and "did you mean 'targets'" in message
    assert "targets_path" not in message and "input_path" not in message
    # a notebook name is still accepted, and reported back under the user's key
    params.write_text("targets_path: 5\n")
    with pytest.raises(InputError, match=r"'targets' must be a file or folder path \(text\), not 5"):
        file_layer(params, notebook=False)


@pytest.mark.parametrize("text, expect", [
    ("out: 123\n", "'out' must be a file or folder path (text), not 123"),
    ("deliverable: [1, 2]\n", "'deliverable' must be a file or folder path (text), not a list"),
    ("partnership: {a: 1}\n", "'partnership' must be text (str), not a mapping"),
    ("period: 12\n", "'period' must be text (str), not 12: put it in quotes"),
    ("1: x\n", "setting names are text, not 1"),
])
def test_values_of_the_wrong_type_are_refused_by_name(tmp_path, text, expect):
    params = tmp_path / "run.yaml"
    params.write_text(text)
    with pytest.raises(InputError) as error:
        file_layer(params, notebook=False)
    assert expect in str(error.value)


def test_parameter_name_is_checked_before_its_value_is_parsed():
    with pytest.raises(InputError, match="unknown setting 'bogus'"):
        command_line_layer({}, [("bogus", "[unclosed")])
    # a key's value is text: never parsed as YAML
    assert command_line_layer({}, [("period", "[unclosed")])["period"] == "[unclosed"


@pytest.mark.e2e
def test_report_params_file_with_wrong_types_is_exit_2_one_line(tmp_path):
    for text in ("out: 123\n", "deliverable: [1, 2]\n"):
        (tmp_path / "run.yaml").write_text(text)
        proc = run_cli("report", "--params", str(tmp_path / "run.yaml"))
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = run_cli("report", "-p", "bogus", "[unclosed")
    assert proc.returncode == 2 and "unknown setting 'bogus'" in proc.stderr and "YAML" not in proc.stderr


# --- hostile YAML ---------------------------------------------------------------------------

@pytest.mark.parametrize("tail", ["targets:\n  exchanges: *i\n", "partnership: *i\n", "deliverable:\n  acronym: *i\n"])
def test_billion_laughs_is_refused_before_it_is_expanded(tmp_path, tail):
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS + tail)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="too large or too deeply nested"):
            read_yaml(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2 ** 20


@pytest.mark.e2e
def test_laughs_as_deliverable_targets_and_params_end_in_one_line(tmp_path):
    (tmp_path / "d.yaml").write_text(LAUGHS + "deliverable:\n  acronym: *i\n")
    (tmp_path / "t.yaml").write_text(LAUGHS + "targets:\n  exchanges: *i\n")
    for args in (["report", "--deliverable", str(tmp_path / "d.yaml"), "--out", str(tmp_path / "r")],
                 ["kpis", "--targets", str(tmp_path / "t.yaml")]):
        proc = run_cli(*args)
        assert proc.returncode == 2 and "too large or too deeply nested" in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("text", ["targets: " + "[" * 20000 + "]" * 20000 + "\n",
                                  "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 3000))])
def test_deep_nesting_is_an_input_error_not_a_recursion_error(tmp_path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match="nested too deeply|too large or too deeply nested"):
        read_targets(path)


@pytest.mark.e2e
def test_deep_nesting_on_the_command_line_is_exit_2(tmp_path):
    (tmp_path / "deep.yaml").write_text("targets: " + "[" * 20000 + "]" * 20000 + "\n")
    proc = run_cli("kpis", "--targets", str(tmp_path / "deep.yaml"))
    assert proc.returncode == 2 and "RecursionError" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.e2e
def test_absurd_target_is_refused(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("targets:\n  exchanges: 100000000000000000000000000000\n")
    with pytest.raises(InputError, match="whole number from 0 to 1,000,000"):
        read_targets(path)
    proc = run_cli("kpis", "--targets", str(path))
    assert proc.returncode == 2 and "OverflowError" not in proc.stderr


def test_deliverable_values_must_be_text(tmp_path):
    from cxc_analysis.report.runner import front_matter

    path = tmp_path / "d.yaml"
    path.write_text("deliverable:\n  acronym: [a, b]\n")
    with pytest.raises(InputError, match="'acronym' must be text, not a list"):
        front_matter("X", "M1", path)
    path.write_text("title: {a: 1}\n")
    with pytest.raises(InputError, match="'title' must be text, not a mapping"):
        front_matter("X", "M1", path)


# --- targets and partnership: one resolution for report, kpis and batch ----------------------

def test_remobilise_is_the_default_only_for_the_bundled_data(tmp_path):
    bundled = Settings()
    assert bundled.partnership == "REMOBILISE" and bundled.targets["exchanges"] == 80
    assert bundled.targets_file == DEFAULT_TARGETS and bundled.targets_note() is None
    other = Settings.from_layers(layer({"input": "mine.xlsx"}, base=tmp_path, origin="t"))
    assert other.partnership is None and other.targets == {} and "no --partnership" in other.targets_note()
    named = Settings.from_layers(layer({"input": "mine.xlsx", "partnership": "OTHER"}, base=tmp_path, origin="t"))
    assert named.targets == {} and "no targets file for OTHER" in named.targets_note()
    assert targets_for("remobilise")["sme"] == 40


def test_kpis_on_another_tracker_shows_no_remobilise_targets_and_says_so(tmp_path, capsys):
    tracker = other_tracker(tmp_path)
    assert main(["kpis", str(tracker), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["actual"]["exchanges"] == 2 and set(result["target"].values()) == {None}
    assert "no --partnership for mine.xlsx" in captured.err
    assert main(["kpis", str(tracker), "--partnership", "OTHER"]) == 0
    captured = capsys.readouterr()
    assert "80" not in captured.out and "no targets file for OTHER" in captured.err
    # the same rules as report: REMOBILISE named, REMOBILISE's targets
    assert main(["kpis", str(tracker), "--partnership", "REMOBILISE", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["target"]["exchanges"] == 80
    (tmp_path / "t.yaml").write_text("targets: {exchanges: 3}\n")
    assert main(["kpis", str(tracker), "--targets", str(tmp_path / "t.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["target"]["exchanges"] == 3


def test_batch_headline_uses_the_runs_targets_not_remobilises(tmp_path):
    from cxc_analysis.cli.batch import _headline, write_index
    from cxc_analysis.report.processed import clean_to_processed
    from cxc_analysis.report.settings import read_runs

    (tmp_path / "runs.yaml").write_text(
        "runs:\n  - {name: tiny, input: mine.xlsx, partnership: TINY, period: M7}\n"
        "  - {name: own, input: mine.xlsx, targets: t.yaml, partnership: OWN, period: M7}\n")
    (tmp_path / "t.yaml").write_text("targets: {exchanges: 9}\n")
    tracker = other_tracker(tmp_path)
    runs, _ = read_runs(tmp_path / "runs.yaml")
    assert runs[0].input == tracker and runs[1].targets == {"exchanges": 9}
    clean_to_processed(tracker, folder=tmp_path / "tiny" / "data")
    results = [{"name": r.get("name"), "partnership": r.partnership, "period": r.period, "status": "ok",
                "folder": "tiny", "kpis": _headline(tmp_path / "tiny", r)} for r in runs]
    assert results[0]["kpis"]["target"]["exchanges"] is None and results[1]["kpis"]["target"]["exchanges"] == 9
    index = write_index(tmp_path, results).read_text(encoding="utf-8")
    rows = index.split("<tbody>")[1].split("</tr>")
    assert " / " not in rows[0] and ">2 / 9<" in rows[1]


@pytest.mark.e2e
def test_report_on_another_tracker_without_partnership_says_so(tmp_path):
    tracker = other_tracker(tmp_path)
    proc = run_cli("report", "--input", str(tracker), "--deliverable", str(tmp_path / "none.yaml"),
                   "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "name the partnership and period of this tracker" in proc.stderr
    assert not (tmp_path / "r").exists()


# --- the processed folder says whose data it is ---------------------------------------------

def test_clean_records_whose_data_and_notebook_defaults_never_say_remobilise(tmp_path):
    tracker = other_tracker(tmp_path)
    assert main(["clean", str(tracker), "--out", str(tmp_path / "p")]) == 0
    source = json.loads((tmp_path / "p" / "source.json").read_text())
    assert source["file"] == "mine.xlsx" and source["partnership"] is None and source["targets"] is None
    with pytest.raises(InputError, match="does not say its partnership and period"):
        processed_settings(tmp_path / "p")
    assert processed_settings(tmp_path / "p", "OTHER", "M6") == ("OTHER", "M6", {})
    (tmp_path / "t.yaml").write_text("partnership: OTHER\ntargets: {sme: 4}\n")
    assert main(["clean", str(tracker), "--out", str(tmp_path / "q"), "--partnership", "OTHER", "--period", "M6",
                 "--targets", str(tmp_path / "t.yaml")]) == 0
    assert processed_settings(tmp_path / "q") == ("OTHER", "M6", {"sme": 4})
    assert main(["clean", "--out", str(tmp_path / "b")]) == 0
    partnership, period, targets = processed_settings(tmp_path / "b")
    assert (partnership, period, targets["exchanges"]) == ("REMOBILISE", "M12 (January 2023)", 80)


def test_a_clean_failing_half_way_leaves_the_old_folder_whole(tmp_path, monkeypatch):
    import cxc_analysis.report.processed as processed

    out = tmp_path / "p"
    assert main(["clean", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = processed.write_csv

    def fail_on_findings(df, path):
        if Path(path).name == "findings.csv":
            raise OSError(28, "No space left on device", str(path))
        return real(df, path)

    monkeypatch.setattr(processed, "write_csv", fail_on_findings)
    assert main(["clean", str(other_tracker(tmp_path)), "--out", str(out)]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # source.json still names its tracker
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_new_clean_removes_the_rule_results_of_the_old_data(tmp_path):
    out = tmp_path / "p"
    assert main(["clean", "--out", str(out)]) == 0
    (out / "rules.parquet").write_bytes(b"old results")
    (out / "notes.txt").write_text("mine")
    assert main(["clean", str(other_tracker(tmp_path)), "--out", str(out)]) == 0
    assert not (out / "rules.parquet").exists() and (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "source.json").read_text())["file"] == "mine.xlsx"
    assert len(pd.read_parquet(out / "exchanges.parquet")) == 2


SLOW_CLEAN = """
import sys, time
import cxc_analysis.report.processed as processed
from cxc_analysis.cli.main import main
real = processed.write_parquet
def slow(df, path):
    real(df, path)
    print("writing", flush=True)
    time.sleep(60)
processed.write_parquet = slow
sys.exit(main(["clean", "--out", sys.argv[1]]))
"""


@pytest.mark.e2e
def test_sigterm_during_clean_leaves_no_temporary_files(tmp_path):
    out = tmp_path / "p"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_CLEAN, str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the run's temporary folder
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# --- report folders, logging, kernels -------------------------------------------------------

def test_a_failed_run_never_deletes_a_failed_folder_a_person_made(tmp_path):
    from cxc_analysis.report.runner import RUN_MARK, _keep_failed, mark

    final = tmp_path / "run"
    person = tmp_path / "run_FAILED"
    person.mkdir()
    (person / "notes.docx").write_text("mine")
    work = tmp_path / ".run.work"
    work.mkdir()
    mark(work)
    (work / "01.ipynb").write_text("{}")
    kept = _keep_failed(work, final)
    assert kept == tmp_path / "run_FAILED-2" and (person / "notes.docx").read_text() == "mine"
    assert (kept / RUN_MARK).is_file() and (kept / "01.ipynb").is_file()
    again = tmp_path / ".run.again"
    again.mkdir()
    mark(again)
    assert _keep_failed(again, final) == kept  # a failed folder this tool made is replaced
    assert not (kept / "01.ipynb").exists() and (person / "notes.docx").exists()


def test_log_lines_have_timestamps_and_quiet_hides_progress(tmp_path, capsys):
    assert main(["clean", "--timestamps", "--out", str(tmp_path / "p")]) == 0
    line = capsys.readouterr().err.strip()
    assert line[:4].isdigit() and line[4] == "-" and "47 exchanges" in line
    assert main(["clean", "--quiet", "--out", str(tmp_path / "p")]) == 0
    assert capsys.readouterr().err == ""


def test_kernel_is_not_interrupted_at_shutdown_and_path_is_left_alone(tmp_path):
    from cxc_analysis.report.runner import ipc_kernel_manager, kernel_environment

    path = os.environ.get("PATH")
    env = kernel_environment()
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert os.environ.get("PATH") == path
    manager = ipc_kernel_manager(str(tmp_path))()
    manager.shutting_down = True
    asyncio.run(manager._async_interrupt_kernel())  # no SIGINT (and no "No kernel is running" error)
    assert manager.format_kernel_cmd()[0] == sys.executable


# --- names are data: xlsx and charts ----------------------------------------------------------

def test_control_characters_are_safe_text_in_the_workbook(tmp_path):
    from openpyxl import load_workbook

    from cxc_analysis.report.export import write_workbook

    frame = pd.DataFrame({"VO": ["nul\x00here", "esc\x1b[2J", "vt\x0bx", "tab\tok"]})
    write_workbook(tmp_path / "w.xlsx", {"Exchanges": frame})
    values = [c.value for c in load_workbook(tmp_path / "w.xlsx")["Exchanges"]["A"]][1:]
    assert values == ["nul\u2400here", "esc\u241b[2J", "vt\u240bx", "tab\tok"]


def test_event_names_with_dollars_are_drawn_as_written_and_global_style_untouched():
    import io

    import matplotlib

    from cxc_analysis.report.sections import charts

    before = dict(matplotlib.rcParams)
    events = ["Prices $5 and $10", r"Budget $\frac{$ summit"]
    table = pd.DataFrame({"event": events, "vo_entity_type": ["sme", "sme"], "status": ["completed"] * 2,
                          "excluded": [False, False]})
    fig = charts.event_chart(table)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(labels) == sorted(events)
    assert all(not t.get_parse_math() for t in fig.axes[0].get_yticklabels())
    fig.savefig(io.StringIO(), format="svg")  # TeX parsing of "$\frac{$" would fail here
    assert dict(matplotlib.rcParams) == before


# --- any settings file: a value or one InputError, never another exception -----------------

from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

YAML_PIECES = st.sampled_from(["input: ", "targets: ", "out: ", "deliverable: ", "partnership: ", "period: ",
                               "target: ", "targets_path: ", "sheet: ", "1: ", "? [a]\n: x\n", "&a ", "*a", "*b",
                               "[", "]", "{", "}", "- ", "\n", "  ", "!!python/object:os.system ", "~", "12",
                               "1e400", "100000000000000000000000000000", "'q'", '"\\x00"', "\x1b", "€", ":", ","])


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(YAML_PIECES, max_size=30).map("".join))
def test_any_settings_or_targets_file_is_a_value_or_one_input_error(tmp_path, text):
    path = tmp_path / "any.yaml"
    path.write_text(text, encoding="utf-8")
    for read in (lambda: file_layer(path, notebook=False), lambda: read_targets(path)):
        try:
            result = read()
        except InputError as error:
            assert "\n" not in str(error) and len(str(error)) < 1000
        else:
            assert isinstance(result, dict)


def test_batch_run_entries_are_checked_like_settings_files(tmp_path):
    from cxc_analysis.report.settings import read_runs

    runs = tmp_path / "runs.yaml"
    for text, expect in (("runs:\n  - {partnership: A, out: x}\n", "run 1: 'out' belongs to the whole run file"),
                         ("runs:\n  - {partnership: A, targets: [1]}\n", "'targets' must be a file or folder path"),
                         ("runs:\n  - {partnership: A, target: t.yaml}\n", "did you mean 'targets'"),
                         ("runs: [{partnership: A}]\nrun: []\n", "unknown key 'run'")):
        runs.write_text(text)
        with pytest.raises(InputError) as error:
            read_runs(runs)
        assert expect in str(error.value) and "runs.yaml" in str(error.value)


# --- strict files: an unknown key is named, never ignored ----------------------------------

def _rule_set_with(change) -> str:
    """The bundled rule set's text with one change made to its parsed form."""
    import yaml

    from cxc_analysis.reference.rulesets import DEFAULT_RULES

    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    change(data)
    return yaml.safe_dump(data, allow_unicode=True)


def _read_deliverable(path):
    from cxc_analysis.report.runner import front_matter

    return front_matter("REMOBILISE", "M12 (January 2023)", path)


def _read_vocabulary(path):
    from cxc_analysis.read.vocabulary import load_vocabulary

    return load_vocabulary(str(path) if path else None)


def _read_rules(path):
    from cxc_analysis.reference.rulesets import read_rule_set

    return read_rule_set(path)


def _read_runs(path):
    from cxc_analysis.report.settings import read_runs

    return read_runs(path)


STRICT_CASES = [
    # (reader, file text, the words the one-line error must hold)
    (_read_deliverable, "deliverable:\n  acronym: X\n  deliverable_titel: Midterm\n",
     "unknown key 'deliverable_titel' in deliverable; did you mean 'deliverable_title'?"),
    (_read_deliverable, "titel: My report\ndeliverable:\n  acronym: X\n", "unknown key 'titel'; did you mean 'title'?"),
    (_read_deliverable, "deliverable:\n  acronym: X\nfundng: EU\n", "unknown key 'fundng'; did you mean 'funding'?"),
    (read_targets, "partnership: X\ntarget:\n  sme: 3\n", "unknown key 'target'; did you mean 'targets'?"),
    (read_targets, "targets:\n  smes: 3\n", "unknown target 'smes'; did you mean 'sme'?"),
    (read_targets, "targets: {sme: 3}\nbudget: 1000\n", "unknown key 'budget'; did you mean 'budget_eur'?"),
    (read_targets, "targets: {sme: 3}\nproject: {start: 2022-02, end: 2024-01, sorce: GA}\n",
     "unknown key 'sorce' in project; did you mean 'source'?"),
    (read_targets, "sme: 3\npartnershp: X\n", "unknown key 'partnershp'; did you mean 'partnership'?"),
    (_read_runs, "runs: [{partnership: A}]\nouts: x\n", "unknown key 'outs'; did you mean 'out'?"),
    (_read_vocabulary, "field: {}\n", "unknown section 'field'; did you mean 'fields'?"),
    (_read_vocabulary, "fields:\n  host_orgs: {role: host, concepts: [[organisation]]}\n",
     "unknown field 'host_orgs' in fields; did you mean 'host_org'?"),
    (_read_vocabulary, "fields:\n  host_org: {role: host, concept: [[organisation]]}\n",
     "unknown key 'concept' in fields.host_org; did you mean 'concepts'?"),
    (_read_vocabulary, "labels:\n  vo_entity_typ: {sme: [PME]}\n",
     "unknown field 'vo_entity_typ' in labels; did you mean 'vo_entity_type'?"),
    (_read_vocabulary, "without_it_tool:\n  withot: [sans]\n",
     "unknown key 'withot' in without_it_tool; did you mean 'without'?"),
    (_read_rules, _rule_set_with(lambda d: d.update(programm="COSME")),
     "unknown key 'programm'; did you mean 'programme'?"),
    (_read_rules, _rule_set_with(lambda d: d["rules"].update(distanse=d["rules"]["distance"])),
     "unknown rule 'distanse' in rules; did you mean 'distance'?"),
    (_read_rules, _rule_set_with(lambda d: d["rules"]["distance"].update(min_kms={"value": 150, "source": "cxc_about"})),
     "unknown limit 'min_kms' in rules.distance; did you mean 'min_km'?"),
    (_read_rules, _rule_set_with(lambda d: d["rules"]["distance"]["min_km"].update(sources=["d51_slides"])),
     "unknown key 'sources' in rules.distance.min_km; did you mean 'source'?"),
    (_read_rules, _rule_set_with(lambda d: d["countries"][0].update(jioned="2014-01-01")),
     "unknown key 'jioned' in countries[1]; did you mean 'joined'?"),
]


@pytest.mark.parametrize("reader, text, message", STRICT_CASES)
def test_an_unknown_key_in_a_settings_file_is_named_with_its_file_and_the_key_it_is_like(tmp_path, reader, text,
                                                                                         message):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as error:
        reader(path)
    assert message in str(error.value) and str(error.value).startswith(str(path))


def test_the_bundled_files_hold_only_known_keys():
    from cxc_analysis.core.config import DEFAULT_DELIVERABLE

    assert read_targets(DEFAULT_TARGETS)["exchanges"] == 80  # D5.1: 80 exchanges promised
    assert _read_deliverable(DEFAULT_DELIVERABLE)["deliverable"]["deliverable_number"] == "D5.1"
    assert _read_rules(None).value("distance", "min_km") == 200
    assert _read_vocabulary(None).field_for("HO") == "host_org"


def test_a_rule_set_note_with_a_comma_is_one_note_not_a_stray_key():
    # Iceland's note in the bundled rule set holds a comma: unquoted in a flow mapping it made a key
    import yaml

    from cxc_analysis.reference.rulesets import DEFAULT_RULES

    iceland = [c for c in yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))["countries"] if c["code"] == "IS"]
    assert iceland[0]["note"] == "EFTA country, a participant before 2 June 2016 (agence_europe_2016)"


@pytest.mark.e2e
def test_report_refuses_a_misspelt_deliverable_key_with_exit_2(tmp_path):
    (tmp_path / "d.yaml").write_text("deliverable:\n  acronym: REMOBILISE\n  deliverable_titel: Midterm\n")
    result = run_cli("report", "--deliverable", str(tmp_path / "d.yaml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "d.yaml" in last and "deliverable_titel" in last and "did you mean 'deliverable_title'" in last
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()
