"""The programme office: a generation of partnerships, each exchange counted once, repeat visitors
across partnerships (cxc_analysis.programme, programme_run and the `programme` command).

Truths come from outside the matching code: ``synth.write_generation`` counts what it planted from
its own records, and the D5.1 table (42 / 19 / 13 / 18 / 2 / 5 / 4, 5 pending) is what one
partnership's exchanges must give however many trackers record them.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import pdf_text, run_cli

from cxc_analysis import programme as pg
from cxc_analysis.core.config import DEFAULT_INPUT
from cxc_analysis.report.programme import read_generation
from cxc_analysis.synth import write_generation

PUBLISHED = {"actual": {"exchanges": 42, "outside_partnership": 19, "cluster_organisation": 13, "sme": 18,
                        "scaling_up_support_organisation": 2, "large_company": 5, "public_authority": 4},
             "pending": {"exchanges": 5, "outside_partnership": 0, "cluster_organisation": 0, "sme": 4,
                         "scaling_up_support_organisation": 0, "large_company": 1, "public_authority": 0}}


def member(name: str, rows: list[dict]) -> pg.Member:
    """A partnership from hand-written rows (usable, with the columns the programme reads)."""
    base = {"excluded": False, "status": "completed", "partnership": "inside", "vo_entity_type": "sme",
            "event": None, "start_date": pd.NaT, "end_date": pd.NaT}
    table = pd.DataFrame([{**base, "source_row": i + 2, **row} for i, row in enumerate(rows)])
    for column in ("start_date", "end_date"):
        table[column] = pd.to_datetime(table[column])
    return pg.Member(name, name, table)


@pytest.fixture(scope="module")
def generation_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generation")
    truth = write_generation(folder, partnerships=5, rows=70, seed=11, shared=6, repeats=4)
    return folder, truth


def test_synthetic_generation_figures_equal_the_planted_truth(generation_folder):
    folder, truth = generation_folder
    partnerships, not_read = read_generation(folder / "runs.yaml")
    assert not not_read
    gen = pg.generation([p.member for p in partnerships])
    once = pg.counted_once(gen)
    assert once["actual"].to_dict() == truth.programme["actual"]
    assert once["pending"].to_dict() == truth.programme["pending"]
    # the partnerships' own figures add up to more than the programme's: one per shared exchange
    own_sum = sum(t["actual"]["exchanges"] + t["pending"]["exchanges"] for t in truth.partnerships.values())
    assert own_sum - (once.at["exchanges", "actual"] + once.at["exchanges", "pending"]) == len(truth.shared)
    shared = pg.shared_exchanges(gen)
    assert sorted((sorted(p), c) for p, c in zip(shared["partnerships"], shared["counted_in"])) == \
        sorted((t["partnerships"], t["counted_in"]) for t in truth.shared)
    repeats = pg.repeat_visitors(gen)
    assert sorted(sorted(p) for p in repeats["partnerships"]) == sorted(t["partnerships"] for t in truth.repeat_visitors)


@pytest.mark.e2e
def test_each_partnership_as_its_own_kpis_gives_it(generation_folder):
    """`programme --json`'s per-partnership figures are `kpis --json`'s, tracker by tracker."""
    folder, truth = generation_folder
    proc = run_cli("programme", str(folder / "runs.yaml"), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result["partnerships"]) == set(truth.partnerships)
    for run in sorted(folder.glob("cxc-*.*")):
        if run.suffix not in (".csv", ".xlsx"):
            continue
        name = run.stem.upper()
        own = run_cli("kpis", str(run), "--json", "--partnership", name,
                      "--targets", str(folder / f"{run.stem}_targets.yaml"))
        assert own.returncode == 0, own.stderr
        assert result["partnerships"][name] == json.loads(own.stdout)
        assert json.loads(own.stdout)["actual"] == truth.partnerships[name]["actual"]
    assert result["programme"] == truth.programme
    assert len(result["shared_exchanges"]) == len(truth.shared)
    assert {"host", "visitor", "event", "partnerships", "rows"} <= set(result["shared_exchanges"][0])
    assert len(result["repeat_visitors"]) == len(truth.repeat_visitors)


def _corpus_tracker(folder: Path, name: str) -> Path:
    here = Path(__file__).parent / "corpus" / "make_corpus.py"
    spec = importlib.util.spec_from_file_location("make_corpus", here)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(folder)
    return folder / name


def test_one_partnerships_exchanges_in_three_trackers_count_once(tmp_path):
    """The D5.1 exchanges in the bundled workbook, a German Excel CSV export (cp1252, ';') and a
    French workbook, as three partnerships: each gives D5.1's table alone, and the programme
    counts D5.1's table once, every usable exchange shared (host, visitor and event spelled per
    language and file, read by meaning)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    german = _corpus_tracker(corpus, "de_export.csv")
    french = corpus / "fr_1.xlsx"
    runs = tmp_path / "runs.yaml"
    runs.write_text("runs:\n"
                    f"  - {{input: '{DEFAULT_INPUT}', partnership: REMOBILISE, period: M12}}\n"
                    f"  - {{input: '{german}', partnership: Mobilitaet-DE, period: M12}}\n"
                    f"  - {{input: '{french}', partnership: Mobilite-FR, period: M12}}\n", encoding="utf-8")
    partnerships, not_read = read_generation(runs)
    assert not not_read
    for p in partnerships:
        own = pg.counted_once(pg.generation([p.member]))
        assert own["actual"].to_dict() == PUBLISHED["actual"], p.member.partnership
    gen = pg.generation([p.member for p in partnerships])
    once = pg.counted_once(gen)
    assert once["actual"].to_dict() == PUBLISHED["actual"]
    assert once["pending"].to_dict() == PUBLISHED["pending"]
    assert once.at["exchanges", "recorded"] == 3 * 42
    shared = pg.shared_exchanges(gen)
    assert len(shared) == 47 and set(shared["counted_in"]) == {"REMOBILISE"}
    assert all(len(p) == 3 for p in shared["partnerships"])


