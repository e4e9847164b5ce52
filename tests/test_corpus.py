"""Trackers as partners write them: every file of tests/corpus gives the D5.1 golden figures.

The corpus is built by tests/corpus/make_corpus.py (its own generator, not ``synth``) from the
bundled D5.1 rows, in the programme's languages, header orders, label mixes, number and date
formats; see tests/corpus/translations.yaml for every wording used.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
import yaml

from cxc_analysis.cli import main as cli

CORPUS = Path(__file__).parent / "corpus"
# REMOBILISE D5.1 "Significant results": completed and pending per indicator.
PUBLISHED = {"actual": {"exchanges": 42, "outside_partnership": 19, "cluster_organisation": 13, "sme": 18,
                        "scaling_up_support_organisation": 2, "large_company": 5, "public_authority": 4},
             "pending": {"exchanges": 5, "outside_partnership": 0, "cluster_organisation": 0, "sme": 4,
                         "scaling_up_support_organisation": 0, "large_company": 1, "public_authority": 0}}


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_corpus = _load_generator()
NAMES = make_corpus.file_names()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The corpus folder and its golden figures, built once for the module."""
    out = tmp_path_factory.mktemp("corpus")
    return out, make_corpus.build(out)


def run(argv, capsys) -> tuple[int, str, str]:
    """cli.main's exit code and output; argparse refusals (SystemExit) count as exit codes."""
    try:
        code = cli.main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 2
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def column_map(folder: Path, entry: dict) -> list[str]:
    """['--columns', map] for a tracker that needs one, else []."""
    return ["--columns", str(folder / entry["columns"])] if entry["columns"] else []


_CLEANED: dict = {}


def clean(folder: Path, name: str, entry: dict, capsys) -> tuple[list[dict], list[dict]]:
    """Run `clean` on one tracker (once per folder); its exchanges.csv and findings.csv rows."""
    if (folder, name) in _CLEANED:
        return _CLEANED[(folder, name)]
    out = folder / f"clean_{Path(name).stem}"
    code, _, err = run(["clean", str(folder / name), "--out", str(out), *column_map(folder, entry)], capsys)
    assert code == 0, f"{name}: clean exit {code}: {err}"
    with open(out / "exchanges.csv", encoding="utf-8-sig", newline="") as f:
        table = list(csv.DictReader(f))
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as f:
        findings = list(csv.DictReader(f))
    _CLEANED[(folder, name)] = table, findings
    return table, findings


def test_generator_golden_is_the_published_d51_table(corpus):
    """The generator's own count of the D5.1 labels is the report's table, for every file."""
    _, golden = corpus
    assert sorted(golden) == sorted(NAMES) and len(NAMES) >= 30
    for name, entry in golden.items():
        assert entry["kpis"] == PUBLISHED, name


def _read_back(path: Path) -> tuple[list[str], list[list]]:
    """Header and data rows of a corpus tracker, read with openpyxl or csv (not the library)."""
    if path.suffix == ".csv":
        text = path.read_bytes().decode("cp1252" if path.name == "de_export.csv" else "utf-8-sig")
        delimiter = ";" if text.split("\n", 1)[0].count(";") > 2 else ","
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
        return rows[0], [r for r in rows[1:] if r]
    ws = openpyxl.load_workbook(path)["Exchanges"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if sum(v is not None for v in r) >= 8)
    return rows[start], rows[start + 1:]


def test_generator_writes_every_row_and_label(corpus):
    """Read back with openpyxl/csv: 47 rows each, labels mapping back to the D5.1 counts."""
    folder, golden = corpus
    tr = make_corpus.load_translations()
    reverse = {}
    for lang in tr.values():
        for field in ("vo_entity_type", "partnership", "status"):
            for key, synonyms in lang["labels"][field].items():
                for s in synonyms:
                    assert reverse.setdefault((field, s), key) == key, f"{s!r} means two things"
    for name, entry in golden.items():
        headers, rows = _read_back(folder / name)
        assert len(rows) == 47, name
        assert len(set(headers)) == len(headers) == 11, name
        amount_col = headers.index(next(h for h in headers if h in _amount_headers()))
        counts = Counter()
        for row in rows:
            values = dict(zip(headers, row))
            for field in ("vo_entity_type", "partnership", "status"):
                found = [reverse[(field, v)] for v in values.values() if (field, v) in reverse]
                assert len(found) >= 1, (name, field, row)
                counts[(field, found[0])] += 1
        assert counts[("status", "waiting_final_report")] == 5, name
        assert counts[("partnership", "outside")] == 19, name
        assert counts[("vo_entity_type", "sme")] == 22, name
        filled = [r[amount_col] for r in rows if r[amount_col] not in (None, "")]
        assert len(filled) == sum(v is not None for v in entry["amounts"].values()) + len(entry["ambiguous_rows"])


def _amount_headers() -> set:
    """Every wording the generator may have used for the amount column of this file."""
    tr = make_corpus.load_translations()
    words = {w for lang in tr.values() for w in lang["headers"]["amount_eur"]}
    words |= {h["amount_eur"] for h in make_corpus.PERMUTED.values()}
    words |= {h["amount_eur"] for h in make_corpus.UNKNOWABLE.values()}
    words.add("Amount paid (€)")
    return words


@pytest.mark.parametrize("name", NAMES)
def test_kpis_give_the_golden_table(corpus, name, capsys):
    """`kpis --json` on every corpus tracker: exit 0, 42/19/13/18/2/5/4 completed, 5 pending."""
    folder, golden = corpus
    entry = golden[name]
    code, out, err = run(["kpis", str(folder / name), "--json", *column_map(folder, entry)], capsys)
    assert code == 0, f"{name}: exit {code}: {err}"
    result = json.loads(out)
    assert result["actual"] == entry["kpis"]["actual"] == PUBLISHED["actual"]
    assert result["pending"] == entry["kpis"]["pending"] == PUBLISHED["pending"]