def test_matching_rows_by_event_dates_and_legal_form():
    a = member("A", [{"host_org": "Motus S.r.l.", "visiting_org": "Axxor B.V.", "event": "Equip Auto"},
                     {"host_org": "NextMove", "visiting_org": "Sorama GmbH",
                      "start_date": "2023-03-06", "end_date": "2023-03-10"},
                     {"host_org": "NextMove", "visiting_org": "Lone Visitor Oy"}])
    b = member("B", [{"host_org": "MOTUS SRL", "visiting_org": "AXXOR BV", "event": "equip  auto"},
                     {"host_org": "nextmove", "visiting_org": "SORAMA", "start_date": "2023-03-09",
                      "end_date": "2023-03-12"},
                     {"host_org": "NextMove", "visiting_org": "lone visitor", "event": "Expo"}])
    gen = pg.generation([a, b])
    assert len(pg.shared_exchanges(gen)) == 2  # the same event; overlapping dates
    uncertain = pg.uncertain_pairs(gen)
    assert uncertain["rows"].tolist() == [["A row 4", "B row 4"]]  # no event or dates on one side
    once = pg.counted_once(gen)
    assert once.at["exchanges", "actual"] == 4 and once.at["exchanges", "recorded"] == 6
    assert pg.repeat_visitors(gen).empty  # a shared exchange is not a repeat visit


def test_two_visits_in_two_partnerships_fail_once_per_generation():
    a = member("A", [{"host_org": "NextMove", "visiting_org": "Axxor", "event": "Equip Auto",
                      "start_date": "2023-03-06", "end_date": "2023-03-10"}])
    b = member("B", [{"host_org": "Cluster Mobilité", "visiting_org": "AXXOR B.V.", "event": "JEC Paris",
                      "start_date": "2024-03-04", "end_date": "2024-03-08"}])
    gen = pg.generation([a, b])
    repeats = pg.repeat_visitors(gen)
    assert repeats["partnerships"].tolist() == [["A", "B"]]
    assert repeats["rows"].tolist() == [["A row 2", "B row 2"]]
    assert pg.shared_exchanges(gen).empty
    assert pg.counted_once(gen).at["exchanges", "actual"] == 2


def test_the_paying_partnership_counts_the_exchange():
    """The second partnership pays (both rows say so): the exchange counts there, with its row's
    classification (outside for B)."""
    a = member("A", [{"host_org": "NextMove", "visiting_org": "Axxor", "event": "Expo", "partnership": "inside",
                      "paying_partnership": "B"}])
    b = member("B", [{"host_org": "NextMove", "visiting_org": "Axxor", "event": "Expo", "partnership": "outside",
                      "paying_partnership": "b"}])
    gen = pg.generation([a, b])
    shared = pg.shared_exchanges(gen)
    assert shared["counted_in"].tolist() == ["B"] and shared["why"].tolist() == ["pays the visitor"]
    assert pg.counted_once(gen).at["outside_partnership", "actual"] == 1


@pytest.mark.parametrize("header", ["Paying partnership", "VOP", "Zahlende Partnerschaft", "Partenariato pagante"])
def test_the_paying_partnership_column_is_read_by_meaning(tmp_path, header):
    from cxc_analysis.report.processed import read_and_clean

    path = tmp_path / "t.csv"
    path.write_text(f"HO,VO,VO Type of entity,Inside/outside partnership,Status,{header}\n"
                    "NextMove,Axxor,SME,Inside,Completed,REMOBILISE\n", encoding="utf-8")
    table, _ = read_and_clean(path)
    assert table["paying_partnership"].tolist() == ["REMOBILISE"]


@pytest.mark.e2e
def test_a_partnership_that_cannot_be_read_does_not_stop_the_others(generation_folder, tmp_path):
    folder, truth = generation_folder
    runs = tmp_path / "runs.yaml"
    text = (folder / "runs.yaml").read_text(encoding="utf-8").replace("input: ", f"input: {folder}/")
    text = text.replace("targets: ", f"targets: {folder}/")
    runs.write_text(text + "  - {input: missing.xlsx, partnership: GHOST, period: M12}\n", encoding="utf-8")
    proc = run_cli("programme", str(runs), "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert set(result["not_read"]) == {"GHOST"} and "missing.xlsx" in result["not_read"]["GHOST"]
    assert result["programme"] == truth.programme
    assert "GHOST" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.e2e
def test_an_unusable_run_file_is_exit_2(tmp_path):
    runs = tmp_path / "runs.yaml"
    runs.write_text("runs: 7\n", encoding="utf-8")
    proc = run_cli("programme", str(runs), "--json")
    assert proc.returncode == 2 and "runs.yaml" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.e2e
def test_programme_report_html_pdf_xlsx(generation_folder, tmp_path):
    from openpyxl import load_workbook

    folder, truth = generation_folder
    out = tmp_path / "programme"
    proc = run_cli("programme", str(folder / "runs.yaml"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    text = pdf_text(out / "report.pdf")
    once = truth.programme["actual"]["exchanges"]
    assert f"{once} completed" in " ".join(text.split())
    html = (out / "report.html").read_text(encoding="utf-8").casefold()
    assert "organisations that visit in more than one partnership" in html
    for entry in truth.repeat_visitors:
        assert " ".join(entry["visitor"].split()[:3]).casefold() in html
    sheets = load_workbook(out / "report.xlsx", read_only=True).sheetnames
    assert {"Overview", "Programme KPIs", "Per partnership", "Shared exchanges", "Repeat visitors"} <= set(sheets)


@pytest.mark.e2e
def test_synth_writes_a_generation_from_the_command_line(tmp_path):
    proc = run_cli("synth", "--partnerships", "3", "--rows", "25", "--shared", "2", "--repeats", "1",
                   "--out", str(tmp_path / "gen"))
    assert proc.returncode == 0, proc.stderr
    truth = json.loads((tmp_path / "gen" / "truth.json").read_text(encoding="utf-8"))
    assert len(truth["partnerships"]) == 3 and len(truth["shared"]) == 2 and len(truth["repeat_visitors"]) == 1
    assert sorted(p.suffix for p in (tmp_path / "gen").glob("cxc-*") if "targets" not in p.name) == \
        [".csv", ".csv", ".xlsx"]
    refused = run_cli("synth", "--partnerships", "1", "--rows", "5", "--shared", "1", "--out", str(tmp_path / "x"))
    assert refused.returncode == 2 and "two partnerships" in refused.stderr