@pytest.mark.parametrize("name", NAMES)
def test_clean_reads_every_amount_and_date(corpus, name, capsys):
    """`clean`: each row's amount and dates as written ('1.500,00 €' is 1500.0), never a guess."""
    folder, golden = corpus
    entry = golden[name]
    table, findings = clean(folder, name, entry, capsys)
    by_row = {int(r["source_row"]): r for r in table}
    assert sorted(by_row) == sorted(int(n) for n in entry["amounts"])
    for n, amount in entry["amounts"].items():
        got = by_row[int(n)]["amount_eur"]
        if amount is None:
            assert got == "", f"{name} row {n}: amount {got!r}, expected none"
        else:
            assert got != "" and float(got) == amount, f"{name} row {n}: amount {got!r}, expected {amount}"
    for n, (start, end) in entry["dates"].items():
        row = by_row[int(n)]
        assert (row["start_date"][:10], row["end_date"][:10]) == (start, end), f"{name} row {n}"
    ambiguous = sorted(int(f["row"]) for f in findings if f["code"] == "ambiguous_value")
    assert ambiguous == entry["ambiguous_rows"], f"{name}: ambiguous_value findings {findings}"
    assert not [f for f in findings if f["code"] in ("unknown_label", "missing_value", "unreadable_value")], name


@pytest.mark.parametrize("name", NAMES)
def test_status_and_remarks_keep_their_meaning(corpus, name, capsys):
    """'without the IT tool' (status or remark) and 'lump sum not used' are understood in any language."""
    folder, golden = corpus
    entry = golden[name]
    table, _ = clean(folder, name, entry, capsys)
    assert sum(r["it_tool"] == "False" for r in table) == entry["without_it_tool"] == 32, name
    assert sum(r["lump_sum_used"] == "False" for r in table) == entry["lump_sum_not_used"] == 1, name


@pytest.mark.parametrize("name", ["de_export.csv", "fr_export.csv", "en_vo_suffix.xlsx", "de_1.xlsx",
                                  "amounts_mixed.xlsx", "amounts_no_evidence.csv"])
def test_amount_over_the_maximum_fails_max_support(corpus, name, capsys):
    """'1.500,00 €' (and '1 500,00 €', '€1,500.00', '1500') fails the €1,100 maximum; no other row does
    (other fails are over the €550 of a halved lump sum: a stay under 5 working days or under 200 km)."""
    folder, golden = corpus
    entry = golden[name]
    code, out, err = run(["check", str(folder / name), "--json", *column_map(folder, entry)], capsys)
    assert code == 0, f"{name}: exit {code}: {err}"
    results = [r for r in json.loads(out) if r["rule"] == "max_support"]
    failed = sorted(r["row"] for r in results if r["outcome"] == "fail" and "per visitor" in r["message"])
    assert failed == entry["over_maximum_rows"] and len(failed) == 1, f"{name}: {failed}"
    halved = [r for r in results if r["outcome"] == "fail" and r["row"] not in failed]
    assert all("over the €550 maximum of a halved lump sum" in r["message"] for r in halved), name
    unread = {r["row"] for r in results if r["outcome"] == "cannot_check"}
    assert set(entry["ambiguous_rows"]) <= unread


def test_ambiguous_amount_is_a_finding_with_its_row(corpus, capsys):
    """'1,100' in a column that says nothing else is an ambiguous_value finding, not 1.1 or 1100."""
    folder, golden = corpus
    for name in ("amounts_no_evidence.csv", "amounts_mixed.xlsx"):
        entry = golden[name]
        table, findings = clean(folder, name, entry, capsys)
        (row,) = entry["ambiguous_rows"]
        hits = [f for f in findings if f["code"] == "ambiguous_value"]
        assert [int(f["row"]) for f in hits] == [row], f"{name}: {findings}"
        assert next(r for r in table if int(r["source_row"]) == row)["amount_eur"] == ""


def test_column_map_reads_headers_no_vocabulary_knows(corpus, capsys):
    """Headers like 'Spalte A' or 'ORG_H' give the golden table only through --columns."""
    folder, golden = corpus
    for name in make_corpus.UNKNOWABLE:
        entry = golden[name]
        mapping = yaml.safe_load((folder / entry["columns"]).read_text(encoding="utf-8"))
        assert set(mapping) == set(make_corpus.FIELDS)
        code, _, err = run(["kpis", str(folder / name), "--json"], capsys)
        assert code == 2 and err.strip(), f"{name}: without --columns exit {code}"
        code, out, err = run(["kpis", str(folder / name), "--json", *column_map(folder, entry)], capsys)
        assert code == 0, f"{name}: exit {code}: {err}"
        assert json.loads(out)["actual"] == PUBLISHED["actual"]
        assert json.loads(out)["pending"] == PUBLISHED["pending"]


def test_corpus_is_deterministic(tmp_path):
    """Same seed, same trackers: the golden figures and the CSV bytes repeat."""
    first = make_corpus.build(tmp_path / "a")
    second = make_corpus.build(tmp_path / "b")
    assert first == second
    for name in ("de_export.csv", "fr_export.csv", "amounts_no_evidence.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert dt.date.fromisoformat(first["de_1.xlsx"]["dates"]["4"][0]) >= dt.date(2022, 9, 5)
